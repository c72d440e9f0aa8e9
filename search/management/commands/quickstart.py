from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "One step from a folder of photos to a running search page: migrate the database, import PATH, embed the "
        "photos and read the words in them, then serve on ADDRPORT. Safe to rerun: only new or changed photos are "
        "processed. Without the model's weights (no internet) the words are still read and searched; search by looks "
        "comes with a later embed_photos once the weights are there."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="Folder of photos to import.")
        parser.add_argument("--profile", help="Profile name (default: the folder's name).")
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where to serve (default: %(default)s).")
        parser.add_argument("--no-serve", action="store_true", help="Stop after indexing.")

    def handle(self, *args, path: Path, profile: str | None, addrport: str, no_serve: bool, **options):
        profile = profile or path.expanduser().resolve().name or "photos"
        # The terminal's own streams: through ours, each command's lines would be re-styled and its bars broken.
        common = {"stdout": self.stdout._out, "stderr": self.stderr._out}
        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0, **common)
        call_command("import_folder", str(path), profile=profile, no_embed=True, **common)
        call_command("embed_photos", profile=profile, words_without_model=True, **common)
        if no_serve:
            return
        self.stdout.write(self.style.SUCCESS(f"Search your photos at http://{addrport}/  (Ctrl+C to stop)"))
        call_command("runserver", addrport, use_reloader=False, **common)
