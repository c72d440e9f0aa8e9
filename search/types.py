"""What a search is asked (``SearchFilters``, ``RankingOptions``), what it answers (``SearchHit``, ``SearchResult``)
and why it may refuse (``InvalidQuery``, ``NotEmbedded``). No database access here: every other search module
imports these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from photosearch.errors import InvalidInput, StateConflict
from profiles.models import Photo


class InvalidQuery(InvalidInput):
    """The query cannot be run as given; ``str(exc)`` is the reason to show the user.

    ``field`` names the input at fault (``"q"`` for the query text, ``"limit"``, ``"media_type"``, ``"image"``…), or
    is None when no single field is, so an API can point at the parameter to fix.
    """


class NotEmbedded(StateConflict):
    """The photo has no embedding yet, so nothing can be compared with it."""


@dataclass(frozen=True)
class SearchFilters:
    profile_ids: tuple[int, ...] = ()
    taken_from: datetime | None = None  # inclusive
    taken_to: datetime | None = None  # exclusive
    media_type: str | None = None  # "image" | "video"
    has_text: bool | None = None  # True: only photos with their own words; False: only photos without
    country_codes: tuple[str, ...] = ()  # ISO 3166-1 alpha-2, upper case
    cities: tuple[str, ...] = ()  # as stored (search.inputs.city_parse resolves what is typed)
    near: Near | None = None
    regions: tuple[str, ...] = ()  # as stored
    hashtags: tuple[str, ...] = ()  # every one required, lower case without '#'
    people: tuple[str, ...] = ()  # every one required: tagged, mentioned or the owner; lower case without '@'
    has_image_text: bool | None = None  # True: only photos with words read in the image; False: only without
    # Every one required: a face of the person on the photo, or its handle among ``people`` (search.inputs resolves
    # what is typed; hidden persons are left out there and in SQL).
    persons: tuple[PersonWanted, ...] = ()
    faces: FaceRange | None = None  # how many faces the faces stage found; photos it has not looked at never pass

    def __bool__(self) -> bool:
        return bool(
            self.profile_ids
            or self.country_codes
            or self.cities
            or self.regions
            or self.hashtags
            or self.people
            or self.persons
        ) or any(
            value is not None
            for value in (
                self.taken_from,
                self.taken_to,
                self.media_type,
                self.has_text,
                self.near,
                self.has_image_text,
                self.faces,
            )
        )


@dataclass(frozen=True)
class PersonWanted:
    """One person a search asks for: photos holding a face of one of ``ids`` (non-hidden persons), or whose
    ``people`` holds ``handle`` (tagged, mentioned or the owner). ``said`` is how it was asked ("@maria", "Maria",
    "person 12"): the reasons and chips say it."""

    ids: tuple[int, ...] = ()
    handle: str = ""  # lower case without '@'; "" for none
    said: str = ""


@dataclass(frozen=True)
class FaceRange:
    """Photos with ``least`` to ``most`` faces (both included; ``most`` None: no upper bound)."""

    least: int
    most: int | None

    def __str__(self) -> str:
        if self.most is None:
            return f"{self.least}+"
        return str(self.least) if self.least == self.most else f"{self.least}-{self.most}"


@dataclass(frozen=True)
class Near:
    """Within ``km`` kilometres (great circle) of (``latitude``, ``longitude``)."""

    latitude: float
    longitude: float
    km: float


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days ``first``…``last`` (both included, display time zone) as ``SearchFilters``' taken_from/taken_to."""

    def start(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))

    return (start(first) if first else None, start(last + timedelta(days=1)) if last else None)


@dataclass(frozen=True)
class RankingOptions:
    """Per-request overrides of the ranking settings (None: the setting). Checked against the limits in
    ``search.inputs``."""

    vector_weight: float | None = None
    text_weight: float | None = None
    vector_depth: int | None = None
    text_depth: int | None = None
    cutoff: float | None = None  # cosine-distance margin behind the best vector hit; 0 turns the cutoff off
    words: str | None = None  # "any" (default): photos holding any of the query's words, best first; "all": every word


@dataclass(frozen=True)
class SearchHit:
    photo: Photo
    score: float | None  # None: no channel found it, only filters hold it (``filters`` says which)
    vector_rank: int | None = None
    vector_distance: float | None = None
    text_rank: int | None = None
    text_score: float | None = None
    headline: str = ""  # HTML-safe snippet of the photo's words, matches in <mark>; "" when no word matched
    in_image_text: bool = False  # some of the query's words were read in the image itself (OCR)
    # The same image in other profiles ({"profile": handle, "photo_id": id}): one result names them all.
    also_in: tuple[dict, ...] = ()
    # Where the query's words matched: field (search.ranking.highlights.MATCH_FIELDS) → HTML-safe text, matches in
    # <mark>; empty when no word matched.
    matched: dict[str, str] = field(default_factory=dict)
    filters: tuple[str, ...] = ()  # the filters that hold the photo, in words ("in Lisbon", "#sunset", "@maria")


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    model_id: str | None  # the embedding space searched; None when the vector channel was unavailable
    warnings: list[str] = field(default_factory=list)
    has_more: bool = False
    next_offset: int | None = None
    # What the query was understood to say (search.query.parser.Understood, in query order) and the description left
    # for the channels ("" when every word was understood: the filters alone were browsed, newest first).
    understood: tuple = ()
    description: str | None = None
    # How many results there are in all (None: not counted); an estimate is a lower bound (at most TOTAL_BOUND
    # photos are counted; a ranked search's channels stop at their depth).
    total: int | None = None
    total_is_estimate: bool = False
