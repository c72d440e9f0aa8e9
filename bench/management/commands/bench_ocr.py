from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from bench.ocr import ocr_benchmark
from bench.report import figures_text


class Command(BaseCommand):
    help = (
        "Benchmark reading the words in images (OCR): generate N photo-like 1080×1350 JPEGs, a third with words drawn "
        "at least 20 px high, make the rendition the import keeps, and report the share of drawn words read, the "
        "cost of a photo without text (ms), and photos/s on the mixed set (medians of the repeats). Nothing is "
        "written to the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--images", type=int, default=60, help="How many images (default: %(default)s).")
        parser.add_argument("--repeat", type=int, default=3, help="Repeats; medians are reported.")
        parser.add_argument(
            "--image-size",
            type=int,
            default=settings.PHOTOSEARCH_OCR_IMAGE_SIZE,
            help="Longest side of the rendition read (default: PHOTOSEARCH_OCR_IMAGE_SIZE, %(default)s).",
        )
        parser.add_argument(
            "--detect-size",
            type=int,
            default=settings.PHOTOSEARCH_OCR_DETECT_SIZE,
            help="Longest side text is detected at (default: PHOTOSEARCH_OCR_DETECT_SIZE, %(default)s).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.PHOTOSEARCH_OCR_THREADS,
            help="onnxruntime threads per model run, 0: its own choice (default: %(default)s).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args, images, repeat, image_size, detect_size, threads, **options):
        if images < 3 or repeat < 1 or image_size < 64 or detect_size < 128 or threads < 0:
            raise CommandError(
                "Need --images >= 3, --repeat >= 1, --image-size >= 64, --detect-size >= 128, --threads >= 0."
            )
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        with override_settings(
            PHOTOSEARCH_OCR="rapidocr",
            PHOTOSEARCH_OCR_IMAGE_SIZE=image_size,
            PHOTOSEARCH_OCR_DETECT_SIZE=detect_size,
            PHOTOSEARCH_OCR_THREADS=threads,
        ):
            result = ocr_benchmark(images=images, repeat=repeat, on_step=say)
        self.stdout.write(figures_text(result.as_dict(), as_json=options["json"]))
