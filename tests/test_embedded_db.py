"""The embedded PostgreSQL's lifecycle, with real processes on a data directory of each test's own: the last user to
leave stops the server, whether it exits, is stopped with SIGTERM or SIGINT, or was killed with SIGKILL before
(then the next process to leave does it); a user leaving never stops the server under another.

The suite's own server is never touched: every process here gets PHOTOSEARCH_DATA_DIR under the test's tmp_path,
and a finalizer kills whatever of that directory still runs, the test passed or not.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from photosearch.embedded_db import USERS_FILE
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]

# A user of the database: joins, then runs one query per line read from stdin, and exits at end of input.
USER = """
import os, sys
from django.db import connection
connection.ensure_connection()
print("joined", os.getpid(), flush=True)
for line in sys.stdin:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), extract(epoch FROM pg_postmaster_start_time())")
        print("query", *cursor.fetchone(), flush=True)
"""


def _interruptible() -> None:
    """In the child: SIGINT as a process started from a terminal has it. A shell starts background jobs with SIGINT
    ignored and their children inherit that (a test run launched with ``&``), so Ctrl-C would never reach them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class User:
    """A real ``manage.py`` process on ``data_dir``; its output lines are read by a thread so a wait can time out."""

    def __init__(self, data_dir: Path, *args: str, code: str = USER):
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env.update(
            DJANGO_SETTINGS_MODULE="photosearch.settings",
            PHOTOSEARCH_DATA_DIR=str(data_dir),
            PHOTOSEARCH_EMBEDDED_SHARED_BUFFERS="128MB",
            PYTHONUNBUFFERED="1",
        )
        # The data dir in the command line marks the process (and any child it forks) for the finalizer.
        command = args or ("shell", "-c", f"# {data_dir}\n{code}")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_interruptible,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout], daemon=True).start()

    def expect(self, prefix: str, timeout: float = 30) -> str:
        """The next output line starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"no line {prefix!r} within {timeout} s; output: {''.join(self.seen)}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def query(self) -> list[str]:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return self.expect("query").split()[1:]

    def end(self, how: signal.Signals | None = None, timeout: float = 30) -> int:
        """Close its input (a normal exit) or send it ``how``; returns its exit status."""
        if how is None:
            self.process.stdin.close()
        else:
            self.process.send_signal(how)
        return self.process.wait(timeout)

    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


def postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in (process.info["cmdline"] or []):
            found.append(process)
    return found


def users_listed(pgdata: Path) -> list[int]:
    return json.loads((pgdata / ".handle_pids.json").read_text())


def assert_no_postgresql(pgdata: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while postmasters(pgdata) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not postmasters(pgdata), f"PostgreSQL of {pgdata} still runs"
    assert not (pgdata / "postmaster.pid").exists()
    assert users_listed(pgdata) == []


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Path:
    """A data dir whose server was created (initdb, the photosearch database) and stopped, to copy per test."""
    data_dir = tmp_path_factory.mktemp("embedded") / "data"
    try:
        user = User(data_dir)
        user.expect("joined", timeout=120)
        assert user.end() == 0, user.output()
        assert_no_postgresql(data_dir / "pgdata")
    finally:
        kill_everything_of(data_dir)
    return data_dir


@pytest.fixture
def data_dir(initialised, tmp_path) -> Path:
    """A copy of the initialised data dir; whatever of it still runs at the end is killed."""
    copy = tmp_path / "data"
    subprocess.run(["cp", "-a", str(initialised), str(copy)], check=True)  # -a: pgdata belongs to its server's user
    yield copy
    kill_everything_of(copy)


def kill_everything_of(data_dir: Path) -> None:
    for process in psutil.process_iter(["cmdline"]):
        if any(str(data_dir) in part for part in process.info["cmdline"] or []):
            for each in [*process.children(recursive=True), process]:
                try:
                    each.kill()
                except psutil.NoSuchProcess:
                    pass


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_server_stopped_with_a_signal_leaves_no_postgresql_when_it_was_the_last_user(data_dir, how):
    pgdata = data_dir / "pgdata"
    server = User(data_dir, "runserver", "--noreload", f"127.0.0.1:{free_port()}", "--skip-checks")
    server.expect("Starting development server")  # after its migration check: it has joined
    assert len(postmasters(pgdata)) == 1 and users_listed(pgdata) == [server.process.pid]

    status = server.end(how)

    # SIGTERM: it dies of the signal as before, having left first. SIGINT: runserver's own KeyboardInterrupt exit.
    assert status == (-signal.SIGTERM if how == signal.SIGTERM else 0), server.output()
    assert_no_postgresql(pgdata)


def test_a_user_killed_with_sigkill_is_dropped_and_the_next_process_to_leave_stops_the_server(data_dir):
    pgdata = data_dir / "pgdata"
    killed = User(data_dir)
    killed.expect("joined")
    assert killed.end(signal.SIGKILL) == -signal.SIGKILL
    assert len(postmasters(pgdata)) == 1 and users_listed(pgdata) == [killed.process.pid]  # it could not leave

    after = User(data_dir)
    after.expect("joined")
    assert users_listed(pgdata) == [after.process.pid]  # dropped at the join
    after.query()
    assert after.end() == 0

    assert f"dropped users that ended without leaving: [{killed.process.pid}]" in after.output()
    assert_no_postgresql(pgdata)


def test_the_first_of_two_users_stopped_with_sigterm_leaves_the_server_to_the_second(data_dir):
    pgdata = data_dir / "pgdata"
    first, second = User(data_dir), User(data_dir)
    first.expect("joined"), second.expect("joined")
    postmaster = postmasters(pgdata)
    _, started = second.query()

    assert first.end(signal.SIGTERM) == -signal.SIGTERM

    assert postmasters(pgdata) == postmaster and users_listed(pgdata) == [second.process.pid]
    assert second.query()[1] == started  # the same server, and its connection still works
    assert second.end() == 0
    assert_no_postgresql(pgdata)


def test_a_process_with_a_sigterm_handler_of_its_own_keeps_the_database_through_its_graceful_shutdown(data_dir):
    # Like gunicorn's and Celery's workers: the signal asks for a shutdown, the process finishes its work, then exits.
    code = """
import os, signal, threading
from django.db import connection
stopping = threading.Event()
signal.signal(signal.SIGTERM, lambda *args: stopping.set())
connection.ensure_connection()
print("joined", flush=True)
stopping.wait(60)
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    print("query after SIGTERM", cursor.fetchone()[0], flush=True)
"""
    user = User(data_dir, code=code)
    user.expect("joined")

    user.process.send_signal(signal.SIGTERM)

    assert user.expect("query after SIGTERM").split()[-1] == "1"
    assert user.process.wait(30) == 0
    assert_no_postgresql(data_dir / "pgdata")


def test_a_listed_pid_that_now_belongs_to_another_process_does_not_keep_the_server(data_dir):
    pgdata = data_dir / "pgdata"
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        # As a user that was killed leaves it once the system has given its pid to an unrelated process.
        (pgdata / ".handle_pids.json").write_text(json.dumps([stranger.pid]))
        started = psutil.Process(stranger.pid).create_time()
        (pgdata / USERS_FILE).write_text(json.dumps({str(stranger.pid): started - 3600}))

        user = User(data_dir)
        user.expect("joined")
        assert users_listed(pgdata) == [user.process.pid]
        assert user.end() == 0

        assert_no_postgresql(pgdata)
        assert stranger.poll() is None  # dropped from the list, never signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_a_forked_child_stays_a_user_after_its_parent_leaves(data_dir):
    # Like Celery's prefork pool: the child opens its own connection and is a user of its own.
    code = """
import os, sys
from django.db import connection, connections
connection.ensure_connection()
connections.close_all()
ready, told = os.pipe()
if os.fork() == 0:
    connection.ensure_connection()
    print("child joined", os.getpid(), flush=True)
    os.write(told, b"x")
    sys.stdin.readline()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        print("query in child", cursor.fetchone()[0], flush=True)
    sys.exit(0)
os.read(ready, 1)
"""
    pgdata = data_dir / "pgdata"
    parent = User(data_dir, code=code)
    child = int(parent.expect("child joined").split()[-1])
    assert parent.process.wait(30) == 0

    assert len(postmasters(pgdata)) == 1 and users_listed(pgdata) == [child]
    parent.process.stdin.write("\n")
    parent.process.stdin.flush()
    assert parent.expect("query in child").split()[-1] == "1"
    assert_no_postgresql(pgdata, timeout=30)  # the child left last, at its exit
