from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.faces import bench_faces
from bench.management.commands.evaluate_faces import face_engine, face_engine_arguments
from bench.report import figures_text


class Command(BaseCommand):
    help = (
        "Benchmark the dlib face engine on a labelled folder of real photos (default: tests/data/faces, a mix of "
        "portraits, groups and photos without people): photos/s, ms for a photo without a face, ms per face "
        "(medians of the repeats). Nothing is written to the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        face_engine_arguments(parser)
        parser.add_argument("--repeat", type=int, default=3, help="Passes over the folder; medians are reported.")

    def handle(
        self, *args: Any, folder: Path, detector: str, image_size: int, upsample: int, repeat: int, **options: Any
    ) -> None:
        if repeat < 1:
            raise CommandError("Need --repeat >= 1.")
        engine = face_engine(detector=detector, image_size=image_size, upsample=upsample)
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        figures = bench_faces(engine=engine, folder=folder, repeat=repeat, on_step=say)
        self.stdout.write(figures_text(figures, as_json=options["json"]))
