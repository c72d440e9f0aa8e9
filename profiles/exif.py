"""What an image file says about itself: when it was taken (EXIF ``DateTimeOriginal`` with its offset), where (GPS)
and with what (camera make and model, lens). Pure functions over bytes: no models, no storage.

Only the header is read (``Image.open`` is lazy), so this costs a fraction of a millisecond per photo and runs on
every import, also of unchanged photos: a re-import fills these fields without re-embedding.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from fractions import Fraction
from typing import Any

from PIL import ExifTags, Image

# EXIF tags (CIPA DC-008). IFD0: Make, Model, DateTime. Exif IFD: the original date, its offset and sub-seconds,
# the digitised date as a fallback (some cameras fill only that), the lens.
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
_SUBSEC_ORIGINAL = 0x9291
_LENS_MAKE, _LENS_MODEL = 0xA433, 0xA434
# GPS IFD.
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_TIME, _GPS_DATE = 7, 29

_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


@dataclass(frozen=True)
class ImageMetadata:
    """What the file says; ``None``/"" for what it does not. ``taken_at`` is aware: with the file's offset when it
    states one (``OffsetTimeOriginal``, or the GPS clock, which is UTC), else in ``default_zone``."""

    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    camera_make: str = ""
    camera_model: str = ""
    lens: str = ""


NOTHING = ImageMetadata()


def image_metadata(data: bytes, *, default_zone: tzinfo = timezone.utc) -> ImageMetadata:
    """The date, place and camera in the EXIF of ``data`` (JPEG, HEIC, AVIF, WebP, PNG, TIFF — what Pillow opens).
    Never raises: a file without EXIF, or with EXIF too damaged to read, gives ``NOTHING`` (or what could be read)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            ifd0 = dict(exif)
            sub = _ifd(exif, ExifTags.IFD.Exif)
            gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 — EXIF is a bonus: whatever a damaged header raises, the import goes on
        return NOTHING
    latitude, longitude = _coordinates(gps)
    return ImageMetadata(
        taken_at=_taken_at(ifd0, sub, gps, default_zone),
        latitude=latitude,
        longitude=longitude,
        camera_make=_string(ifd0.get(_MAKE)),
        camera_model=_string(ifd0.get(_MODEL)),
        lens=_lens(sub),
    )


def _ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # noqa: BLE001 — a sub-IFD pointing outside the file
        return {}


def _string(value: Any, *, max_chars: int = 100) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    text = "".join(ch for ch in value.replace("\x00", " ") if ch.isprintable()).strip()
    return " ".join(text.split())[:max_chars]


def _lens(sub: dict[int, Any]) -> str:
    make, model = _string(sub.get(_LENS_MAKE)), _string(sub.get(_LENS_MODEL), max_chars=200)
    if make and model and not model.lower().startswith(make.lower()):
        return f"{make} {model}"[:200]
    return model or make


def _taken_at(ifd0: dict, sub: dict, gps: dict, default_zone: tzinfo) -> datetime | None:
    for date_tag, offset_tag, tags in ((_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, sub),
                                        (_DATETIME_DIGITIZED, _OFFSET_TIME_DIGITIZED, sub),
                                        (_DATETIME, _OFFSET_TIME, ifd0)):
        local = _exif_datetime(tags.get(date_tag))
        if local is None:
            continue
        if date_tag == _DATETIME_ORIGINAL:
            local = local.replace(microsecond=_subseconds(sub.get(_SUBSEC_ORIGINAL)))
        zone = _offset(sub.get(offset_tag)) or _offset(sub.get(_OFFSET_TIME)) or _zone_from_gps(local, gps)
        return local.replace(tzinfo=zone or default_zone)
    return None


def _exif_datetime(value: Any) -> datetime | None:
    """``"2019:07:14 10:00:00"`` (also with "-" or "/" or "T"); cameras write "0000:00:00 00:00:00" for unknown."""
    match = _EXIF_DATE.match(_string(value))
    if not match:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return moment if moment.year >= 1800 else None


def _subseconds(value: Any) -> int:
    digits = "".join(ch for ch in _string(value) if ch.isdigit())[:6]
    return int(digits.ljust(6, "0")) if digits else 0


def _offset(value: Any) -> timezone | None:
    match = _OFFSET.match(_string(value))
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _zone_from_gps(local: datetime, gps: dict) -> timezone | None:
    """The offset the camera's clock had, from the GPS clock (UTC) written with the same shot: their difference,
    rounded to the quarter hour. None when the GPS clock is missing or the difference is no real offset."""
    day = _exif_datetime(f"{_string(gps.get(_GPS_DATE))} 00:00:00")
    clock = gps.get(_GPS_TIME)
    if day is None or not isinstance(clock, tuple | list) or len(clock) != 3:
        return None
    try:
        seconds = sum(float(_number(part)) * scale for part, scale in zip(clock, (3600, 60, 1)))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    utc = day + timedelta(seconds=seconds)
    quarters = round((local - utc).total_seconds() / 900)
    if abs(quarters) > 14 * 4:
        return None
    return timezone(timedelta(minutes=15 * quarters))


def _number(value: Any) -> float:
    """An EXIF rational as Pillow gives it (``IFDRational``, a (num, den) pair, an int or a float)."""
    if isinstance(value, tuple | list) and len(value) == 2:
        return float(Fraction(int(value[0]), int(value[1])))
    return float(value)


def _degrees(value: Any) -> float | None:
    """Degrees from (degrees, minutes, seconds) — or (degrees, decimal minutes), or a single decimal number."""
    try:
        parts = [_number(part) for part in value] if isinstance(value, tuple | list) else [_number(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or len(parts) > 3 or not all(math.isfinite(part) for part in parts):
        return None
    return sum(part / 60**index for index, part in enumerate(parts))


def _coordinates(gps: dict) -> tuple[float | None, float | None]:
    latitude, longitude = _degrees(gps.get(_GPS_LAT)), _degrees(gps.get(_GPS_LON))
    if latitude is None or longitude is None:
        return None, None
    if _string(gps.get(_GPS_LAT_REF)).upper().startswith("S"):
        latitude = -latitude
    if _string(gps.get(_GPS_LON_REF)).upper().startswith("W"):
        longitude = -longitude
    # (0, 0) is what a phone writes when it had no fix; nobody photographs that spot in the Gulf of Guinea.
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude == 0 and longitude == 0):
        return None, None
    return latitude, longitude
