from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from bench.index import index_benchmark
from bench.report import figures_text
from search.ml.encoders import EncoderUnavailable


class Command(BaseCommand):
    help = (
        "Benchmark indexing: generate N synthetic 1080×1350 JPEGs, import them, then report images/s for decoding, "
        "the model alone and the full embedding pipeline (files → rows). Uses random weights by default (same FLOPs "
        "as the real ones); the scratch profile and its files are removed afterwards. A third of the images carry "
        "words: with OCR on (PHOTOSEARCH_OCR, or --ocr) it also reports the OCR stage's images/s and the whole "
        "pipeline with OCR on beside the one without."
    )

    def add_arguments(self, parser):
        parser.add_argument("--images", type=int, default=256, help="How many images (default: %(default)s).")
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=settings.PHOTOSEARCH_DEVICE)
        parser.add_argument("--model", default=settings.PHOTOSEARCH_CLIP_MODEL, help="open_clip architecture.")
        parser.add_argument(
            "--pretrained", default="none", help="Weights: none (random, default), a tag or a checkpoint path."
        )
        parser.add_argument("--batch-size", type=int, help="Default: 32 on CPU, 256 on CUDA.")
        parser.add_argument(
            "--repeat",
            type=int,
            default=3,
            help="Interleaved repeats of the model and pipeline timings; medians are reported.",
        )
        parser.add_argument(
            "--ocr",
            choices=["rapidocr", "none"],
            default=settings.PHOTOSEARCH_OCR,
            help="OCR engine (default: PHOTOSEARCH_OCR, %(default)s).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args, images, device, model, pretrained, batch_size, repeat, ocr, **options):
        if images < 1 or repeat < 1:
            raise CommandError("--images and --repeat must be at least 1.")
        overrides = {
            "PHOTOSEARCH_CLIP_MODEL": model,
            "PHOTOSEARCH_CLIP_PRETRAINED": pretrained,
            "PHOTOSEARCH_DEVICE": device,
            "PHOTOSEARCH_OCR": ocr,
        }
        with override_settings(**overrides):
            try:
                from search.ml.encoders import get_encoder

                encoder = get_encoder()
            except EncoderUnavailable as exc:
                raise CommandError(str(exc)) from None
            batch_size = batch_size or (256 if encoder.device.startswith("cuda") else 32)
            say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
            result = index_benchmark(images=images, batch_size=batch_size, repeat=repeat, on_step=say)
        self.stdout.write(figures_text(result.as_dict(), as_json=options["json"]))
