"""The HNSW search settings ranking queries run with: set once per database connection, raised per query only when
a query asks for more than the connection has."""

from __future__ import annotations

from django.conf import settings
from django.db import connections, transaction


def ef_search(vector_depth: int) -> int:
    """The ``hnsw.ef_search`` a query of ``vector_depth`` candidates needs."""
    # ef_search bounds how well one index scan's first batch is chosen; it should cover the depth we ask for, and
    # big libraries need more than that for the same recall (PHOTOSEARCH_HNSW_EF_SEARCH; docs/benchmarks.md).
    return max(40, settings.PHOTOSEARCH_HNSW_EF_SEARCH, min(vector_depth, 1000))


def search_session_prepare(*, connection) -> None:
    """Give a new database connection the HNSW settings that ranking queries need (``connection_created``).

    Set once per connection instead of ``SET LOCAL`` per query: that took a transaction and two more round trips on
    every search. ``relaxed_order`` iterative scans are harmless without filters (the first batch already fills the
    LIMIT) and stop filtered scans from starving; results are re-ranked by distance in SQL anyway. A query deeper than
    the session's ``ef_search`` still raises it for its own transaction (``run_ranked``).
    """
    if connection.vendor != "postgresql":
        return
    prepared = ef_search(settings.PHOTOSEARCH_VECTOR_CANDIDATES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, false), set_config('hnsw.iterative_scan', 'relaxed_order', false)",
            [str(prepared)],
        )
    # Remembered with the driver connection it belongs to: a reconnect starts from the server's defaults.
    connection.photosearch_session = (connection.connection, prepared)


def run_ranked(sql: str, params: dict, *, vector_depth: int, using: str) -> list[tuple]:
    """Run a ranking query on database ``using`` with the HNSW search settings it needs: the connection's own (one
    round trip) when they suffice, else ``SET LOCAL`` in a transaction of its own."""
    needed = ef_search(vector_depth)
    connection = connections[using]
    connection.ensure_connection()
    raw, prepared = getattr(connection, "photosearch_session", (None, 0))
    if raw is not connection.connection or needed > prepared:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(needed)])
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            cursor.execute(sql, params)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
