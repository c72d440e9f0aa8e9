"""Two versions of the ranking statement on the same queries, interleaved (``manage.py bench_statement_ab``): the
current ``search.ranking.statement`` against another version of that module read from a file (say, ``git show
COMMIT:search/ranking/statement.py > /tmp/old.py``), each module's ``hybrid_statement`` built from the same checked
inputs and probes (``vector_strategy``, ``text_configs_in_use``) as the selectors give it and run by ``run_ranked``
on the same bench database, alternating per query, so that a busy machine slows both alike. Reports each one's p50
and whether they returned the same page. Nothing in production imports this module."""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path


def statement_module(path: Path):
    """The statement module in the file ``path`` (imported under a name of its own)."""
    spec = importlib.util.spec_from_file_location("search_ranking_statement_other", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def statement_ab(
    *,
    other: Path,
    database: str,
    queries: int,
    rounds: int = 3,
    hybrid: bool = True,
    words: str = "any",
    filtered: bool = False,
    seed: int = 99,
) -> dict:
    """p50 (ms) of ``other`` and the current statement over ``queries`` bench queries × ``rounds`` (the first
    untimed), the ratio current / other, and how many pages were the same; with ``filtered``, every query filtered to
    the profile ``bench_search``'s filtered run uses (~2 % of the photos)."""
    from bench.data import BENCH_MODEL, bench_database, topic_queries
    from bench.search import profile_near
    from search.inputs import clean_filters, clean_query, clean_ranking
    from search.ranking import statement as current
    from search.ranking.session import run_ranked
    from search.ranking.strategy import text_configs_in_use, vector_strategy
    from search.ranking.words import query_words
    from search.selectors import RankingOptions, SearchFilters

    versions = {"other": statement_module(other), "current": current}
    texts, vectors = topic_queries(queries, seed=seed)
    times: dict[str, list[float]] = {name: [] for name in versions}
    same = 0
    with bench_database(database):
        filters = clean_filters(SearchFilters(profile_ids=(profile_near(0.02).pk,)) if filtered else SearchFilters())
        strategy = vector_strategy(BENCH_MODEL, filters, using="default") if hybrid else None
        configs = text_configs_in_use(using="default")
        for round_ in range(rounds):
            for text, vector in zip(texts, vectors, strict=True):
                pages = {}
                order = list(versions) if round_ % 2 else list(reversed(versions))
                for name in order:
                    sql, params = versions[name].hybrid_statement(
                        words=query_words(clean_query(text), words=words),
                        configs=configs,
                        query_vector=vector if hybrid else None,
                        model_id=BENCH_MODEL,
                        filters=filters,
                        sort="relevance",
                        limit=21,
                        offset=0,
                        ranking=clean_ranking(RankingOptions()),
                        exclude_photo=None,
                        strategy=strategy or "hnsw",
                    )
                    started = time.perf_counter()
                    rows = run_ranked(sql, params, vector_depth=params["vector_depth"], using="default")
                    if round_:
                        times[name].append((time.perf_counter() - started) * 1000)
                    pages[name] = [row[0] for row in rows]
                same += pages["other"] == pages["current"]
    other_p50, current_p50 = (statistics.median(times[name]) for name in ("other", "current"))
    return {
        "queries": queries,
        "rounds": rounds,
        "channels": "hybrid" if hybrid else "words",
        "words": words,
        "filtered": filtered,
        "vector_strategy": strategy,
        "other_p50_ms": round(other_p50, 2),
        "current_p50_ms": round(current_p50, 2),
        "current_vs_other": round(current_p50 / other_p50, 3),
        "same_pages": same,
        "pages": queries * rounds,
    }
