"""Read replicas: which database a search read uses, and which replicas answer.

Settings make one alias per ``DATABASE_REPLICA_URLS`` entry (``replica1``…``replicaN``, marked ``REPLICA``). Nothing
reaches a replica unless it names one: the router (``photosearch.db.routers``) sends every other read and every write
to the primary, so imports, embedding, the admin and every read-modify-write see their own writes. The search read
path — the ranking statement and its probes, browsing, similar photos, the photo page and API, places, the query
vocabulary, coverage counts — asks ``search_read_alias()`` for a database and passes it down as ``using``; the public
search selectors do that themselves (``search_read``).

A replica that does not answer (refused, timed out, its connection gone) is left alone for
``PHOTOSEARCH_REPLICA_RETRY_SECONDS``, and reads go to another replica or the primary meanwhile: one warning when it
goes down, one info line when it answers again, per process.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

T = TypeVar("T")
# PostgreSQL cancels a standby's query whose rows replay must remove ("conflict with recovery", SQLSTATE 40001):
# the replica itself is fine, so only that one read goes to the primary.
RECOVERY_CONFLICT = "40001"

_lock = threading.Lock()
_down: dict[str, float] = {}  # replica alias → monotonic time from which it is tried again


def replica_aliases() -> list[str]:
    """The aliases of the configured read replicas, in settings order."""
    return [alias for alias, database in settings.DATABASES.items() if database.get("REPLICA")]


def search_read_alias() -> str:
    """The database a search read should use: a replica that answers (each process prefers its own one of them,
    which spreads processes over replicas and keeps one connection per process), else the primary."""
    replicas = replica_aliases()
    if not replicas:
        return DEFAULT_DB_ALIAS
    first = os.getpid() % len(replicas)
    for alias in replicas[first:] + replicas[:first]:
        if _answers(alias):
            return alias
    return DEFAULT_DB_ALIAS


def replica_is_down(alias: str) -> bool:
    """Whether replica ``alias`` was found not answering and is not due for another try yet."""
    with _lock:
        retry_at = _down.get(alias)
    return retry_at is not None and time.monotonic() < retry_at


def search_read(read: Callable[..., T]) -> Callable[..., T]:
    """Decorator of a search read selector that takes a keyword ``using``: left out (None), the read runs on
    ``search_read_alias()`` and, if that replica fails under it, once more on the primary. An alias given by the
    caller is used as given, failures included (a benchmark timing one database must not time another)."""

    @functools.wraps(read)
    def run(*args, using: str | None = None, **kwargs) -> T:
        if using is not None:
            return read(*args, using=using, **kwargs)
        alias = search_read_alias()
        try:
            return read(*args, using=alias, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if alias == DEFAULT_DB_ALIAS or not replica_failed(alias, exc):
                raise
        return read(*args, using=DEFAULT_DB_ALIAS, **kwargs)

    return run


def replica_failed(alias: str, error: Exception) -> bool:
    """Whether ``error``, raised by a read on replica ``alias``, means the read should go to the primary: the
    replica's connection is gone (it is then marked down), or the standby cancelled the query for replay."""
    raw = connections[alias].connection
    if raw is None or raw.closed or raw.broken:
        replica_down(alias, error)
        return True
    return getattr(error.__cause__, "sqlstate", None) == RECOVERY_CONFLICT


def replica_down(alias: str, error: Exception) -> None:
    """Mark replica ``alias`` down for ``PHOTOSEARCH_REPLICA_RETRY_SECONDS``: a warning the first time, quiet while it
    stays down."""
    retry = settings.PHOTOSEARCH_REPLICA_RETRY_SECONDS
    with _lock:
        first = alias not in _down
        _down[alias] = time.monotonic() + retry
    try:
        connections[alias].close()
    except DatabaseError:
        pass  # already broken: nothing left to close cleanly
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if first:
        logger.warning("Read replica %s does not answer (%s): searches read the primary meanwhile, and it is tried "
                       "again every %g s.", alias, reason, retry)
    else:
        logger.debug("Read replica %s still does not answer (%s).", alias, reason)


def _answers(alias: str) -> bool:
    with _lock:
        retry_at = _down.get(alias)
    if retry_at is not None and time.monotonic() < retry_at:
        return False
    connection = connections[alias]
    try:
        # Free when a connection is open and was checked in this request; else a connect or a SELECT 1.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except (OperationalError, InterfaceError) as exc:
        replica_down(alias, exc)
        return False
    if retry_at is not None:
        with _lock:
            came_back = _down.pop(alias, None) is not None
        if came_back:
            logger.info("Read replica %s answers again: searches read it.", alias)
    return True
