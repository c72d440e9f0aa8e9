from pathlib import Path

from django.core.management.base import CommandError

from profiles.management.import_command import ImportCommand
from profiles.models import SourceKind
from profiles.services import profile_get_or_create


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
        path = path.expanduser().resolve()
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder.")
        try:
            target = profile_get_or_create(source_kind=SourceKind.FOLDER, handle=profile,
                                           source_options={"path": str(path)})
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.run_import(profile=target, job_options={"path": str(path)}, **options)
