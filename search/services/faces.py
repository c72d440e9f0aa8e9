"""Faces in the photos the current engine has not looked at: each photo's faces replaced, with crops, and a
``FaceScan`` row recording the look.

Claims are advisory locks (``pg_try_advisory_xact_lock``), not row locks: the OCR stage claims the same rows ``FOR
UPDATE SKIP LOCKED``, and each stage would skip the photos the other holds.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image

from profiles.models import Photo
from search.ml.faces import DetectedFace, FaceEngine, get_face_engine
from search.models import Face, FaceScan
from search.people_selectors import photos_pending_faces
from search.services.renditions import renditions_prefetched

logger = logging.getLogger(__name__)

# Photos claimed per transaction: small, as a chunk holds its claims while it runs and a killed run redoes it.
FACES_CHUNK = 8
# The advisory-lock space of the faces stage's claims (the two-key form: this, then the photo id).
FACES_LOCK_SPACE = 0x46414345  # "FACE"
CROP_FOLDER = "faces"
CROP_MARGIN = 0.25  # of the box's side added around it: the crop shows the hair and chin a person knows a face by
CROP_QUALITY = 85


@dataclass
class FindFacesSummary:
    engine_id: str
    scanned: int = 0
    faces: int = 0
    with_faces: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (photo id, reason)

    def __str__(self) -> str:
        return (
            f"{self.scanned} looked at with {self.engine_id} ({self.with_faces} with faces, {self.faces} faces), "
            f"{len(self.failed)} failed"
        )


def photos_find_faces(
    *,
    profile_ids: Sequence[int] | None = None,
    photo_ids: Sequence[int] | None = None,
    engine: FaceEngine | None = None,
    chunk_size: int = FACES_CHUNK,
    retry_failed: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_photo: Callable[[], None] | None = None,
) -> FindFacesSummary:
    """Find the faces of every pending photo (of ``profile_ids``, or just ``photo_ids``); persons are not touched.

    Claimed and written ``chunk_size`` at a time in one transaction: two runs never analyse the same photo. A failed
    photo gets a ``FaceScan`` with the reason and is not retried with the same engine and image unless
    ``retry_failed``.
    """
    engine = engine or get_face_engine()
    summary = FindFacesSummary(engine_id=engine.engine_id)
    if not engine.engine_id:
        return summary
    pending = photos_pending_faces(engine_id=engine.engine_id, profile_ids=profile_ids, retry_failed=retry_failed)
    if photo_ids is not None:
        pending = pending.filter(id__in=list(photo_ids))
    if on_start is not None:
        on_start(pending.count())
    seen: set[int] = set()  # done or failed in this run: a retry_failed run must not loop on a photo failing again
    with ThreadPoolExecutor(max_workers=1) as pool:
        while True:
            with transaction.atomic():
                chunk = _claimed(pending.exclude(id__in=seen), chunk_size=chunk_size)
                if not chunk:
                    break
                for photo, image, reason in renditions_prefetched(pool=pool, photos=chunk):
                    seen.add(photo.pk)
                    _photo_faces_write(photo=photo, image=image, reason=reason, engine=engine, summary=summary)
                    if on_photo is not None:
                        on_photo()
    return summary


def _claimed(pending: QuerySet[Photo], *, chunk_size: int) -> list[Photo]:
    """Up to ``chunk_size`` pending photos this transaction now holds; photos another run holds are skipped."""
    candidates = list(pending.values_list("id", flat=True)[: chunk_size * 2])
    if not candidates:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM unnest(%s::bigint[]) WITH ORDINALITY AS c(id, n) "
            "WHERE pg_try_advisory_xact_lock(%s, (c.id %% 2147483647)::integer) ORDER BY n",
            [candidates, FACES_LOCK_SPACE],
        )
        held = [row[0] for row in cursor.fetchall()]
    # Still pending now that it is held: another run may have finished it between the read and the lock.
    return list(pending.filter(id__in=held).only("id", "thumbnail", "text_image")[:chunk_size])


def _photo_faces_write(
    *, photo: Photo, image: Image.Image | None, reason: str, engine: FaceEngine, summary: FindFacesSummary
) -> None:
    """Replace the photo's faces with those ``engine`` finds in ``image`` and record the scan."""
    found: list[DetectedFace] = []
    if image is not None:
        try:
            found = engine.detect(image)
        except Exception as exc:
            reason = f"face engine failed ({type(exc).__name__}: {exc})"
    if reason:
        logger.warning("Photo %s: %s", photo.pk, reason)
        summary.failed.append((photo.pk, reason))
    Face.objects.filter(photo=photo).delete()  # their crops go once this commits (face_crop_release_after_delete)
    crops: list[str] = []
    try:
        faces = []
        for detected in found:
            crop = face_crop_store(photo_id=photo.pk, image=image, box=detected.box) if image is not None else ""
            crops.append(crop)
            faces.append(_face_row(photo=photo, detected=detected, engine_id=engine.engine_id, crop=crop))
        Face.objects.bulk_create(faces)
    except Exception:
        for name in crops:
            _file_delete(name)
        raise
    FaceScan.objects.update_or_create(
        photo=photo,
        defaults={
            "engine": engine.engine_id,
            "image": photo.text_image.name or photo.thumbnail.name or "",
            "face_count": len(found),
            "error": reason,
            "scanned_at": timezone.now(),
        },
    )
    if not reason:
        summary.scanned += 1
        summary.faces += len(found)
        summary.with_faces += bool(found)


def _face_row(*, photo: Photo, detected: DetectedFace, engine_id: str, crop: str) -> Face:
    x, y, w, h = detected.box
    return Face(
        photo=photo,
        x=x,
        y=y,
        w=w,
        h=h,
        score=detected.score,
        quality=detected.quality,
        size=detected.size,
        descriptor=detected.descriptor.tolist(),
        engine=engine_id,
        crop=crop,
    )


def face_crop_store(*, photo_id: int, image: Image.Image, box: tuple[float, float, float, float]) -> str:
    """A square JPEG (``PHOTOSEARCH_FACES_CROP_SIZE`` px) of the face at ``box`` (relative) with a margin around
    it, stored under a fresh name; returns the name."""
    width, height = image.size
    x, y, w, h = box
    side = max(w * width, h * height) * (1 + 2 * CROP_MARGIN)
    centre_x, centre_y = (x + w / 2) * width, (y + h / 2) * height
    left, top = max(0, round(centre_x - side / 2)), max(0, round(centre_y - side / 2))
    right, bottom = min(width, round(centre_x + side / 2)), min(height, round(centre_y + side / 2))
    crop = image.crop((left, top, max(right, left + 1), max(bottom, top + 1))).convert("RGB")
    size = settings.PHOTOSEARCH_FACES_CROP_SIZE
    crop.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=CROP_QUALITY)
    name = f"{CROP_FOLDER}/{photo_id % 256:02x}/{photo_id}-{uuid.uuid4().hex[:12]}.jpg"
    return default_storage.save(name, ContentFile(out.getvalue()))


def face_crop_release_after_delete(*, instance: Face, **_signal: object) -> None:
    """``post_delete`` receiver of ``Face``: its crop goes once the deletion commits (a rollback keeps it)."""
    if instance.crop:
        name = instance.crop
        transaction.on_commit(lambda: _file_delete(name))


def _file_delete(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:
        logger.warning("Could not delete face crop %s.", name, exc_info=True)
