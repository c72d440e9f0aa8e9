from datetime import timedelta

from django.core.management.base import BaseCommand

from profiles.thumbnails import thumbnails_prune


class Command(BaseCommand):
    help = (
        "Delete thumbnail files no photo refers to (left by deleted photos or profiles, or by an import killed "
        "between storing a thumbnail and committing its row). Files younger than --min-age minutes are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-age", type=int, default=60, help="Minutes a file must be old (default 60).")

    def handle(self, *args, min_age: int, **options):
        pruned = thumbnails_prune(older_than=timedelta(minutes=min_age))
        self.stdout.write(self.style.SUCCESS(f"{len(pruned)} unused thumbnails deleted."))
