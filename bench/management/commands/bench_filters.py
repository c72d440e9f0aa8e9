from django.core.management.base import BaseCommand, CommandError

from bench.filters import filters_benchmark
from bench.report import figures_text


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
        parser.add_argument(
            "--share",
            type=float,
            default=0.02,
            help="Filter on the profile whose share of all photos is nearest this (default 2%%).",
        )
        parser.add_argument("--reuse", action="store_true", help="Keep the data already in the bench database.")
        parser.add_argument(
            "--database",
            default="photosearch_bench",
            help="Benchmark database, created if missing (default: %(default)s).",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, photos, profiles, queries, reuse, **options):
        if photos < 100 or profiles < 2 or queries < 1:
            raise CommandError("Need --photos >= 100, --profiles >= 2, --queries >= 1.")
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        figures = filters_benchmark(
            photos=photos,
            profiles=profiles,
            queries=queries,
            share=options["share"],
            database=options["database"],
            reuse=reuse,
            say=say,
        )
        self.stdout.write(figures_text(figures, as_json=options["json"]))
