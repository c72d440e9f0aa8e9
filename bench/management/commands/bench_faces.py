from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.faces import bench_faces
from bench.faces_persons import DEFAULT_DATABASE, persons_bench
from bench.management.commands.evaluate_faces import face_engine, face_engine_arguments
from bench.report import figures_text


class Command(BaseCommand):
    help = (
        "Benchmark the dlib face engine on a labelled folder of real photos (default: tests/data/faces, a mix of "
        "portraits, groups and photos without people): photos/s, ms for a photo without a face, ms per face "
        "(medians of the repeats); then persons_update timed on --cluster N synthetic faces shaped like dlib's, in a "
        "database of its own (--database, emptied on every run), and scored against their synthetic identities."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        face_engine_arguments(parser)
        parser.add_argument(
            "--repeat", type=int, default=3, help="Passes over the folder; medians are reported (0: skip the photos)."
        )
        parser.add_argument(
            "--cluster", type=int, default=100_000, help="Synthetic faces to group (default: %(default)s; 0: skip)."
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the synthetic faces (default: %(default)s).")
        parser.add_argument(
            "--database",
            default=DEFAULT_DATABASE,
            help="Bench database for --cluster, emptied on every run: never the real one (default: %(default)s).",
        )

    def handle(
        self,
        *args: Any,
        folder: Path,
        detector: str,
        image_size: int,
        upsample: int,
        repeat: int,
        cluster: int,
        **options: Any,
    ) -> None:
        if repeat < 0 or cluster < 0:
            raise CommandError("Need --repeat >= 0 and --cluster >= 0.")
        if cluster and options["database"] == settings.DATABASES["default"]["NAME"]:
            raise CommandError("--database must not be the project's own database: --cluster empties it.")
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        figures: dict[str, Any] = {}
        if repeat:
            engine = face_engine(detector=detector, image_size=image_size, upsample=upsample)
            figures.update(bench_faces(engine=engine, folder=folder, repeat=repeat, on_step=say))
        if cluster:
            figures.update(
                persons_bench(count=cluster, seed=options["seed"], database=options["database"], on_step=say)
            )
        self.stdout.write(figures_text(figures, as_json=options["json"]))
