from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.selectors import profile_ids_for_handle
from search.encoders import EncoderUnavailable, get_encoder
from search.ocr import get_ocr_engine
from search.services import photos_embed, photos_read_text


class Command(BaseCommand):
    help = (
        "Compute image embeddings for photos that have none from the configured model "
        "(PHOTOSEARCH_CLIP_MODEL / PHOTOSEARCH_CLIP_PRETRAINED), then read the words in the images not read yet by "
        "the configured OCR engine (PHOTOSEARCH_OCR). Safe to rerun and to interrupt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profile", help="Only this profile's photos (by name/handle).")
        parser.add_argument("--batch-size", type=int, default=settings.PHOTOSEARCH_EMBED_BATCH_SIZE,
                            help="Photos per model batch (default: %(default)s).")
        parser.add_argument("--no-ocr", action="store_true",
                            help="Leave the words in the images for a later run (PHOTOSEARCH_OCR=none: always).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, profile, batch_size, no_progress, no_ocr, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        profile_ids = None
        if profile:
            profile_ids = profile_ids_for_handle(profile)
            if not profile_ids:
                raise CommandError(f"No profile named {profile!r}.")
        try:
            encoder = get_encoder()
        except EncoderUnavailable as exc:
            raise CommandError(str(exc)) from None
        self._stage(lambda on_start, on_step: photos_embed(
            profile_ids=profile_ids, batch_size=batch_size, encoder=encoder, on_start=on_start, on_batch=on_step,
        ), desc=f"Embedding with {encoder.model_id}", no_progress=no_progress)
        engine = get_ocr_engine()
        if no_ocr or not engine.engine_id:
            return
        self._stage(lambda on_start, on_step: photos_read_text(
            profile_ids=profile_ids, engine=engine, on_start=on_start, on_photo=lambda: on_step(1),
        ), desc=f"Reading words with {engine.engine_id}", no_progress=no_progress)

    def _stage(self, run, *, desc: str, no_progress: bool) -> None:
        """Run one indexing stage (``run(on_start, on_step)``) under a progress bar; report its failures and summary."""
        bar = None

        def on_start(total: int) -> None:
            nonlocal bar
            bar = tqdm(total=total, unit="img", desc=desc, disable=no_progress or None, file=self.stderr._out)

        try:
            summary = run(on_start, lambda count: bar.update(count))
        finally:
            if bar is not None:
                bar.close()
        for photo_id, reason in summary.failed:
            self.stderr.write(f"failed photo {photo_id}: {reason}")
        self.stdout.write(self.style.SUCCESS(str(summary)))
