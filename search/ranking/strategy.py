"""How the vector channel finds its candidates under filters: the probes (cached) that choose between the HNSW index
and an exact scan."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from search.coverage import COVERAGE_CACHE_SECONDS
from search.indexes import embedding_profile_index_name
from search.ranking.statement import filter_sql
from search.types import SearchFilters


def vector_strategy(model_id: str, filters: SearchFilters) -> str:
    """How to find the nearest photos: ``hnsw`` without filters, or filtered to one profile that has its own HNSW
    index (the planner picks it); with other filters, ``exact`` when at most PHOTOSEARCH_EXACT_SCAN_MAX photos pass
    them (an exact scan of a few thousand rows is faster than an iterative graph walk that discards most of what it
    visits, and never starves), else ``iterative`` (pgvector 0.8)."""
    clauses, params = filter_sql(filters)
    if not clauses:
        return "hnsw"
    if len(filters.profile_ids) == 1 and index_exists(embedding_profile_index_name(model_id, filters.profile_ids[0])):
        return "hnsw"
    limit = settings.PHOTOSEARCH_EXACT_SCAN_MAX
    conditions = " AND ".join(["embedding_model = %(model_id)s", *clauses])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM profiles_photo WHERE {conditions} LIMIT %(probe)s) passing",
            {**params, "model_id": model_id, "probe": limit + 1},
        )
        (passing,) = cursor.fetchone()
    return "exact" if passing <= limit else "iterative"


def index_exists(name: str) -> bool:
    """Whether index ``name`` exists; cached like the coverage (indexes appear when embed_photos ends)."""
    key = "photosearch:index-exists:" + name
    exists = cache.get(key)
    if exists is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            (exists,) = cursor.fetchone()
        cache.set(key, exists, COVERAGE_CACHE_SECONDS)
    return exists
