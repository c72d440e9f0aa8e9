"""Read replicas (DATABASE_REPLICA_URLS) against a real streaming standby: a primary and a hot standby made with the
embedded server's own initdb and pg_basebackup (tests/standby.py), and the product run as separate processes on them.
Which server ran a search is read from the servers' own statement logs: each search carries a word of its own."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS

from photosearch.db.routers import PrimaryRouter
from tests.standby import STANDBY_PORT, streaming_pair
from tests.support.replicas import manage, pair_env

ROOT = Path(__file__).resolve().parents[1]

# The child: one request or selector call per line of stdin, one JSON line of what it found per request on stdout.
CHILD = """
import json, sys
from django.test import Client
from search.selectors import photo_search
client = Client()
for line in sys.stdin:
    kind, _, arg = line.strip().partition(" ")
    if kind == "api":
        body = client.get(arg).json()
        print("=", json.dumps(sorted(hit["text"] for hit in body["results"])), flush=True)
    elif kind == "page":
        response = client.get(arg)
        print("=", json.dumps([response.status_code, "Snow on the pass" in response.content.decode()]), flush=True)
    else:  # a selector called outside any request: no per-request health check of the replica's connection
        print("=", json.dumps(sorted(hit.photo.source_text for hit in photo_search(query=arg).hits)), flush=True)
"""


class Child:
    """``manage.py shell`` running CHILD with ``env``; its log (stderr) goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", CHILD],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [self.lines.put(line[2:]) for line in self.process.stdout if line.startswith("= ")],
            daemon=True,
        ).start()

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        try:
            return json.loads(self.lines.get(timeout=60))
        except queue.Empty:
            raise AssertionError(f"no answer to {command!r}; log:\n{self.log.read_text()[-3000:]}") from None

    def finish(self) -> str:
        self.process.stdin.close()
        self.process.wait(30)
        return self.log.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def pair():
    with streaming_pair() as started:
        yield started


def test_searches_read_the_standby_imports_write_the_primary_and_a_stopped_standby_falls_back(
    pair, photo_folder, tmp_path
):
    started = time.monotonic()
    env = pair_env(pair, tmp_path / "data")
    folder = photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": "Snow on the pass"})

    # Migrations and the import run with the replica configured: both write, and a standby refuses writes.
    manage("migrate", "--no-input", env=env)
    assert "2 imported" in manage("import_folder", str(folder), "--profile", "trip", env=env)
    assert 'INSERT INTO "profiles_photo"' in pair.log("primary")
    pair.wait_replayed()
    with pair.connect(STANDBY_PORT) as standby:
        assert standby.execute("SELECT pg_is_in_recovery(), count(*) FROM profiles_photo").fetchone() == (True, 2)

    child = Child(env, tmp_path / "child.log")
    try:
        primary_log = pair.log("primary")
        # The API, the page (its place and profile lists too) and a selector call: all on the standby, the names in
        # their filters looked up there too.
        assert child.ask("api /api/v1/search/?q=snow+pass+kestrel&profile=trip") == ["Snow on the pass"]
        assert child.ask("page /?q=snow+pass+osprey&profile=trip") == [200, True]
        assert child.ask("search snow pass bittern") == ["Snow on the pass"]
        for word in ("kestrel", "osprey", "bittern"):
            assert word in pair.log("standby")
        # No search reached the primary: it was asked once only, whether the replica is its standby (its system
        # identifier), besides that connection's own set-up.
        asked = [
            line.split("statement: ", 1)[1]
            for line in pair.log("primary")[len(primary_log) :].splitlines()
            if "statement: " in line
        ]
        assert any("pg_control_system()" in statement for statement in asked), asked
        assert not any(
            word in statement for statement in asked for word in ("FROM profiles_", "kestrel", "osprey", "bittern")
        ), "\n".join(asked)

        pair.stop_server("standby")
        # Its open connection breaks under the next read: the selector reads the primary instead.
        assert child.ask("search snow pass heron") == ["Snow on the pass"]
        # Down: the next reads go straight to the primary; after the retry interval it is tried again (refused).
        assert child.ask("api /api/v1/search/?q=snow+pass+finch") == ["Snow on the pass"]
        time.sleep(1.2)
        assert child.ask("api /api/v1/search/?q=snow+pass+plover") == ["Snow on the pass"]
        for word in ("heron", "finch", "plover"):
            assert word in pair.log("primary") and word not in pair.log("standby")

        pair.start_server("standby")
        time.sleep(1.2)
        assert child.ask("api /api/v1/search/?q=snow+pass+wren") == ["Snow on the pass"]
        assert "wren" in pair.log("standby") and "wren" not in pair.log("primary")
        log = child.finish()
    finally:
        child.kill()
    # One warning for the outage, however many searches it lasted; one line when the replica is back.
    assert log.count("Read replica replica1 does not answer") == 1, log[-3000:]
    assert log.count("Read replica replica1 answers again") == 1, log[-3000:]
    assert time.monotonic() - started < 60


def test_bench_search_times_the_standby_against_the_primary(pair, tmp_path):
    out = manage(
        "bench_search",
        "--photos",
        "200",
        "--profiles",
        "4",
        "--replica-searches",
        "5",
        "--warmup",
        "2",
        "--json",
        env=pair_env(pair, tmp_path / "data"),
    )

    figures = json.loads(out)
    assert figures["replica"] == "replica1" and figures["replica_searches"] == 5
    assert figures["primary_hybrid_p50_ms"] > 0 and figures["replica_hybrid_p50_ms"] > 0
    assert figures["replica_vs_primary_p50"] > 0
    assert "photosearch_bench" in pair.log("standby")  # the replica's searches ran there, in the bench database


def test_the_router_writes_to_the_primary_even_an_object_read_from_a_replica():
    from profiles.models import Photo

    router, photo = PrimaryRouter(), Photo()
    photo._state.db = "replica1"
    assert router.db_for_write(Photo, instance=photo) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Photo) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Photo, instance=photo) == "replica1"  # its relations, from where it was read
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "profiles") and not router.allow_migrate("replica1", "profiles")
