"""Search benchmark (``manage.py bench_search``): latency of the ranking selector, HNSW recall, index build, two
baselines (TF-IDF per request, exact numpy scan) and API throughput through gunicorn (``bench.api``), in a
separate database of clustered synthetic photos (``bench.data``).

Every query vector is handed to the selector precomputed (``QueryEncoder``): the text tower is not what is measured
("text-embedding cache warm"). The API load does the same on the server side (see ``bench.api``). Nothing in
production imports this module.

Only the standard library and numpy are imported at module level: ``bench.api`` imports this module, and
gunicorn imports that one before Django is set up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

BENCH_TOPICS = 256
DIMENSIONS = 512


# --- Encoders -----------------------------------------------------------------------------------------------------


class QueryEncoder:
    """Hands the selector precomputed query vectors, one per encoded text (the bench model's space)."""

    dimensions, device = DIMENSIONS, "cpu"

    def __init__(self, vectors: np.ndarray):
        from bench.data import BENCH_MODEL

        self.model_id = BENCH_MODEL
        self.vectors = iter(vectors)

    def encode_texts(self, texts):
        return np.stack([next(self.vectors) for _ in texts])


class NoVectorEncoder:
    """An encoder that is never available: photo_search then runs its text channel only (as when the model cannot
    load). A model id of its own keeps the selector's query-vector LRU from answering for it."""

    model_id, dimensions, device = "bench/no-vectors", DIMENSIONS, "cpu"

    def encode_texts(self, texts):
        from search.ml.encoders import EncoderUnavailable

        raise EncoderUnavailable("benchmark: text channel only")


# --- Timing -------------------------------------------------------------------------------------------------------


def percentiles(times_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 of ``times_ms``, rounded to 0.01 ms."""
    return {
        "p50": round(statistics.median(times_ms), 2),
        "p95": round(float(np.percentile(times_ms, 95)), 2),
        "p99": round(float(np.percentile(times_ms, 99)), 2),
    }


def timed(calls: Sequence[Callable[[], object]], *, warmup: Sequence[Callable[[], object]] = ()) -> list[float]:
    """Run ``warmup`` untimed, then each of ``calls``; milliseconds per call."""
    for call in warmup:
        call()
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


# --- Index --------------------------------------------------------------------------------------------------------


def build_indexes(*, rebuild: bool) -> dict:
    """Create the bench model's HNSW index and, as embed_photos and imports do, the own HNSW and word indexes of
    profiles with at least PHOTOSEARCH_PROFILE_INDEX_MIN photos (all dropped first when ``rebuild``), timed; their
    sizes and the GIN index's."""
    from django.db import connection

    from bench.data import BENCH_MODEL
    from profiles.models import Profile
    from search.ranking.indexes import TEXT_PROFILE_INDEX_PREFIX, like_pattern
    from search.selectors import embedding_index_name
    from search.services.index_builds import (
        embedding_index_ensure,
        embedding_profile_indexes_ensure,
        text_profile_indexes_ensure,
    )

    name = embedding_index_name(BENCH_MODEL)
    like = {"hnsw": like_pattern(name + "_p", ""), "words": like_pattern(TEXT_PROFILE_INDEX_PREFIX, "")}
    if rebuild:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'profiles_photo' "
                "AND (indexname LIKE %s OR indexname LIKE %s)",
                [like_pattern(name, ""), like["words"]],
            )
            for (existing,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX IF EXISTS {existing}")  # our own generated names
    started = time.perf_counter()
    embedding_index_ensure(model_id=BENCH_MODEL, dimensions=DIMENSIONS)
    build_s = time.perf_counter() - started
    profile_ids = list(Profile.objects.values_list("id", flat=True))
    started = time.perf_counter()
    embedding_profile_indexes_ensure(model_id=BENCH_MODEL, dimensions=DIMENSIONS, profile_ids=profile_ids)
    profile_build_s = time.perf_counter() - started
    started = time.perf_counter()
    text_profile_indexes_ensure(profile_ids=profile_ids)
    profile_text_build_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass), pg_relation_size('photo_search_vector_gin'::regclass)", [name]
        )
        hnsw_bytes, gin_bytes = cursor.fetchone()
        sizes = {}
        for kind, pattern in like.items():
            cursor.execute(
                "SELECT count(*), coalesce(sum(pg_relation_size(indexname::regclass)), 0) FROM pg_indexes "
                "WHERE tablename = 'profiles_photo' AND indexname LIKE %s",
                [pattern],
            )
            count, size = cursor.fetchone()
            sizes[kind] = (count, int(size))
    return {
        "index_build_s": round(build_s, 2) if rebuild else None,
        "hnsw_index_bytes": hnsw_bytes,
        "gin_index_bytes": gin_bytes,
        "profile_indexes": sizes["hnsw"][0],
        "profile_index_build_s": round(profile_build_s, 2) if rebuild else None,
        "profile_index_bytes": sizes["hnsw"][1],
        "profile_text_indexes": sizes["words"][0],
        "profile_text_index_build_s": round(profile_text_build_s, 2),
        "profile_text_index_bytes": sizes["words"][1],
        "index_bytes": hnsw_bytes + gin_bytes + sizes["hnsw"][1] + sizes["words"][1],
    }


def hnsw_settings() -> dict:
    """The bench model's graph shape and the search width this connection runs with."""
    from django.db import connection

    from bench.data import BENCH_MODEL
    from search.selectors import embedding_index_name, index_build_options

    options = index_build_options(name=embedding_index_name(BENCH_MODEL)) or {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search')")
        ef_search = int(cursor.fetchone()[0])
    return {
        "hnsw_m": int(options.get("m", 16)),
        "hnsw_ef_construction": int(options.get("ef_construction", 64)),
        "hnsw_ef_search": ef_search,
    }


def profile_near(share: float):
    """The profile whose share of all photos is nearest ``share``, annotated with ``photo_count``."""
    from django.db.models import Count

    from profiles.models import Photo, Profile

    total = Photo.objects.count()
    ranked = Profile.objects.annotate(photo_count=Count("photos")).order_by("-photo_count", "id")
    return min(ranked, key=lambda p: abs(p.photo_count / total - share))


# --- Selector latency ---------------------------------------------------------------------------------------------


def warm_caches(*, queries: int, seed: int = 0) -> dict:
    """Untimed vector and text queries before anything is timed, so latencies are those of a server that has been
    answering for a while (HNSW graph and heap pages in shared_buffers), not of one reading them from disk: at a
    million photos the first queries after a start read the 1.4 GB graph and take ~10× longer."""
    from bench.data import BENCH_MODEL, topic_queries
    from bench.probes import photo_nearest_ids, photo_text_match_count

    started = time.perf_counter()
    texts, vectors = topic_queries(queries, seed=seed + 30)
    for text, vector in zip(texts, vectors, strict=True):
        photo_nearest_ids(vector=vector, model_id=BENCH_MODEL, limit=10)
        photo_text_match_count(query=text)
    return {"warmup_queries": queries, "warmup_s": round(time.perf_counter() - started, 1)}


def selector_latency(*, queries: int, warmup: int = 3, share: float = 0.02, seed: int = 0) -> dict:
    """p50/p95/p99 (ms) of photo_search / photo_similar for vector-only, text-only, hybrid, hybrid + profile filter
    and similar-photo queries."""
    from bench.data import BENCH_MODEL, topic_queries
    from bench.probes import photo_text_match_count
    from profiles.models import Photo
    from search.selectors import RankingOptions, SearchFilters, photo_search, photo_similar

    count = warmup + queries
    target = profile_near(share)
    runs: dict[str, list[Callable[[], object]]] = {}
    # Vector only: words no photo has, so the text channel finds nothing.
    _, vectors = topic_queries(count, seed=seed + 10)
    encoder = QueryEncoder(vectors)
    runs["vector"] = [lambda i=i: photo_search(query=f"zqxj{seed}v{i}", encoder=encoder) for i in range(count)]
    # Text only: the encoder is unavailable, so photo_search runs the text channel alone.
    texts, _ = topic_queries(count, seed=seed + 11)
    no_vectors = NoVectorEncoder()
    runs["text"] = [lambda t=t: photo_search(query=t, encoder=no_vectors) for t in texts]
    hybrid_texts, vectors = topic_queries(count, seed=seed + 12)
    encoder_h = QueryEncoder(vectors)
    runs["hybrid"] = [lambda t=t: photo_search(query=t, encoder=encoder_h) for t in hybrid_texts]
    # The same queries with every word required (words="all": how the words channel matched before descriptions).
    all_words = RankingOptions(words="all")
    runs["text_all"] = [lambda t=t: photo_search(query=t, encoder=no_vectors, ranking=all_words) for t in texts]
    runs["hybrid_all"] = [lambda t=t: photo_search(query=t, encoder=encoder_h, ranking=all_words) for t in hybrid_texts]
    texts, vectors = topic_queries(count, seed=seed + 13)
    encoder_f = QueryEncoder(vectors)
    filters = SearchFilters(profile_ids=(target.pk,))
    runs["filtered"] = [lambda t=t: photo_search(query=t, filters=filters, encoder=encoder_f) for t in texts]
    rng = np.random.default_rng(seed + 14)
    ids = list(Photo.objects.filter(embedding_model=BENCH_MODEL).values_list("id", flat=True))
    photos = list(Photo.objects.filter(id__in=rng.choice(ids, size=min(count, len(ids)), replace=False)))
    runs["similar"] = [lambda p=p: photo_similar(photo=p) for p in photos]
    figures = {"filter_profile_share": round(target.photo_count / Photo.objects.count(), 4)}
    for name, calls in runs.items():
        times = timed(calls[warmup:], warmup=calls[:warmup])
        for key, value in percentiles(times).items():
            figures[f"{name}_{key}_ms"] = value
    # The text channel's cost grows with how many photos match (GIN finds them; each is then fetched and scored).
    # With words="any" a photo holding any query word matches (the channel then scores at most PHOTOSEARCH_TEXT_TERM_CAP
    # per word of them); with "all", only those holding every word.
    matches = [photo_text_match_count(query=text) for text in hybrid_texts[:30]]
    figures["text_matches_p50"] = int(statistics.median(matches))
    matches = [photo_text_match_count(query=text, words="all") for text in hybrid_texts[:30]]
    figures["text_matches_all_p50"] = int(statistics.median(matches))
    return figures


# --- Recall -------------------------------------------------------------------------------------------------------


def recall_at_10(*, queries: int, seed: int = 0) -> dict:
    """Mean overlap/10 of the top 10 of the production vector query (HNSW, the selector's ef_search) with the top 10
    of the same query as an exact scan (``+ 0`` keeps the index out)."""
    from bench.data import BENCH_MODEL, topic_queries
    from bench.probes import photo_nearest_ids

    def top10(vector, *, exact: bool, explain: bool = False):
        return photo_nearest_ids(vector=vector, model_id=BENCH_MODEL, limit=10, exact=exact, explain=explain)

    _, vectors = topic_queries(queries, seed=seed + 20)
    plan = "\n".join(top10(vectors[0], exact=False, explain=True))
    for vector in vectors[:3]:  # warm up both paths
        top10(vector, exact=False), top10(vector, exact=True)
    overlaps, hnsw_ms, exact_ms = [], [], []
    for vector in vectors:
        started = time.perf_counter()
        approximate = top10(vector, exact=False)
        middle = time.perf_counter()
        exact = top10(vector, exact=True)
        hnsw_ms.append((middle - started) * 1000)
        exact_ms.append((time.perf_counter() - middle) * 1000)
        overlaps.append(len(set(approximate) & set(exact)) / 10)
    # The vector channel's SQL alone (no fusion, no ORM): where the selector's time goes, and what HNSW saves.
    return {
        "recall_at_10": round(float(np.mean(overlaps)), 4),
        "recall_queries": len(vectors),
        "recall_uses_hnsw": "photo_embedding_hnsw_" in plan,
        "vector_sql_hnsw_p50_ms": round(statistics.median(hnsw_ms), 2),
        "vector_sql_exact_p50_ms": round(statistics.median(exact_ms), 2),
    }


# --- Baselines ----------------------------------------------------------------------------------------------------


def tfidf_baseline(*, queries: int, cap: int, seed: int = 0) -> dict:
    """The blog seed's method: per request, fit TfidfVectorizer over every photo's words, rank by cosine, top 20.
    The texts are loaded once before timing; building the matrix per request is the baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bench.data import topic_queries
    from profiles.models import Photo

    texts = [
        " ".join(filter(None, row))
        for row in Photo.objects.order_by("id")
        .values_list("caption", "source_text", "hashtags", "alt_text")
        .iterator(chunk_size=10_000)
    ]
    measured = min(queries, cap)
    query_texts, _ = topic_queries(measured + 1, seed=seed + 12)

    def search(query: str) -> np.ndarray:
        vectorizer = TfidfVectorizer()
        matrix = vectorizer.fit_transform(texts)  # rows are L2-normalised: the dot product is the cosine
        scores = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
        top = np.argpartition(-scores, 20)[:20]
        return top[np.argsort(-scores[top])]

    calls = [lambda q=q: search(q) for q in query_texts[1:]]
    times = timed(calls, warmup=[lambda: search(query_texts[0])])
    return {"tfidf_baseline_p50_ms": round(statistics.median(times), 2), "tfidf_baseline_queries": measured}


def numpy_baseline(*, queries: int, seed: int = 0) -> dict:
    """rclip's method: every vector in one (N, 512) float32 array (loaded before timing), per query a matrix-vector
    product and an argpartition for the top 20."""
    from bench.data import BENCH_MODEL, topic_queries
    from profiles.models import Photo

    rows = Photo.objects.filter(embedding_model=BENCH_MODEL).order_by("id").values_list("embedding", flat=True)
    vectors = np.stack([as_numpy(v) for v in rows.iterator(chunk_size=10_000)]).astype(np.float32)
    _, query_vectors = topic_queries(queries + 3, seed=seed + 12)

    def search(q: np.ndarray) -> np.ndarray:
        scores = vectors @ q
        top = np.argpartition(-scores, 20)[:20]
        return top[np.argsort(-scores[top])]

    calls = [lambda q=q: search(q) for q in query_vectors[3:]]
    times = timed(calls, warmup=[lambda q=q: search(q) for q in query_vectors[:3]])
    return {"numpy_baseline_p50_ms": round(statistics.median(times), 3), "numpy_baseline_queries": queries}


# --- Everything ---------------------------------------------------------------------------------------------------


def run(
    *,
    photos: int,
    profiles: int,
    queries: int,
    concurrency: int,
    database: str,
    reuse: bool,
    api_seconds: float,
    tfidf_cap: int | None = None,
    warmup: int = 300,
    uncached: int = 50,
    replica_searches: int = 0,
    say: Callable[[str], None] = lambda message: None,
) -> dict:
    """The whole search benchmark in bench database ``database`` (filled with ``photos`` synthetic photos unless
    ``reuse`` finds that many there): index, warm-up, selector latency, recall, both baselines, API load. Returns
    the flat figures ``bench_search`` prints; ``say`` gets a line per step. With ``replica_searches``, after the
    index only the read replica against the primary (``bench.replicas``)."""
    from django.db import connections

    from bench.api import api_load, api_uncached
    from bench.data import bench_database, fill_synthetic
    from profiles.models import Photo

    started = time.perf_counter()
    with bench_database(database):
        fresh = not (reuse and Photo.objects.count() == photos)
        if fresh:
            say(f"filling {photos:,} synthetic photos into {database}")
            fill_started = time.perf_counter()
            fill_synthetic(
                photos=photos,
                profiles=profiles,
                on_progress=lambda done: say(f"{done:,} photos") if done % 100_000 == 0 else None,
            )
            fill_s = round(time.perf_counter() - fill_started, 1)
            say("building the HNSW index")
        figures: dict = {
            "photos": Photo.objects.count(),
            "profiles": profiles if fresh else None,
            "queries": queries,
            "data_reused": not fresh,
            "fill_s": fill_s if fresh else None,
        }
        figures.update(build_indexes(rebuild=fresh))
        # A new connection reads the library's size, which the HNSW search width follows (search.ranking.session).
        connections["default"].close()
        figures.update(hnsw_settings())
        if replica_searches:
            from bench.replicas import replica_vs_primary

            say(f"read replica vs primary: {warmup} searches untimed, then {replica_searches} against each")
            figures.update(replica_vs_primary(searches=replica_searches, warmup=warmup))
            figures["wall_s"] = round(time.perf_counter() - started, 1)
            return figures
        say(f"warming the caches: {warmup} queries")
        figures.update(warm_caches(queries=warmup))
        say(f"selector latency: {queries} queries per run")
        figures.update(selector_latency(queries=queries))
        say(f"recall@10: {queries} queries")
        figures.update(recall_at_10(queries=queries))
        cap = tfidf_cap if tfidf_cap is not None else (queries if photos <= 20_000 else 5)
        say(f"TF-IDF baseline: {min(queries, cap)} queries")
        figures.update(tfidf_baseline(queries=queries, cap=cap))
        say(f"numpy baseline: {queries} queries")
        figures.update(numpy_baseline(queries=queries))
        connections["default"].close()  # the server gets the database to itself (and its own connections)
        figures.update(api_load(database=database, seconds=api_seconds, concurrency=concurrency, say=say))
        if uncached:
            figures.update(api_uncached(database=database, queries=uncached, say=say))
    figures["hybrid_vs_tfidf"] = round(figures["tfidf_baseline_p50_ms"] / figures["hybrid_p50_ms"], 1)
    figures["vector_vs_numpy"] = round(figures["numpy_baseline_p50_ms"] / figures["vector_p50_ms"], 3)
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return figures


def as_numpy(vector) -> np.ndarray:
    """A stored pgvector value as a numpy array (a ``HalfVector`` gives float16: the caller casts). The selectors
    have the same conversion, private; the bench keeps its own rather than reach into them."""
    return vector.to_numpy() if hasattr(vector, "to_numpy") else np.asarray(vector, dtype=np.float32)
