"""Writes of profile rows: one per (source kind, handle), its way to the source merged in."""

from __future__ import annotations

from profiles.models import Profile
from profiles.sources.registry import source_options_merged


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
