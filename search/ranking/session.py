"""The HNSW search settings ranking queries run with: set once per database connection, raised per query only when
a query asks for more than the connection has."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from search.ranking.indexes import hnsw_ef_search_floor


def ef_search(vector_depth: int, *, photos: float = 0) -> int:
    """The ``hnsw.ef_search`` a query of ``vector_depth`` candidates needs in a library of about ``photos`` photos."""
    # ef_search bounds how well one index scan's first batch is chosen; it should cover the depth we ask for, and
    # big libraries need more than that for the same recall (search.ranking.indexes.hnsw_ef_search_floor).
    return max(40, hnsw_ef_search_floor(photos), min(vector_depth, 1000))


def search_session_prepare(*, connection: BaseDatabaseWrapper) -> None:
    """Give a new database connection the HNSW settings that ranking queries need (``connection_created``).

    Set once per connection instead of ``SET LOCAL`` per query: that took a transaction and two more round trips on
    every search. ``relaxed_order`` iterative scans are harmless without filters (the first batch already fills the
    LIMIT) and stop filtered scans from starving; results are re-ranked by distance in SQL anyway. A query deeper than
    the session's ``ef_search`` still raises it for its own transaction (``run_ranked``).
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # The library's size as the planner knows it (free: no count); -1 before the table was first analysed.
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass('profiles_photo')")
        row = cursor.fetchone()
        prepared = ef_search(settings.PHOTOSEARCH_VECTOR_CANDIDATES, photos=row[0] if row else 0)
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, false), set_config('hnsw.iterative_scan', 'relaxed_order', false)",
            [str(prepared)],
        )
    # Remembered with the driver connection it belongs to: a reconnect starts from the server's defaults. A query
    # deeper than ``prepared`` raises ef_search for itself (run_ranked); the library's size is read again on reconnect.
    connection.photosearch_session = (connection.connection, prepared)  # type: ignore[attr-defined]  # ours


def run_ranked(sql: str, params: dict[str, Any], *, vector_depth: int, using: str) -> list[tuple[Any, ...]]:
    """Run a ranking query on database ``using`` with the HNSW search settings it needs: the connection's own (one
    round trip) when they suffice, else ``SET LOCAL`` in a transaction of its own."""
    connection = connections[using]
    connection.ensure_connection()
    rows: list[tuple[Any, ...]]
    raw, prepared = getattr(connection, "photosearch_session", (None, 0))
    needed = max(prepared, ef_search(vector_depth))
    if raw is not connection.connection or needed > prepared:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(needed)])
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            return rows
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return rows
