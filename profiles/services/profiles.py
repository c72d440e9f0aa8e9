"""Writes of profile rows: one per (source kind, handle), its way to the source merged in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from photosearch.errors import StateConflict
from profiles.fetch import FetchError, TransientFetchError
from profiles.images import ImageRejected, sha256_hex
from profiles.metadata import photo_metadata
from profiles.models import ImportJob, Photo, Profile, SourceKind
from profiles.selectors import import_job_running, import_lock_key, job_stop_kind, profile_source_options
from profiles.signals import import_finished
from profiles.sources.base import Source, SkippedRecord, SourceError, SourceNotFound, SourceRecord, error_line
from profiles.sources.registry import BuildContext, source_build, source_options_merged
from profiles.thumbnails import (ThumbnailStoreError, image_checked, text_image_backfill, text_image_store,
                                 thumbnail_release, thumbnail_store)


def profile_get_or_create(
    *, source_kind: str, handle: str, display_name: str = "", source_options: dict | None = None
) -> Profile:
    """The profile for (source kind, handle), created on first use; ``source_options`` given are merged in."""
    handle = handle.strip()
    if not handle:
        raise ValueError("A profile needs a non-empty name.")
    profile, created = Profile.objects.get_or_create(
        source_kind=source_kind,
        handle=handle,
        defaults={"display_name": display_name or handle, "source_options": source_options or {}},
    )
    merged = source_options_merged(kind=source_kind, stored=profile.source_options, given=source_options or {})
    if not created and merged != profile.source_options:
        profile.source_options = merged
        profile.save(update_fields=["source_options", "updated_at"])
    return profile
