"""A place → its time zone, offline, from tzdb's ``zone.tab``. Without zone borders, a zone is named only where it
cannot be wrong by much; else None, since a wrong offset would mislead."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo
from functools import cache

import pytz

# How much nearer the nearest zone's city must be than any city of a zone with another offset.
_MARGIN = 2.0


def zone_at(*, latitude: float, longitude: float, country_code: str, moment: datetime) -> tzinfo | None:
    """The time zone of (``latitude``, ``longitude``) in ``country_code`` at the aware ``moment``, or None when it
    cannot be told."""
    zones = _country_zones().get(country_code.upper())
    if not zones or not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    by_distance = sorted(zones, key=lambda zone: _km(latitude, longitude, zone[1], zone[2]))
    nearest = pytz.timezone(by_distance[0][0])
    offset = moment.astimezone(nearest).utcoffset()
    nearest_km = _km(latitude, longitude, by_distance[0][1], by_distance[0][2])
    for name, zone_latitude, zone_longitude in by_distance[1:]:
        if moment.astimezone(pytz.timezone(name)).utcoffset() != offset and (
            _km(latitude, longitude, zone_latitude, zone_longitude) < _MARGIN * nearest_km
        ):
            return None
    return nearest


def wall_clock_in(zone: tzinfo, local: datetime) -> datetime:
    """The instant ``zone``'s clocks showed ``local`` (its tzinfo ignored); in a DST gap or overlap, the earlier."""
    naive = local.replace(tzinfo=None)
    if isinstance(zone, pytz.BaseTzInfo):
        try:
            return zone.localize(naive, is_dst=None)
        except pytz.AmbiguousTimeError:
            return zone.localize(naive, is_dst=True)
        except pytz.NonExistentTimeError:
            return zone.localize(naive, is_dst=False)
    return naive.replace(tzinfo=zone)


def offset_minutes(offset: timedelta | None) -> int | None:
    """An offset in whole minutes east of UTC (the local mean times of old zones have seconds: rounded)."""
    return None if offset is None else round(offset.total_seconds() / 60)


@cache
def _country_zones() -> dict[str, list[tuple[str, float, float]]]:
    """{country code: [(zone name, latitude, longitude of its principal city)]} from tzdb's ``zone.tab``."""
    zones: dict[str, list[tuple[str, float, float]]] = {}
    try:
        with pytz.open_resource("zone.tab") as file:  # type: ignore[attr-defined]  # not in types-pytz
            lines = file.read().decode("ascii", "replace").splitlines()
    except OSError:
        return zones
    for line in lines:
        parts = line.split("\t")
        if line.startswith("#") or len(parts) < 3 or parts[2] not in pytz.all_timezones_set:
            continue
        coordinates = _coordinates(parts[1])
        if coordinates is not None:
            zones.setdefault(parts[0].upper(), []).append((parts[2], *coordinates))
    return zones


def _coordinates(text: str) -> tuple[float, float] | None:
    """``+3843-00908`` (±DDMM±DDDMM, or with seconds ±DDMMSS±DDDMMSS) as decimal degrees."""
    split = max(text.rfind("+"), text.rfind("-"))
    if split <= 0:
        return None
    try:
        return _degrees(text[:split], 2), _degrees(text[split:], 3)
    except ValueError:
        return None


def _degrees(text: str, degree_digits: int) -> float:
    sign, digits = (-1 if text[0] == "-" else 1), text[1:]
    parts = [
        int(digits[:degree_digits]),
        int(digits[degree_digits : degree_digits + 2] or 0),
        int(digits[degree_digits + 2 :] or 0),
    ]
    return sign * (parts[0] + parts[1] / 60 + parts[2] / 3600)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))
