"""The database probes (cached) that shape a ranking statement: how the vector channel finds its candidates under
filters (the HNSW index or an exact scan), and which text-search configurations the words channel looks words up in."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from profiles.models import EXACT_WORDS_CONFIG, TEXT_SEARCH_CONFIG
from search.ranking.coverage import COVERAGE_CACHE_SECONDS
from search.ranking.indexes import embedding_profile_index_name
from search.ranking.statement import filter_sql
from search.types import SearchFilters


def vector_strategy(model_id: str, filters: SearchFilters, *, using: str) -> str:
    """How to find the nearest photos: ``hnsw`` without filters, or filtered to one profile that has its own HNSW
    index (the planner picks it); with other filters, ``exact`` when at most PHOTOSEARCH_EXACT_SCAN_MAX photos pass
    them (an exact scan of a few thousand rows is faster than an iterative graph walk that discards most of what it
    visits, and never starves), else ``iterative`` (pgvector 0.8). Probed on database ``using``."""
    clauses, params = filter_sql(filters)
    if not clauses:
        return "hnsw"
    if len(filters.profile_ids) == 1 and index_exists(
        embedding_profile_index_name(model_id, filters.profile_ids[0]), using=using
    ):
        return "hnsw"
    limit = settings.PHOTOSEARCH_EXACT_SCAN_MAX
    conditions = " AND ".join(["embedding_model = %(model_id)s", *clauses])
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM profiles_photo WHERE {conditions} LIMIT %(probe)s) passing",
            {**params, "model_id": model_id, "probe": limit + 1},
        )
        (passing,) = cursor.fetchone()
    return "exact" if passing <= limit else "iterative"


def index_exists(name: str, *, using: str) -> bool:
    """Whether index ``name`` exists (asked of database ``using``); cached like the coverage (indexes appear when
    embed_photos ends)."""
    key = "photosearch:index-exists:" + name
    exists: bool | None = cache.get(key)
    if exists is None:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            (exists,) = cursor.fetchone()
        cache.set(key, exists, COVERAGE_CACHE_SECONDS)
    return exists


def text_configs_in_use(*, using: str) -> list[str]:
    """The text-search configurations a query's words must be looked up in: every language the library's photos are
    stemmed in, the captions' and ``simple`` (exact words). A loose scan of the ``text_config`` index (one probe per
    language, however many photos, on database ``using``), cached like the index probes: a new language shows up
    within a minute."""
    configs: list[str] | None = cache.get("photosearch:text-configs")
    if configs is None:
        with connections[using].cursor() as cursor:
            cursor.execute(
                "WITH RECURSIVE used AS ("
                " (SELECT text_config FROM profiles_photo ORDER BY text_config LIMIT 1)"
                " UNION ALL"
                " SELECT (SELECT text_config FROM profiles_photo WHERE text_config > used.text_config"
                "         ORDER BY text_config LIMIT 1) FROM used WHERE used.text_config IS NOT NULL"
                ") SELECT text_config::text FROM used WHERE text_config IS NOT NULL"
            )
            found = {row[0] for row in cursor.fetchall()}
        configs = sorted(found | {TEXT_SEARCH_CONFIG, EXACT_WORDS_CONFIG})
        cache.set("photosearch:text-configs", configs, COVERAGE_CACHE_SECONDS)
    return configs
