"""Reads for search: the one place that holds ranking SQL.

Vectors of different models live in the same ``embedding`` column (``halfvec`` without a fixed dimension). Each model
gets a partial HNSW index over ``(embedding::halfvec(D))`` restricted to its own rows
(``search.services.embedding_index_ensure``); the queries below use exactly that expression and predicate so the
planner can pick the index. User text only ever travels as a bound parameter.

One statement ranks a query: the vector channel (nearest photos to the query's text embedding) and the text channel
(``websearch_to_tsquery`` over each photo's words) are fused by weighted reciprocal rank, filtered, cut off, sorted and
paged. See ``photo_search``.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from pgvector import HalfVector
from PIL import Image

from photosearch.errors import InvalidInput, StateConflict
from profiles.images import ImageRejected, image_open
from profiles.models import MediaType, Photo, Profile
from search.encoders import Encoder, EncoderUnavailable, get_encoder

MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_DEPTH = 1000
MAX_WEIGHT = 10.0
SORTS = ("relevance", "newest", "oldest")
_ORDER_BY = {
    "relevance": "fused_score DESC, photo_id",
    "newest": "taken_at DESC NULLS LAST, fused_score DESC, photo_id",
    "oldest": "taken_at ASC NULLS LAST, fused_score DESC, photo_id",
}
# ts_headline marks matches with these; the snippet is HTML-escaped first, then they become <mark> tags.
_MARK_START, _MARK_STOP = "\x02", "\x03"
_EXCLUDED = re.compile(r'(?:^|\s)-("[^"]*"|\S+)')


class InvalidQuery(InvalidInput):
    """The query cannot be run as given; ``str(exc)`` is the reason to show the user, ``field`` the parameter."""


class NotEmbedded(StateConflict):
    """The photo has no embedding yet, so nothing can be compared with it."""


@dataclass(frozen=True)
class SearchFilters:
    profile_ids: tuple[int, ...] = ()
    taken_from: datetime | None = None  # inclusive
    taken_to: datetime | None = None  # exclusive
    media_type: str | None = None  # "image" | "video"
    has_text: bool | None = None  # True: only photos with their own words; False: only photos without

    def __bool__(self) -> bool:
        return bool(self.profile_ids) or any(
            value is not None for value in (self.taken_from, self.taken_to, self.media_type, self.has_text)
        )


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days ``first``…``last`` (both included, display time zone) as ``SearchFilters``' taken_from/taken_to."""

    def start(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))

    return (start(first) if first else None, start(last + timedelta(days=1)) if last else None)


@dataclass(frozen=True)
class RankingOptions:
    """Per-request overrides of the ranking settings (None: the setting). Checked against the limits above."""

    vector_weight: float | None = None
    text_weight: float | None = None
    vector_depth: int | None = None
    text_depth: int | None = None
    cutoff: float | None = None  # cosine-distance margin behind the best vector hit; 0 turns the cutoff off


@dataclass(frozen=True)
class SearchHit:
    photo: Photo
    score: float
    vector_rank: int | None = None
    vector_distance: float | None = None
    text_rank: int | None = None
    text_score: float | None = None
    headline: str = ""  # HTML-safe snippet of the photo's words, matches in <mark>; "" when no word matched


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    model_id: str | None  # the embedding space searched; None when the vector channel was unavailable
    warnings: list[str] = field(default_factory=list)
    has_more: bool = False
    next_offset: int | None = None


def embedding_expression(dimensions: int) -> str:
    """SQL for the indexed vector expression of a ``dimensions``-wide model (an int, never user input)."""
    return f"(embedding::halfvec({int(dimensions)}))"


def embedding_index_name(model_id: str) -> str:
    return "photo_embedding_hnsw_" + hashlib.sha1(model_id.encode()).hexdigest()[:16]


def embedding_profile_index_name(model_id: str, profile_id: int) -> str:
    """A big profile's own HNSW index over its ``model_id`` vectors (see embedding_profile_indexes_ensure)."""
    return f"{embedding_index_name(model_id)}_p{int(profile_id)}"


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


def photo_search(
    *,
    query: str,
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    ranking: RankingOptions = RankingOptions(),
    encoder: Encoder | None = None,
) -> SearchResult:
    """Hybrid search by description.

    Two candidate lists — the photos nearest to the query's text embedding (HNSW, cosine; an exact scan when the
    filters leave few photos) and the full-text matches of ``websearch_to_tsquery`` (quoted phrases, ``-exclusions``,
    ``or``) ranked by ``ts_rank_cd`` — are fused by weighted reciprocal rank, Σ w / (k + rank). Excluded words also
    drop vector-only hits whose words contain them. The relevance cutoff keeps a vector-only hit only while its
    distance is within ``cutoff`` of the best vector hit's: it adapts to how well the query matches at all, always
    keeps the best hit, and never drops a photo whose words matched. Then sort, then page (``offset``/``limit``).

    If the model cannot be loaded, the text channel still answers and ``warnings`` says why vectors were left out.
    """
    query = _clean_query(query)
    ranking = _clean_ranking(ranking)
    warnings: list[str] = []
    vector_text, excluded = _split_exclusions(query)
    query_vector, model_id = None, None
    if vector_text:
        try:
            encoder = encoder or get_encoder()
            query_vector, model_id = _text_vector(encoder, vector_text), encoder.model_id
            if (partial := _coverage_warning(model_id)) is not None:
                warnings.append(partial)
        except EncoderUnavailable as exc:
            warnings.append(f"Vector search unavailable, showing text matches only: {exc}")
    return _ranked(
        query=query, excluded=excluded, query_vector=query_vector, model_id=model_id, filters=filters, sort=sort,
        limit=limit, offset=offset, ranking=ranking, warnings=warnings,
    )


def photo_search_by_image(
    *,
    data: bytes,
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    ranking: RankingOptions = RankingOptions(),
    encoder: Encoder | None = None,
) -> SearchResult:
    """Photos that look like the uploaded image (vector channel only, same filters, cutoff, sort and paging)."""
    image = _uploaded_image(data)
    try:
        encoder = encoder or get_encoder()
    except EncoderUnavailable as exc:
        return SearchResult(hits=[], model_id=None, warnings=[f"Search by image needs the model: {exc}"])
    query_vector = encoder.encode_images([image])[0]
    warnings = [w for w in [_coverage_warning(encoder.model_id)] if w]
    return _ranked(
        query=None, excluded=[], query_vector=query_vector, model_id=encoder.model_id, filters=filters, sort=sort,
        limit=limit, offset=offset, ranking=_clean_ranking(ranking), warnings=warnings,
    )


def photo_similar(
    *, photo: Photo, filters: SearchFilters = SearchFilters(), limit: int = 20, offset: int = 0
) -> SearchResult:
    """Photos nearest to ``photo`` in its own embedding space (HNSW, cosine), excluding ``photo`` itself.

    Uses the photo's stored vector, so it needs no model load and also works for photos embedded by a previous model.
    No cutoff: "more like this" is an ordering, not a question with right answers.
    """
    if photo.embedding is None or not photo.embedding_model:
        raise NotEmbedded(f"Photo {photo.pk} has no embedding yet; run embed_photos first.")
    return _ranked(
        query=None, excluded=[], query_vector=_as_array(photo.embedding), model_id=photo.embedding_model,
        filters=filters, sort="relevance", limit=limit, offset=offset,
        ranking=_clean_ranking(RankingOptions(cutoff=0)), warnings=[], exclude_photo=photo.pk,
    )


def photo_browse(
    *, filters: SearchFilters = SearchFilters(), sort: str = "newest", limit: int = 20, offset: int = 0
) -> SearchResult:
    """Photos that pass ``filters`` with no query at all (browsing a profile), newest first by default
    (``relevance`` means newest here: nothing to be relevant to). Duplicates are left out, as in search."""
    limit, offset = _clean_limit(limit), _clean_offset(offset)
    if sort not in SORTS:
        raise InvalidQuery(f"sort must be one of {', '.join(SORTS)}.")
    where, params = _filter_sql(filters)
    order = "taken_at ASC NULLS LAST, id" if sort == "oldest" else "taken_at DESC NULLS LAST, id DESC"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM profiles_photo WHERE duplicate_of_id IS NULL {where} ORDER BY {order} "
            f"LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit + 1, "offset": offset},
        )
        ids = [row[0] for row in cursor.fetchall()]
    by_id = _photos_by_id(ids[:limit])
    hits = [SearchHit(photo=by_id[pid], score=0.0) for pid in ids[:limit] if pid in by_id]
    has_more = len(ids) > limit
    return SearchResult(hits=hits, model_id=None, has_more=has_more, next_offset=offset + limit if has_more else None)


def photo_nearest_ids(
    *, vector: np.ndarray, model_id: str, limit: int, depth: int | None = None, exact: bool = False,
    explain: bool = False,
) -> list:
    """The vector channel alone, as ``photo_search`` runs it (same ORDER BY … LIMIT shape, depth and ef_search):
    ids of the ``limit`` nearest photos, or with ``exact`` the true nearest (no index), or its EXPLAIN lines.
    For benchmarks that measure the index's recall and cost."""
    depth = depth or settings.PHOTOSEARCH_VECTOR_CANDIDATES
    dimensions = len(vector)
    distance = f"{embedding_expression(dimensions)} <=> %(vector)s::halfvec({dimensions})"
    order = f"({distance}) + 0" if exact else distance
    sql = f"SELECT id FROM profiles_photo WHERE embedding_model = %(model_id)s ORDER BY {order} LIMIT %(depth)s"
    params = {"vector": HalfVector(vector).to_text(), "model_id": model_id, "depth": depth}
    rows = _run_ranked(("EXPLAIN " if explain else "") + sql, params, vector_depth=depth)
    return [row[0] for row in rows] if explain else [row[0] for row in rows[:limit]]


def photo_text_match_count(*, query: str) -> int:
    """How many photos the text channel's tsquery matches for ``query`` (its cost grows with this; for benchmarks)."""
    config = settings.PHOTOSEARCH_TEXT_SEARCH_CONFIG
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM profiles_photo WHERE search_vector @@ websearch_to_tsquery('{config}', %s)",
            [_clean_query(query)],
        )
        return cursor.fetchone()[0]


def photo_search_explain(*, query: str, query_vector: np.ndarray, model_id: str, limit: int = 20,
                         filters: SearchFilters = SearchFilters()) -> str:
    """EXPLAIN output of the hybrid query, for tests and benchmarks that check which indexes it uses."""
    sql, params = _hybrid_sql(
        query=_clean_query(query), excluded=[], query_vector=query_vector, model_id=model_id, filters=filters,
        sort="relevance", limit=_clean_limit(limit), offset=0, ranking=_clean_ranking(RankingOptions()),
        exclude_photo=None,
    )
    rows = _run_ranked("EXPLAIN " + sql, params, vector_depth=params["vector_depth"])
    return "\n".join(row[0] for row in rows)


# --- The statement -----------------------------------------------------------------------------------------------


def _ranked(*, query, excluded, query_vector, model_id, filters, sort, limit, offset, ranking, warnings,
            exclude_photo=None) -> SearchResult:
    limit, offset = _clean_limit(limit), _clean_offset(offset)
    if sort not in SORTS:
        raise InvalidQuery(f"sort must be one of {', '.join(SORTS)}.")
    sql, params = _hybrid_sql(
        query=query, excluded=excluded, query_vector=query_vector, model_id=model_id, filters=filters, sort=sort,
        limit=limit + 1, offset=offset, ranking=ranking, exclude_photo=exclude_photo,
    )
    rows = _run_ranked(sql, params, vector_depth=params["vector_depth"])
    has_more = len(rows) > limit
    hits = _hits_from_rows(rows[:limit])
    return SearchResult(hits=hits, model_id=model_id, warnings=warnings, has_more=has_more,
                        next_offset=offset + limit if has_more else None)


def _hybrid_sql(*, query, excluded, query_vector, model_id, filters, sort, limit, offset, ranking, exclude_photo):
    config = settings.PHOTOSEARCH_TEXT_SEARCH_CONFIG
    where, params = _filter_sql(filters)
    # A deep page needs deep candidate lists: each channel contributes at most its depth.
    vector_depth = max(ranking.vector_depth, offset + limit) if query_vector is not None else 0
    text_depth = max(ranking.text_depth, offset + limit)
    exclusion = ""
    if excluded:
        # The text channel's tsquery already excludes these words; this drops vector hits whose words contain them.
        exclusion = f"AND NOT (search_vector @@ websearch_to_tsquery('{config}', %(excluded)s))"
        params["excluded"] = " OR ".join(excluded)
    if query_vector is not None:
        dimensions = len(query_vector)
        strategy = _vector_strategy(model_id, where, params, filters)
        distance = f"{embedding_expression(dimensions)} <=> %(vector)s::halfvec({dimensions})"
        # "+ 0" hides the expression from the HNSW index: with a selective filter, an exact scan of the few
        # matching rows beats walking the graph (see _vector_strategy).
        order = f"({distance}) + 0" if strategy == "exact" else distance
        exclude = "AND id <> %(photo_id)s" if exclude_photo else ""
        vector_cte = f"""
            SELECT id, taken_at, {distance} AS distance FROM profiles_photo
            WHERE embedding_model = %(model_id)s {exclude} {where} {exclusion}
            ORDER BY {order} LIMIT %(vector_depth)s"""
    else:
        vector_cte = "SELECT NULL::bigint AS id, NULL::timestamptz AS taken_at, NULL::float8 AS distance WHERE false"
    if query is not None:
        text_cte = f"""
            SELECT id, taken_at, ts_rank_cd(search_vector, tsq) AS score
            FROM profiles_photo, websearch_to_tsquery('{config}', %(query)s) tsq
            WHERE search_vector @@ tsq AND duplicate_of_id IS NULL {where}
            ORDER BY score DESC, id LIMIT %(text_depth)s"""
        # Snippets for the page's rows only (ts_headline re-parses the text: worth it for 20 rows, not 200).
        headline = f"""CASE WHEN page.text_rank IS NOT NULL THEN ts_headline('{config}',
                concat_ws(' · ', NULLIF(p.source_text, ''), NULLIF(p.caption, ''), NULLIF(p.alt_text, '')),
                websearch_to_tsquery('{config}', %(query)s),
                'StartSel={_MARK_START}, StopSel={_MARK_STOP}, MaxWords=24, MinWords=8, MaxFragments=2')
            END"""
    else:
        text_cte = "SELECT NULL::bigint AS id, NULL::timestamptz AS taken_at, NULL::float4 AS score WHERE false"
        headline = "NULL"
    # MATERIALIZED keeps the ORDER BY … LIMIT shape the HNSW index serves; ranks are assigned afterwards because an
    # iterative index scan (relaxed order) may return candidates slightly out of order. Each channel carries what
    # sorting needs (taken_at), so fusing, cutting off, sorting and paging never go back to the table.
    sql = f"""
        WITH vector_candidates AS MATERIALIZED ({vector_cte}),
        vector_ranked AS (
            SELECT id, taken_at, distance, row_number() OVER (ORDER BY distance, id) AS rank FROM vector_candidates
        ),
        text_ranked AS (
            SELECT id, taken_at, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM ({text_cte}) matches
        ),
        fused AS (
            SELECT COALESCE(v.id, t.id) AS photo_id, COALESCE(v.taken_at, t.taken_at) AS taken_at,
                   COALESCE(%(vector_weight)s / (%(rrf_k)s + v.rank), 0)
                     + COALESCE(%(text_weight)s / (%(rrf_k)s + t.rank), 0) AS fused_score,
                   v.rank AS vector_rank, v.distance AS vector_distance, t.rank AS text_rank, t.score AS text_score
            FROM vector_ranked v FULL OUTER JOIN text_ranked t ON v.id = t.id
            WHERE t.id IS NOT NULL OR %(cutoff)s <= 0
               OR v.distance <= (SELECT min(distance) FROM vector_candidates) + %(cutoff)s
        ),
        page AS (
            SELECT f.*, row_number() OVER (ORDER BY {_ORDER_BY[sort]}) AS position
            FROM fused f
            ORDER BY position
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT page.photo_id, page.fused_score, page.vector_rank, page.vector_distance, page.text_rank,
               page.text_score, {headline}, {_PHOTO_LOADER.select("p")}, {_PROFILE_LOADER.select("pr")}
        FROM page JOIN profiles_photo p ON p.id = page.photo_id JOIN profiles_profile pr ON pr.id = p.profile_id
        ORDER BY page.position
    """
    params.update(
        query=query,
        vector=HalfVector(query_vector).to_text() if query_vector is not None else None,
        model_id=model_id,
        photo_id=exclude_photo,
        vector_depth=vector_depth,
        text_depth=text_depth,
        vector_weight=ranking.vector_weight,
        text_weight=ranking.text_weight,
        rrf_k=float(settings.PHOTOSEARCH_RRF_K),
        cutoff=ranking.cutoff,
        limit=limit,
        offset=offset,
    )
    return sql, params


def _filter_sql(filters: SearchFilters) -> tuple[str, dict]:
    """AND-clauses (both channels) for the filters that are set, and their parameters."""
    clauses, params = [], {}
    if filters.profile_ids:
        clauses.append("profile_id = ANY(%(profile_ids)s)")
        params["profile_ids"] = list(filters.profile_ids)
    if filters.taken_from is not None:
        clauses.append("taken_at >= %(taken_from)s")
        params["taken_from"] = filters.taken_from
    if filters.taken_to is not None:
        clauses.append("taken_at < %(taken_to)s")
        params["taken_to"] = filters.taken_to
    if filters.media_type is not None:
        if filters.media_type not in MediaType.values:
            raise InvalidQuery(f"media_type must be one of {', '.join(MediaType.values)}.")
        clauses.append("media_type = %(media_type)s")
        params["media_type"] = filters.media_type
    if filters.has_text is not None:
        clauses.append("source_text <> ''" if filters.has_text else "source_text = ''")
    return "".join(f" AND {clause}" for clause in clauses), params


def _vector_strategy(model_id: str, where: str, params: dict, filters: SearchFilters) -> str:
    """How to find the nearest photos: ``hnsw`` without filters, or filtered to one profile that has its own HNSW
    index (the planner picks it); with other filters, ``exact`` when at most PHOTOSEARCH_EXACT_SCAN_MAX photos pass
    them (an exact scan of a few thousand rows is faster than an iterative graph walk that discards most of what it
    visits, and never starves), else ``iterative`` (pgvector 0.8)."""
    if not where:
        return "hnsw"
    if len(filters.profile_ids) == 1 and _index_exists(embedding_profile_index_name(model_id, filters.profile_ids[0])):
        return "hnsw"
    limit = settings.PHOTOSEARCH_EXACT_SCAN_MAX
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM profiles_photo WHERE embedding_model = %(model_id)s {where} "
            f"LIMIT %(probe)s) passing",
            {**params, "model_id": model_id, "probe": limit + 1},
        )
        (passing,) = cursor.fetchone()
    return "exact" if passing <= limit else "iterative"


def _index_exists(name: str) -> bool:
    """Whether index ``name`` exists; cached like the coverage (indexes appear when embed_photos ends)."""
    key = "photosearch:index-exists:" + name
    exists = cache.get(key)
    if exists is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            (exists,) = cursor.fetchone()
        cache.set(key, exists, COVERAGE_CACHE_SECONDS)
    return exists


def _ef_search(vector_depth: int) -> int:
    # ef_search bounds how well one index scan's first batch is chosen; it should cover the depth we ask for, and
    # big libraries need more than that for the same recall (PHOTOSEARCH_HNSW_EF_SEARCH; docs/benchmarks.md).
    return max(40, settings.PHOTOSEARCH_HNSW_EF_SEARCH, min(vector_depth, 1000))


def search_session_prepare(*, connection) -> None:
    """Give a new database connection the HNSW settings that ranking queries need (``connection_created``).

    Set once per connection instead of ``SET LOCAL`` per query: that took a transaction and two more round trips on
    every search. ``relaxed_order`` iterative scans are harmless without filters (the first batch already fills the
    LIMIT) and stop filtered scans from starving; results are re-ranked by distance in SQL anyway. A query deeper than
    the session's ``ef_search`` still raises it for its own transaction (``_run_ranked``).
    """
    if connection.vendor != "postgresql":
        return
    ef_search = _ef_search(settings.PHOTOSEARCH_VECTOR_CANDIDATES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, false), set_config('hnsw.iterative_scan', 'relaxed_order', false)",
            [str(ef_search)],
        )
    # Remembered with the driver connection it belongs to: a reconnect starts from the server's defaults.
    connection.photosearch_session = (connection.connection, ef_search)


def _run_ranked(sql: str, params: dict, *, vector_depth: int) -> list[tuple]:
    """Run a ranking query with the HNSW search settings it needs: the connection's own (one round trip) when they
    suffice, else ``SET LOCAL`` in a transaction of its own."""
    ef_search = _ef_search(vector_depth)
    connection.ensure_connection()
    raw, prepared = getattr(connection, "photosearch_session", (None, 0))
    if raw is not connection.connection or ef_search > prepared:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            cursor.execute(sql, params)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _Loader:
    """Model instances straight from the ranking statement's own columns (as the ORM would build them: same
    converters, the left-out fields deferred), so a search is one round trip, not a ranking query plus a query
    for the photos and their profiles."""

    def __init__(self, model, *, leave_out: tuple[str, ...]):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.name not in leave_out]
        self.attnames = {f.attname for f in self.fields}
        self.width = len(self.fields)
        self._converters = None

    def select(self, alias: str) -> str:
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def build(self, values) -> models.Model:
        if self._converters is None:
            self._converters = []
            for field in self.fields:
                col = field.get_col(self.model._meta.db_table)
                found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                self._converters.append((col, found))
        values = list(values)
        for i, (col, found) in enumerate(self._converters):
            for convert in found:
                values[i] = convert(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


_PHOTO_LOADER = _Loader(Photo, leave_out=("embedding", "search_vector"))
_PROFILE_LOADER = _Loader(Profile, leave_out=())


def _hits_from_rows(rows: list[tuple]) -> list[SearchHit]:
    hits = []
    photo_end = 7 + _PHOTO_LOADER.width
    for row in rows:
        pid, score, vector_rank, distance, text_rank, text_score, headline = row[:7]
        photo = _PHOTO_LOADER.build(row[7:photo_end])
        Photo.profile.field.set_cached_value(photo, _PROFILE_LOADER.build(row[photo_end:]))
        hits.append(SearchHit(
            photo=photo,
            score=float(score),
            vector_rank=vector_rank,
            vector_distance=None if distance is None else float(distance),
            text_rank=text_rank,
            text_score=None if text_score is None else float(text_score),
            headline=_marked(headline),
        ))
    return hits


def _marked(headline: str | None) -> str:
    if not headline:
        return ""
    return html.escape(headline).replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


def _photos_by_id(ids: list[int]) -> dict[int, Photo]:
    return Photo.objects.select_related("profile").defer("embedding", "search_vector").in_bulk(ids)


# --- Query text and its vector ------------------------------------------------------------------------------------


class _LRU:
    """A small thread-safe LRU map (the web process serves queries from several threads)."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_text_vectors = _LRU(1024)


def _text_vector(encoder: Encoder, text: str) -> np.ndarray:
    """The text tower's vector for ``text``, from an LRU keyed by model and normalised text: a repeated query (the
    next page, a re-sort, a popular search) skips the model."""
    key = (encoder.model_id, " ".join(text.lower().split()))
    vector = _text_vectors.get(key)
    if vector is None:
        vector = encoder.encode_texts([text])[0]
        _text_vectors.put(key, vector)
    return vector


def _split_exclusions(query: str) -> tuple[str, list[str]]:
    """(the text to embed: no ``-excluded`` words, no quotes or operators; the excluded words/phrases)."""
    excluded = [term for term in _EXCLUDED.findall(query) if term.strip('"')]
    kept = _EXCLUDED.sub(" ", query)
    vector_text = " ".join(kept.replace('"', " ").split())
    if vector_text.lower() in {"or", "and"}:
        vector_text = ""
    return vector_text, excluded


def _coverage_warning(model_id: str) -> str | None:
    if not _conversion_pending(model_id):
        return None
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


def _conversion_pending(model_id: str) -> bool:
    """Whether any photo (duplicates aside) lacks a ``model_id`` vector: two range scans of the embedding_model
    index, which end at once when there is none. The full count behind the warning (a scan of every row, ~0.5 s
    at a million photos) then only runs while a conversion or an import is actually under way. Cached like it."""
    key = "photosearch:conversion-pending:" + hashlib.sha1(model_id.encode()).hexdigest()
    pending = cache.get(key)
    if pending is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM profiles_photo WHERE (embedding_model < %s OR embedding_model > %s) "
                "AND duplicate_of_id IS NULL)",
                [model_id, model_id],
            )
            (pending,) = cursor.fetchone()
        cache.set(key, pending, COVERAGE_CACHE_SECONDS)
    return pending


def _uploaded_image(data: bytes) -> Image.Image:
    """Decode an uploaded query image with the same guards as imports (Pillow verify, pixel cap)."""
    try:
        image = image_open(data, max_pixels=settings.PHOTOSEARCH_MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        raise InvalidQuery(f"The upload is not a usable image: {exc}.") from None
    return image.convert("RGB")


# --- Input checks -------------------------------------------------------------------------------------------------


def _clean_query(query: str) -> str:
    query = " ".join((query or "").split())
    if not query:
        raise InvalidQuery("The query is empty; type a few words describing the photo.")
    if len(query) > settings.PHOTOSEARCH_MAX_QUERY_LENGTH:
        raise InvalidQuery(f"The query is too long ({len(query)} characters, at most "
                           f"{settings.PHOTOSEARCH_MAX_QUERY_LENGTH}).")
    if "\x00" in query or _MARK_START in query or _MARK_STOP in query:
        raise InvalidQuery("The query contains control characters.")
    return query


def _clean_limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}.")
    return int(limit)


def _clean_offset(offset: int) -> int:
    if not 0 <= int(offset) <= MAX_OFFSET:
        raise InvalidQuery(f"offset must be between 0 and {MAX_OFFSET}.")
    return int(offset)


def _clean_ranking(ranking: RankingOptions) -> RankingOptions:
    """Fill in the settings' defaults and refuse values outside the limits."""
    filled = replace(
        ranking,
        vector_weight=settings.PHOTOSEARCH_VECTOR_WEIGHT if ranking.vector_weight is None else ranking.vector_weight,
        text_weight=settings.PHOTOSEARCH_TEXT_WEIGHT if ranking.text_weight is None else ranking.text_weight,
        vector_depth=settings.PHOTOSEARCH_VECTOR_CANDIDATES if ranking.vector_depth is None else ranking.vector_depth,
        text_depth=settings.PHOTOSEARCH_TEXT_CANDIDATES if ranking.text_depth is None else ranking.text_depth,
        cutoff=settings.PHOTOSEARCH_CUTOFF if ranking.cutoff is None else ranking.cutoff,
    )
    for name in ("vector_weight", "text_weight"):
        if not 0 <= getattr(filled, name) <= MAX_WEIGHT:
            raise InvalidQuery(f"{name} must be between 0 and {MAX_WEIGHT:g}.")
    for name in ("vector_depth", "text_depth"):
        if not 1 <= getattr(filled, name) <= MAX_DEPTH:
            raise InvalidQuery(f"{name} must be between 1 and {MAX_DEPTH}.")
    if not 0 <= filled.cutoff <= 2:
        raise InvalidQuery("cutoff must be between 0 and 2 (a cosine distance).")
    return replace(filled, vector_weight=float(filled.vector_weight), text_weight=float(filled.text_weight),
                   cutoff=float(filled.cutoff))


def _as_array(vector) -> np.ndarray:
    return vector.to_numpy() if hasattr(vector, "to_numpy") else np.asarray(vector, dtype=np.float32)
