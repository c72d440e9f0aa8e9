"""Reads of the People feature: the photos the faces stage has still to look at, the faces and persons found. Kept
apart from ``search.selectors`` (the search read path); the pages and the API read people through these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf

from profiles.models import Photo
from search.models import Face, FaceScan, Person

if TYPE_CHECKING:  # django-stubs-ext is a development requirement
    from django_stubs_ext import WithAnnotations


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


# --- The People pages and API ---------------------------------------------------------------------------------------


def faces_enabled() -> bool:
    """Whether the People feature is on (``PHOTOSEARCH_FACES`` is not ``none``), read per call: with it off, pages and
    API show no face, person or crop, whatever the database holds."""
    return settings.PHOTOSEARCH_FACES != "none"


class PersonCounts(TypedDict):
    face_count: int
    photo_count: int
    cover_crop: str | None
    cover_face_id: int | None


if TYPE_CHECKING:
    CountedPerson = WithAnnotations[Person, PersonCounts]
else:
    CountedPerson = Person


def persons_with_counts() -> QuerySet[CountedPerson]:
    """Persons with ``face_count``, ``photo_count`` (originals holding their faces) and a cover: the crop (and its
    face's id) of their best face, most confident first, then largest."""
    best = Face.objects.filter(person=OuterRef("pk")).exclude(crop="").order_by("-quality", "-size", "id")
    return Person.objects.annotate(
        face_count=Count("faces", distinct=True),
        photo_count=Count("faces__photo", distinct=True),
        cover_crop=Subquery(best.values("crop")[:1]),
        cover_face_id=Subquery(best.values("id")[:1]),
    )


def person_list(*, query: str = "", include_hidden: bool = False) -> QuerySet[CountedPerson]:
    """Persons holding faces (annotated as ``persons_with_counts``), named first (a typed name or a handle), then most
    photos, then oldest. ``query``: part of the typed name or of the handle (a leading ``@`` ignored), any case.
    Hidden persons only when asked."""
    queryset = persons_with_counts().filter(face_count__gt=0)
    if not include_hidden:
        queryset = queryset.filter(hidden=False)
    words = query.strip()
    if words:
        handle = words.lstrip("@")
        queryset = queryset.filter(
            Q(name__icontains=words) | Q(handle__icontains=handle) if handle else Q(name__icontains=words)
        )
    unnamed = Case(When(Q(name="") & Q(handle=""), then=Value(1)), default=Value(0), output_field=IntegerField())
    return queryset.annotate(unnamed=unnamed).order_by("unnamed", "-photo_count", "id")


def person_get(*, person_id: int) -> CountedPerson | None:
    """One person (hidden ones too), annotated as in ``person_list``; None when there is none."""
    return persons_with_counts().filter(pk=person_id).first()


def person_photos(*, person_id: int) -> QuerySet[Photo]:
    """The photos holding the person's faces (originals: a duplicate shows the same image), newest taken first
    (undated last), each with ``face_id`` and ``face_crop``: the person's face in it (the first, were there two)."""
    holding = Face.objects.filter(person_id=person_id)
    first = holding.filter(photo=OuterRef("pk")).order_by("id")
    return (
        Photo.objects.filter(id__in=holding.values("photo_id"))
        .select_related("profile")
        .annotate(face_id=Subquery(first.values("id")[:1]), face_crop=Subquery(first.values("crop")[:1]))
        .order_by(F("taken_at").desc(nulls_last=True), "-id")
    )


@dataclass(frozen=True)
class ShownFace:
    """A face as pages and the API show it: its box (0..1 of the image's width and height) and its person, None when
    it has none (or a hidden one)."""

    id: int
    x: float
    y: float
    w: float
    h: float
    person_id: int | None
    person_name: str  # typed, else @handle, else ""

    @property
    def person(self) -> dict[str, int | str | None] | None:
        """``{"id", "name"}`` (name None when unnamed), None without a person."""
        return None if self.person_id is None else {"id": self.person_id, "name": self.person_name or None}

    @property
    def box(self) -> list[float]:
        return [round(value, 4) for value in (self.x, self.y, self.w, self.h)]


def faces_shown(*, photo_id: int) -> list[ShownFace]:
    """The faces of a photo (a duplicate: its original's) to show, largest first; none while faces are off."""
    if not faces_enabled():
        return []
    shown = []
    for face in faces_of_photo(photo_id=photo_id):
        person = face.person if face.person is not None and not face.person.hidden else None
        shown.append(
            ShownFace(
                id=face.pk,
                x=face.x,
                y=face.y,
                w=face.w,
                h=face.h,
                person_id=person.pk if person else None,
                person_name=person.shown_name if person else "",
            )
        )
    return shown
