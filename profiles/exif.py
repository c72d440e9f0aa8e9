"""What an image file says about itself (date, GPS, camera, lens), from its header only. Each field is read on its
own: a malformed value costs that field only."""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from fractions import Fraction
from typing import Any

from PIL import ExifTags, Image

import profiles.images  # noqa: F401 — registers the HEIC opener, so HEIC EXIF reads however this module is reached

# EXIF tags (CIPA DC-008). IFD0's DateTime is left out: it is when the file was last written, not the photo taken.
_MAKE, _MODEL = 0x010F, 0x0110
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
_SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9291, 0x9292
_LENS_MAKE, _LENS_MODEL = 0xA433, 0xA434
# GPS IFD.
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_TIME, _GPS_DATE = 7, 29

_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?", re.ASCII)
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$", re.ASCII)
_ASCII_DIGITS = frozenset("0123456789")
# The hemisphere letters a GPS ref may hold; anything else ("-", "ÿ", a blank) says nothing about the sign.
_LATITUDE_REFS = {"N": 1, "S": -1, "NORTH": 1, "SOUTH": -1}
_LONGITUDE_REFS = {"E": 1, "W": -1, "EAST": 1, "WEST": -1}
# A camera clock that says the photo is from the future is wrong; a day of slack covers any time zone.
_FUTURE_SLACK = timedelta(days=1)
# The GPS clock names the camera's offset only when it ticked with the shot: a fix minutes old is no offset.
_GPS_CLOCK_SLACK = timedelta(minutes=3)


@dataclass(frozen=True)
class ImageMetadata:
    """What the file says; ``None``/"" for what it does not. ``taken_at`` is aware, in the offset the file states,
    else in ``default_zone``; ``utc_offset`` is that stated offset, None when ``default_zone`` was assumed."""

    taken_at: datetime | None = None
    utc_offset: timedelta | None = None
    latitude: float | None = None
    longitude: float | None = None
    camera_make: str = ""
    camera_model: str = ""
    lens: str = ""


NOTHING = ImageMetadata()


def image_metadata(data: bytes, *, default_zone: tzinfo = UTC) -> ImageMetadata:
    """The date, place and camera in the EXIF of ``data`` (any format Pillow opens). Never raises: unreadable EXIF
    gives ``NOTHING`` or what could be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data": what survives is used, the rest is no news
            with Image.open(io.BytesIO(data)) as image:
                exif = image.getexif()
                ifd0 = dict(exif)
                sub = _ifd(exif, ExifTags.IFD.Exif)
                gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    except Exception:
        return NOTHING
    latitude, longitude = _field(_coordinates, gps, default=(None, None))
    taken_at, utc_offset = _field(_taken_at, sub, gps, default_zone, default=(None, None))
    return ImageMetadata(
        taken_at=taken_at,
        utc_offset=utc_offset,
        latitude=latitude,
        longitude=longitude,
        camera_make=_field(_string, ifd0.get(_MAKE), default=""),
        camera_model=_field(_string, ifd0.get(_MODEL), default=""),
        lens=_field(_lens, sub, default=""),
    )


def _field(read, *args, default: Any = None) -> Any:
    """One field read on its own: a value of a kind no camera writes loses that field, not its neighbours."""
    try:
        return read(*args)
    except Exception:
        return default


def _ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:
        return {}


def _string(value: Any, *, max_chars: int = 100) -> str:
    """An EXIF ASCII value as text: UTF-8, else Latin-1, cut at the first NUL, control characters dropped, spaces
    collapsed. Pillow decodes these tags as Latin-1, so UTF-8 written there is recovered from its bytes."""
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            pass  # already text beyond Latin-1: not Pillow's reading of bytes
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    if not isinstance(value, str):
        return ""
    value = value.lstrip("\x00").split("\x00", 1)[0]
    text = "".join(ch for ch in value if ch.isprintable()).strip()
    return " ".join(text.split())[:max_chars]


def _lens(sub: dict[int, Any]) -> str:
    make, model = _string(sub.get(_LENS_MAKE)), _string(sub.get(_LENS_MODEL), max_chars=200)
    if make and model and not model.lower().startswith(make.lower()):
        return f"{make} {model}"[:200]
    return model or make


def _taken_at(sub: dict, gps: dict, default_zone: tzinfo) -> tuple[datetime | None, timedelta | None]:
    """``DateTimeOriginal`` (else ``DateTimeDigitized``) in the offset the file states or its GPS clock implies, else
    ``default_zone``; and that offset (None for ``default_zone``: a guess)."""
    for date_tag, subsec_tag, offset_tags in (
        (_DATETIME_ORIGINAL, _SUBSEC_ORIGINAL, (_OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED, _OFFSET_TIME)),
        (_DATETIME_DIGITIZED, _SUBSEC_DIGITIZED, (_OFFSET_TIME_DIGITIZED, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME)),
    ):
        local = _exif_datetime(sub.get(date_tag))
        if local is None:
            continue
        local = local.replace(microsecond=_field(_subseconds, sub.get(subsec_tag), default=0))
        zone = next((z for tag in offset_tags if (z := _field(_offset, sub.get(tag))) is not None), None)
        zone = zone or _field(_zone_from_gps, local, gps)
        moment = local.replace(tzinfo=zone or default_zone)
        if moment > datetime.now(UTC) + _FUTURE_SLACK:
            return None, None
        return moment, (zone.utcoffset(None) if zone else None)
    return None, None


def _exif_datetime(value: Any) -> datetime | None:
    """``"2019:07:14 10:00:00"`` and its variants; None for unknown dates (zeros, blanks) and before 1800."""
    match = _EXIF_DATE.match(_string(value))
    if not match or match.group(4) is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return moment if moment.year >= 1800 else None


def _exif_date(value: Any) -> datetime | None:
    """The GPS date stamp ``"2019:07:14"`` as midnight of that day."""
    match = _EXIF_DATE.match(_string(value))
    if not match:
        return None
    try:
        year, month, number = (int(part) for part in match.groups()[:3])
        day = datetime(year, month, number)
    except ValueError:
        return None
    return day if day.year >= 1800 else None


def _subseconds(value: Any) -> int:
    # ASCII digits only: "²".isdigit() is true and int("²") fails.
    digits = "".join(ch for ch in _string(value) if ch in _ASCII_DIGITS)[:6]
    return int(digits.ljust(6, "0")) if digits else 0


def _offset(value: Any) -> timezone | None:
    """``"+01:00"`` (or ``"+0100"``); ``"Z"`` is UTC. None for blanks ("   :  ") and offsets past ±14 h."""
    text = _string(value)
    if text.upper() == "Z":
        return UTC
    match = _OFFSET.match(text)
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        return None
    return timezone(-delta if sign == "-" else delta)


def _zone_from_gps(local: datetime, gps: dict) -> timezone | None:
    """The camera clock's offset: its difference from the GPS clock (UTC), if a whole quarter hour within
    ``_GPS_CLOCK_SLACK`` (else the fix is older than the shot); else None."""
    day = _exif_date(gps.get(_GPS_DATE))
    clock = gps.get(_GPS_TIME)
    if day is None or not isinstance(clock, tuple | list) or len(clock) != 3:
        return None
    try:
        hours, minutes, seconds = (_number(part) for part in clock)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(part) for part in (hours, minutes, seconds)) or not (
        0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61
    ):
        return None
    utc = day + timedelta(hours=hours, minutes=minutes, seconds=seconds)
    difference = local - utc
    quarters = round(difference / timedelta(minutes=15))
    offset = timedelta(minutes=15 * quarters)
    if abs(difference - offset) > _GPS_CLOCK_SLACK or not -timedelta(hours=12) <= offset <= timedelta(hours=14):
        return None
    return timezone(offset)


def _number(value: Any) -> float:
    """An EXIF rational as Pillow gives it (``IFDRational``, a (num, den) pair, an int or a float); NaN for a zero
    denominator in an ``IFDRational``."""
    if isinstance(value, tuple | list) and len(value) == 2:
        return float(Fraction(int(value[0]), int(value[1])))
    if isinstance(value, str | bytes):
        raise TypeError("a string is no rational")
    return float(value)


def _degrees(value: Any) -> float | None:
    """Degrees from (degrees, minutes, seconds), (degrees, minutes) or a number; the degrees may carry a sign (some
    writers put it there instead of the ref)."""
    try:
        parts = [_number(part) for part in value] if isinstance(value, tuple | list) else [_number(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or len(parts) > 3 or not all(math.isfinite(part) for part in parts):
        return None
    if not all(0 <= part < 60 for part in parts[1:]):
        return None
    magnitude = abs(parts[0]) + sum(part / 60**index for index, part in enumerate(parts[1:], start=1))
    return -magnitude if parts[0] < 0 else magnitude


def _coordinates(gps: dict) -> tuple[float | None, float | None]:
    latitude = _signed(_degrees(gps.get(_GPS_LAT)), gps.get(_GPS_LAT_REF), refs=_LATITUDE_REFS)
    longitude = _signed(_degrees(gps.get(_GPS_LON)), gps.get(_GPS_LON_REF), refs=_LONGITUDE_REFS)
    if latitude is None or longitude is None:
        return None, None
    # (0, 0) is what a phone writes when it had no fix; nobody photographs that spot in the Gulf of Guinea.
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude == 0 and longitude == 0):
        return None, None
    return latitude, longitude


def _signed(degrees: float | None, ref: Any, *, refs: dict[str, int]) -> float | None:
    """The degrees with their hemisphere: a valid ref signs unsigned degrees; signed degrees, and any with a junk or
    missing ref, keep their sign (a ref that says nothing must not flip a place)."""
    if degrees is None:
        return None
    sign = _field(lambda: refs.get(_string(ref).upper()), default=None)
    if sign is None or degrees < 0:
        return degrees
    return sign * degrees
