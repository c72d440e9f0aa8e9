"""Search benchmark (``manage.py bench_search``): latency of the ranking selector, HNSW recall, index build, two
baselines (TF-IDF per request, exact numpy scan) and API throughput through gunicorn, in a separate database of
clustered synthetic photos (``search.bench.data``).

Every query vector is handed to the selector precomputed (``QueryEncoder``): the text tower is not what is measured
("text-embedding cache warm"). The API load runs the real HTTP stack in a gunicorn started from
``bench_wsgi_application`` (below), which does the same on the server side: it replaces the model by
``TopicTextEncoder``, a lookup from a topic's caption words to a vector near that topic's centre, because the
benchmark's photos carry synthetic 512-d vectors that no real text tower could match. Nothing in production imports
this module.

Only the standard library and numpy are imported at module level: gunicorn imports this module before Django is set up.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

BENCH_TOPICS = 256
DIMENSIONS = 512


# --- Encoders -----------------------------------------------------------------------------------------------------


class QueryEncoder:
    """Hands the selector precomputed query vectors, one per encoded text (the bench model's space)."""

    dimensions, device = DIMENSIONS, "cpu"

    def __init__(self, vectors: np.ndarray):
        from search.bench.data import BENCH_MODEL

        self.model_id = BENCH_MODEL
        self.vectors = iter(vectors)

    def encode_texts(self, texts):
        return np.stack([next(self.vectors) for _ in texts])


class NoVectorEncoder:
    """An encoder that is never available: photo_search then runs its text channel only (as when the model cannot
    load). A model id of its own keeps the selector's query-vector LRU from answering for it."""

    model_id, dimensions, device = "bench/no-vectors", DIMENSIONS, "cpu"

    def encode_texts(self, texts):
        from search.encoders import EncoderUnavailable

        raise EncoderUnavailable("benchmark: text channel only")


class TopicTextEncoder:
    """Stands in for the text tower in the API benchmark's server: a query made of a topic's caption words becomes a
    vector near that topic's centre (noise seeded by the text, so a repeated query gets the same vector), anything
    else a vector near a topic picked by the text's hash."""

    dimensions, device = DIMENSIONS, "cpu"

    def __init__(self):
        from search.bench.data import BENCH_MODEL, topic_bases, topic_centres, topic_words

        self.model_id = BENCH_MODEL
        self.centres = topic_centres(topics=BENCH_TOPICS, dimensions=DIMENSIONS)
        self.bases = topic_bases(topics=BENCH_TOPICS, dimensions=DIMENSIONS)
        self.topics_by_word: dict[str, set[int]] = {}
        for topic, words in enumerate(topic_words(topics=BENCH_TOPICS)):
            for word in words[:3]:
                self.topics_by_word.setdefault(word, set()).add(topic)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(text) for text in texts])

    def _vector(self, text: str) -> np.ndarray:
        seed = zlib.crc32(" ".join(text.lower().split()).encode())
        candidates = None
        for word in text.lower().split():
            topics = self.topics_by_word.get(word, set())
            candidates = topics if candidates is None else (candidates & topics or candidates)
        candidates = sorted(candidates or range(BENCH_TOPICS))
        from search.bench.data import topic_points

        topic = candidates[seed % len(candidates)]
        return topic_points(self.centres, self.bases, np.array([topic]), np.random.default_rng(seed))[0]


def bench_wsgi_application():
    """gunicorn app factory (``search.bench.search:bench_wsgi_application()``): the project's WSGI application with
    the query text tower replaced by ``TopicTextEncoder``. Used only by ``api_load`` against the bench database."""
    from django.core.wsgi import get_wsgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosearch.settings")
    application = get_wsgi_application()
    import search.selectors

    encoder = TopicTextEncoder()
    search.selectors.get_encoder = lambda: encoder
    return application


# --- Timing -------------------------------------------------------------------------------------------------------


def percentiles(times_ms: Sequence[float]) -> dict[str, float]:
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
    """Create the bench model's HNSW index and, as embed_photos does, the own indexes of profiles with at least
    PHOTOSEARCH_PROFILE_INDEX_MIN photos (all dropped first when ``rebuild``), timed; their sizes and the GIN index's."""
    from django.db import connection

    from profiles.models import Profile
    from search.bench.data import BENCH_MODEL
    from search.selectors import embedding_index_name
    from search.services import embedding_index_ensure, embedding_profile_indexes_ensure

    name = embedding_index_name(BENCH_MODEL)
    if rebuild:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'profiles_photo' AND indexname LIKE %s",
                           [name + "%"])
            for (existing,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX IF EXISTS {existing}")  # our own generated names
    started = time.perf_counter()
    embedding_index_ensure(model_id=BENCH_MODEL, dimensions=DIMENSIONS)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    embedding_profile_indexes_ensure(model_id=BENCH_MODEL, dimensions=DIMENSIONS,
                                     profile_ids=list(Profile.objects.values_list("id", flat=True)))
    profile_build_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s::regclass), pg_relation_size('photo_search_vector_gin'::regclass)",
                       [name])
        hnsw_bytes, gin_bytes = cursor.fetchone()
        cursor.execute("SELECT count(*), coalesce(sum(pg_relation_size(indexname::regclass)), 0) FROM pg_indexes "
                       "WHERE tablename = 'profiles_photo' AND indexname LIKE %s", [name + "\\_p%"])
        profile_indexes, profile_bytes = cursor.fetchone()
    return {
        "index_build_s": round(build_s, 2) if rebuild else None,
        "hnsw_index_bytes": hnsw_bytes,
        "gin_index_bytes": gin_bytes,
        "profile_indexes": profile_indexes,
        "profile_index_build_s": round(profile_build_s, 2) if rebuild else None,
        "profile_index_bytes": int(profile_bytes),
        "index_bytes": hnsw_bytes + gin_bytes + int(profile_bytes),
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
    from search.bench.data import BENCH_MODEL, topic_queries
    from search.selectors import photo_nearest_ids, photo_text_match_count

    started = time.perf_counter()
    texts, vectors = topic_queries(queries, seed=seed + 30)
    for text, vector in zip(texts, vectors):
        photo_nearest_ids(vector=vector, model_id=BENCH_MODEL, limit=10)
        photo_text_match_count(query=text)
    return {"warmup_queries": queries, "warmup_s": round(time.perf_counter() - started, 1)}


def selector_latency(*, queries: int, warmup: int = 3, share: float = 0.02, seed: int = 0) -> dict:
    """p50/p95/p99 (ms) of photo_search / photo_similar for vector-only, text-only, hybrid, hybrid + profile filter
    and similar-photo queries."""
    from profiles.models import Photo
    from search.bench.data import BENCH_MODEL, topic_queries
    from search.selectors import SearchFilters, photo_search, photo_similar, photo_text_match_count

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
    matches = [photo_text_match_count(query=text) for text in hybrid_texts[:30]]
    figures["text_matches_p50"] = int(statistics.median(matches))
    return figures


# --- Recall -------------------------------------------------------------------------------------------------------


def recall_at_10(*, queries: int, seed: int = 0) -> dict:
    """Mean overlap/10 of the top 10 of the production vector query (HNSW, the selector's ef_search) with the top 10
    of the same query as an exact scan (``+ 0`` keeps the index out)."""
    from search.bench.data import BENCH_MODEL, topic_queries
    from search.selectors import photo_nearest_ids

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
    return {"recall_at_10": round(float(np.mean(overlaps)), 4), "recall_queries": len(vectors),
            "recall_uses_hnsw": "photo_embedding_hnsw_" in plan,
            "vector_sql_hnsw_p50_ms": round(statistics.median(hnsw_ms), 2),
            "vector_sql_exact_p50_ms": round(statistics.median(exact_ms), 2)}


# --- Baselines ----------------------------------------------------------------------------------------------------


def tfidf_baseline(*, queries: int, cap: int, seed: int = 0) -> dict:
    """The blog seed's method: per request, fit TfidfVectorizer over every photo's words, rank by cosine, top 20.
    The texts are loaded once before timing; building the matrix per request is the baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from profiles.models import Photo
    from search.bench.data import topic_queries

    texts = [" ".join(filter(None, row)) for row in
             Photo.objects.order_by("id").values_list("caption", "source_text", "hashtags", "alt_text")
             .iterator(chunk_size=10_000)]
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
    from profiles.models import Photo
    from search.bench.data import BENCH_MODEL, topic_queries
    from search.selectors import _as_array

    rows = Photo.objects.filter(embedding_model=BENCH_MODEL).order_by("id").values_list("embedding", flat=True)
    vectors = np.stack([_as_array(v) for v in rows.iterator(chunk_size=10_000)]).astype(np.float32)
    _, query_vectors = topic_queries(queries + 3, seed=seed + 12)

    def search(q: np.ndarray) -> np.ndarray:
        scores = vectors @ q
        top = np.argpartition(-scores, 20)[:20]
        return top[np.argsort(-scores[top])]

    calls = [lambda q=q: search(q) for q in query_vectors[3:]]
    times = timed(calls, warmup=[lambda q=q: search(q) for q in query_vectors[:3]])
    return {"numpy_baseline_p50_ms": round(statistics.median(times), 3), "numpy_baseline_queries": queries}


# --- API load -----------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database: str) -> dict[str, str]:
    """The environment for a gunicorn serving the bench database: same settings module, data dir and server."""
    from django.conf import settings
    from django.db import connections

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "photosearch.settings")
    env["PHOTOSEARCH_DATA_DIR"] = str(settings.DATA_DIR)
    env["PHOTOSEARCH_EMBEDDED_DB_NAME"] = database
    env["PHOTOSEARCH_API_ANON_RATE"] = "off"
    env["PHOTOSEARCH_AUTO_EMBED"] = "false"
    if env.get("DATABASE_URL") and "EMBEDDED_DATA_DIR" not in connections["default"].settings_dict:
        parts = urllib.parse.urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path="/" + database))
    return env


@dataclass
class _LoadStats:
    times_ms: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def api_load(*, database: str, seconds: float, concurrency: int, workers: int = 2, threads: int = 4,
             max_requests: int = 1_000_000, say: Callable[[str], None] = lambda message: None) -> dict:
    """Start gunicorn on a free loopback port against ``database``, warm it up, then ``concurrency`` client threads
    (keep-alive) send GET /api/v1/search/?q=<topic words> for ``seconds``. gunicorn is stopped whatever happens."""
    from search.bench.data import topic_queries

    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench_search_gunicorn_", suffix=".log", delete=False)
    command = [
        sys.executable, "-m", "gunicorn", "search.bench.search:bench_wsgi_application()",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--keep-alive", "30", "--timeout", "120", "--log-level", "warning",
    ]
    server = subprocess.Popen(command, env=server_environment(database), stdout=log, stderr=subprocess.STDOUT,
                              cwd=os.getcwd(), start_new_session=True)
    texts, _ = topic_queries(512, seed=40)
    paths = [f"/api/v1/search/?{urllib.parse.urlencode({'q': text, 'limit': 20})}" for text in texts]
    try:
        say(f"API: gunicorn on 127.0.0.1:{port} ({workers} workers × {threads} threads)")
        _wait_ready(server, port, paths[0], log.name)
        warm = _LoadStats()
        _load(port, paths, concurrency=concurrency, seconds=min(2.0, seconds), max_requests=workers * threads * 8,
              stats=warm)
        stats = _LoadStats()
        say(f"API: {concurrency} clients for {seconds:g} s")
        cpu_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        _load(port, paths, concurrency=concurrency, seconds=seconds, max_requests=max_requests, stats=stats)
        elapsed = time.perf_counter() - started
        cpu = {key: value - cpu_before[key] for key, value in _cpu_seconds(server.pid).items()}
    finally:
        _stop(server)
        log.close()
    ok = len(stats.times_ms)
    figures = {
        "api_requests_per_s": round(ok / elapsed, 1),
        "api_requests": ok,
        "api_errors": stats.errors + warm.errors,
        "api_p50_ms": round(statistics.median(stats.times_ms), 2) if ok else None,
        "api_p95_ms": round(float(np.percentile(stats.times_ms, 95)), 2) if ok else None,
        "api_concurrency": concurrency,
        "api_server": f"gunicorn gthread {workers}x{threads}",
        # Where the machine's CPU went during the timed load, per successful request: what limits throughput.
        **{f"api_cpu_ms_per_request_{key}": round(value * 1000 / max(ok, 1), 2) for key, value in cpu.items()},
        "api_cpu_busy_share": round(sum(cpu.values()) / (elapsed * (os.cpu_count() or 1)), 2),
    }
    if figures["api_errors"] == 0:
        os.unlink(log.name)
    else:
        figures["api_log"] = log.name
    return figures


def _cpu_seconds(gunicorn_pid: int) -> dict[str, float]:
    """CPU seconds used so far by gunicorn (master and workers), by PostgreSQL (every postgres process on the
    machine: the benchmark's backends are nearly all of it) and by this process (the load generator)."""
    import psutil

    def used(process) -> float:
        try:
            times = process.cpu_times()
            return times.user + times.system
        except psutil.Error:  # exited meanwhile
            return 0.0

    server = psutil.Process(gunicorn_pid)
    postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")]
    return {
        "server": used(server) + sum(used(child) for child in server.children(recursive=True)),
        "postgres": sum(used(p) for p in postgres),
        "client": used(psutil.Process()),
    }


def _wait_ready(server: subprocess.Popen, port: int, path: str, log: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}); see {log}:\n{_tail(log)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:500]!r}")
        except (OSError, http.client.HTTPException):  # not listening yet
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:g} s; see {log}:\n{_tail(log)}")


def _tail(path: str) -> str:
    with open(path, errors="replace") as handle:
        return handle.read()[-2000:]


def _load(port: int, paths: list[str], *, concurrency: int, seconds: float, max_requests: int,
          stats: _LoadStats) -> None:
    deadline = time.monotonic() + seconds
    counter = iter(range(max_requests))
    counter_lock = threading.Lock()

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        times, errors = [], 0
        try:
            while time.monotonic() < deadline:
                with counter_lock:
                    n = next(counter, None)
                if n is None:
                    break
                path = paths[(n * 7 + offset) % len(paths)]
                started = time.perf_counter()
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    body = response.read()
                    ok = response.status == 200 and b'"results"' in body
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if ok:
                    times.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1
        finally:
            conn.close()
            with stats.lock:
                stats.times_ms.extend(times)
                stats.errors += errors

    pool = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 60)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # the master stops its workers
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the session gunicorn was started in: its master and workers only
        server.wait(10)


# --- Everything ---------------------------------------------------------------------------------------------------


def run(*, photos: int, profiles: int, queries: int, concurrency: int, database: str, reuse: bool,
        api_seconds: float, tfidf_cap: int | None = None, warmup: int = 300, say: Callable[[str], None] = lambda message: None) -> dict:
    from django.db import connections

    from profiles.models import Photo
    from search.bench.data import bench_database, fill_synthetic

    started = time.perf_counter()
    with bench_database(database):
        fresh = not (reuse and Photo.objects.count() == photos)
        if fresh:
            say(f"filling {photos:,} synthetic photos into {database}")
            fill_started = time.perf_counter()
            fill_synthetic(photos=photos, profiles=profiles,
                           on_progress=lambda done: say(f"{done:,} photos") if done % 100_000 == 0 else None)
            fill_s = round(time.perf_counter() - fill_started, 1)
            say("building the HNSW index")
        figures: dict = {"photos": Photo.objects.count(), "profiles": profiles if fresh else None,
                         "queries": queries, "data_reused": not fresh, "fill_s": fill_s if fresh else None}
        figures.update(build_indexes(rebuild=fresh))
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
    figures["hybrid_vs_tfidf"] = round(figures["tfidf_baseline_p50_ms"] / figures["hybrid_p50_ms"], 1)
    figures["vector_vs_numpy"] = round(figures["numpy_baseline_p50_ms"] / figures["vector_p50_ms"], 3)
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return figures


def as_json(figures: dict) -> str:
    return json.dumps(figures)
