"""The one parser of search input, shared by the pages and the API: request values (strings, as typed) → the
selector's ``SearchFilters`` and sort. Every error is an ``InvalidQuery`` naming its field (``from``, ``profile``…)
with one wording, so the same mistake reads the same on the page and in the API (``from: “2024-13-01” is not a
date like 2024-06-30.``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from profiles.models import MediaType
from profiles.selectors import profile_ids_for_handle
from search.selectors import SORTS, InvalidQuery, SearchFilters, day_range

# The days a date filter may name: one day inside date.min/date.max, so that a day's end (the next midnight) and its
# time-zone shift still exist (9999-12-31 answered a 500 before).
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


def profile_ids_parse(values: Iterable[str], *, field: str = "profile") -> tuple[int, ...]:
    """The ids of the profiles named in ``values`` (each may list several handles, comma-separated)."""
    ids: list[int] = []
    for handle in (h.strip() for value in values for h in str(value).split(",")):
        if not handle:
            continue
        # PostgreSQL text cannot hold NUL: no handle has one, and the lookup would fail.
        found = [] if "\x00" in handle else profile_ids_for_handle(handle)
        if not found:
            raise InvalidQuery(f"There is no profile named “{handle}”.", field=field)
        ids.extend(found)
    return tuple(dict.fromkeys(ids))


def search_filters_build(
    *,
    profile_ids: tuple[int, ...] = (),
    day_from: date | None = None,
    day_to: date | None = None,
    media_type: str | None = None,
    has_text: bool | None = None,
) -> SearchFilters:
    """The selector's filters from parsed values: the days are whole days in the display time zone, ``to``
    included."""
    if day_from and day_to and day_from > day_to:
        raise InvalidQuery("The From date is after the To date.", field="to")
    taken_from, taken_to = day_range(day_from, day_to)
    return SearchFilters(
        profile_ids=profile_ids, taken_from=taken_from, taken_to=taken_to, media_type=media_type, has_text=has_text
    )


def search_filters_parse(data) -> SearchFilters:
    """``SearchFilters`` from request values (a ``QueryDict`` or a plain mapping of strings): ``profile`` (repeated
    or comma-separated), ``from``, ``to``, ``media_type``, ``has_text``."""
    getlist = getattr(data, "getlist", None)
    profiles = getlist("profile") if getlist else [data.get("profile") or ""]
    return search_filters_build(
        profile_ids=profile_ids_parse(profiles),
        day_from=day_parse(data.get("from"), field="from"),
        day_to=day_parse(data.get("to"), field="to"),
        media_type=media_type_parse(data.get("media_type")),
        has_text=has_text_parse(data.get("has_text")),
    )
