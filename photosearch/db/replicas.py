"""Read replicas for search reads only. A replica is used once it proves a standby of this primary (in recovery, same
system identifier and database); one that fails a read or the check is left alone for the retry interval."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections

logger = logging.getLogger(__name__)

T = TypeVar("T")
# PostgreSQL cancels a standby's query whose rows replay must remove ("conflict with recovery", SQLSTATE 40001):
# the replica itself is fine, so only that one read goes to the primary.
RECOVERY_CONFLICT = "40001"

_lock = threading.Lock()
_down: dict[str, float] = {}  # replica alias → monotonic time from which it is tried again
_verified: dict[str, float] = {}  # replica alias → monotonic time until which it counts as the primary's standby
_primary_identity: list[tuple[float, tuple[int, str]]] = []  # (checked until, (system identifier, database))

IDENTITY = "SELECT pg_is_in_recovery(), (SELECT system_identifier FROM pg_control_system()), current_database()"


def replica_aliases() -> list[str]:
    """The aliases of the configured read replicas, in settings order."""
    return [alias for alias, database in settings.DATABASES.items() if database.get("REPLICA")]


def search_read_alias() -> str:
    """A replica that answers, else the primary. Each process prefers its own replica: processes spread over them
    with one connection each."""
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
    """Run a read that takes ``using`` on ``search_read_alias()``, again on the primary if that replica fails. A
    caller's own ``using`` is kept, failures included (a benchmark timing one database must not time another)."""

    @functools.wraps(read)
    def run(*args: Any, using: str | None = None, **kwargs: Any) -> T:
        if using is not None:
            return read(*args, using=using, **kwargs)
        alias = search_read_alias()
        try:
            return read(*args, using=alias, **kwargs)
        except Error as exc:
            if alias == DEFAULT_DB_ALIAS:
                raise
            replica_failed(alias, exc)
        return read(*args, using=DEFAULT_DB_ALIAS, **kwargs)

    return run


def replica_failed(alias: str, error: Exception) -> None:
    """Account for ``error`` from a read on replica ``alias``: a recovery conflict spares the replica; any other
    error leaves it alone for the retry interval, else each search would pay a failing read first."""
    raw = connections[alias].connection
    if raw is None or raw.closed or raw.broken:
        replica_down(alias, error)
        return
    if getattr(error.__cause__, "sqlstate", None) == RECOVERY_CONFLICT:
        return
    first, retry = _mark_down(alias)
    if first:
        logger.warning(
            "A search read on read replica %s failed (%s): searches read the primary meanwhile, and it is "
            "tried again every %g s.",
            alias,
            _first_line(error),
            retry,
        )


def replica_down(alias: str, error: Exception) -> None:
    """Mark replica ``alias`` down for the retry interval; warn the first time only."""
    first, retry = _mark_down(alias)
    reason = _first_line(error)
    if first:
        logger.warning(
            "Read replica %s does not answer (%s): searches read the primary meanwhile, and it is tried "
            "again every %g s.",
            alias,
            reason,
            retry,
        )
    else:
        logger.debug("Read replica %s still does not answer (%s).", alias, reason)


def replica_rejected(alias: str, reason: str) -> None:
    """Leave replica ``alias``, not a standby of the primary (``reason``), alone like a down one; warn once."""
    first, retry = _mark_down(alias)
    if first:
        logger.warning(
            "Read replica %s is not a standby of the primary (%s): searches read the primary, and it is "
            "checked again every %g s. Check DATABASE_REPLICA_URLS.",
            alias,
            reason,
            retry,
        )
    else:
        logger.debug("Read replica %s is still not a standby of the primary (%s).", alias, reason)


def replica_mismatch(alias: str) -> str | None:
    """Why replica ``alias`` is not a standby of the primary's database, or None. An error asking either server is
    a reason too: nothing unverified is read."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(IDENTITY)
            in_recovery, system_id, database = cursor.fetchone()
        primary = _primary()
    except Error as exc:
        return f"it could not be checked: {_first_line(exc)}"
    if not in_recovery:
        return f"pg_is_in_recovery() is false: database {database!r} there is a primary of its own, not a copy"
    if system_id != primary[0]:
        return f"it replays another server (system identifier {system_id}, the primary's is {primary[0]})"
    if database != primary[1]:
        return f"it serves database {database!r}, the primary {primary[1]!r}"
    return None


def _primary() -> tuple[int, str]:
    """The primary's system identifier and database name, asked once per check interval."""
    now = time.monotonic()
    with _lock:
        if _primary_identity and now < _primary_identity[0][0]:
            return _primary_identity[0][1]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(IDENTITY)
        _, system_id, database = cursor.fetchone()
    with _lock:
        _primary_identity[:] = [(now + settings.PHOTOSEARCH_REPLICA_CHECK_SECONDS, (system_id, database))]
    return system_id, database


def _mark_down(alias: str) -> tuple[bool, float]:
    """Mark ``alias`` down for the retry interval and close its connection; whether it was up, and the interval."""
    retry = settings.PHOTOSEARCH_REPLICA_RETRY_SECONDS
    with _lock:
        first = alias not in _down
        _down[alias] = time.monotonic() + retry
        _verified.pop(alias, None)  # whatever answers next at that address is checked again
    try:
        connections[alias].close()
    except Error:
        pass  # already broken: nothing left to close cleanly
    return first, retry


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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
    except Error as exc:
        replica_down(alias, exc)
        return False
    with _lock:
        verified = time.monotonic() < _verified.get(alias, 0.0)
    if not verified:
        if reason := replica_mismatch(alias):
            replica_rejected(alias, reason)
            return False
        with _lock:
            _verified[alias] = time.monotonic() + settings.PHOTOSEARCH_REPLICA_CHECK_SECONDS
    if retry_at is not None:
        with _lock:
            came_back = _down.pop(alias, None) is not None
        if came_back:
            logger.info("Read replica %s answers again: searches read it.", alias)
    return True
