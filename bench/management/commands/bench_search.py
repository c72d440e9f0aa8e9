from django.core.management.base import BaseCommand, CommandError

from bench.report import figures_text
from bench.search import run as search_benchmark
from photosearch.db.replicas import replica_aliases


class Command(BaseCommand):
    help = (
        "Measure search in a separate benchmark database of N clustered synthetic photos: HNSW build time and index "
        "sizes, selector latency (vector, text, hybrid, hybrid + profile filter, similar), recall@10 of HNSW vs an "
        "exact scan, a TF-IDF-per-request and an exact numpy baseline, and API throughput through gunicorn."
    )

    def add_arguments(self, parser):
        parser.add_argument("--photos", type=int, default=100_000)
        parser.add_argument("--profiles", type=int, default=200)
        parser.add_argument("--queries", type=int, default=100, help="Timed queries per run (default %(default)s).")
        parser.add_argument("--concurrency", type=int, default=8, help="API client threads (default %(default)s).")
        parser.add_argument(
            "--api-seconds", type=float, default=10.0, help="How long the API load runs (default %(default)s s)."
        )
        parser.add_argument(
            "--tfidf-queries",
            type=int,
            default=None,
            help="Cap on the TF-IDF baseline's timed queries (default: all up to 20k photos, else 5).",
        )
        parser.add_argument(
            "--warmup",
            type=int,
            default=300,
            help="Untimed vector + text queries first, to warm the caches (default %(default)s).",
        )
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Keep the data already in the bench database when it has --photos photos.",
        )
        parser.add_argument(
            "--database",
            default="photosearch_bench",
            help="Benchmark database, created if missing (default: %(default)s).",
        )
        parser.add_argument(
            "--uncached",
            type=int,
            default=50,
            help="Queries never seen before, timed through the API with a real ViT-B-32 text tower "
            "(random weights); 0 to skip (default %(default)s).",
        )
        parser.add_argument(
            "--replica-searches",
            type=int,
            default=0,
            metavar="N",
            help="Instead of the rest, time N hybrid searches against the primary and N against the "
            "first read replica (DATABASE_REPLICA_URLS), interleaved, after --warmup untimed "
            "ones against each.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, photos, profiles, queries, concurrency, **options):
        if (
            photos < 100
            or profiles < 2
            or queries < 1
            or concurrency < 1
            or options["api_seconds"] <= 0
            or options["warmup"] < 0
            or options["uncached"] < 0
            or options["replica_searches"] < 0
        ):
            raise CommandError(
                "Need --photos >= 100, --profiles >= 2, --queries >= 1, --concurrency >= 1, "
                "--api-seconds > 0, --warmup >= 0, --uncached >= 0, --replica-searches >= 0."
            )
        if options["replica_searches"] and not replica_aliases():
            raise CommandError("--replica-searches needs a read replica: set DATABASE_REPLICA_URLS.")
        figures = search_benchmark(
            photos=photos,
            profiles=profiles,
            queries=queries,
            concurrency=concurrency,
            database=options["database"],
            reuse=options["reuse"],
            api_seconds=options["api_seconds"],
            tfidf_cap=options["tfidf_queries"],
            warmup=options["warmup"],
            uncached=options["uncached"],
            replica_searches=options["replica_searches"],
            say=lambda message: self.stderr.write(f"… {message}"),
        )
        self.stdout.write(figures_text(figures, as_json=options["json"]))
