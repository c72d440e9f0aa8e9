from profiles.management.import_command import ImportCommand
from profiles.models import SourceKind


class Command(ImportCommand):
    help = (
        "Import a Flickr album (--album ID) or a user's public photos (--user NAME_OR_NSID). Needs FLICKR_API_KEY "
        "in the environment. Title, description and tags become the photo's text; licence "
        "and owner are kept."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--album", help="Photoset (album) id, from the album's URL.")
        target.add_argument("--user", help="Flickr user name or NSID (e.g. 12345678@N00).")
        parser.add_argument("--profile", help="Profile name (default: the album id or user).")
        super().add_arguments(parser)

    def handle(self, *args, album: str | None, user: str | None, profile: str | None, **options):
        source_options = {"album": album} if album else {"user": user}
        # argparse's required group gives --album or --user
        target = self.profile_for(kind=SourceKind.FLICKR, handle=profile or album or user, options=source_options)  # type: ignore[arg-type]
        self.run_import(profile=target, job_options=source_options, **options)
