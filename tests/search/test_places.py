"""Place filters (country, town, distance) on the search selectors, the page and the API, over photos whose
coordinates were geocoded at import with the real GeoNames data."""

import pytest
from django.urls import reverse

from profiles.models import Photo
from profiles.services.photos import photo_upsert
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceRecord
from search.inputs import country_parse, near_parse, place_folded
from search.selectors import InvalidQuery, RankingOptions, SearchFilters, photo_browse, photo_search
from search.services.embedding import photos_embed
from search.types import Near
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db

PORTO = (41.1496, -8.6109)
PARIS = (48.8566, 2.3522)
# 300 m from the Porto photo, in the same town.
PORTO_RIBEIRA = (41.1407, -8.6131)


@pytest.fixture
def places(encoder):
    profile = profile_get_or_create(source_kind="urls", handle="trips")
    shots = {
        "porto": (PORTO, "bridge over the river"),
        "ribeira": (PORTO_RIBEIRA, "boats on the river"),
        "paris": (PARIS, "bridge over the river"),
        "nowhere": (None, "bridge over the river"),
    }
    for seed, (source_id, (point, text)) in enumerate(shots.items()):
        latitude, longitude = point or (None, None)
        record = SourceRecord(
            source_id=source_id,
            image_url=f"https://example.com/{source_id}.jpg",
            text=text,
            latitude=latitude,
            longitude=longitude,
        )
        photo_upsert(profile=profile, record=record, data=image_bytes(seed))
    photos_embed()
    return {photo.source_id: photo for photo in Photo.objects.all()}


def _ids(result) -> set[str]:
    return {hit.photo.source_id for hit in result.hits}


def test_coordinates_become_town_and_country_words_of_the_photo(places):
    porto = places["porto"]
    assert (porto.city, porto.country, porto.country_code) == ("Porto", "Portugal", "PT")
    assert places["nowhere"].country_code == ""

    result = photo_search(query="porto", ranking=RankingOptions(cutoff=0), literal=True)
    assert {hit.photo.source_id for hit in result.hits if hit.text_rank} == {"porto", "ribeira"}


def test_the_country_filter_keeps_only_photos_taken_there(places):
    result = photo_search(
        query="bridge over the river", filters=SearchFilters(country_codes=("PT",)), ranking=RankingOptions(cutoff=0)
    )
    assert _ids(result) == {"porto", "ribeira"}
    assert _ids(photo_browse(filters=SearchFilters(country_codes=("FR",)))) == {"paris"}


def test_a_country_is_named_by_code_or_by_a_name_present_accents_and_case_ignored(places):
    assert country_parse(["pt"]) == ("PT",)
    assert country_parse(["portugal, FRANCE"]) == ("PT", "FR")
    assert place_folded("  São   Paulo ") == "sao paulo"
    with pytest.raises(InvalidQuery, match="No photo was taken in a country named “Narnia”") as refused:
        country_parse(["Narnia"])
    assert refused.value.field == "country"


def test_the_distance_filter_keeps_photos_within_that_many_km(places):
    near_porto = SearchFilters(near=Near(latitude=PORTO[0], longitude=PORTO[1], km=2))
    assert _ids(photo_browse(filters=near_porto)) == {"porto", "ribeira"}
    just_the_spot = SearchFilters(near=Near(latitude=PORTO[0], longitude=PORTO[1], km=0.5))
    assert _ids(photo_browse(filters=just_the_spot)) == {"porto"}
    # Porto–Paris is about 1,210 km: the great circle decides, not the box.
    assert _ids(photo_browse(filters=SearchFilters(near=Near(latitude=PORTO[0], longitude=PORTO[1], km=1300)))) == {
        "porto",
        "ribeira",
        "paris",
    }
    assert "paris" not in _ids(
        photo_browse(filters=SearchFilters(near=Near(latitude=PORTO[0], longitude=PORTO[1], km=1150)))
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ("38.7", "is not a place and distance like"),
        ("91,0,5", "Latitude 91 is out of range"),
        ("0,181,5", "Longitude 181 is out of range"),
        ("0,0,0", "The distance must be more than 0"),
        ("0,0,nan", "is not a place and distance like"),
    ],
)
def test_a_bad_distance_filter_is_refused_with_the_reason(value, message):
    with pytest.raises(InvalidQuery, match=message) as refused:
        near_parse(value)
    assert refused.value.field == "near"


def test_a_distance_filter_without_km_means_ten(places):
    assert near_parse(" 41.1496 , -8.6109 ") == Near(latitude=41.1496, longitude=-8.6109, km=10.0)
    assert near_parse("41.1496,-8.6109,2.5km").km == 2.5


def test_the_api_filters_by_country_town_and_distance_and_lists_the_places(places, client):
    url = reverse("api-search")
    names = {photo.pk: source_id for source_id, photo in places.items()}

    def found(response) -> set[str]:
        assert response.status_code == 200, response.json()
        return {names[hit["id"]] for hit in response.json()["results"]}

    assert found(client.get(url, {"q": "bridge over the river", "city": "PORTO", "cutoff": 0})) == {"porto", "ribeira"}
    assert found(client.get(url, {"q": "river", "country": "France"})) == {"paris"}
    assert found(client.get(url, {"q": "river", "near": f"{PORTO[0]},{PORTO[1]},0.5"})) == {"porto"}

    refused = client.get(url, {"q": "river", "near": "north"})
    assert refused.status_code == 400
    assert "near" in refused.json()["details"]

    # A town typed in another language is the library's town (CLDR's names, which Babel ships).
    assert found(client.get(url, {"q": "river", "city": "Parigi", "cutoff": 0})) == {"paris"}
    assert found(client.get(url, {"q": "river", "city": "PARÍS", "cutoff": 0})) == {"paris"}

    unknown_town = client.get(url, {"q": "river", "city": "Atlantis"})
    assert unknown_town.status_code == 400
    assert "Atlantis" in str(unknown_town.json())

    listed = client.get(reverse("api-places")).json()["countries"]
    assert [(c["code"], c["name"], c["photos"]) for c in listed] == [("FR", "France", 1), ("PT", "Portugal", 2)]
    assert listed[1]["cities"] == [{"name": "Porto", "photos": 2}]


def test_the_photo_api_and_page_name_the_place(places, client):
    photo = places["paris"]
    data = client.get(reverse("api-photo", kwargs={"photo_id": photo.pk})).json()
    assert data["place"]["city"] == "Paris" and data["place"]["country_code"] == "FR"
    assert data["place"]["name"] == "Paris, Île-de-France, France"
    assert data["place"]["latitude"] == pytest.approx(PARIS[0])

    page = client.get(reverse("photo", args=[photo.pk])).content.decode()
    assert "Paris, Île-de-France, France" in page


def test_the_search_page_offers_the_countries_present_and_filters_by_them(places, client):
    page = client.get(reverse("search"), {"q": "bridge over the river", "country": "PT"}).content.decode()
    assert '<option value="PT" selected>Portugal</option>' in page
    assert '<option value="FR">France</option>' in page
    assert '<option value="Porto">' in page  # the chosen country's towns are suggested

    refused = client.get(reverse("search"), {"q": "river", "near": "1,2,3,4"})
    assert refused.status_code == 400
    assert "is not a place and distance like" in refused.content.decode()


def test_a_town_in_another_language_is_named_in_english_as_the_library_names_it():
    from search.query.place_names import town_names_in_english

    for typed in ("lisboa", "Lisbonne", "LISSABON", "Lisbona"):
        assert town_names_in_english(typed) == {"Lisbon"}, typed
    assert town_names_in_english("Nueva York") == {"New York"}
    assert town_names_in_english("Atlantis") == frozenset()
