"""Thumbnails and the larger rendition OCR and faces read (``Photo.text_image``): content-addressed JPEGs in the
default storage, shared by identical images, deleted when no photo refers to them."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from profiles.images import CheckedImage, image_check
from profiles.models import Photo

logger = logging.getLogger(__name__)

TEXT_IMAGE_FOLDER = "text-images"


class ThumbnailStoreError(Exception):
    """The thumbnail could not be written: nothing of the photo was stored; a rerun retries it."""


def thumbnail_store(sha256: str, jpeg: bytes) -> str:
    """Store a thumbnail under a content-addressed name. An existing file is reused only when whole (a killed import
    can leave a partial one); a failed write leaves no file and raises ``ThumbnailStoreError``."""
    return _rendition_store(f"thumbnails/{sha256[:2]}/{sha256}.jpg", jpeg)


def text_image_store(sha256: str, jpeg: bytes) -> str:
    """Store the rendition words in the image are read from, as ``thumbnail_store`` stores a thumbnail."""
    return _rendition_store(f"{TEXT_IMAGE_FOLDER}/{sha256[:2]}/{sha256}.jpg", jpeg)


def _rendition_store(name: str, jpeg: bytes) -> str:
    if default_storage.exists(name):
        if default_storage.size(name) == len(jpeg):
            return name
        thumbnail_release(name)  # partial (or from another Pillow version): replace it unless a photo uses it
    try:
        return default_storage.save(name, ContentFile(jpeg))
    except Exception as exc:
        thumbnail_release(name)
        raise ThumbnailStoreError(f"cannot store thumbnail ({exc})") from exc


def text_image_wanted() -> bool:
    """Whether the larger rendition is kept (OCR or faces on); read from settings, as profiles never imports
    search."""
    return settings.PHOTOSEARCH_OCR != "none" or settings.PHOTOSEARCH_FACES != "none"


def image_checked(data: bytes) -> CheckedImage:
    """``image_check`` with the settings' limits."""
    return image_check(
        data,
        max_pixels=settings.PHOTOSEARCH_MAX_IMAGE_PIXELS,
        thumbnail_size=settings.PHOTOSEARCH_THUMBNAIL_SIZE,
        text_image_size=settings.PHOTOSEARCH_OCR_IMAGE_SIZE if text_image_wanted() else 0,
    )


def text_image_backfill(*, photo: Photo, data: bytes) -> dict:
    """Field values giving a photo imported without the larger rendition one now, OCR fields reset so the next
    ``embed_photos`` reads it. Nothing for a duplicate or an image no larger than its thumbnail."""
    if (
        not text_image_wanted()
        or photo.text_image
        or photo.duplicate_of_id is not None
        or max(photo.width or 0, photo.height or 0) <= settings.PHOTOSEARCH_THUMBNAIL_SIZE
    ):
        return {}
    checked = image_checked(data)
    if not checked.text_image_jpeg:
        return {}
    return {
        "text_image": text_image_store(checked.sha256, checked.text_image_jpeg),
        "ocr_text": "",
        "ocr_engine": "",
        "ocr_at": None,
    }


def thumbnail_release(name: str) -> None:
    """Delete a thumbnail (or text image) no photo refers to any more."""
    if name and not Photo.objects.filter(Q(thumbnail=name) | Q(text_image=name)).exists():
        try:
            default_storage.delete(name)
        except Exception:
            logger.warning("Could not delete unused thumbnail %s; thumbnails_prune will.", name, exc_info=True)


def thumbnails_prune(*, older_than: timedelta = timedelta(hours=1)) -> list[str]:
    """Delete and return thumbnail files no photo refers to, except those younger than ``older_than``: a running
    import stores a thumbnail a moment before its row commits."""
    referenced = set(Photo.objects.exclude(thumbnail="").values_list("thumbnail", flat=True))
    referenced.update(Photo.objects.exclude(text_image="").values_list("text_image", flat=True))
    cutoff = timezone.now() - older_than
    pruned = []
    for folder in ("thumbnails", TEXT_IMAGE_FOLDER):
        try:
            shards = default_storage.listdir(folder)[0]
        except FileNotFoundError:
            continue
        for shard in shards:
            for file_name in default_storage.listdir(f"{folder}/{shard}")[1]:
                name = f"{folder}/{shard}/{file_name}"
                if name not in referenced and default_storage.get_modified_time(name) < cutoff:
                    default_storage.delete(name)
                    pruned.append(name)
    return pruned
