from pathlib import Path

from django.core.management.base import CommandError

from profiles.management.import_command import ImportCommand
from profiles.models import SourceKind
from profiles.services import profile_get_or_create


class Command(ImportCommand):
    help = (
        "Import the images listed in FILE: a JSON list of URLs or of {url, caption/text, taken_at} objects, plain text "
        "with one URL per line, or instagram-scraper's --media-metadata JSON (GraphImages). Downloads refuse private "
        "and loopback addresses unless PHOTOSEARCH_ALLOW_PRIVATE_URLS=true."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The URL list.")
        parser.add_argument("--profile", required=True, help="Profile name to import into (created if missing).")
        super().add_arguments(parser)

    def handle(self, *args, file: Path, profile: str, **options):
        file = file.expanduser().resolve()
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        target = profile_get_or_create(source_kind=SourceKind.URLS, handle=profile, source_options={"file": str(file)})
        self.run_import(profile=target, job_options={"file": str(file)}, **options)
