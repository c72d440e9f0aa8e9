"""Ingest: records → verified images → photo rows, one record at a time, each record's failure its own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DatabaseError, connection, transaction

from profiles.fetch import FetchError, TransientFetchError
from profiles.images import ImageRejected, sha256_hex
from profiles.metadata import photo_metadata
from profiles.models import Photo, Profile
from profiles.sources.base import SkippedRecord, SourceError, SourceRecord, error_line
from profiles.thumbnails import (
    ThumbnailStoreError,
    image_checked,
    text_image_backfill,
    text_image_store,
    thumbnail_release,
    thumbnail_store,
)

logger = logging.getLogger(__name__)


IMPORTED, UPDATED, UNCHANGED, SKIPPED, FAILED = "imported", "updated", "unchanged", "skipped", "failed"


class ImportCancelled(Exception):
    """The profile or the job was deleted while the import ran: it stopped, its renditions released."""


def photo_upsert(*, profile: Profile, record: SourceRecord, data: bytes, renditions: set[str] | None = None) -> str:
    """Create or update the photo for ``record`` from the image ``data``; return the outcome.

    Idempotent (``unchanged`` writes nothing). New bytes clear what the indexer derived; bytes another photo of the
    profile has make this row its duplicate. ``ImageRejected``, nothing written, for unusable bytes. ``renditions``
    receives the files the row newly refers to.
    """
    digest = sha256_hex(data)
    metadata = photo_metadata(record=record, data=data)
    existing = Photo.objects.filter(profile=profile, source_id=record.source_id).first()
    if existing is not None and existing.content_hash == digest:
        changed = {name: value for name, value in metadata.items() if getattr(existing, name) != value}
        changed.update(text_image_backfill(photo=existing, data=data))
        if not changed:
            return UNCHANGED
        for name, value in changed.items():
            setattr(existing, name, value)
        existing.save(update_fields=[*changed, "updated_at"])
        if renditions is not None and changed.get("text_image"):
            renditions.add(changed["text_image"])
        return UPDATED

    original = (
        Photo.objects.filter(profile=profile, content_hash=digest, duplicate_of__isnull=True)
        .exclude(source_id=record.source_id)
        .order_by("id")
        .first()
    )
    if original is not None:
        image_fields: dict[str, Any] = {
            "thumbnail": original.thumbnail.name,
            "text_image": original.text_image.name,
            "width": original.width,
            "height": original.height,
            "duplicate_of": original,
        }
    else:
        checked = image_checked(data)
        image_fields = {
            "thumbnail": thumbnail_store(checked.sha256, checked.thumbnail_jpeg),
            "width": checked.width,
            "height": checked.height,
            "duplicate_of": None,
        }
        try:
            image_fields["text_image"] = (
                text_image_store(checked.sha256, checked.text_image_jpeg) if checked.text_image_jpeg else ""
            )
        except ThumbnailStoreError:
            thumbnail_release(image_fields["thumbnail"])
            raise
    image_fields.update(
        content_hash=digest,
        embedding=None,
        embedding_model="",
        embedded_at=None,
        caption="",
        ocr_text="",
        ocr_engine="",
        ocr_at=None,
    )
    old_files = (existing.thumbnail.name, existing.text_image.name) if existing is not None else ()
    new_files = (image_fields["thumbnail"], image_fields["text_image"])
    try:
        with transaction.atomic():
            if existing is None:
                Photo.objects.create(profile=profile, source_id=record.source_id, **metadata, **image_fields)
            else:
                for name, value in {**metadata, **image_fields}.items():
                    setattr(existing, name, value)
                existing.save()
                # Rows that duplicated this photo's old bytes now stand on their own and need indexing.
                existing.duplicates.update(duplicate_of=None)
    except Exception:
        for name in new_files:
            thumbnail_release(name)
        raise
    for old in old_files:
        if old and old not in new_files:
            thumbnail_release(old)
    if renditions is not None:
        renditions.update(name for name in new_files if name)
    return IMPORTED if existing is None else UPDATED


def records_ingest(
    *,
    profile: Profile,
    records: Iterable[SourceRecord | SkippedRecord],
    read: Callable[[SourceRecord], bytes],
    on_item: Callable[[SourceRecord | SkippedRecord, str, str], None] | None = None,
    renditions: set[str] | None = None,
) -> None:
    """Upsert every record, reading its bytes with ``read``, and report each to ``on_item``.

    A record's failure is its own: ``skipped`` with the reason, or ``failed`` for a transient download error (a rerun
    retries it). ``SourceError``, a lost database connection and ``ImportCancelled`` propagate; rows written stay.
    ``renditions`` receives the files the rows newly refer to.
    """
    renditions = set() if renditions is None else renditions
    for record in records:
        if isinstance(record, SkippedRecord):
            outcome, reason = SKIPPED, record.reason
        else:
            outcome, reason = _record_ingest(profile=profile, record=record, read=read, renditions=renditions)
        if reason:
            # repr: a file name may hold a line break, which would forge log lines
            logger.warning("%s %r: %s", outcome.capitalize(), record.source_id, reason)
        if on_item is not None:
            on_item(record, outcome, reason)


def _record_ingest(
    *, profile: Profile, record: SourceRecord, read: Callable[[SourceRecord], bytes], renditions: set[str]
) -> tuple[str, str]:
    """The outcome of one record, and the reason when it was not stored: whatever fails, it is this record's."""
    stored: set[str] = set()
    try:
        data = read(record)
        # A savepoint of its own: a row the database refuses rolls back alone, even inside a caller's transaction.
        with transaction.atomic():
            outcome = photo_upsert(profile=profile, record=record, data=data, renditions=stored)
        renditions.update(stored)
        return outcome, ""
    except (TransientFetchError, ThumbnailStoreError) as exc:
        return FAILED, str(exc)
    except (ImageRejected, FetchError) as exc:
        return SKIPPED, str(exc)
    except OSError as exc:
        return SKIPPED, f"cannot read file ({exc.strerror or exc})"
    except DatabaseError as exc:
        if not connection.is_usable():
            raise  # the whole run's trouble (a lost connection), not this record's
        for name in stored:  # written, then refused at commit (a constraint checked there): the file is no one's
            thumbnail_release(name)
        if not Profile.objects.filter(pk=profile.pk).exists():  # the refusal: its profile is gone
            raise ImportCancelled(_profile_gone(profile)) from exc
        return SKIPPED, f"the database refused it ({error_line(exc)})"
    except SourceError:
        raise
    except Exception as exc:  # any other failure (a type, a value, recursion, overflow, memory) is this record's
        logger.info("Record %r failed.", record.source_id, exc_info=not isinstance(exc, (ValueError, UnicodeError)))
        return SKIPPED, f"unusable data ({error_line(exc)})"


def _profile_gone(profile: Profile) -> str:
    return f"{profile} was deleted while it was being imported; the import stopped."
