from pathlib import Path

from profiles.management.import_command import ImportCommand
from profiles.models import SourceKind


class Command(ImportCommand):
    help = (
        "Import every image (jpg, jpeg, png, webp, gif) under PATH into a folder profile. A sidecar IMG.txt next to "
        "IMG.jpg becomes the photo's text. Safe to rerun: unchanged files are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="Folder to import (searched recursively).")
        parser.add_argument("--profile", required=True, help="Profile name to import into (created if missing).")
        super().add_arguments(parser)

    def handle(self, *args, path: Path, profile: str, **options):
        target = self.profile_for(
            kind=SourceKind.FOLDER, handle=profile, options={"path": str(path.expanduser().resolve())}
        )
        self.run_import(profile=target, job_options={"path": target.source_options["path"]}, **options)
