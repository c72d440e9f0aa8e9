"""Reads for search: the one place that holds ranking SQL.

Vectors of different models live in the same ``embedding`` column (``halfvec`` without a fixed dimension). Each model
gets a partial HNSW index over ``(embedding::halfvec(D))`` restricted to its own rows
(``search.services.embedding_index_ensure``); the queries below use exactly that expression and predicate so the
planner can pick the index. User text only ever travels as a bound parameter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from pgvector import HalfVector

from profiles.models import Photo
from search.encoders import Encoder, EncoderUnavailable, get_encoder

MAX_LIMIT = 100


class InvalidQuery(ValueError):
    """The query cannot be run as given; ``str(exc)`` is the reason to show the user."""


class NotEmbedded(Exception):
    """The photo has no embedding yet, so nothing can be compared with it."""


@dataclass(frozen=True)
class SearchHit:
    photo: Photo
    score: float
    vector_rank: int | None = None
    vector_distance: float | None = None
    text_rank: int | None = None
    text_score: float | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    model_id: str | None  # the embedding space searched; None when the vector channel was unavailable
    warnings: list[str] = field(default_factory=list)


def embedding_expression(dimensions: int) -> str:
    """SQL for the indexed vector expression of a ``dimensions``-wide model (an int, never user input)."""
    return f"(embedding::halfvec({int(dimensions)}))"


def embedding_index_name(model_id: str) -> str:
    return "photo_embedding_hnsw_" + hashlib.sha1(model_id.encode()).hexdigest()[:16]


def photos_pending_embedding(*, model_id: str, profile_ids: Sequence[int] | None = None) -> QuerySet[Photo]:
    """Photos with no embedding from ``model_id`` (never embedded, or embedded by another model)."""
    queryset = Photo.objects.filter(Q(embedding__isnull=True) | ~Q(embedding_model=model_id)).filter(
        duplicate_of__isnull=True
    )
    if profile_ids:
        queryset = queryset.filter(profile_id__in=profile_ids)
    return queryset.order_by("id")


COVERAGE_CACHE_SECONDS = 60


def embedding_coverage() -> dict[str, int]:
    """How many photos (duplicates aside) carry vectors of each model (``""``: none yet). Cached for a minute: it
    is a full count, and it only changes as fast as embed_photos runs."""
    coverage = cache.get("photosearch:embedding-coverage")
    if coverage is None:
        rows = (
            Photo.objects.filter(duplicate_of__isnull=True)
            .values_list("embedding_model")
            .annotate(count=Count("id"))
            .order_by()
        )
        coverage = {model or "": count for model, count in rows}
        cache.set("photosearch:embedding-coverage", coverage, COVERAGE_CACHE_SECONDS)
    return coverage


def _coverage_warning(model_id: str) -> str | None:
    coverage = embedding_coverage()
    total, converted = sum(coverage.values()), coverage.get(model_id, 0)
    if converted >= total:
        return None
    others = ", ".join(f"{count:,} from {model}" for model, count in coverage.items() if model and model != model_id)
    return (
        f"Searching {model_id} vectors: {converted:,} of {total:,} photos have them so far"
        f"{f' ({others} still to convert)' if others else ''}; the rest match by their words only until "
        f"embed_photos finishes."
    )


def photo_search(
    *,
    query: str,
    profile_ids: Sequence[int] | None = None,
    limit: int = 20,
    encoder: Encoder | None = None,
) -> SearchResult:
    """Hybrid search: reciprocal rank fusion of the HNSW cosine-distance candidates (query embedded with the
    configured model's text tower) and the ``websearch_to_tsquery`` full-text candidates over source text, generated
    caption, hashtags and alt text. Each hit carries its fused score and each channel's rank.

    If the model cannot be loaded, the text channel still answers and the result says why vectors were left out.
    """
    query = _clean_query(query)
    limit = _clean_limit(limit)
    warnings: list[str] = []
    try:
        encoder = encoder or get_encoder()
        query_vector = encoder.encode_texts([query])[0]
        model_id, dimensions = encoder.model_id, encoder.dimensions
        if (partial := _coverage_warning(model_id)) is not None:
            warnings.append(partial)
    except EncoderUnavailable as exc:
        warnings.append(f"Vector search unavailable, showing text matches only: {exc}")
        query_vector, model_id, dimensions = None, None, 0

    sql, params = _hybrid_sql(
        query=query,
        query_vector=query_vector,
        model_id=model_id,
        dimensions=dimensions,
        profile_ids=profile_ids,
        limit=limit,
    )
    rows = _run_ranked(sql, params, vector_depth=settings.PHOTOSEARCH_VECTOR_CANDIDATES, filtered=bool(profile_ids))
    hits = _hits_from_rows(rows)
    return SearchResult(hits=hits, model_id=model_id, warnings=warnings)


def photo_similar(*, photo: Photo, profile_ids: Sequence[int] | None = None, limit: int = 20) -> SearchResult:
    """Photos nearest to ``photo`` in its own embedding space (HNSW, cosine), excluding ``photo`` itself.

    Uses the photo's stored vector, so it needs no model load and also works for photos embedded by a previous model.
    """
    if photo.embedding is None or not photo.embedding_model:
        raise NotEmbedded(f"Photo {photo.pk} has no embedding yet; run embed_photos first.")
    limit = _clean_limit(limit)
    vector = _as_array(photo.embedding)
    nearest = _nearest_sql(len(vector), filtered=bool(profile_ids), exclude_photo=True)
    sql = f"""
        SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS vector_rank
        FROM ({nearest}) nearest
        ORDER BY vector_rank
    """
    params = {
        "vector": HalfVector(vector).to_text(),
        "model_id": photo.embedding_model,
        "photo_id": photo.pk,
        "profile_ids": list(profile_ids or []),
        "vector_depth": limit,
    }
    rows = _run_ranked(sql, params, vector_depth=limit, filtered=bool(profile_ids))
    by_id = _photos_by_id([row[0] for row in rows])
    hits = [
        SearchHit(photo=by_id[pid], score=1.0 - float(distance), vector_rank=rank, vector_distance=float(distance))
        for pid, distance, rank in rows
        if pid in by_id
    ]
    return SearchResult(hits=hits, model_id=photo.embedding_model)


def photo_search_explain(*, query: str, query_vector: np.ndarray, model_id: str, limit: int = 20) -> str:
    """EXPLAIN output of the hybrid query, for tests and benchmarks that check which indexes it uses."""
    sql, params = _hybrid_sql(
        query=_clean_query(query),
        query_vector=query_vector,
        model_id=model_id,
        dimensions=len(query_vector),
        profile_ids=None,
        limit=_clean_limit(limit),
    )
    rows = _run_ranked("EXPLAIN " + sql, params, vector_depth=settings.PHOTOSEARCH_VECTOR_CANDIDATES, filtered=False)
    return "\n".join(row[0] for row in rows)


def _hybrid_sql(
    *,
    query: str,
    query_vector: np.ndarray | None,
    model_id: str | None,
    dimensions: int,
    profile_ids: Sequence[int] | None,
    limit: int,
) -> tuple[str, dict]:
    profile_clause = "AND profile_id = ANY(%(profile_ids)s)" if profile_ids else ""
    if query_vector is not None:
        vector_cte = _nearest_sql(dimensions, filtered=bool(profile_ids))
    else:
        vector_cte = "SELECT NULL::bigint AS id, NULL::float8 AS distance WHERE false"
    # MATERIALIZED keeps the ORDER BY … LIMIT shape the HNSW index serves; ranks are assigned afterwards because an
    # iterative index scan (relaxed order) may return candidates slightly out of order.
    sql = f"""
        WITH vector_candidates AS MATERIALIZED ({vector_cte}),
        vector_ranked AS (
            SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank FROM vector_candidates
        ),
        text_ranked AS (
            SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank
            FROM (
                SELECT id, ts_rank_cd(search_vector, tsq) AS score
                FROM profiles_photo, websearch_to_tsquery('{settings.PHOTOSEARCH_TEXT_SEARCH_CONFIG}', %(query)s) tsq
                WHERE search_vector @@ tsq AND duplicate_of_id IS NULL {profile_clause}
                ORDER BY score DESC, id
                LIMIT %(text_depth)s
            ) matches
        )
        SELECT COALESCE(v.id, t.id) AS photo_id,
               COALESCE(%(vector_weight)s / (%(rrf_k)s + v.rank), 0)
                 + COALESCE(%(text_weight)s / (%(rrf_k)s + t.rank), 0) AS fused_score,
               v.rank AS vector_rank, v.distance AS vector_distance, t.rank AS text_rank, t.score AS text_score
        FROM vector_ranked v FULL OUTER JOIN text_ranked t ON v.id = t.id
        ORDER BY fused_score DESC, photo_id
        LIMIT %(limit)s
    """
    params = {
        "query": query,
        "vector": HalfVector(query_vector).to_text() if query_vector is not None else None,
        "model_id": model_id,
        "profile_ids": list(profile_ids or []),
        "vector_depth": settings.PHOTOSEARCH_VECTOR_CANDIDATES,
        "text_depth": settings.PHOTOSEARCH_TEXT_CANDIDATES,
        "vector_weight": float(settings.PHOTOSEARCH_VECTOR_WEIGHT),
        "text_weight": float(settings.PHOTOSEARCH_TEXT_WEIGHT),
        "rrf_k": float(settings.PHOTOSEARCH_RRF_K),
        "limit": limit,
    }
    return sql, params


def _nearest_sql(dimensions: int, *, filtered: bool, exclude_photo: bool = False) -> str:
    """Nearest neighbours of %(vector)s among %(model_id)s's rows: the ORDER BY … LIMIT shape the HNSW index serves."""
    exclude = "AND id <> %(photo_id)s" if exclude_photo else ""
    profile_clause = "AND profile_id = ANY(%(profile_ids)s)" if filtered else ""
    return f"""
        SELECT id, {embedding_expression(dimensions)} <=> %(vector)s::halfvec({int(dimensions)}) AS distance
        FROM profiles_photo
        WHERE embedding_model = %(model_id)s {exclude} {profile_clause}
        ORDER BY distance
        LIMIT %(vector_depth)s
    """


def _run_ranked(sql: str, params: dict, *, vector_depth: int, filtered: bool) -> list[tuple]:
    """Run a ranking query with the HNSW search settings it needs, scoped to one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        # ef_search bounds how many candidates one index scan can return; it must cover the depth we ask for.
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(max(40, min(vector_depth, 1000)))])
        if filtered:
            # pgvector 0.8 filters after the index scan; iterative scan keeps going until enough rows pass.
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _hits_from_rows(rows: list[tuple]) -> list[SearchHit]:
    by_id = _photos_by_id([row[0] for row in rows])
    return [
        SearchHit(
            photo=by_id[pid],
            score=float(score),
            vector_rank=vector_rank,
            vector_distance=None if distance is None else float(distance),
            text_rank=text_rank,
            text_score=None if text_score is None else float(text_score),
        )
        for pid, score, vector_rank, distance, text_rank, text_score in rows
        if pid in by_id
    ]


def _photos_by_id(ids: list[int]) -> dict[int, Photo]:
    return Photo.objects.select_related("profile").defer("embedding", "search_vector").in_bulk(ids)


def _clean_query(query: str) -> str:
    query = " ".join((query or "").split())
    if not query:
        raise InvalidQuery("The query is empty; type a few words describing the photo.")
    if len(query) > settings.PHOTOSEARCH_MAX_QUERY_LENGTH:
        raise InvalidQuery(f"The query is too long ({len(query)} characters, at most "
                           f"{settings.PHOTOSEARCH_MAX_QUERY_LENGTH}).")
    if "\x00" in query:
        raise InvalidQuery("The query contains a NUL character.")
    return query


def _clean_limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}.")
    return int(limit)


def _as_array(vector) -> np.ndarray:
    return vector.to_numpy() if hasattr(vector, "to_numpy") else np.asarray(vector, dtype=np.float32)
