"""How far the library is embedded with a model: the counts behind "N of M photos have vectors" and the cheap probe
that decides whether those counts are needed at all."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Q, QuerySet

from profiles.models import Photo

COVERAGE_CACHE_SECONDS = 60


def photos_without_vectors(*, model_id: str, profile_ids: Sequence[int] | None = None) -> QuerySet[Photo]:
    """Photos (duplicates aside) with no ``model_id`` vector, oldest id first; see
    ``search.selectors.photos_pending_embedding``."""
    queryset = Photo.objects.filter(Q(embedding__isnull=True) | ~Q(embedding_model=model_id)).filter(
        duplicate_of__isnull=True
    )
    if profile_ids:
        queryset = queryset.filter(profile_id__in=profile_ids)
    return queryset.order_by("id")


def counts_by_model(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Photos (duplicates aside) per embedding model, ``""`` for none, counted on database ``using``; see
    ``search.selectors.embedding_coverage``."""
    coverage: dict[str, int] | None = cache.get("photosearch:embedding-coverage")
    if coverage is None:
        rows = (
            Photo.objects.using(using)
            .filter(duplicate_of__isnull=True)
            .values_list("embedding_model")
            .annotate(count=Count("id"))
            .order_by()
        )
        coverage = {model or "": count for model, count in rows}
        cache.set("photosearch:embedding-coverage", coverage, COVERAGE_CACHE_SECONDS)
    return coverage


def coverage_warning(model_id: str, *, using: str = DEFAULT_DB_ALIAS) -> str | None:
    """The warning a search shows while only part of the library has ``model_id`` vectors, else None (database
    ``using`` asked)."""
    if not conversion_pending(model_id, using=using):
        return None
    coverage = counts_by_model(using=using)
    total, converted = sum(coverage.values()), coverage.get(model_id, 0)
    if converted >= total:
        return None
    others = ", ".join(f"{count:,} from {model}" for model, count in coverage.items() if model and model != model_id)
    return (
        f"Searching {model_id} vectors: {converted:,} of {total:,} photos have them so far"
        f"{f' ({others} still to convert)' if others else ''}; the rest match by their words only until "
        f"embed_photos finishes."
    )


def conversion_pending(model_id: str, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether any photo (duplicates aside) lacks a ``model_id`` vector: two range scans of the embedding_model
    index, which end at once when there is none. The full count behind the warning (a scan of every row, ~0.5 s
    at a million photos) then only runs while a conversion or an import is actually under way. Cached like it."""
    key = "photosearch:conversion-pending:" + hashlib.sha1(model_id.encode()).hexdigest()
    pending: bool | None = cache.get(key)
    if pending is None:
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM profiles_photo WHERE (embedding_model < %s OR embedding_model > %s) "
                "AND duplicate_of_id IS NULL)",
                [model_id, model_id],
            )
            (pending,) = cursor.fetchone()
        cache.set(key, pending, COVERAGE_CACHE_SECONDS)
    return pending
