from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.management.import_command import progress_stream
from profiles.selectors import profile_ids_for_handle
from search.ml.encoders import EncoderUnavailable, get_encoder
from search.ml.faces import get_face_engine
from search.ml.ocr import get_ocr_engine
from search.services.embedding import photos_embed
from search.services.faces import photos_find_faces
from search.services.persons import persons_update
from search.services.words_read import photos_read_text


class Command(BaseCommand):
    help = (
        "Compute image embeddings for photos that have none from the configured model "
        "(PHOTOSEARCH_CLIP_MODEL / PHOTOSEARCH_CLIP_PRETRAINED), then read the words in the images not read yet by "
        "the configured OCR engine (PHOTOSEARCH_OCR), then find the faces not looked for yet (PHOTOSEARCH_FACES) and "
        "group them into persons. Safe to rerun and to interrupt. Without the model's weights the words and faces "
        "are still read; the command then ends with the sentence that says how to provide them (exit status 1, "
        "or 0 with --words-without-model)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profile", help="Only this profile's photos (by name/handle).")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.PHOTOSEARCH_EMBED_BATCH_SIZE,
            help="Photos per model batch (default: %(default)s).",
        )
        parser.add_argument(
            "--no-ocr",
            action="store_true",
            help="Leave the words in the images for a later run (PHOTOSEARCH_OCR=none: always).",
        )
        parser.add_argument(
            "--no-faces", action="store_true", help="Leave the faces for a later run (PHOTOSEARCH_FACES=none: always)."
        )
        parser.add_argument(
            "--retry-failed-faces",
            action="store_true",
            help="Look again at the photos the face engine failed on (an image that could not be read).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")
        parser.add_argument(
            "--words-without-model",
            action="store_true",
            help="Without the model's weights, say so and exit 0 once the words are read (search by "
            "words works; a later run embeds the photos when the weights are there).",
        )

    def handle(
        self,
        *args,
        profile,
        batch_size,
        no_progress,
        no_ocr,
        no_faces=False,
        retry_failed_faces=False,
        words_without_model=False,
        **options,
    ):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        profile_ids = None
        if profile:
            profile_ids = profile_ids_for_handle(handle=profile)
            if not profile_ids:
                raise CommandError(f"No profile named {profile!r}.")
        try:
            encoder, unavailable = get_encoder(), None
        except EncoderUnavailable as exc:
            encoder, unavailable = None, str(exc)
        if encoder is not None:
            self._stage(
                lambda on_start, on_step: photos_embed(
                    profile_ids=profile_ids, batch_size=batch_size, encoder=encoder, on_start=on_start, on_batch=on_step
                ),
                desc=f"Embedding with {encoder.model_id}",
                no_progress=no_progress,
            )
        engine = get_ocr_engine()
        if not no_ocr and engine.engine_id:  # the words need no image model: read them whatever became of it
            self._stage(
                lambda on_start, on_step: photos_read_text(
                    profile_ids=profile_ids, engine=engine, on_start=on_start, on_photo=lambda: on_step(1)
                ),
                desc=f"Reading words with {engine.engine_id}",
                no_progress=no_progress,
            )
        faces = get_face_engine()
        if not no_faces and faces.engine_id:  # faces need no image model either
            self._stage(
                lambda on_start, on_step: photos_find_faces(
                    profile_ids=profile_ids,
                    engine=faces,
                    retry_failed=retry_failed_faces,
                    on_start=on_start,
                    on_photo=lambda: on_step(1),
                ),
                desc=f"Finding faces with {faces.engine_id}",
                no_progress=no_progress,
            )
            self.stdout.write(self.style.SUCCESS(str(persons_update())))
        if unavailable is None:
            return
        if not words_without_model:
            raise CommandError(unavailable)
        self.stderr.write(
            self.style.WARNING(
                f"Search by looks is off until the model is available; search by words works. {unavailable} "
                f"Then run: python manage.py embed_photos"
            )
        )

    def _stage(self, run, *, desc: str, no_progress: bool) -> None:
        """Run one indexing stage (``run(on_start, on_step)``) under a progress bar; report its failures and summary."""
        bar: Any = None  # a tqdm (untyped)

        def on_start(total: int) -> None:
            nonlocal bar
            bar = tqdm(
                total=total, unit="img", desc=desc, disable=no_progress or None, file=progress_stream(self.stderr)
            )

        try:
            summary = run(on_start, lambda count: bar.update(count))
        finally:
            if bar is not None:
                bar.close()
        for photo_id, reason in summary.failed:
            self.stderr.write(f"failed photo {photo_id}: {reason}")
        self.stdout.write(self.style.SUCCESS(str(summary)))
