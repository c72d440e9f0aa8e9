from django.core.management.base import BaseCommand, CommandError

from bench.query_parser import SHIPPED_SET, query_parser_evaluate, query_parser_report, query_set_load


class Command(BaseCommand):
    help = (
        "How well the query parser reads a labelled set of queries (default: the shipped one): exact matches, "
        "precision and recall per kind, traps that became filters, and each miss. FILE is JSON: {today, vocabulary: "
        "{places, aliases, profiles}, queries: [{query, description, understood: [{kind, text, value}], trap}]}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(SHIPPED_SET))
        parser.add_argument(
            "--library",
            action="store_true",
            help="Read the queries against this library's places and profiles, not the file's.",
        )

    def handle(self, *args, file, library, **options):
        try:
            loaded = query_set_load(file)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        if library:
            from search.query.vocabulary import query_vocabulary

            loaded["vocabulary"] = query_vocabulary()
        self.stdout.write(query_parser_report(query_parser_evaluate(**loaded)))
