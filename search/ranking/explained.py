"""Which filters hold a photo in the results, in words a tile and an API client can show: "in Lisbon", "tagged
@maria", "face of Maria", "#sunset", "taken in 2019". A result found by no channel (a query understood whole,
browsing a profile) is there only for these; a ranked result passes them too. Pure: the photo's own fields name the
place, profile and handles; the caller says which of the persons asked for have a face on it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from profiles.models import Photo
from search.types import FaceRange, SearchFilters


def filter_reasons(
    filters: SearchFilters, *, photo: Photo, faces_of: frozenset[int] | set[int] = frozenset()
) -> tuple[str, ...]:
    """The filters of ``filters`` that are set, each as a short phrase about ``photo`` (which passes them);
    ``faces_of``: which of the persons asked for (``filters.persons``) have a face on it."""
    reasons: list[str] = []
    if filters.profile_ids:
        reasons.append(f"from {photo.profile.handle}")
    if filters.cities or filters.regions or filters.country_codes:
        # The narrowest place named: a town understood from the query also sets its country.
        name = (
            photo.city if filters.cities else photo.region if filters.regions else photo.country or photo.country_code
        )
        reasons.append(f"in {name}")
    if filters.near is not None:
        near = filters.near
        reasons.append(f"within {near.km:g} km of {near.latitude:.4f}, {near.longitude:.4f}")
    handles = set(photo.people.split())
    # A handle passes tagged (or mentioned, or the owner) or by a face of the person it names.
    reasons.extend(f"tagged @{handle}" if handle in handles else f"face of @{handle}" for handle in filters.people)
    for person in filters.persons:
        if faces_of.intersection(person.ids):
            reasons.append(f"face of {person.said}")
        elif person.handle in handles:
            reasons.append(f"tagged @{person.handle}")
    if filters.faces is not None:
        reasons.append(_faces(filters.faces))
    reasons.extend(f"#{tag}" for tag in filters.hashtags)
    if (taken := _taken(filters.taken_from, filters.taken_to)) is not None:
        reasons.append(taken)
    if filters.media_type is not None:
        reasons.append("a video" if filters.media_type == "video" else "a photo")
    if filters.has_text is not None:
        reasons.append("with words of its own" if filters.has_text else "without words of its own")
    if filters.has_image_text is not None:
        reasons.append("with words in the image" if filters.has_image_text else "without words in the image")
    return tuple(reasons)


def _faces(faces: FaceRange) -> str:
    if faces.most == 0:
        return "no faces found"
    if faces.most is None:
        return f"{faces.least} or more faces" if faces.least else "faces counted"
    count = str(faces) if faces.least else f"at most {faces.most}"
    return f"{count.replace('-', '–')} face{'' if faces.most == 1 else 's'}"


def _taken(start: datetime | None, end: datetime | None) -> str | None:
    """A date range (``end`` exclusive) as people say it: "taken in 2019", "taken in June 2021", "taken on 3 June
    2021", "taken 3 June 2021 – 5 July 2021", "taken since …", "taken before …"."""
    if start is None and end is None:
        return None
    first = _day(start) if start is not None else None
    if end is None:
        assert first is not None  # start and end are not both None
        return f"taken since {_said(first)}"
    after_last = _day(end)
    if first is None:
        return f"taken before {_said(after_last)}"
    last = after_last - timedelta(days=1)
    if first == last:
        return f"taken on {_said(first)}"
    if first.day == 1 and after_last.day == 1:
        if first.month == 1 and after_last.month == 1 and after_last.year == first.year + 1:
            return f"taken in {first.year}"
        if (after_last.year * 12 + after_last.month) - (first.year * 12 + first.month) == 1:
            return f"taken in {first:%B} {first.year}"
    return f"taken {_said(first)} – {_said(last)}"


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


def _said(day: date) -> str:
    return f"{day.day} {day:%B} {day.year}"
