"""Writes for profiles and photos: the ingest half of the data flow (records → verified images → Photo rows)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from profiles.images import ImageRejected, image_check, sha256_hex
from profiles.models import Photo, Profile, SourceKind
from profiles.sources.base import SourceRecord
from profiles.sources.folder import iter_folder

logger = logging.getLogger(__name__)

IMPORTED, UPDATED, UNCHANGED, SKIPPED = "imported", "updated", "unchanged", "skipped"
MAX_IMAGE_BYTES = 64 * 1024 * 1024


class ImportSourceError(Exception):
    """The source as a whole cannot be read (missing folder, …); nothing was imported."""


@dataclass
class ImportSummary:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source id, reason)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return (
            f"{self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped"
        )


def profile_get_or_create(*, source_kind: str, handle: str, display_name: str = "") -> Profile:
    """The profile for (source kind, handle), created on first use."""
    handle = handle.strip()
    if not handle:
        raise ValueError("A profile needs a non-empty name.")
    profile, _ = Profile.objects.get_or_create(
        source_kind=source_kind, handle=handle, defaults={"display_name": display_name or handle}
    )
    return profile


def photo_upsert(*, profile: Profile, record: SourceRecord, data: bytes) -> str:
    """Create or update the photo for ``record`` from the image ``data``; return the outcome.

    Idempotent: the same record and bytes give ``unchanged`` and write nothing. New bytes for a known source id
    replace the thumbnail and clear the embedding and generated caption so the indexer recomputes them. Raises
    ``ImageRejected`` (nothing written) when the bytes are not a usable image.
    """
    digest = sha256_hex(data)
    metadata = {
        "permalink": record.permalink,
        "original_url": record.original,
        "taken_at": record.taken_at,
        "source_text": record.text,
        "hashtags": " ".join(record.hashtags),
        "alt_text": record.alt_text,
    }
    existing = Photo.objects.filter(profile=profile, source_id=record.source_id).first()
    if existing is not None and existing.content_hash == digest:
        changed = [name for name, value in metadata.items() if getattr(existing, name) != value]
        if not changed:
            return UNCHANGED
        for name in changed:
            setattr(existing, name, metadata[name])
        existing.save(update_fields=[*changed, "updated_at"])
        return UPDATED

    checked = image_check(
        data, max_pixels=settings.PHOTOSEARCH_MAX_IMAGE_PIXELS, thumbnail_size=settings.PHOTOSEARCH_THUMBNAIL_SIZE
    )
    thumbnail_name = _thumbnail_store(checked.sha256, checked.thumbnail_jpeg)
    image_fields = {
        **metadata,
        "thumbnail": thumbnail_name,
        "width": checked.width,
        "height": checked.height,
        "content_hash": checked.sha256,
        "embedding": None,
        "embedding_model": "",
        "embedded_at": None,
        "caption": "",
    }
    try:
        with transaction.atomic():
            if existing is None:
                Photo.objects.create(profile=profile, source_id=record.source_id, **image_fields)
                return IMPORTED
            old_thumbnail = existing.thumbnail.name
            for name, value in image_fields.items():
                setattr(existing, name, value)
            existing.save()
    except Exception:
        _thumbnail_release(thumbnail_name)
        raise
    if old_thumbnail != thumbnail_name:
        _thumbnail_release(old_thumbnail)
    return UPDATED


def records_ingest(
    *,
    profile: Profile,
    records: Iterable[SourceRecord],
    read: Callable[[SourceRecord], bytes],
    on_item: Callable[[SourceRecord, str], None] | None = None,
) -> ImportSummary:
    """Upsert every record, reading its bytes with ``read``. A record whose bytes cannot be read or are not a usable
    image is logged, listed in the summary with the reason and skipped; the others are imported."""
    summary = ImportSummary()
    for record in records:
        try:
            outcome = photo_upsert(profile=profile, record=record, data=read(record))
        except (ImageRejected, OSError) as exc:
            reason = str(exc) if isinstance(exc, ImageRejected) else f"cannot read file ({exc.strerror or exc})"
            logger.warning("Skipped %s: %s", record.source_id, reason)
            summary.skipped.append((record.source_id, reason))
            outcome = SKIPPED
        else:
            summary.count(outcome)
        if on_item is not None:
            on_item(record, outcome)
    return summary


def folder_import(
    *,
    path: Path,
    profile_name: str,
    on_start: Callable[[int], None] | None = None,
    on_item: Callable[[SourceRecord, str], None] | None = None,
) -> ImportSummary:
    """Import every image under ``path`` into the folder profile ``profile_name`` (created if missing).

    ``on_start(total)`` is called once the folder has been listed, ``on_item(record, outcome)`` after each image.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ImportSourceError(f"{path} is not a folder.")
    profile = profile_get_or_create(source_kind=SourceKind.FOLDER, handle=profile_name)
    records = list(iter_folder(path))
    if on_start is not None:
        on_start(len(records))
    return records_ingest(profile=profile, records=records, read=_read_local_file, on_item=on_item)


def _read_local_file(record: SourceRecord) -> bytes:
    assert record.image_path is not None
    size = record.image_path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ImageRejected(f"file too large ({size:,} bytes, limit {MAX_IMAGE_BYTES:,})")
    return record.image_path.read_bytes()


def _thumbnail_store(sha256: str, jpeg: bytes) -> str:
    """Store a thumbnail under a content-addressed name (identical images share one file)."""
    name = f"thumbnails/{sha256[:2]}/{sha256}.jpg"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(jpeg))
    return name


def _thumbnail_release(name: str) -> None:
    """Delete a thumbnail no photo refers to any more."""
    if name and not Photo.objects.filter(thumbnail=name).exists():
        default_storage.delete(name)
