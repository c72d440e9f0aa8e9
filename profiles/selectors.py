"""Reads for profiles."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from profiles.models import Photo, Profile


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


def profile_list_with_last_import() -> list[Profile]:
    """``profile_list_with_counts()`` with each profile's newest import job as ``last_import`` (None if never
    imported): one more query, however many profiles."""
    from profiles.models import ImportJob

    profiles = list(profile_list_with_counts())
    latest = {
        job.profile_id: job
        for job in ImportJob.objects.filter(profile__in=profiles)
        .order_by("profile_id", "-created_at", "-id")
        .distinct("profile_id")
    }
    for profile in profiles:
        profile.last_import = latest.get(profile.pk)
    return profiles
