from pathlib import Path

from profiles.management.import_command import ImportCommand
from profiles.models import SourceKind


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
        target = self.profile_for(
            kind=SourceKind.URLS, handle=profile, options={"file": str(file.expanduser().resolve())}
        )
        self.run_import(profile=target, job_options={"file": target.source_options["file"]}, **options)
