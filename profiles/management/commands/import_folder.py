from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.services import ImportSourceError, folder_import


class Command(BaseCommand):
    help = (
        "Import every image (jpg, jpeg, png, webp, gif) under PATH into a folder profile. A sidecar IMG.txt next to "
        "IMG.jpg becomes the photo's text. Safe to rerun: unchanged files are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="Folder to import (searched recursively).")
        parser.add_argument("--profile", required=True, help="Profile name to import into (created if missing).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, path: Path, profile: str, no_progress: bool, **options):
        bar = None

        def on_start(total: int) -> None:
            nonlocal bar
            bar = tqdm(total=total, unit="img", desc=f"Importing into {profile}", disable=no_progress or None,
                       file=self.stderr._out)

        try:
            summary = folder_import(
                path=path, profile_name=profile, on_start=on_start, on_item=lambda record, outcome: bar.update()
            )
        except (ImportSourceError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        for source_id, reason in summary.skipped:
            self.stderr.write(f"skipped {source_id}: {reason}")
        self.stdout.write(self.style.SUCCESS(f"{profile}: {summary}"))
