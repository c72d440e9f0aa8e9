"""Names and SQL of the per-model HNSW indexes, shared by the writer that creates them
(``search.services.embedding_index_ensure``) and the ranking statement that must repeat their expression exactly for
the planner to pick them.

Vectors of different models live in the same ``embedding`` column (``halfvec`` without a fixed dimension). Each model
gets a partial HNSW index over ``(embedding::halfvec(D))`` restricted to its own rows; big profiles may also get one
of their own.
"""

from __future__ import annotations

import hashlib


def embedding_expression(dimensions: int) -> str:
    """SQL for the indexed vector expression of a ``dimensions``-wide model (an int, never user input)."""
    return f"(embedding::halfvec({int(dimensions)}))"


def embedding_index_name(model_id: str) -> str:
    """The HNSW index over every ``model_id`` vector (a hash: model ids are longer than identifiers may be)."""
    return "photo_embedding_hnsw_" + hashlib.sha1(model_id.encode()).hexdigest()[:16]


def embedding_profile_index_name(model_id: str, profile_id: int) -> str:
    """A big profile's own HNSW index over its ``model_id`` vectors (see embedding_profile_indexes_ensure)."""
    return f"{embedding_index_name(model_id)}_p{int(profile_id)}"
