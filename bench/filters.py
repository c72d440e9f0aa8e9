"""Filtered-search benchmark (``manage.py bench_filters``): hybrid search without a filter, and with a selective
profile filter served by an exact scan vs pgvector's iterative HNSW scan — latency percentiles, and how many of k
results each returns — in a separate database of clustered synthetic photos (``bench.data``).

The figures decide ``PHOTOSEARCH_EXACT_SCAN_MAX`` (photosearch/settings.py): below it a filtered query scans the
filter's photos exactly, above it pgvector's iterative HNSW scan serves it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from django.test import override_settings

from bench.data import BENCH_MODEL, WORDS, bench_database, fill_synthetic, query_vectors, topic_centres
from bench.search import DIMENSIONS, QueryEncoder, profile_near
from profiles.models import Photo, Profile
from search.selectors import RankingOptions, SearchFilters, photo_search
from search.services.index_builds import embedding_index_ensure

K = 20  # results asked for per query: a page of the search page and the API


def filters_benchmark(
    *,
    photos: int,
    profiles: int,
    queries: int,
    share: float = 0.02,
    database: str = "photosearch_bench",
    reuse: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> dict:
    """Fill bench database ``database`` with ``photos`` synthetic photos over ``profiles`` profiles (unless ``reuse``
    finds that many there), then time ``queries`` searches per strategy, filtering on the profile whose share of
    all photos is nearest ``share``. Returns flat figures: per run (``hybrid``, ``filtered_exact``,
    ``filtered_iterative``) ``_p50_ms``, ``_p95_ms`` and ``_min_results`` (fewest of the ``K`` asked for that any
    query returned: a strategy that loses results under a filter shows here)."""
    with bench_database(database):
        if not (reuse and Photo.objects.count() == photos):
            say(f"filling {photos:,} synthetic photos")
            fill_synthetic(
                photos=photos,
                profiles=profiles,
                on_progress=lambda done: say(f"{done:,} photos") if done % 100_000 == 0 else None,
            )
            say("building the HNSW index")
        started = time.perf_counter()
        embedding_index_ensure(model_id=BENCH_MODEL, dimensions=DIMENSIONS)
        build_s = time.perf_counter() - started
        target = profile_near(share)
        figures = {
            "photos": Photo.objects.count(),
            "profiles": Profile.objects.count(),
            "filter_profile_share": round(target.photo_count / photos, 4),
            "index_build_s": round(build_s, 1),
        }
        vectors = query_vectors(topic_centres(), queries * 3)
        words = [" ".join(np.random.default_rng(i).choice(WORDS, size=2)) for i in range(queries)]
        # Without a cutoff every strategy should fill the page whenever the filter holds K photos.
        ranking = RankingOptions(cutoff=0)
        # The filtered runs use words no photo has, so they time the vector channel's strategy, not ts_rank_cd.
        nonsense = [f"zqxj{i}" for i in range(queries)]
        only_target = SearchFilters(profile_ids=(target.pk,))
        runs = {  # name: (filters, PHOTOSEARCH_EXACT_SCAN_MAX forcing the strategy or None for the setting, texts)
            "hybrid": (SearchFilters(), None, words),
            "filtered_exact": (only_target, 10**9, nonsense),
            "filtered_iterative": (only_target, 0, nonsense),
        }
        for offset, (name, (filters, exact_max, texts)) in enumerate(runs.items()):
            say(f"{name}: {queries} queries")
            encoder = QueryEncoder(vectors[offset * queries : (offset + 1) * queries])
            with override_settings(**({} if exact_max is None else {"PHOTOSEARCH_EXACT_SCAN_MAX": exact_max})):
                times, counts = [], []
                for text in texts:
                    started = time.perf_counter()
                    result = photo_search(query=text, filters=filters, limit=K, encoder=encoder, ranking=ranking)
                    times.append((time.perf_counter() - started) * 1000)
                    counts.append(len(result.hits))
            figures[f"{name}_p50_ms"] = round(statistics.median(times), 2)
            figures[f"{name}_p95_ms"] = round(float(np.percentile(times, 95)), 2)
            figures[f"{name}_min_results"] = min(counts)
    return figures
