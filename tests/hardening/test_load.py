"""Load: concurrent clients for a while against the API served by gunicorn on 127.0.0.1, the real database behind
it. Every answer must be a 200: no errors, no timeouts, no refused connections. Latency percentiles and throughput
are printed (docs/benchmarks.md, "Load (issue 7)").

Reduced form by default (20 clients, 10 s); the full one (100 clients, 60 s) with ``-m slow``. The client is a small
asyncio HTTP/1.1 keep-alive loop (no extra dependency), on loopback only.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.services.embedding import photos_embed
from tests.conftest import free_port, process_stop
from tests.hardening.conftest import ROOT, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)

QUERIES = [
    "harbour at night",
    "boat",
    "dog on a beach",
    "people walking down a street",
    "red",
    "mountain lake",
    "sunset",
    "city lights",
    "a cat",
    "forest path",
]


@pytest.fixture
def gunicorn(photo_folder, media_root, encoder):
    """gunicorn serving photosearch on 127.0.0.1 against this test's database: 40 photos, embedded."""
    files = {f"{i:02}.jpg": i for i in range(40)} | {"03.txt": "harbour at night #boat", "07.txt": "dog on a beach"}
    folder_import(path=photo_folder(files), profile_name="coast")
    photos_embed()
    port = free_port()
    env = subprocess_env(media_root, PHOTOSEARCH_API_ANON_RATE="off", PHOTOSEARCH_LOG_LEVEL="warning")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "photosearch.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "8",
            "--worker-class",
            "gthread",
            "--keep-alive",
            "30",
            "--timeout",
            "120",
            "--backlog",
            "512",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /api/v1/profiles/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if sock.recv(12).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"gunicorn did not start: {process.stdout.read()[-2000:] if process.poll() is not None else ''}"
            )
        time.sleep(0.3)
    try:
        yield {"port": port, "photos": list(Photo.objects.values_list("id", flat=True))}
    finally:
        process_stop(process)


async def _client(port: int, paths: list[str], until: float, results: list, errors: list, rng: random.Random):
    reader = writer = None
    while time.monotonic() < until:
        path = rng.choice(paths)
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", 0))), 60)
            elapsed = time.perf_counter() - started
            if status != 200 or not body.startswith(b"{"):
                errors.append(f"{status} {path} {body[:200]!r}")
            else:
                results.append(elapsed)
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader = writer = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(f"{type(exc).__name__} {path} {exc}")
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run_load(port: int, paths: list[str], *, clients: int, seconds: float) -> dict:
    results: list[float] = []
    errors: list[str] = []

    async def main():
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(port, paths, until, results, errors, random.Random(i)) for i in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - started
    ordered = sorted(results)
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(results),
        "errors": len(errors),
        "error_samples": errors[:5],
        "req_per_s": round(len(results) / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1) if ordered else None,
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


@pytest.mark.parametrize(
    "clients, seconds", [pytest.param(20, 10, id="reduced"), pytest.param(100, 60, id="full", marks=pytest.mark.slow)]
)
def test_concurrent_clients_against_gunicorn_get_no_errors(gunicorn, clients, seconds, capsys):
    photo = gunicorn["photos"]
    paths = (
        [f"/api/v1/search/?q={q.replace(' ', '+')}" for q in QUERIES] * 3
        + [f"/api/v1/search/?q={q.replace(' ', '+')}&profile=coast&sort=newest&limit=10" for q in QUERIES[:3]]
        + [f"/api/v1/photos/{photo[i]}/" for i in range(0, 40, 8)]
        + [f"/api/v1/photos/{photo[i]}/similar/?limit=12" for i in range(0, 40, 10)]
        + ["/api/v1/profiles/"]
    )

    report = run_load(gunicorn["port"], paths, clients=clients, seconds=seconds)

    with capsys.disabled():
        print(f"\nload: {json.dumps(report)}")
    if os.environ.get("PHOTOSEARCH_LOAD_REPORT"):
        Path(os.environ["PHOTOSEARCH_LOAD_REPORT"]).write_text(json.dumps(report, indent=1))
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] >= clients  # every client got answers
    assert report["p95_ms"] < 30_000
