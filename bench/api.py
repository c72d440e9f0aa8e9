"""The API part of the search benchmark: throughput of the real HTTP stack (gunicorn, Django, DRF, ``photo_search``)
against the bench database, and the benchmark-only server it runs in.

The bench photos carry synthetic 512-d vectors that no real text tower could land near, so the server (the
project's own WSGI application) runs with ``PHOTOSEARCH_ENCODER_BACKEND`` naming ``TopicTextEncoder``: a lookup from
a topic's caption words to a vector near that topic's centre. Nothing in production imports this module.
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

from bench.search import BENCH_TOPICS, DIMENSIONS

# --- The benchmark server -----------------------------------------------------------------------------------------


class TopicTextEncoder:
    """Stands in for the text tower in the API benchmark's server: a query made of a topic's caption words becomes a
    vector near that topic's centre (noise seeded by the text, so a repeated query gets the same vector), anything
    else a vector near a topic picked by the text's hash."""

    dimensions, device = DIMENSIONS, "cpu"

    def __init__(self, config=None):
        """``config``: the ``EncoderConfig`` an encoder backend is given (``PHOTOSEARCH_ENCODER_BACKEND``), unused."""
        from bench.data import BENCH_MODEL, topic_bases, topic_centres, topic_words

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
        from bench.data import topic_points

        topic = candidates[seed % len(candidates)]
        return topic_points(self.centres, self.bases, np.array([topic]), np.random.default_rng(seed))[0]


class TextTowerTopicEncoder(TopicTextEncoder):
    """``TopicTextEncoder`` that first runs a real ViT-B-32 text tower (random weights: the same arithmetic as the
    trained one) on the query, so a query nobody asked before costs what it costs in production, and then answers
    the topic vector the bench photos can be found by."""

    def __init__(self, config=None):
        super().__init__()
        from django.conf import settings

        from search.ml.encoders import EncoderConfig, OpenClipEncoder

        self.tower = OpenClipEncoder(
            EncoderConfig(
                model="ViT-B-32",
                pretrained="none",
                device="cpu",
                seed=0,
                text_precision=settings.PHOTOSEARCH_TEXT_TOWER_PRECISION,
            )
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.tower.encode_texts(texts)
        return super().encode_texts(texts)


def encoder_backend(*, text_tower: bool = False) -> str:
    """The ``PHOTOSEARCH_ENCODER_BACKEND`` of the benchmark's server: ``TopicTextEncoder``, or with ``text_tower``
    (the uncached-query figure) ``TextTowerTopicEncoder``."""
    return f"bench.api.{(TextTowerTopicEncoder if text_tower else TopicTextEncoder).__name__}"


# --- Load ---------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database: str, *, text_tower: bool = False) -> dict[str, str]:
    """The environment for a gunicorn serving the bench database: same settings module, data dir and server; the
    query text tower is the bench's (``encoder_backend``)."""
    from django.conf import settings
    from django.db import connections

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "photosearch.settings")
    env["PHOTOSEARCH_DATA_DIR"] = str(settings.DATA_DIR)
    env["PHOTOSEARCH_EMBEDDED_DB_NAME"] = database
    env["PHOTOSEARCH_API_ANON_RATE"] = "off"
    env["PHOTOSEARCH_AUTO_EMBED"] = "false"
    env["PHOTOSEARCH_ENCODER_BACKEND"] = encoder_backend(text_tower=text_tower)
    if env.get("DATABASE_URL") and "EMBEDDED_DATA_DIR" not in connections["default"].settings_dict:
        parts = urllib.parse.urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path="/" + database))
    return env


@dataclass
class _LoadStats:
    times_ms: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def api_load(
    *,
    database: str,
    seconds: float,
    concurrency: int,
    workers: int = 2,
    threads: int = 4,
    max_requests: int = 1_000_000,
    say: Callable[[str], None] = lambda message: None,
) -> dict:
    """Start gunicorn on a free loopback port against ``database``, warm it up, then ``concurrency`` client threads
    (keep-alive) send GET /api/v1/search/?q=<topic words> for ``seconds``. gunicorn is stopped whatever happens."""
    from bench.data import topic_queries

    postmaster = _postmaster_pid()
    server, port, log = _gunicorn_start(database=database, workers=workers, threads=threads)
    texts, _ = topic_queries(512, seed=40)
    paths = [f"/api/v1/search/?{urllib.parse.urlencode({'q': text, 'limit': 20})}" for text in texts]
    try:
        say(f"API: gunicorn on 127.0.0.1:{port} ({workers} workers × {threads} threads)")
        _wait_ready(server, port, paths[0], log.name)
        warm = _LoadStats()
        _load(
            port,
            paths,
            concurrency=concurrency,
            seconds=min(2.0, seconds),
            max_requests=workers * threads * 8,
            stats=warm,
        )
        stats = _LoadStats()
        say(f"API: {concurrency} clients for {seconds:g} s")
        cpu_before = _cpu_seconds(server.pid, postmaster)
        started = time.perf_counter()
        _load(port, paths, concurrency=concurrency, seconds=seconds, max_requests=max_requests, stats=stats)
        elapsed = time.perf_counter() - started
        cpu = {key: value - cpu_before[key] for key, value in _cpu_seconds(server.pid, postmaster).items()}
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
        "api_cpu_postgres_scope": "bench server" if postmaster is not None else "every postgres process",
    }
    if figures["api_errors"] == 0:
        os.unlink(log.name)
    else:
        figures["api_log"] = log.name
    return figures


def api_uncached(*, database: str, queries: int, say: Callable[[str], None] = lambda message: None) -> dict:
    """API latency of queries never asked before, with a real text tower: gunicorn (1 worker × 1 thread: nothing
    else runs) serving with ``TextTowerTopicEncoder``, one client sending ``queries`` distinct two- and
    three-word topic queries one after another, each seen once (the query-vector cache never hits)."""
    from itertools import combinations

    from bench.data import topic_words

    server, port, log = _gunicorn_start(database=database, workers=1, threads=1, text_tower=True)
    words = topic_words(topics=BENCH_TOPICS)
    texts = [" ".join(combo) for size in (2, 3) for topic in words for combo in combinations(topic[:4], size)]
    texts = texts[:: max(1, len(texts) // (queries + 3))][: queries + 3]  # distinct, spread over the topics
    paths = [f"/api/v1/search/?{urllib.parse.urlencode({'q': text, 'limit': 20})}" for text in texts]
    times, errors = [], 0
    try:
        say(f"API, queries never seen before (ViT-B-32 text tower): {queries}")
        _wait_ready(server, port, paths[0], log.name, timeout=180)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for index, path in enumerate(paths[1:]):
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            ok = response.status == 200 and b'"results"' in response.read()
            if index >= 2:  # two more untimed: the first requests of a process warm its code paths
                if ok:
                    times.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1
        conn.close()
    finally:
        _stop(server)
        log.close()
    if errors == 0:
        os.unlink(log.name)
    return {
        "api_uncached_p50_ms": round(statistics.median(times), 2) if times else None,
        "api_uncached_p95_ms": round(float(np.percentile(times, 95)), 2) if times else None,
        "api_uncached_queries": len(times),
        "api_uncached_errors": errors,
    }


def _gunicorn_start(*, database: str, workers: int, threads: int, text_tower: bool = False):
    """gunicorn serving the project's WSGI application with the bench's text tower (``server_environment``) on a free
    loopback port against ``database``, its output in a temporary log file: (process, port, log). The caller stops it
    (``_stop``) and closes the log."""
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench_search_gunicorn_", suffix=".log", delete=False)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "photosearch.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "30",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(
        command,
        env=server_environment(database, text_tower=text_tower),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=os.getcwd(),
        start_new_session=True,
    )
    return server, port, log


def _cpu_seconds(gunicorn_pid: int, postmaster_pid: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by gunicorn (master and workers), by PostgreSQL (the bench server's postmaster and its
    processes, ``postmaster_pid``; every postgres process on the machine when that is unknown: then other servers'
    work counts too) and by this process (the load generator)."""
    import psutil

    def used(process) -> float:
        try:
            times = process.cpu_times()
            return times.user + times.system
        except psutil.Error:  # exited meanwhile
            return 0.0

    server = psutil.Process(gunicorn_pid)
    postgres = None
    if postmaster_pid is not None:
        try:
            postmaster = psutil.Process(postmaster_pid)
            postgres = [postmaster, *postmaster.children()]
        except psutil.Error:
            postgres = None
    if postgres is None:
        postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")]
    return {
        "server": used(server) + sum(used(child) for child in server.children(recursive=True)),
        "postgres": sum(used(p) for p in postgres),
        "client": used(psutil.Process()),
    }


def _postmaster_pid() -> int | None:
    """The pid of the bench database's postmaster when it runs on this machine (the parent of this connection's
    server process), else None."""
    import psutil
    from django.db import connections

    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])
        parent = backend.parent()
        if backend.name() == "postgres" and parent is not None and parent.name() in ("postgres", "postmaster"):
            return parent.pid
    except psutil.Error:
        pass
    finally:
        connection.close()  # the server gets the database to itself
    return None


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
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}: {body[:500]!r}")
            check_server_model(json.loads(body).get("model"))
            return
        except (OSError, http.client.HTTPException):  # not listening yet
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:g} s; see {log}:\n{_tail(log)}")


def check_server_model(model: str | None) -> None:
    """The server's answer came from the bench's text tower (else the figures would time another search: with no
    photo of its model, the vector channel finds nothing)."""
    from bench.data import BENCH_MODEL

    if model != BENCH_MODEL:
        raise RuntimeError(
            f"the server searched with model {model!r}, not the bench's {BENCH_MODEL!r}: "
            "its PHOTOSEARCH_ENCODER_BACKEND did not take effect"
        )


def _tail(path: str) -> str:
    with open(path, errors="replace") as handle:
        return handle.read()[-2000:]


def _load(
    port: int, paths: list[str], *, concurrency: int, seconds: float, max_requests: int, stats: _LoadStats
) -> None:
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
