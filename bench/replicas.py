"""The read replica part of the search benchmark (``bench_search --replica-searches N``): the same hybrid searches
timed against the primary and against the first read replica (DATABASE_REPLICA_URLS), in the bench database.

The two are interleaved — search i on one database, then on the other, which goes first alternating — so that
whatever else the machine does at a moment weighs on both alike. Query vectors are precomputed, as in the rest of the
benchmark (``QueryEncoder``): the text tower is not what is measured.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.search import QueryEncoder, percentiles


def replica_wait_replayed(alias: str, *, timeout: float = 600.0) -> float:
    """Wait until replica ``alias`` has replayed everything the primary has written so far; the seconds it took."""
    from django.db import connections

    started = time.perf_counter()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (target,) = cursor.fetchone()
    with connections[alias].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            in_recovery, replayed = cursor.fetchone()
            if not in_recovery:
                raise RuntimeError(f"{alias} is not a standby (pg_is_in_recovery() is false).")
            if replayed:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{alias} has not replayed the bench data in {timeout:.0f} s.")
            time.sleep(0.1)


def replica_vs_primary(*, searches: int, warmup: int = 20, seed: int = 0) -> dict:
    """p50/p95 (ms) of ``searches`` hybrid searches (``photo_search``, both channels) on the primary and on the first
    read replica, and the ratio of their medians (replica ÷ primary)."""
    from django.db import DEFAULT_DB_ALIAS

    from bench.data import topic_queries
    from photosearch.db.replicas import replica_aliases
    from search.selectors import photo_search

    replicas = replica_aliases()
    if not replicas:
        raise RuntimeError("--replica-searches needs a read replica: set DATABASE_REPLICA_URLS.")
    replica = replicas[0]
    lag_s = replica_wait_replayed(replica)
    texts, vectors = topic_queries(warmup + searches, seed=seed + 40)

    def search(i: int, using: str) -> float:
        started = time.perf_counter()
        photo_search(query=texts[i], encoder=QueryEncoder(np.asarray(vectors[i : i + 1])), using=using)
        return (time.perf_counter() - started) * 1000

    for i in range(warmup):  # both servers' caches, untimed
        search(i, DEFAULT_DB_ALIAS), search(i, replica)
    times: dict[str, list[float]] = {DEFAULT_DB_ALIAS: [], replica: []}
    for i in range(warmup, warmup + searches):
        order = (DEFAULT_DB_ALIAS, replica) if i % 2 else (replica, DEFAULT_DB_ALIAS)
        for using in order:
            times[using].append(search(i, using))
    figures: dict = {"replica": replica, "replica_searches": searches, "replica_replay_wait_s": round(lag_s, 2)}
    for name, using in (("primary", DEFAULT_DB_ALIAS), ("replica", replica)):
        for key, value in percentiles(times[using]).items():
            if key != "p99":
                figures[f"{name}_hybrid_{key}_ms"] = value
    figures["replica_vs_primary_p50"] = round(
        statistics.median(times[replica]) / statistics.median(times[DEFAULT_DB_ALIAS]), 3
    )
    return figures
