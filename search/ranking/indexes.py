"""Names and SQL of the per-model (and per big profile) partial HNSW indexes over ``embedding::halfvec(D)``, shared by
the writer that creates them and the ranking statement, which must repeat their expression exactly for the planner to
pick them.
"""

from __future__ import annotations

import hashlib

from profiles.models import TEXT_INDEX_NAME


def embedding_expression(dimensions: int) -> str:
    """SQL for the indexed vector expression of a ``dimensions``-wide model (an int, never user input)."""
    return f"(embedding::halfvec({int(dimensions)}))"


EMBEDDING_INDEX_PREFIX = "photo_embedding_hnsw_"
TEXT_PROFILE_INDEX_PREFIX = TEXT_INDEX_NAME + "_p"  # + the profile's id


def embedding_index_name(model_id: str) -> str:
    """The HNSW index over every ``model_id`` vector (a hash: model ids are longer than identifiers may be)."""
    return EMBEDDING_INDEX_PREFIX + hashlib.sha1(model_id.encode()).hexdigest()[:16]


def embedding_profile_index_name(model_id: str, profile_id: int) -> str:
    """A big profile's own HNSW index over its ``model_id`` vectors (see embedding_profile_indexes_ensure)."""
    return f"{embedding_index_name(model_id)}_p{int(profile_id)}"


def text_profile_index_name(profile_id: int) -> str:
    """A big profile's own GIN index over its photos' words (made by ``index_builds.text_profile_indexes_ensure``)."""
    return f"{TEXT_PROFILE_INDEX_PREFIX}{int(profile_id)}"


def like_pattern(*parts: str) -> str:
    """A LIKE pattern for index names: ``parts`` matched literally (the names hold underscores, LIKE's one-character
    wildcard), any text between them; ``like_pattern(prefix, "")`` is every name starting with ``prefix``."""
    return "%".join(part.replace("_", "\\_") for part in parts)


# --- Graph shape and search width that follow the library's size --------------------------------------------------
#
# Measured on clustered 512-d vectors (docs/benchmarks.md, "Tuning"): up to 100k photos m 16 / ef_construction 128 /
# ef_search 100 gives recall@10 1.00; at 1M that graph gives 0.87–0.90, while m 24 / ef_construction 200 gives 0.95 /
# 0.98 / 0.99 at ef_search 100 / 200 / 400 — on one build; another build of the same data gave 0.968 at 200 and
# 0.978 at 250 (the vector query 4–23 % slower than at 200). A library past PHOTOSEARCH_HNSW_LARGE_LIBRARY photos gets
# the larger graph (its index is rebuilt once when the library crosses the line) and searches it at ef_search 250.
SMALL_GRAPH = (16, 128)
LARGE_GRAPH = (24, 200)
LARGE_EF_SEARCH = 250


def hnsw_graph_shape(photos: float) -> tuple[int, int]:
    """``(m, ef_construction)`` for a graph of about ``photos`` vectors; PHOTOSEARCH_HNSW_M / _EF_CONSTRUCTION win
    when set (non-zero)."""
    from django.conf import settings

    m, ef_construction = LARGE_GRAPH if photos >= settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY else SMALL_GRAPH
    return (settings.PHOTOSEARCH_HNSW_M or m, settings.PHOTOSEARCH_HNSW_EF_CONSTRUCTION or ef_construction)


def hnsw_ef_search_floor(photos: float) -> int:
    """The ``hnsw.ef_search`` a library of about ``photos`` photos needs whatever the depth asked for;
    PHOTOSEARCH_HNSW_EF_SEARCH wins when set (non-zero)."""
    from django.conf import settings

    if settings.PHOTOSEARCH_HNSW_EF_SEARCH:
        return settings.PHOTOSEARCH_HNSW_EF_SEARCH
    return LARGE_EF_SEARCH if photos >= settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY else 0
