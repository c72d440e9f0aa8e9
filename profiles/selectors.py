"""Reads for profiles."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from profiles.models import ImportJob, Photo, Profile


def profile_ids_for_handle(handle: str) -> list[int]:
    """Ids of the profiles called ``handle`` (one per source kind at most)."""
    return list(Profile.objects.filter(handle=handle.strip()).values_list("id", flat=True))


def profile_list_with_counts() -> QuerySet[Profile]:
    """Profiles with ``photo_count`` and ``embedded_count`` annotations."""
    return Profile.objects.annotate(
        photo_count=Count("photos"),
        embedded_count=Count("photos", filter=Q(photos__embedding__isnull=False)),
    ).order_by("handle")


def photo_get(*, photo_id: int) -> Photo | None:
    return Photo.objects.select_related("profile").filter(pk=photo_id).first()


def profile_list_with_last_import(*, profile_ids: list[int] | None = None) -> list[Profile]:
    """``profile_list_with_counts()`` (optionally only ``profile_ids``) with each profile's newest import job as
    ``last_import`` (None if never imported): one more query, however many profiles."""
    queryset = profile_list_with_counts()
    if profile_ids is not None:
        queryset = queryset.filter(pk__in=profile_ids)
    profiles = list(queryset)
    latest = {
        job.profile_id: job
        for job in ImportJob.objects.filter(profile__in=profiles)
        .order_by("profile_id", "-created_at", "-id")
        .distinct("profile_id")
    }
    for profile in profiles:
        profile.last_import = latest.get(profile.pk)
    return profiles


def profile_get_with_last_import(*, profile_id: int) -> Profile | None:
    """One profile with its counts and ``last_import``, or None."""
    found = profile_list_with_last_import(profile_ids=[profile_id])
    return found[0] if found else None


def import_job_get(*, job_id: int) -> ImportJob | None:
    return ImportJob.objects.select_related("profile").filter(pk=job_id).first()


def profile_get(*, profile_id: int | None = None, source_kind: str | None = None, handle: str | None = None
                ) -> Profile | None:
    """A profile by id, or by (source kind, handle); None if there is none."""
    if profile_id is not None:
        return Profile.objects.filter(pk=profile_id).first()
    return Profile.objects.filter(source_kind=source_kind, handle=handle).first()
