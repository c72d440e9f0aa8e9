"""Reads of the People feature: the photos the faces stage has still to look at, the faces and persons found. Kept
apart from ``search.selectors`` (the search read path); the pages and the API read people through these."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from profiles.models import Photo
from search.models import Face, FaceScan, Person


def photos_pending_faces(
    *, engine_id: str, profile_ids: Sequence[int] | None = None, retry_failed: bool = False
) -> QuerySet[Photo]:
    """Photos (duplicates aside: they share their original's image) not looked at by ``engine_id`` in the image
    they have now: never scanned, scanned by another engine or version, or from another image (the 1,024-px
    rendition stored since, a re-import). A photo that failed under this engine waits for ``retry_failed``. Oldest
    id first; ``analysed`` is the image's storage name."""
    done = FaceScan.objects.filter(photo=OuterRef("pk"), engine=engine_id, image=OuterRef("analysed"))
    if retry_failed:
        done = done.filter(error="")
    queryset = (
        Photo.objects.filter(duplicate_of__isnull=True)
        .annotate(
            analysed=Coalesce(
                NullIf(Cast("text_image", CharField()), Value("")),
                Cast("thumbnail", CharField()),
                output_field=CharField(),
            )
        )
        .exclude(analysed="")
        .filter(~Exists(done))
    )
    if profile_ids:
        queryset = queryset.filter(profile_id__in=profile_ids)
    return queryset.order_by("id")


def faces_of_photo(*, photo_id: int) -> QuerySet[Face]:
    """The faces found in a photo (a duplicate: its original's), largest first, with their persons."""
    original_id = Photo.objects.filter(pk=photo_id).values_list("duplicate_of_id", flat=True).first() or photo_id
    return Face.objects.filter(photo_id=original_id).select_related("person").order_by("-size", "id")


def persons_listed(*, include_hidden: bool = False) -> QuerySet[Person]:
    """Persons with their ``face_count`` and ``photo_count``, most photos first; hidden ones only when asked."""
    queryset = Person.objects.annotate(
        face_count=Count("faces", distinct=True), photo_count=Count("faces__photo", distinct=True)
    ).filter(face_count__gt=0)
    if not include_hidden:
        queryset = queryset.filter(hidden=False)
    return queryset.order_by("-photo_count", "id")


def photos_with_person(*, person_id: int) -> QuerySet[Photo]:
    """Photos showing the person: the originals holding its faces and their duplicates, newest first."""
    holding = Face.objects.filter(person_id=person_id).values("photo_id")
    return Photo.objects.filter(Q(id__in=holding) | Q(duplicate_of_id__in=holding))


def faces_unscanned_count(*, engine_id: str) -> int:
    """How many photos the faces stage has still to look at (progress on a status page)."""
    return photos_pending_faces(engine_id=engine_id).count()
