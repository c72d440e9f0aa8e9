"""Words in the image: the photos the current OCR engine has not read, read into ``ocr_text``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from profiles.models import Photo
from profiles.sources.text import text_clean
from search.ml.ocr import OcrEngine, get_ocr_engine
from search.selectors import photos_pending_text_reading
from search.services.index_builds import text_index_flush
from search.services.renditions import renditions_prefetched

logger = logging.getLogger(__name__)


# Photos claimed per transaction: small, as a chunk holds its row locks while it runs and a killed run redoes it.
TEXT_CHUNK = 16


@dataclass
class ReadTextSummary:
    engine_id: str
    read: int = 0
    with_text: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (photo id, reason)

    def __str__(self) -> str:
        return f"{self.read} read with {self.engine_id} ({self.with_text} with words), {len(self.failed)} failed"


def photos_read_text(
    *,
    profile_ids: Sequence[int] | None = None,
    photo_ids: Sequence[int] | None = None,
    engine: OcrEngine | None = None,
    chunk_size: int = TEXT_CHUNK,
    on_start: Callable[[int], None] | None = None,
    on_photo: Callable[[], None] | None = None,
) -> ReadTextSummary:
    """Read the words in the image of every photo (of ``profile_ids``, or just ``photo_ids``) the configured OCR
    engine has not read, recording the engine on each.

    Claimed with ``FOR UPDATE SKIP LOCKED`` and written in the same transaction, as ``photos_embed``. A photo that
    cannot be read is reported and left for a later run.
    """
    engine = engine or get_ocr_engine()
    summary = ReadTextSummary(engine_id=engine.engine_id)
    if not engine.engine_id:
        return summary
    pending = photos_pending_text_reading(engine_id=engine.engine_id, profile_ids=profile_ids)
    if photo_ids is not None:
        pending = pending.filter(id__in=list(photo_ids))
    if on_start is not None:
        on_start(pending.count())
    failed_ids: set[int] = set()
    with ThreadPoolExecutor(max_workers=1) as pool:
        while True:
            with transaction.atomic():
                chunk = list(
                    pending.exclude(id__in=failed_ids)
                    .only("id", "thumbnail", "text_image")
                    .select_for_update(skip_locked=True, of=("self",))[:chunk_size]
                )
                if not chunk:
                    break
                done = []
                for photo, image, reason in renditions_prefetched(pool=pool, photos=chunk):
                    if image is not None:
                        try:
                            photo.ocr_text = text_clean(engine.read(image))
                        except Exception as exc:
                            reason = f"OCR failed ({type(exc).__name__}: {exc})"
                    if reason:
                        logger.warning("Photo %s: %s", photo.pk, reason)
                        summary.failed.append((photo.pk, reason))
                    else:
                        photo.ocr_engine, photo.ocr_at = engine.engine_id, timezone.now()
                        done.append(photo)
                        summary.with_text += bool(photo.ocr_text)
                    if on_photo is not None:
                        on_photo()
                Photo.objects.bulk_update(done, ["ocr_text", "ocr_engine", "ocr_at"])
                summary.read += len(done)
            failed_ids.update(photo_id for photo_id, _ in summary.failed)
    if summary.with_text:
        text_index_flush()
    return summary
