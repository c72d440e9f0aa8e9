"""Words as they enter photosearch: every ``SourceRecord`` passes ``record_fields_clean``, so no importer can hand the
database text it cannot store or index. Control characters go (``\\x02``/``\\x03`` would forge snippet marks), and
lengths are bounded to keep a document under PostgreSQL's tsvector limit."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

TEXT_MAX_CHARS = 50_000  # post caption, title + description, sidecar text
ALT_TEXT_MAX_CHARS = 5_000
HASHTAG_MAX_CHARS = 60
HASHTAGS_MAX = 200  # Instagram allows 30 per post; Flickr's tags are more, never hundreds
LINK_MAX_CHARS = 2000  # Photo.permalink's size
PLACE_NAME_MAX_CHARS = 300  # Photo.place_name's size
PLACE_ID_MAX_CHARS = 64
HANDLE_MAX_CHARS = 60  # Instagram's limit is 30, Flickr's path alias 40
PEOPLE_MAX = 100  # Instagram tags at most 20 accounts per image and mentions are capped at 20 per caption
# No photograph is older than Niépce's: an earlier date is a wrong clock or a placeholder, and one near datetime's
# limits breaks conversions to local time.
EARLIEST_PHOTO = datetime(1826, 1, 1, tzinfo=UTC)

# C0 and C1 control characters except tab, line feed and carriage return; DEL; lone surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACE = re.compile(r"\s")
# An absolute path: a "/" that does not continue a word, a URL or another path, up to a space or quote.
_ABSOLUTE_PATH = re.compile(r"""(?<![\w.:/~\\-])/[^\s'"“”‘’()<>,;]+""")


def text_clean(value: Any, *, max_chars: int = TEXT_MAX_CHARS) -> str:
    """``value`` as storable, indexable text, stripped, at most ``max_chars`` characters (cut at a nearby space, then
    "…")."""
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub("", str(value or ""))).strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = max((m.start() for m in _SPACE.finditer(cut, max(0, len(cut) - 200))), default=-1)
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


def date_plausible(value: Any) -> datetime | None:
    """``value`` as an aware datetime if a photo can have been taken then (from ``EARLIEST_PHOTO`` to tomorrow), else
    None: the one rule for dates from any origin. A naive datetime is read as UTC."""
    if not isinstance(value, datetime):
        return None
    try:
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        latest = datetime.now(UTC) + timedelta(days=1)
        return moment if EARLIEST_PHOTO <= moment <= latest else None
    except (OverflowError, ValueError):  # a zone whose offset takes the moment past datetime's range
        return None


def name_shown(name: str) -> str:
    """A file name as text PostgreSQL can store, non-UTF-8 bytes written as ``\\xNN``; one stable text per name, so
    it serves as a source id."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte decodes to: not a name the system gave
        return id_clean(name)


def id_clean(value: str) -> str:
    """A source id or permalink PostgreSQL can store: NUL removed, lone surrogates replaced, the rest kept so ids
    stay stable."""
    return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def hashtags_clean(tags: Iterable[str]) -> tuple[str, ...]:
    """Hashtags cleaned like text, without empty or repeated ones, at most ``HASHTAGS_MAX``."""
    cleaned: dict[str, None] = {}
    for tag in tags:
        word = "".join(text_clean(tag, max_chars=HASHTAG_MAX_CHARS).split())
        if word:
            cleaned.setdefault(word, None)
            if len(cleaned) >= HASHTAGS_MAX:
                break
    return tuple(cleaned)


def json_clean(value: Any) -> Any:
    """``value`` with every string, keys included, free of what ``jsonb`` refuses (NUL, lone surrogates)."""
    if isinstance(value, str):
        return id_clean(value)
    if isinstance(value, Mapping):
        return {id_clean(str(key)): json_clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(item) for item in value]
    return value


def record_fields_clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The cleaned values of a record's text fields (``SourceRecord.__post_init__``)."""
    return {
        "source_id": id_clean(fields["source_id"]),
        "image_url": id_clean(fields["image_url"]),
        # A link cut short would lead elsewhere: one too long for the column is dropped.
        "permalink": permalink
        if len(permalink := text_clean(fields["permalink"], max_chars=10**9)) <= LINK_MAX_CHARS
        else "",
        "text": text_clean(fields["text"]),
        "hashtags": hashtags_clean(fields["hashtags"]),
        "alt_text": text_clean(fields["alt_text"], max_chars=ALT_TEXT_MAX_CHARS),
        "extra": json_clean(dict(fields["extra"])),
        "taken_at": (taken_at := date_plausible(fields["taken_at"])),
        "taken_at_source": text_clean(fields["taken_at_source"], max_chars=16) if taken_at else "",
        "latitude": coordinate_clean(fields["latitude"], limit=90),
        "longitude": coordinate_clean(fields["longitude"], limit=180),
        "place_name": text_clean(fields["place_name"], max_chars=PLACE_NAME_MAX_CHARS),
        # An id cut short would name another place: one too long is dropped.
        "place_id": place_id
        if len(place_id := text_clean(fields["place_id"], max_chars=10**9)) <= PLACE_ID_MAX_CHARS
        else "",
        "people": handles_clean(fields["people"]),
    }


def coordinate_clean(value: Any, *, limit: float) -> float | None:
    """A latitude (``limit`` 90) or longitude (180), or None if missing, not finite or out of range. (0, 0) is kept:
    sources that mean "unknown" by it drop it themselves."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def handles_clean(handles: Iterable[str]) -> tuple[str, ...]:
    """Account handles without '@', lower-cased, no spaces, no empty or repeated ones, at most ``PEOPLE_MAX``."""
    cleaned: dict[str, None] = {}
    for handle in handles:
        word = "".join(text_clean(handle, max_chars=10**9).split()).lstrip("@").lower()
        if word and len(word) <= HANDLE_MAX_CHARS:
            cleaned.setdefault(word, None)
            if len(cleaned) >= PEOPLE_MAX:
                break
    return tuple(cleaned)


def paths_hidden(text: str) -> str:
    """``text`` with every absolute path cut to its last part (``…/2019``), so an error shown to anyone does not
    reveal the server's layout."""

    def last_part(match: re.Match[str]) -> str:
        path = match.group(0)
        trailing = len(path) - len(path.rstrip(".:"))  # the sentence's own full stop
        name = path[: len(path) - trailing].rstrip("/").rsplit("/", 1)[-1]
        return ("…/" + name if name else "…/") + path[len(path) - trailing :]

    return _ABSOLUTE_PATH.sub(last_part, text)
