import json

from django.core.management.base import BaseCommand, CommandError

from bench.api_layers import api_layers, as_table
from bench.data import bench_database


class Command(BaseCommand):
    help = (
        "Where one API search request's CPU goes, layer by layer: the WSGI application called in-process against "
        "the bench database (fill it first with bench_search --photos N), time.process_time per layer, per request, "
        "median of the rounds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=300, help="Requests per round (default %(default)s).")
        parser.add_argument("--rounds", type=int, default=3, help="Rounds; figures are their median (default 3).")
        parser.add_argument("--warmup", type=int, default=100, help="Untimed requests first (default %(default)s).")
        parser.add_argument(
            "--database",
            default="photosearch_bench",
            help="Benchmark database, filled by bench_search (default: %(default)s).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, requests, rounds, warmup, database, **options):
        if requests < 1 or rounds < 1 or warmup < 0:
            raise CommandError("Need --requests >= 1, --rounds >= 1, --warmup >= 0.")
        with bench_database(database):
            from profiles.models import Photo

            if not Photo.objects.exists():
                raise CommandError(f"{database} holds no photos: fill it with bench_search --photos N first.")
            figures = api_layers(
                requests=requests, rounds=rounds, warmup=warmup, say=lambda message: self.stderr.write(f"… {message}")
            )
            figures["photos"] = Photo.objects.count()
        self.stdout.write(json.dumps(figures) if options["json"] else as_table(figures))
