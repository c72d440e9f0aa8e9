from django.core.management.base import BaseCommand, CommandError

from search.services.persons import faces_forget


class Command(BaseCommand):
    help = (
        "Delete every face found, its picture, every photo's face scan and every person (typed names and hidden "
        "flags included). The next embed_photos looks for faces in every photo again (unless PHOTOSEARCH_FACES=none)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--yes-really", action="store_true", help="Required: confirms the deletion.")

    def handle(self, *args, yes_really=False, **options):
        if not yes_really:
            raise CommandError("This deletes every face, person and typed name; run again with --yes-really.")
        deleted = faces_forget()
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted['faces']} faces (and their pictures), {deleted['scans']} scans, "
                f"{deleted['persons']} persons."
            )
        )
