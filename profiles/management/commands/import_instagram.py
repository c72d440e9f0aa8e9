from pathlib import Path

from django.core.management.base import CommandError

from profiles.management.import_command import ImportCommand
from profiles.models import SourceKind


class Command(ImportCommand):
    help = (
        "Import an Instagram profile's posts (one photo per image; carousels give several; videos keep their cover). "
        "Live through instaloader with a logged-in session, or offline from a folder the instaloader CLI wrote "
        "(--from-dir). The profile remembers the folder or the login: a rerun without them (this command, the API, "
        "the admin's Import now) goes the same way. Rate limits end the run with a message; rerunning continues "
        "where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="Instagram username of the profile to import.")
        session = parser.add_mutually_exclusive_group()
        session.add_argument("--session-file", type=Path, help="An instaloader session file.")
        session.add_argument(
            "--login", metavar="USER", help="Use the session saved by `instaloader --login USER` (default location)."
        )
        session.add_argument("--cookies", type=Path, help="A cookies.txt exported from a logged-in browser.")
        session.add_argument(
            "--from-dir", type=Path, help="Import offline from a folder written by the instaloader CLI."
        )
        parser.add_argument(
            "--fast-update",
            action="store_true",
            help="Stop at the first post already imported (pinned posts excepted).",
        )
        parser.add_argument("--limit", type=int, help="Import at most N posts.")
        super().add_arguments(parser)

    def handle(self, *args, username, session_file, login, cookies, from_dir, fast_update, limit, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        if from_dir is not None and not from_dir.expanduser().is_dir():
            raise CommandError(f"--from-dir {from_dir} is not a folder.")
        # Remembered on the profile, so any rerun goes the same way: offline stays offline.
        remembered = {
            key: str(value.expanduser().resolve()) if isinstance(value, Path) else value
            for key, value in (
                ("session_file", session_file),
                ("login", login),
                ("cookies_file", cookies),
                ("from_dir", from_dir),
            )
            if value
        }
        target = self.profile_for(kind=SourceKind.INSTAGRAM, handle=username.lstrip("@"), options=remembered)
        self.run_import(profile=target, job_options={"fast_update": fast_update, "limit": limit}, **options)
