from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bench.report import figures_text
from bench.statement_ab import statement_ab


class Command(BaseCommand):
    help = (
        "Time the current ranking statement against another version of search/ranking/statement.py (a file, e.g. "
        "from `git show COMMIT:search/ranking/statement.py`) on the same queries of an existing bench database "
        "(filled by bench_search), interleaved; report both p50s and how many pages were the same."
    )

    def add_arguments(self, parser):
        parser.add_argument("other", type=Path, help="The other statement module's file.")
        parser.add_argument(
            "--database",
            default="photosearch_bench",
            help="Bench database filled by bench_search (default: %(default)s).",
        )
        parser.add_argument("--queries", type=int, default=40)
        parser.add_argument("--rounds", type=int, default=3, help="The first is untimed (default: %(default)s).")
        parser.add_argument("--words-only", action="store_true", help="The words channel alone (no query vector).")
        parser.add_argument("--words", choices=("any", "all"), default="any")
        parser.add_argument(
            "--filtered",
            action="store_true",
            help="Filter every query to the ~2 %% profile bench_search's filtered run uses.",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, other, queries, rounds, **options):
        if not other.is_file():
            raise CommandError(f"No such file: {other}")
        if queries < 1 or rounds < 2:
            raise CommandError("Need --queries >= 1 and --rounds >= 2.")
        figures = statement_ab(
            other=other,
            database=options["database"],
            queries=queries,
            rounds=rounds,
            hybrid=not options["words_only"],
            words=options["words"],
            filtered=options["filtered"],
        )
        self.stdout.write(figures_text(figures, as_json=options["json"]))
