"""Reads for profiles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from profiles.models import ImportJob, Photo, Profile, SourceKind
from profiles.sources.base import SourceError, SourceNotFound, SourceRefused, SourceUnavailable

# Advisory-lock namespace of imports ("phot"); the second key is the profile id. The running import of a profile holds
# this lock on its database session (profiles.services), so PostgreSQL drops it when that process dies.
IMPORT_LOCK_CLASS = 0x70686F74
# A queued job not picked up within this time has lost its task (a broker that forgot it): pages stop waiting for it.
QUEUED_STALE_AFTER = timedelta(minutes=10)


def profile_ids_for_handle(*, handle: str, ignore_case: bool = False, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """Ids of the profiles called ``handle`` (one per source kind at most; with ``ignore_case``, any spelling), as
    database ``using`` has them."""
    lookup = "handle__iexact" if ignore_case else "handle"
    return list(Profile.objects.using(using).filter(**{lookup: handle.strip()}).values_list("id", flat=True))


def profile_ids_by_handle(*, handles: Iterable[str], using: str = DEFAULT_DB_ALIAS) -> dict[str, list[int]]:
    """Ids of the profiles called each of ``handles`` (exact spelling; one per source kind at most), as database
    ``using`` has them: one query however many handles. A handle no profile has is left out."""
    found: dict[str, list[int]] = {}
    for handle, profile_id in (
        Profile.objects.using(using)
        .filter(handle__in=set(handles))
        .order_by("handle", "id")
        .values_list("handle", "id")
    ):
        found.setdefault(handle, []).append(profile_id)
    return found


def profile_list_with_counts(*, using: str = DEFAULT_DB_ALIAS) -> QuerySet[Profile]:
    """Profiles annotated with ``photo_count``, ``embedded_count``, ``duplicate_count`` and ``originals_count``."""
    return (
        Profile.objects.using(using)
        .annotate(
            photo_count=Count("photos"),
            embedded_count=Count("photos", filter=Q(photos__embedding__isnull=False)),
            # Duplicates are never embedded: they share their original's index.
            duplicate_count=Count("photos", filter=Q(photos__duplicate_of__isnull=False)),
        )
        .annotate(originals_count=F("photo_count") - F("duplicate_count"))
        .order_by("handle")
    )


def profile_list_for_admin() -> QuerySet[Profile]:
    """``profile_list_with_counts()`` with the newest import that ran (refused ones aside) as
    ``last_import_status``, ``…_imported``, ``…_failed``, ``…_options`` and ``…_created_at`` (None if never
    imported): one query for the whole list."""
    newest = (
        ImportJob.objects.filter(profile=OuterRef("pk"))
        .exclude(status=ImportJob.Status.REFUSED)
        .order_by("-created_at", "-id")
    )
    return profile_list_with_counts().annotate(
        **{
            f"last_import_{name}": Subquery(newest.values(name)[:1])
            for name in ("status", "imported", "failed", "options", "created_at")
        }
    )


def photo_get(*, photo_id: int, using: str = DEFAULT_DB_ALIAS) -> Photo | None:
    """A photo with its profile and original (of a duplicate), from database ``using``; None if there is none."""
    return Photo.objects.using(using).select_related("profile", "duplicate_of").filter(pk=photo_id).first()


def profile_list_with_last_import(*, profile_ids: list[int] | None = None) -> list[Profile]:
    """``profile_list_with_counts()`` (optionally only ``profile_ids``) with each profile's newest import job as
    ``last_import`` (None if never imported): one more query, however many profiles."""
    queryset = profile_list_with_counts()
    if profile_ids is not None:
        queryset = queryset.filter(pk__in=profile_ids)
    profiles = list(queryset)
    # A refused job never ran (another import of the profile was running): the profile's state is the one that ran.
    latest = {
        job.profile_id: job
        for job in ImportJob.objects.filter(profile__in=profiles)
        .exclude(status=ImportJob.Status.REFUSED)
        .order_by("profile_id", "-created_at", "-id")
        .distinct("profile_id")
    }
    for profile in profiles:
        profile.last_import = latest.get(profile.pk)
        if profile.last_import is not None:
            profile.last_import.profile = profile  # no query per row for the words below
            profile.last_import.status_words, profile.last_import.next_step = import_job_status_words(
                job=profile.last_import
            )
    return profiles


def profile_get_with_last_import(*, profile_id: int) -> Profile | None:
    """One profile with its counts and ``last_import``, or None."""
    found = profile_list_with_last_import(profile_ids=[profile_id])
    return found[0] if found else None


def profile_source_options(*, profile: Profile) -> dict:
    """``profile``'s remembered source options; an Instagram profile without any gets the folder its newest job read,
    so a rerun does not go online."""
    options = dict(profile.source_options)
    if profile.source_kind == SourceKind.INSTAGRAM and not options:
        folders = ImportJob.objects.filter(profile=profile, options__has_key="from_dir").order_by("-created_at", "-id")
        if (job := folders.first()) is not None:
            options["from_dir"] = job.options["from_dir"]
    return options


# What stopped an import (kept as the job's ``options["stopped_by"]``) → what to tell the user. Instagram's own
# words where it is the source; {source} is the source kind's name.
_STOP_KINDS = ((SourceNotFound, "not_found"), (SourceRefused, "refused"), (SourceUnavailable, "unavailable"))
_NEXT_STEPS = {
    ("interrupted", "unavailable"): "{source} could not be reached: rerun when online.",
    ("interrupted", "unavailable", "instagram"): "Instagram could not be reached: rerun when online, or import from "
    "a download folder with import_instagram {handle} --from-dir FOLDER.",
    ("interrupted", "refused"): "{source} refused (see why below): do what it asks, then rerun; the import continues "
    "where it stopped.",
    ("interrupted", ""): "The import stopped before the end (see why below): rerun to continue where it stopped.",
    ("failed", "not_found"): "Not found (see why below): correct the profile's name, folder or file in the admin, then "
    "import again.",
    ("failed", ""): "The import failed (see why below; the server log has the details): import again once it is fixed.",
    ("refused", ""): "Another import of this profile was running: import again when it has ended.",
    ("queued", "stale"): "Still queued: no worker has taken it; start a Celery worker (or unset CELERY_BROKER_URL to "
    "import in-process), or run the import command.",
}
_STATUS_WORDS = {"interrupted": "Interrupted", "refused": "Not run"}


def job_stop_kind(*, exc: SourceError) -> str:
    """What kind of trouble stopped an import: ``not_found``, ``refused`` (login, rate limit), ``unavailable``
    (network)."""
    return next((kind for cls, kind in _STOP_KINDS if isinstance(exc, cls)), "")


def import_job_status_words(*, job: ImportJob) -> tuple[str, str]:
    """(status, next step) as pages and the admin show an import: a short status ("Interrupted"), and what the user
    can do about it ("Instagram could not be reached: rerun when online, or …"; "" when there is nothing to do)."""
    status = _STATUS_WORDS.get(job.status, ImportJob.Status(job.status).label)
    kind = job.options.get("stopped_by", "") if isinstance(job.options, dict) else ""
    if job.status == ImportJob.Status.QUEUED:
        kind = "stale" if job.created_at and job.created_at < timezone.now() - QUEUED_STALE_AFTER else "fresh"
    source_kind = job.profile.source_kind
    step = (
        _NEXT_STEPS.get((job.status, kind, source_kind))
        or _NEXT_STEPS.get((job.status, kind))
        or _NEXT_STEPS.get((job.status, ""))
        or ""
    )
    if job.status == ImportJob.Status.SUCCEEDED and job.failed:
        step = f"{job.failed} could not be downloaded this time: rerun to retry them."
    source = {"instagram": "Instagram", "flickr": "Flickr"}.get(source_kind, "The source")
    return status, step.format(source=source, handle=job.profile.handle)


def import_job_get(*, job_id: int) -> ImportJob | None:
    return ImportJob.objects.select_related("profile").filter(pk=job_id).first()


def profile_get(
    *, profile_id: int | None = None, source_kind: str | None = None, handle: str | None = None
) -> Profile | None:
    """A profile by id, or by (source kind, handle); None if there is none."""
    if profile_id is not None:
        return Profile.objects.filter(pk=profile_id).first()
    return Profile.objects.filter(source_kind=source_kind, handle=handle).first()


def import_lock_key(*, profile_id: int) -> tuple[int, int]:
    """The advisory lock keys held by the running import of ``profile_id``."""
    return IMPORT_LOCK_CLASS, profile_id % 2**31


def import_job_running(*, profile_id: int) -> ImportJob | None:
    """The import of ``profile_id`` that a live process runs now, or None. A job still marked running whose process
    died (its lock is gone) does not count: the next import takes it over."""
    job = (
        ImportJob.objects.select_related("profile")
        .filter(profile_id=profile_id, status=ImportJob.Status.RUNNING)
        .first()
    )
    if job is None:
        return None
    class_id, object_id = import_lock_key(profile_id=profile_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s::oid "
            "AND objid = %s::oid AND objsubid = 2 AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()))",
            [class_id, object_id],
        )
        (held,) = cursor.fetchone()
    return job if held else None


def import_jobs_in_flight() -> bool:
    """Whether an import is running, or was queued recently enough that it may still start (admin auto-refresh)."""
    return ImportJob.objects.filter(
        Q(status=ImportJob.Status.RUNNING)
        | Q(status=ImportJob.Status.QUEUED, created_at__gte=timezone.now() - QUEUED_STALE_AFTER)
    ).exists()


# --- Places -------------------------------------------------------------------------------------------------------
# Distinct values walked through the (country_code, city) index one probe each (a "loose index scan"): a few hundred
# probes, however many photos — the search page lists the countries on every load.
_COUNTRIES_PRESENT = """
WITH RECURSIVE code AS (
    (SELECT country_code FROM profiles_photo WHERE country_code <> '' ORDER BY country_code LIMIT 1)
    UNION ALL
    SELECT (SELECT p.country_code FROM profiles_photo p
            WHERE p.country_code <> '' AND p.country_code > code.country_code
            ORDER BY p.country_code LIMIT 1)
    FROM code WHERE code.country_code IS NOT NULL
)
SELECT code.country_code, name.country
FROM code CROSS JOIN LATERAL (
    SELECT country FROM profiles_photo p WHERE p.country_code <> '' AND p.country_code = code.country_code LIMIT 1
) name
WHERE code.country_code IS NOT NULL
"""
_CITIES_PRESENT = """
WITH RECURSIVE place AS (
    (SELECT country_code, city FROM profiles_photo WHERE country_code <> '' AND city <> '' {only_first}
     ORDER BY country_code, city LIMIT 1)
    UNION ALL
    SELECT next.country_code, next.city FROM place CROSS JOIN LATERAL (
        SELECT p.country_code, p.city FROM profiles_photo p
        WHERE p.country_code <> '' AND p.city <> '' AND (p.country_code, p.city) > (place.country_code, place.city)
            {only_next}
        ORDER BY p.country_code, p.city LIMIT 1
    ) next
)
SELECT country_code, city FROM place
"""


def place_countries(*, using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, str]]:
    """(code, name) of the countries that photos were taken in, by name (database ``using``)."""
    with connections[using].cursor() as cursor:
        cursor.execute(_COUNTRIES_PRESENT)
        return sorted(((code, name or code) for code, name in cursor.fetchall()), key=lambda row: row[1].casefold())


def place_cities(*, country_codes: tuple[str, ...] = (), using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, str]]:
    """(country code, city) of the towns photos were taken in (of ``country_codes`` only, when given), by code and
    name (database ``using``)."""
    only = "AND {}country_code = ANY(%(codes)s)" if country_codes else ""
    with connections[using].cursor() as cursor:
        cursor.execute(
            _CITIES_PRESENT.format(only_first=only.format(""), only_next=only.format("p.") if only else ""),
            {"codes": list(country_codes)},
        )
        return list(cursor.fetchall())


def place_counts(*, using: str = DEFAULT_DB_ALIAS) -> list[Mapping[str, Any]]:
    """Every (country, city) photos were taken in, with how many photos (duplicates aside): the API's list of
    places. One aggregate over the place index, on database ``using``."""
    rows = (
        Photo.objects.using(using)
        .exclude(country_code="")
        .filter(duplicate_of__isnull=True)
        .values("country_code", "city")
        .annotate(photos=Count("id"), country=Max("country"))
        .order_by("country_code", "city")
    )
    return list(rows)
