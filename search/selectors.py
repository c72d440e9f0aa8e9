"""Reads for search, the public face of ranking; user text only travels as bound parameters. Each read runs on one
database, ``using``: by default a read replica that answers, else the primary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from django.db import connections
from django.db.models import QuerySet

from photosearch.db.replicas import search_read
from profiles.models import Photo
from search.inputs import (
    MAX_DEPTH,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_WEIGHT,
    SORTS,
    clean_filters,
    clean_limit,
    clean_offset,
    clean_query,
    clean_ranking,
    clean_sort,
)
from search.ml.encoders import Encoder, EncoderUnavailable
from search.ml.query_embedding import query_image_vector, query_text_vector, split_exclusions, vector_as_array
from search.query.image import clean_image
from search.query.understanding import query_understand
from search.ranking import coverage, statement
from search.ranking.duplicates import hits_with_other_profiles
from search.ranking.explained import filter_reasons
from search.ranking.indexes import embedding_expression, embedding_index_name, embedding_profile_index_name
from search.ranking.loader import hits_from_rows, photos_by_id, rows_total
from search.ranking.persons import persons_with_faces_on
from search.ranking.session import run_ranked, search_session_prepare
from search.ranking.strategy import text_configs_in_use, vector_strategy
from search.ranking.words import query_words
from search.types import InvalidQuery, NotEmbedded, RankingOptions, SearchFilters, SearchHit, SearchResult, day_range

COVERAGE_CACHE_SECONDS = coverage.COVERAGE_CACHE_SECONDS

__all__ = [
    "COVERAGE_CACHE_SECONDS",
    "MAX_DEPTH",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_WEIGHT",
    "SORTS",
    "InvalidQuery",
    "NotEmbedded",
    "RankingOptions",
    "SearchFilters",
    "SearchHit",
    "SearchResult",
    "day_range",
    "embedding_coverage",
    "embedding_expression",
    "embedding_index_name",
    "embedding_profile_index_name",
    "index_build_options",
    "photo_browse",
    "photo_search",
    "photo_search_by_image",
    "photo_search_explain",
    "photo_similar",
    "photos_pending_embedding",
    "photos_pending_text_reading",
    "search_session_prepare",
    "vector_as_array",
]


def photos_pending_embedding(*, model_id: str, profile_ids: Sequence[int] | None = None) -> QuerySet[Photo]:
    """Photos with no embedding from ``model_id`` (never embedded, or embedded by another model)."""
    return coverage.photos_without_vectors(model_id=model_id, profile_ids=profile_ids)


def photos_pending_text_reading(*, engine_id: str, profile_ids: Sequence[int] | None = None) -> QuerySet[Photo]:
    """Photos (duplicates aside) whose words in the image ``engine_id`` has not read, oldest id first."""
    queryset = Photo.objects.filter(duplicate_of__isnull=True).exclude(ocr_engine=engine_id)
    if profile_ids:
        queryset = queryset.filter(profile_id__in=profile_ids)
    return queryset.order_by("id")


def index_build_options(*, name: str) -> dict[str, str] | None:
    """The ``WITH`` options index ``name`` was built with, from the primary; None when it does not exist."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return None if row is None else dict(option.split("=", 1) for option in row[0] or [])


@search_read
def embedding_coverage(*, using: str | None = None) -> dict[str, int]:
    """How many photos (duplicates aside) carry vectors of each model (``""``: none yet); cached, as a full count
    that changes only as embed_photos runs."""
    return coverage.counts_by_model(using=using)


@search_read
def photo_search(
    *,
    query: str,
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    ranking: RankingOptions = RankingOptions(),
    encoder: Encoder | None = None,
    literal: bool = False,
    plain: frozenset[str] = frozenset(),
    using: str | None = None,
) -> SearchResult:
    """Hybrid search by description.

    Understood parts of the query become filters (explicit ``filters`` win; ``literal`` turns it off, ``plain`` keeps
    those kinds as words); a query understood whole browses. Without the model, words still answer and ``warnings``
    says why.
    """
    query = clean_query(query)
    ranking = clean_ranking(ranking)
    understood: tuple = ()
    if not literal:
        understanding = query_understand(query=query, filters=filters, plain=plain, using=using)
        query, filters, understood = understanding.description, understanding.filters, understanding.understood
        if not query:
            browsed = photo_browse(
                filters=filters, sort="newest" if sort == "relevance" else sort, limit=limit, offset=offset, using=using
            )
            return replace(browsed, understood=understood, description="")
    warnings: list[str] = []
    vector_text, _ = split_exclusions(query)
    query_vector, model_id = None, None
    if vector_text:
        try:
            query_vector, model_id = query_text_vector(vector_text, encoder=encoder)
            if (partial := coverage.coverage_warning(model_id, using=using)) is not None:
                warnings.append(partial)
        except EncoderUnavailable as exc:
            warnings.append(f"Vector search unavailable, showing text matches only: {exc}")
    result = _ranked(
        words=query_words(query, words=ranking.words),
        query_vector=query_vector,
        model_id=model_id,
        filters=filters,
        sort=sort,
        limit=limit,
        offset=offset,
        ranking=ranking,
        warnings=warnings,
        using=using,
    )
    return replace(result, understood=understood, description=query) if understood else result


@search_read
def photo_search_by_image(
    *,
    data: bytes,
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    ranking: RankingOptions = RankingOptions(),
    encoder: Encoder | None = None,
    using: str | None = None,
) -> SearchResult:
    """Photos that look like the uploaded image (vector channel only, same filters, cutoff, sort and paging)."""
    image = clean_image(data)
    try:
        query_vector, model_id = query_image_vector(image, encoder=encoder)
    except EncoderUnavailable as exc:
        return SearchResult(hits=[], model_id=None, warnings=[f"Search by image needs the model: {exc}"])
    warnings = [w for w in [coverage.coverage_warning(model_id, using=using)] if w]
    return _ranked(
        words=None,
        query_vector=query_vector,
        model_id=model_id,
        filters=filters,
        sort=sort,
        limit=limit,
        offset=offset,
        ranking=clean_ranking(ranking),
        warnings=warnings,
        using=using,
    )


@search_read
def photo_similar(
    *,
    photo: Photo,
    filters: SearchFilters = SearchFilters(),
    limit: int = 20,
    offset: int = 0,
    using: str | None = None,
) -> SearchResult:
    """Photos nearest to ``photo`` in its own embedding space, without any copy of its image. From the stored vector
    (a duplicate's original's): no model load. No cutoff: "more like this" is an ordering."""
    original = photo.duplicate_of if photo.duplicate_of_id else photo
    if original is None or original.embedding is None or not original.embedding_model:
        raise NotEmbedded(f"Photo {photo.pk} has no embedding yet; run embed_photos first.")
    return _ranked(
        words=None,
        query_vector=vector_as_array(original.embedding),
        model_id=original.embedding_model,
        filters=filters,
        sort="relevance",
        limit=limit,
        offset=offset,
        ranking=clean_ranking(RankingOptions(cutoff=0)),
        warnings=[],
        exclude_photo=original.pk,
        using=using,
    )


@search_read
def photo_browse(
    *,
    filters: SearchFilters = SearchFilters(),
    sort: str = "newest",
    limit: int = 20,
    offset: int = 0,
    using: str | None = None,
) -> SearchResult:
    """Photos that pass ``filters`` with no query, duplicates aside; newest first by default (also for
    ``relevance``)."""
    limit, offset = clean_limit(limit), clean_offset(offset)
    sort = clean_sort(sort)
    filters = clean_filters(filters)
    clauses, params = statement.filter_sql(filters)
    params = {**params, "limit": limit + 1, "offset": offset, "total_bound": statement.TOTAL_BOUND + 1}
    with connections[using].cursor() as cursor:
        cursor.execute(statement.browse_sql(filters=clauses, sort=sort), params)
        rows = cursor.fetchall()
        if not rows:  # past the last photo: the count alone
            cursor.execute(statement.browse_total_sql(filters=clauses), params)
            rows = [(None, cursor.fetchone()[0])]
    ids = [row[0] for row in rows if row[0] is not None]
    counted = rows[0][1]
    by_id = photos_by_id(ids[:limit], using=using)
    # No channel found these photos: their score is none, the filters are why they are here.
    hits = _with_reasons(
        [SearchHit(photo=by_id[pid], score=None) for pid in ids[:limit] if pid in by_id], filters, using
    )
    has_more = len(ids) > limit
    return SearchResult(
        hits=hits,
        model_id=None,
        has_more=has_more,
        next_offset=offset + limit if has_more else None,
        total=min(counted, statement.TOTAL_BOUND),
        total_is_estimate=counted > statement.TOTAL_BOUND,
    )


@search_read
def photo_search_explain(
    *,
    query: str,
    query_vector: np.ndarray,
    model_id: str,
    limit: int = 20,
    filters: SearchFilters = SearchFilters(),
    using: str | None = None,
) -> str:
    """EXPLAIN output of the hybrid query, for tests and benchmarks that check which indexes it uses."""
    sql, params = _statement(
        words=query_words(clean_query(query)),
        query_vector=query_vector,
        model_id=model_id,
        filters=clean_filters(filters),
        sort="relevance",
        limit=clean_limit(limit),
        offset=0,
        ranking=clean_ranking(RankingOptions()),
        exclude_photo=None,
        using=using,
    )
    rows = run_ranked("EXPLAIN " + sql, params, vector_depth=params["vector_depth"], using=using)
    return "\n".join(row[0] for row in rows)


def _ranked(
    *, words, query_vector, model_id, filters, sort, limit, offset, ranking, warnings, using, exclude_photo=None
) -> SearchResult:
    limit, offset = clean_limit(limit), clean_offset(offset)
    sort, filters = clean_sort(sort), clean_filters(filters)
    inputs = dict(
        words=words,
        query_vector=query_vector,
        model_id=model_id,
        filters=filters,
        sort=sort,
        ranking=ranking,
        exclude_photo=exclude_photo,
        using=using,
    )
    sql, params = _statement(limit=limit + 1, offset=offset, **inputs)
    rows = run_ranked(sql, params, vector_depth=params["vector_depth"], using=using)
    total = rows_total(rows)
    if total is None and offset > 0:  # past the last result: how many the first page counts
        sql, params = _statement(limit=1, offset=0, **inputs)
        total = rows_total(run_ranked(sql, params, vector_depth=params["vector_depth"], using=using))
    hits = hits_with_other_profiles(hits_from_rows(rows[:limit], using=using), using=using)
    hits = _with_reasons(hits, filters, using)
    has_more = len(rows) > limit
    count, estimate = total or (0, False)
    return SearchResult(
        hits=hits,
        model_id=model_id,
        warnings=warnings,
        has_more=has_more,
        next_offset=offset + limit if has_more else None,
        total=count,
        total_is_estimate=estimate,
    )


def _with_reasons(hits: list[SearchHit], filters: SearchFilters, using: str) -> list[SearchHit]:
    """``hits`` with the filters that hold each (``filter_reasons``): one query for the persons' faces, if asked."""
    if not filters:
        return hits
    faces = persons_with_faces_on(
        person_ids=[pid for person in filters.persons for pid in person.ids],
        photo_ids=[hit.photo.duplicate_of_id or hit.photo.pk for hit in hits],
        using=using,
    )
    return [
        replace(
            hit,
            filters=filter_reasons(
                filters, photo=hit.photo, faces_of=faces.get(hit.photo.duplicate_of_id or hit.photo.pk, set())
            ),
        )
        for hit in hits
    ]


def _statement(*, words, query_vector, model_id, filters, using, **inputs) -> tuple[str, dict]:
    # The probes need the database, so they run here and the builder stays pure (docs/ranking.sql).
    strategy = vector_strategy(model_id, filters, using=using) if query_vector is not None else "hnsw"
    configs = text_configs_in_use(using=using) if words is not None else []
    return statement.hybrid_statement(
        words=words,
        configs=configs,
        query_vector=query_vector,
        model_id=model_id,
        filters=filters,
        strategy=strategy,
        **inputs,
    )
