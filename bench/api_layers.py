"""Where one API search request's CPU goes, layer by layer, in-process (``bench_api_layers``).

The project's WSGI application (with ``PHOTOSEARCH_ENCODER_BACKEND`` naming the bench's topic lookup as the text
tower, as in the API throughput figure's server) is called directly with the environ gunicorn would build for
``GET /api/v1/search/?q=<two topic words>&limit=20``, against the bench database, one request after another. Each
layer is timed by wrapping the function that is that layer with a ``time.process_time`` accumulator; a round is
``requests`` requests, a figure is the median of ``rounds`` rounds, per request. Wrapped layers nest (the loader is
inside ``photo_search``, which is inside the view), so the table says which is inside which.

``process_time`` counts this process's CPU only: the time the ranking statement waits for PostgreSQL is not in it
(``sql_wall`` is that wait, ``postgres_cpu`` the CPU the connection's server process used, per request).
"""

from __future__ import annotations

import io
import json
import statistics
import time
import urllib.parse
from collections.abc import Callable
from contextlib import ExitStack, contextmanager

# (key, what it is); indentation in the label says what is inside what.
LAYERS = (
    ("request", "the whole request (WSGI call, body read)"),
    ("outside_view", "  Django outside the view: WSGIRequest, middleware, URL resolving, response"),
    ("render", "  rendering the response (JSONRenderer)"),
    ("dispatch", "  DRF view dispatch"),
    ("initialize_request", "    DRF Request, authenticators, negotiator"),
    ("initial", "    DRF initial: negotiation, authentication, permissions, throttles"),
    ("authentication", "      of which authentication (request.user)"),
    ("get", "    the view's get()"),
    ("input", "      input serializer (construct, validate, filters)"),
    ("photo_search", "      photo_search"),
    ("understand", "        query understanding"),
    ("query_vector", "        query vector (cached lookup)"),
    ("statement", "        statement: probes + building"),
    ("run_ranked", "        ranking statement round trip (client CPU)"),
    ("loader", "        hits from rows (loader)"),
    ("output", "      output serializer (page of 20 hits)"),
    ("finalize", "    DRF finalize_response"),
)


class _Clock:
    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    def reset(self):
        self.cpu.clear()
        self.wall.clear()

    @contextmanager
    def timing(self, key: str):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[key] = self.cpu.get(key, 0.0) + time.process_time() - cpu
            self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - wall

    def wrap(self, key: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            with self.timing(key):
                return function(*args, **kwargs)

        timed.__wrapped__ = function
        return timed


def _patch(stack: ExitStack, owner, name: str, clock: _Clock, key: str) -> None:
    """Time ``owner.name`` as ``key`` until ``stack`` closes (an inherited method is then removed again)."""
    original = getattr(owner, name)
    inherited = isinstance(owner, type) and name not in vars(owner)
    setattr(owner, name, clock.wrap(key, original))
    stack.callback(*(delattr, owner, name) if inherited else (setattr, owner, name, original))


def _instrument(stack: ExitStack, clock: _Clock) -> None:
    """Wrap every layer's function (the names the modules look them up by)."""
    from rest_framework.renderers import JSONRenderer

    from search import apis, selectors
    from search.apis import SearchApi
    from search.ranking import statement

    _patch(stack, SearchApi, "dispatch", clock, "dispatch")
    _patch(stack, SearchApi, "initialize_request", clock, "initialize_request")
    _patch(stack, SearchApi, "initial", clock, "initial")
    _patch(stack, SearchApi, "perform_authentication", clock, "authentication")
    _patch(stack, SearchApi, "finalize_response", clock, "finalize")
    _patch(stack, JSONRenderer, "render", clock, "render")
    _patch(stack, selectors, "query_understand", clock, "understand")
    _patch(stack, selectors, "query_text_vector", clock, "query_vector")
    # The statement: its probes (cached) and building it, one after the other (none calls another).
    _patch(stack, selectors, "vector_strategy", clock, "statement")
    _patch(stack, selectors, "text_configs_in_use", clock, "statement")
    _patch(stack, statement, "hybrid_statement", clock, "statement")
    _patch(stack, selectors, "run_ranked", clock, "run_ranked")
    _patch(stack, selectors, "hits_from_rows", clock, "loader")
    _patch(stack, apis, "photo_search", clock, "photo_search")
    _patch(stack, apis, "results_response", clock, "output")
    _patch(stack, SearchApi, "get", clock, "get")
    # The input serializer is no function of its own: what get() does with it is building it, is_valid, filters.
    for name in ("__init__", "is_valid", "filters"):
        _patch(stack, SearchApi.InputSerializer, name, clock, "input")


def _environ(path: str) -> dict:
    parts = urllib.parse.urlsplit(path)
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "*/*",
        "HTTP_USER_AGENT": "bench",
        "HTTP_CONNECTION": "keep-alive",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _postgres_cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def api_layers(
    *, requests: int = 300, rounds: int = 3, warmup: int = 100, say: Callable[[str], None] = lambda message: None
) -> dict:
    """The per-layer profile: {layer: ms per request (median of ``rounds``)}, plus ``sql_wall`` and
    ``postgres_cpu``. Needs the bench database as the default connection (``bench_database``), filled. The
    application is the one the API benchmark's server runs (text tower: ``TopicTextEncoder``; anonymous rate limit
    off, as with ``PHOTOSEARCH_API_ANON_RATE=off`` there); everything it changes is put back afterwards."""
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connections
    from django.test.utils import override_settings

    from bench.api import encoder_backend
    from bench.data import topic_queries

    texts, _ = topic_queries(512, seed=40)
    paths = [f"/api/v1/search/?{urllib.parse.urlencode({'q': text, 'limit': 20})}" for text in texts]
    connection = connections["default"]
    with ExitStack() as stack:
        stack.enter_context(
            override_settings(
                REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None}},
                PHOTOSEARCH_ENCODER_BACKEND=encoder_backend(),
            )
        )
        application = get_wsgi_application()
        clock = _Clock()
        call = _caller(application, clock)
        say(f"warming up: {warmup} requests")
        for n in range(warmup):
            call(paths[n % len(paths)])
        # One server process for the whole profile, so that its CPU can be read: no reconnect at CONN_MAX_AGE.
        connection.ensure_connection()
        stack.callback(setattr, connection, "close_at", connection.close_at)
        connection.close_at = None
        backend_pid = connection.connection.info.backend_pid
        _instrument(stack, clock)
        per_round: list[dict[str, float]] = []
        for number in range(rounds):
            say(f"round {number + 1} of {rounds}: {requests} requests")
            clock.reset()
            postgres_before = _postgres_cpu(backend_pid)
            for n in range(requests):
                call(paths[(number * requests + n) % len(paths)])
            if connection.connection is None or connection.connection.info.backend_pid != backend_pid:
                raise RuntimeError("the database connection changed during the round")
            figures = {key: value * 1000 / requests for key, value in clock.cpu.items()}
            figures["outside_view"] = figures["request"] - figures["dispatch"] - figures.get("render", 0.0)
            figures["sql_wall"] = clock.wall["run_ranked"] * 1000 / requests
            figures["postgres_cpu"] = (_postgres_cpu(backend_pid) - postgres_before) * 1000 / requests
            per_round.append(figures)
    keys = [key for key, _ in LAYERS] + ["sql_wall", "postgres_cpu"]
    return {key: round(statistics.median(r.get(key, 0.0) for r in per_round), 3) for key in keys} | {
        "requests": requests,
        "rounds": rounds,
    }


def _caller(application, clock: _Clock) -> Callable[[str], None]:
    """A function that sends GET ``path`` through ``application`` and checks it answered a page of results, found
    with the bench's text tower."""
    from bench.api import check_server_model

    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def call(path: str) -> None:
        with clock.timing("request"):
            body = application(_environ(path), start_response)
            try:
                content = b"".join(body)
            finally:
                body.close()
        if not statuses.pop().startswith("200") or b'"results"' not in content:
            raise RuntimeError(f"GET {path} did not answer 200 with results: {content[:300]!r}")
        check_server_model(json.loads(content).get("model"))

    return call


def as_table(figures: dict) -> str:
    """The profile as the lines ``bench_api_layers`` prints."""
    lines = [f"{label:<80} {figures[key]:7.3f} ms" for key, label in LAYERS]
    lines.append(
        f"{'ranking statement round trip, wall (PostgreSQL executing + transfer)':<80} {figures['sql_wall']:7.3f} ms"
    )
    lines.append(f"{'PostgreSQL server process CPU':<80} {figures['postgres_cpu']:7.3f} ms")
    return "\n".join(lines)
