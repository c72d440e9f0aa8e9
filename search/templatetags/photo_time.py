"""When a photo was taken, as the place's clocks showed it, with "(UTC+11)" when the offset is known; else the server
zone's time, unsuffixed, since naming a zone would claim a place."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django import template
from django.utils import dateformat
from django.utils import timezone as django_timezone

register = template.Library()

# Format characters of Django's `date` filter that show a time of day.
_TIME_OF_DAY = frozenset("aAfgGhHiPsu")


def taken_at_local(photo) -> datetime | None:
    """``photo.taken_at`` in the offset it was taken at, else in the current (server's) time zone; None if unknown."""
    if photo.taken_at is None:
        return None
    offset = getattr(photo, "taken_at_offset", None)
    if offset is None:
        return django_timezone.localtime(photo.taken_at)
    return photo.taken_at.astimezone(timezone(timedelta(minutes=offset)))


def utc_offset_label(minutes: int) -> str:
    """``UTC+11``, ``UTC-3:30``, ``UTC+0``."""
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


@register.filter
def taken_local(photo, format_string: str = "j F Y, H:i") -> str:
    """The photo's date in ``format_string`` (Django's ``date`` format), local to where it was taken (see above)."""
    moment = taken_at_local(photo)
    if moment is None:
        return ""
    text = dateformat.format(moment, format_string)
    if photo.taken_at_offset is not None and _TIME_OF_DAY & set(format_string):
        text += f" ({utc_offset_label(photo.taken_at_offset)})"
    return text


@register.filter
def taken_iso(photo) -> str:
    """The photo's date as ISO 8601 with the offset it is shown in (for ``<time datetime="…">``)."""
    moment = taken_at_local(photo)
    return "" if moment is None else moment.isoformat()


@register.filter
def town_and_country(photo) -> str:
    """Where the photo was taken, short: "Lisbon, Portugal", else the source's name for the place."""
    names = [name for name in (photo.city, photo.country) if name]
    if not photo.city and photo.place_name:
        names = [photo.place_name, *names]
    return ", ".join(dict.fromkeys(names))
