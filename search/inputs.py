"""Checks of what a search is asked before it reaches SQL: the selectors' arguments and the request values the pages
and the API both turn into ``SearchFilters``. Each refusal is an ``InvalidQuery`` naming its field, with a message
meant for the user."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from photosearch.db.replicas import search_read
from profiles.models import MediaType
from profiles.selectors import place_cities, place_countries, profile_ids_by_handle
from search.query.place_names import town_names_in_english
from search.query.tokens import fold
from search.ranking.loader import MARK_START, MARK_STOP
from search.ranking.persons import person_by_id, persons_named
from search.ranking.words import WORDS_MODES
from search.types import FaceRange, InvalidQuery, Near, PersonWanted, RankingOptions, SearchFilters, day_range

MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_DEPTH = 1000
MAX_WEIGHT = 10.0
MAX_CUTOFF = 2.0  # a cosine distance
SORTS = ("relevance", "newest", "oldest")


def clean_query(query: str) -> str:
    """The query with its whitespace collapsed; refused when empty, too long or carrying control characters."""
    query = " ".join((query or "").split())
    if not query:
        raise InvalidQuery("The query is empty; type a few words describing the photo.", field="q")
    if len(query) > settings.PHOTOSEARCH_MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"The query is too long ({len(query)} characters, at most {settings.PHOTOSEARCH_MAX_QUERY_LENGTH}).",
            field="q",
        )
    # The marks would pass through ts_headline and turn the user's own text into <mark> tags.
    if "\x00" in query or MARK_START in query or MARK_STOP in query:
        raise InvalidQuery("The query contains control characters.", field="q")
    return query


def clean_limit(limit: int) -> int:
    """``limit`` as an int within 1…MAX_LIMIT."""
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    return int(limit)


def clean_offset(offset: int) -> int:
    """``offset`` as an int within 0…MAX_OFFSET."""
    if not 0 <= int(offset) <= MAX_OFFSET:
        raise InvalidQuery(f"offset must be between 0 and {MAX_OFFSET}.", field="offset")
    return int(offset)


def clean_sort(sort: str) -> str:
    """``sort`` if it is one of SORTS."""
    return sort_parse(sort)


def clean_filters(filters: SearchFilters) -> SearchFilters:
    """``filters`` if its media type is a known one (the rest is typed by the dataclass's callers)."""
    media_type_parse(filters.media_type)
    return filters


def clean_ranking(ranking: RankingOptions) -> RankingOptions:
    """Fill in the settings' defaults and refuse values outside the limits."""
    filled = replace(
        ranking,
        vector_weight=settings.PHOTOSEARCH_VECTOR_WEIGHT if ranking.vector_weight is None else ranking.vector_weight,
        text_weight=settings.PHOTOSEARCH_TEXT_WEIGHT if ranking.text_weight is None else ranking.text_weight,
        vector_depth=settings.PHOTOSEARCH_VECTOR_CANDIDATES if ranking.vector_depth is None else ranking.vector_depth,
        text_depth=settings.PHOTOSEARCH_TEXT_CANDIDATES if ranking.text_depth is None else ranking.text_depth,
        cutoff=settings.PHOTOSEARCH_CUTOFF if ranking.cutoff is None else ranking.cutoff,
        words=ranking.words or WORDS_MODES[0],
    )
    if filled.words not in WORDS_MODES:
        raise InvalidQuery(f"Unknown words mode “{filled.words}”; choose {' or '.join(WORDS_MODES)}.", field="words")
    for name in ("vector_weight", "text_weight"):
        if not 0 <= getattr(filled, name) <= MAX_WEIGHT:
            raise InvalidQuery(f"{name} must be between 0 and {MAX_WEIGHT:g}.", field=name)
    for name in ("vector_depth", "text_depth"):
        if not 1 <= getattr(filled, name) <= MAX_DEPTH:
            raise InvalidQuery(f"{name} must be between 1 and {MAX_DEPTH}.", field=name)
    assert filled.vector_weight is not None and filled.text_weight is not None and filled.cutoff is not None  # filled
    if not 0 <= filled.cutoff <= MAX_CUTOFF:
        raise InvalidQuery(f"cutoff must be between 0 and {MAX_CUTOFF:g} (a cosine distance).", field="cutoff")
    return replace(
        filled,
        vector_weight=float(filled.vector_weight),
        text_weight=float(filled.text_weight),
        cutoff=float(filled.cutoff),
    )


# --- Request values (pages and API) ---------------------------------------------------------------------------

# One day inside date.min/date.max, so that a day's end and its time-zone shift still exist.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)
_YES, _NO = ("yes", "true", "1", "on"), ("no", "false", "0", "off")


def day_parse(value: str | date | None, *, field: str) -> date | None:
    """A day (``YYYY-MM-DD``) or None for an empty value."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidQuery(f"“{value}” is not a date like 2024-06-30.", field=field) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidQuery(f"{day.isoformat()} is out of range ({FIRST_DAY} to {LAST_DAY}).", field=field)
    return day


def media_type_parse(value: str | None, *, field: str = "media_type") -> str | None:
    """``image``, ``video`` or None for any."""
    if not value:
        return None
    if value not in MediaType.values:
        raise InvalidQuery(f"Unknown media type “{value}”; choose {' or '.join(MediaType.values)}.", field=field)
    return value


def has_text_parse(value: str | bool | None, *, field: str = "has_text") -> bool | None:
    """True (only photos with words of their own), False (only without) or None (any); yes/no or true/false."""
    if value is None or value == "" or isinstance(value, bool):
        return value if isinstance(value, bool) else None
    word = str(value).strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise InvalidQuery(f"Unknown words filter “{value}”; choose yes or no.", field=field)


def sort_parse(value: str | None, *, field: str = "sort") -> str:
    """One of ``SORTS``; empty means relevance."""
    if not value:
        return SORTS[0]
    if value not in SORTS:
        raise InvalidQuery(f"Unknown sort “{value}”; choose one of {', '.join(SORTS)}.", field=field)
    return value


def offset_parse(value: str | None, *, field: str = "offset") -> int:
    """A whole number (the selector checks its range)."""
    value = (value or "0").strip()
    if not (value.isascii() and value.isdigit()):  # not "²", which isdigit() but int() refuses
        raise InvalidQuery("offset must be a whole number.", field=field)
    return int(value)


def profile_ids_parse(
    values: Iterable[str], *, field: str = "profile", using: str = DEFAULT_DB_ALIAS
) -> tuple[int, ...]:
    """The ids of the profiles named in ``values`` (each may list several handles, comma-separated), as database
    ``using`` has them: the handles deduplicated, at most MAX_FILTER_VALUES, looked up in one query."""
    handles = _names(values, field=field, what="profiles")
    # PostgreSQL text cannot hold NUL: no handle has one, and the lookup would fail.
    found = profile_ids_by_handle(handles=[h for h in handles if "\x00" not in h], using=using) if handles else {}
    if missing := next((handle for handle in handles if handle not in found), None):
        raise InvalidQuery(f"There is no profile named “{missing}”.", field=field)
    return tuple(dict.fromkeys(pid for handle in handles for pid in found[handle]))


MAX_NEAR_KM = 20_000.0  # half the Earth's circumference: anything farther is everywhere
_NEAR = re.compile(r"^\s*([-+]?[\d.]+)\s*,\s*([-+]?[\d.]+)\s*(?:,\s*([\d.]+)\s*(?:km)?)?\s*$", re.IGNORECASE)
DEFAULT_NEAR_KM = 10.0


def near_parse(value: str | None, *, field: str = "near") -> Near | None:
    """``LAT,LON,KM`` (decimal degrees; the distance in km, 10 when left out) or None for an empty value."""
    if value is None or not str(value).strip():
        return None
    match = _NEAR.match(str(value))
    example = "“38.72,-9.14,5” (latitude, longitude, km)"
    if not match:
        raise InvalidQuery(f"“{value}” is not a place and distance like {example}.", field=field)
    try:
        latitude, longitude = float(match.group(1)), float(match.group(2))
        km = float(match.group(3)) if match.group(3) else DEFAULT_NEAR_KM
    except ValueError:
        raise InvalidQuery(f"“{value}” is not a place and distance like {example}.", field=field) from None
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidQuery(f"Latitude {match.group(1)} is out of range (-90 to 90).", field=field)
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidQuery(f"Longitude {match.group(2)} is out of range (-180 to 180).", field=field)
    if not (math.isfinite(km) and 0 < km <= MAX_NEAR_KM):
        raise InvalidQuery(f"The distance must be more than 0 and at most {MAX_NEAR_KM:,.0f} km.", field=field)
    return Near(latitude=latitude, longitude=longitude, km=km)


# Typed place names compare as the query parser's do: accents, case and spacing ignored.
place_folded = fold


# Each name is looked up and compared: a bound on what one form can make us do.
MAX_FILTER_VALUES = 100


def _names(values: Iterable[str], *, field: str, what: str) -> list[str]:
    """The distinct names in ``values`` (each may list several, comma-separated), in order; refused past
    MAX_FILTER_VALUES."""
    names = list(dict.fromkeys(name.strip() for value in values for name in str(value).split(",") if name.strip()))
    if len(names) > MAX_FILTER_VALUES:
        raise InvalidQuery(f"At most {MAX_FILTER_VALUES} {what} at once ({len(names):,} given).", field=field)
    return names


def country_parse(values: Iterable[str], *, field: str = "country", using: str = DEFAULT_DB_ALIAS) -> tuple[str, ...]:
    """Country codes from ``values`` (each may list several, comma-separated): a two-letter ISO code (any), or the
    name of a country that photos were taken in (accents and case ignored; database ``using``)."""
    codes: list[str] = []
    names = _names(values, field=field, what="countries")
    present = (
        {place_folded(name): code for code, name in place_countries(using=using)}
        if any(len(n) != 2 for n in names)
        else {}
    )
    for name in names:
        if len(name) == 2 and name.isascii() and name.isalpha():
            codes.append(name.upper())
        elif (code := present.get(place_folded(name))) is not None:
            codes.append(code)
        else:
            raise InvalidQuery(f"No photo was taken in a country named “{name}”.", field=field)
    return tuple(dict.fromkeys(codes))


def city_parse(
    values: Iterable[str], *, country_codes: tuple[str, ...] = (), field: str = "city", using: str = DEFAULT_DB_ALIAS
) -> tuple[str, ...]:
    """The stored names of the towns named in ``values`` (comma-separated; accents and case ignored), among those
    photos were taken in (of ``country_codes`` when given; database ``using``)."""
    names = _names(values, field=field, what="towns")
    if not names:
        return ()
    present: dict[str, list[str]] = {}
    for _, city in place_cities(country_codes=country_codes, using=using):
        present.setdefault(place_folded(city), []).append(city)
    cities: list[str] = []
    for name in names:
        found = present.get(place_folded(name)) or [  # else the town in another language ("lisboa": Lisbon)
            city for english in town_names_in_english(name) for city in present.get(place_folded(english), [])
        ]
        if not found:
            raise InvalidQuery(
                f"No photo was taken in a town named “{name}”{' in that country' if country_codes else ''}.",
                field=field,
            )
        cities.extend(found)
    return tuple(dict.fromkeys(cities))


def places_parse(countries: Iterable[str], cities: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """The place filters (``country_codes``, ``cities``) from the names typed in ``country`` and ``city``: towns are
    looked up in the countries named, when some are (database ``using``)."""
    country_codes = country_parse(countries, using=using)
    return {"country_codes": country_codes, "cities": city_parse(cities, country_codes=country_codes, using=using)}


_HANDLE = re.compile(r"^[a-z0-9._]*[a-z0-9_]$")
# What a person filter's words may be: a handle, or a typed name of a few words.
MAX_PERSON_CHARS = 200


def person_wanted(value: str, *, field: str = "person", using: str = DEFAULT_DB_ALIAS) -> PersonWanted:
    """One person as typed: an id (``12``), a handle (``@maria`` or ``maria``) or a typed name (``Maria Silva``),
    case-insensitive. A name is the persons (hidden ones aside) with that name or handle, and a handle-like one is
    also kept as a handle for ``people`` (photos tagged with it); refused when it is neither. A hidden person's id
    is taken, and matches nothing."""
    text = " ".join(str(value).split())
    if len(text) > MAX_PERSON_CHARS or "\x00" in text:
        raise InvalidQuery(
            f"A person is an id, a handle or a name of at most {MAX_PERSON_CHARS} characters.", field=field
        )
    if text.isascii() and text.isdigit():
        person = person_by_id(person_id=int(text), using=using)
        if person is None:
            raise InvalidQuery(f"There is no person {text}.", field=field)
        if person.hidden:
            return PersonWanted(said=f"person {person.pk}")
        return PersonWanted(ids=(person.pk,), handle=person.handle.lower(), said=person.shown_name or f"person {text}")
    found = persons_named(name=text, using=using)
    handle = text.removeprefix("@").lower()
    handle = handle if _HANDLE.match(handle) else ""
    if not found and not handle:
        raise InvalidQuery(f"No person is named “{text}”.", field=field)
    by_name = next((person.name for person in found if person.name.lower() == text.lower()), "")
    return PersonWanted(ids=tuple(person.pk for person in found), handle=handle, said=by_name or f"@{handle}")


def persons_parse(
    values: Iterable[str], *, field: str = "person", using: str = DEFAULT_DB_ALIAS
) -> tuple[PersonWanted, ...]:
    """The persons named in ``values`` (each may list several, comma-separated): every one required."""
    return tuple(person_wanted(name, field=field, using=using) for name in _names(values, field=field, what="persons"))


_FACES = re.compile(r"^\s*(\d{1,4})\s*(?:(\+)|-\s*(\d{1,4}))?\s*$")
MAX_FACES = 1000


def faces_parse(value: str | None, *, field: str = "faces") -> FaceRange | None:
    """How many faces: ``0`` (none found), ``1``, ``2-5`` (both included), ``3+`` (three or more); None when
    empty."""
    if value is None or not str(value).strip():
        return None
    match = _FACES.match(str(value))
    if not match:
        raise InvalidQuery(f"“{value}” is not a number of faces like 1, 2-5 or 3+.", field=field)
    least = int(match[1])
    most = None if match[2] else int(match[3]) if match[3] else least
    if most is not None and most < least:
        raise InvalidQuery(f"In “{value}” the first number of faces is more than the second.", field=field)
    if least > MAX_FACES or (most or 0) > MAX_FACES:
        raise InvalidQuery(f"At most {MAX_FACES} faces.", field=field)
    return FaceRange(least=least, most=most)


@search_read
def search_filters_lookup(
    *,
    profiles: Iterable[str],
    countries: Iterable[str],
    cities: Iterable[str],
    persons: Iterable[str] = (),
    using: str | None = None,
    **checked,
) -> SearchFilters:
    """``search_filters_build`` with the typed handles, countries, towns and persons looked up where searches read
    (``using`` left out: a read replica that answers, else the primary)."""
    return search_filters_build(
        profile_ids=profile_ids_parse(profiles, using=using),
        **places_parse(countries, cities, using=using),
        persons=persons_parse(persons, using=using or DEFAULT_DB_ALIAS),
        **checked,
    )


def search_filters_build(
    *,
    profile_ids: tuple[int, ...] = (),
    day_from: date | None = None,
    day_to: date | None = None,
    media_type: str | None = None,
    has_text: bool | None = None,
    country_codes: tuple[str, ...] = (),
    cities: tuple[str, ...] = (),
    near: Near | None = None,
    persons: tuple[PersonWanted, ...] = (),
    faces: FaceRange | None = None,
) -> SearchFilters:
    """The selector's filters from parsed values: the days are whole days in the display time zone, ``to``
    included."""
    if day_from and day_to and day_from > day_to:
        raise InvalidQuery("The From date is after the To date.", field="to")
    taken_from, taken_to = day_range(day_from, day_to)
    return SearchFilters(
        profile_ids=profile_ids,
        taken_from=taken_from,
        taken_to=taken_to,
        media_type=media_type,
        has_text=has_text,
        country_codes=country_codes,
        cities=cities,
        near=near,
        persons=persons,
        faces=faces,
    )


def search_filters_parse(data) -> SearchFilters:
    """``SearchFilters`` from request values (a ``QueryDict`` or a plain mapping of strings): ``profile``, ``country``
    ``city`` and ``person`` (each repeated or comma-separated), ``from``, ``to``, ``media_type``, ``has_text``,
    ``near``, ``faces``."""
    getlist = getattr(data, "getlist", None)

    def values(name: str) -> list[str]:
        return getlist(name) if getlist else [data.get(name) or ""]

    return search_filters_lookup(
        profiles=values("profile"),
        day_from=day_parse(data.get("from"), field="from"),
        day_to=day_parse(data.get("to"), field="to"),
        media_type=media_type_parse(data.get("media_type")),
        has_text=has_text_parse(data.get("has_text")),
        near=near_parse(data.get("near")),
        faces=faces_parse(data.get("faces")),
        countries=values("country"),
        cities=values("city"),
        persons=values("person"),
    )
