"""Probes of one ranking channel alone, for the benchmarks (and the tests that check an index answers): built from the
public pieces of ``search.ranking.statement`` (the vector distance expression, the query-words CTEs and their
parameters), so that they measure what ``photo_search`` runs. Nothing in production imports this module."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import connections

from photosearch.db.replicas import search_read
from search.inputs import clean_query
from search.ranking import statement
from search.ranking.session import run_ranked
from search.ranking.strategy import text_configs_in_use
from search.ranking.words import query_words


def nearest_sql(*, dimensions: int, exact: bool) -> str:
    """The vector channel alone (no filters): ids by distance, through the model's HNSW index unless ``exact``."""
    distance = statement.vector_distance(dimensions)
    order = f"({distance}) + 0" if exact else distance  # "+ 0" hides the expression from the index, as the channel does
    return f"SELECT id FROM profiles_photo WHERE embedding_model = %(model_id)s ORDER BY {order} LIMIT %(depth)s"


def text_match_count_sql(*, excluded: bool) -> str:
    """How many photos hold any of the query's words (every required one, none excluded), uncapped: what the text
    channel would rank without its bound (parameters: ``statement.words_params``)."""
    conditions = [
        "search_vector @@ q.any_term",
        "(q.required_terms IS NULL OR search_vector @@ q.required_terms)",
        "duplicate_of_id IS NULL",
        *([statement.NOT_EXCLUDED] if excluded else []),
    ]
    return (
        f"WITH {statement.QUERY_WORDS_CTES}\n"
        f"SELECT count(*) FROM profiles_photo, query_match q WHERE {' AND '.join(conditions)}"
    )


@search_read
def photo_nearest_ids(
    *,
    vector: np.ndarray,
    model_id: str,
    limit: int,
    depth: int | None = None,
    exact: bool = False,
    explain: bool = False,
    using: str | None = None,
) -> list:
    """The vector channel alone, as ``photo_search`` runs it (same ORDER BY … LIMIT shape, depth and ef_search):
    ids of the ``limit`` nearest photos, or with ``exact`` the true nearest (no index), or its EXPLAIN lines."""
    depth = depth or settings.PHOTOSEARCH_VECTOR_CANDIDATES
    sql = nearest_sql(dimensions=len(vector), exact=exact)
    params = {"vector": statement.halfvec_literal(vector), "model_id": model_id, "depth": depth}
    rows = run_ranked(("EXPLAIN " if explain else "") + sql, params, vector_depth=depth, using=using)
    return [row[0] for row in rows] if explain else [row[0] for row in rows[:limit]]


@search_read
def photo_text_match_count(*, query: str, words: str = "any", using: str | None = None) -> int:
    """How many photos hold the words of ``query`` as the text channel reads them, before its bound (its cost grows
    with this)."""
    parsed = query_words(clean_query(query), words=words)
    with connections[using].cursor() as cursor:
        cursor.execute(
            text_match_count_sql(excluded=bool(parsed.excluded)),
            statement.words_params(parsed, text_configs_in_use(using=using)),
        )
        return cursor.fetchone()[0]
