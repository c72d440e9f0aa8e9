import json
import statistics
import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.test import override_settings

from profiles.models import Photo, Profile
from search.bench.data import BENCH_MODEL, WORDS, bench_database, fill_synthetic, query_vectors, topic_centres
from search.selectors import RankingOptions, SearchFilters, photo_search
from search.services import embedding_index_ensure


class _QueryEncoder:
    """Hands the selector the benchmark's query vectors: the text tower is not what is measured here."""

    model_id, dimensions, device = BENCH_MODEL, 512, "cpu"

    def __init__(self, vectors: np.ndarray):
        self.vectors = iter(vectors)

    def encode_texts(self, texts):
        return np.stack([next(self.vectors) for _ in texts])


class Command(BaseCommand):
    help = (
        "Measure filtered search in a separate benchmark database of N clustered synthetic photos: hybrid search "
        "without a filter, and with a selective profile filter served by an exact scan vs pgvector's iterative "
        "HNSW scan (latency percentiles, and how many of k results each returns)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--photos", type=int, default=100_000)
        parser.add_argument("--profiles", type=int, default=200)
        parser.add_argument("--queries", type=int, default=50)
        parser.add_argument("--share", type=float, default=0.02,
                            help="Filter on the profile whose share of all photos is nearest this (default 2%%).")
        parser.add_argument("--reuse", action="store_true", help="Keep the data already in the bench database.")
        parser.add_argument("--database", default="photosearch_bench",
                            help="Benchmark database, created if missing (default: %(default)s).")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, photos, profiles, queries, reuse, **options):
        if photos < 100 or profiles < 2 or queries < 1:
            raise CommandError("Need --photos >= 100, --profiles >= 2, --queries >= 1.")
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        with bench_database(options["database"]):
            if not (reuse and Photo.objects.count() == photos):
                say(f"filling {photos:,} synthetic photos")
                fill_synthetic(photos=photos, profiles=profiles,
                               on_progress=lambda done: say(f"{done:,} photos") if done % 100_000 == 0 else None)
                say("building the HNSW index")
            started = time.perf_counter()
            embedding_index_ensure(model_id=BENCH_MODEL, dimensions=512)
            build_s = time.perf_counter() - started
            target = self._profile_near(share=options["share"])
            figures = {"photos": Photo.objects.count(), "profiles": Profile.objects.count(),
                       "filter_profile_share": round(target.photo_count / photos, 4), "index_build_s": round(build_s, 1)}
            vectors = query_vectors(topic_centres(), queries * 3)
            words = [" ".join(np.random.default_rng(i).choice(WORDS, size=2)) for i in range(queries)]
            ranking = RankingOptions(cutoff=0)
            # The filtered runs use words no photo has, so they time the vector channel's strategy, not ts_rank_cd.
            nonsense = [f"zqxj{i}" for i in range(queries)]
            runs = {
                "hybrid": (SearchFilters(), None, words),
                "filtered_exact": (SearchFilters(profile_ids=(target.pk,)), 10**9, nonsense),
                "filtered_iterative": (SearchFilters(profile_ids=(target.pk,)), 0, nonsense),
            }
            for offset, (name, (filters, exact_max, texts)) in enumerate(runs.items()):
                say(f"{name}: {queries} queries")
                encoder = _QueryEncoder(vectors[offset * queries:(offset + 1) * queries])
                with override_settings(**({} if exact_max is None else {"PHOTOSEARCH_EXACT_SCAN_MAX": exact_max})):
                    times, counts = [], []
                    for text in texts:
                        started = time.perf_counter()
                        result = photo_search(query=text, filters=filters, limit=20,
                                              encoder=encoder, ranking=ranking)
                        times.append((time.perf_counter() - started) * 1000)
                        counts.append(len(result.hits))
                figures[f"{name}_p50_ms"] = round(statistics.median(times), 2)
                figures[f"{name}_p95_ms"] = round(float(np.percentile(times, 95)), 2)
                figures[f"{name}_min_results"] = min(counts)
        if options["json"]:
            self.stdout.write(json.dumps(figures))
        else:
            width = max(map(len, figures))
            for key, value in figures.items():
                self.stdout.write(f"{key:<{width}}  {value}")

    def _profile_near(self, *, share: float) -> Profile:
        total = Photo.objects.count()
        ranked = Profile.objects.annotate(photo_count=Count("photos")).order_by("-photo_count")
        return min(ranked, key=lambda p: abs(p.photo_count / total - share))

