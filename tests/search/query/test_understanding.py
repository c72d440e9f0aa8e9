"""Queries understood end to end, against the real database: the parser's parts become filters over the photos'
places, dates, people, hashtags and media type; explicit filters win; ``literal`` and ``plain`` keep words words."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from profiles.models import Photo
from profiles.services.photos import photo_upsert
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceRecord, hashtags_in
from search.query.parser import Understood
from search.query.understanding import filters_with_understood, vocabulary_cached
from search.selectors import RankingOptions, SearchFilters, photo_search
from search.services.embedding import photos_embed
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db

LISBON = (38.7223, -9.1393)
PORTO = (41.1496, -8.6109)


def _at(year: int, month: int = 7) -> datetime:
    return datetime(year, month, 14, 12, tzinfo=UTC)


@pytest.fixture
def trips(encoder):
    natgeo = profile_get_or_create(source_kind="instagram", handle="NatGeo")
    mine = profile_get_or_create(source_kind="folder", handle="mine")
    shots = [
        (mine, "lisbon-2019-beach", LISBON, _at(2019), "Beach day, sand and waves", (), "image"),
        (mine, "lisbon-2019-street", LISBON, _at(2019), "Tram in a narrow street", (), "image"),
        (mine, "porto-2019-beach", PORTO, _at(2019), "Beach at Foz, sand and waves", (), "image"),
        (mine, "lisbon-2018-beach", LISBON, _at(2018), "Beach, sand and waves again", (), "image"),
        (mine, "maria-birthday", None, _at(2019, 3), "Birthday cake with @maria", (), "image"),
        (natgeo, "natgeo-travel-video", None, _at(2021), "On the road #travel", ("joao",), "video"),
        (natgeo, "natgeo-travel-photo", None, _at(2021), "Mountains #travel", (), "image"),
        (mine, "mine-travel-video", None, _at(2020), "My road trip #travel", (), "video"),
    ]
    for seed, (profile, source_id, point, taken_at, text, people, media_type) in enumerate(shots):
        latitude, longitude = point or (None, None)
        photo_upsert(
            profile=profile,
            record=SourceRecord(
                source_id=source_id,
                image_url=f"https://example.com/{source_id}.jpg",
                text=text,
                taken_at=taken_at,
                latitude=latitude,
                longitude=longitude,
                people=people,
                hashtags=hashtags_in(text),
                media_type=media_type,
            ),
            data=image_bytes(seed),
        )
    photos_embed()
    return {photo.source_id: photo for photo in Photo.objects.all()}


def _ids(result) -> list[str]:
    return [hit.photo.source_id for hit in result.hits]


def test_beach_in_lisbon_2019_returns_the_lisbon_2019_beach_photo_first(trips):
    result = photo_search(query="beach in lisbon 2019", ranking=RankingOptions(cutoff=0))

    assert [(part.kind, part.text, part.value) for part in result.understood] == [
        ("place", "in lisbon", "Lisbon, Portugal"),
        ("date", "2019", "2019-01-01/2019-12-31"),
    ]
    assert result.description == "beach"
    assert _ids(result)[0] == "lisbon-2019-beach"
    # Beaches elsewhere or in other years come after it, if at all: the filters leave them out.
    assert set(_ids(result)) == {"lisbon-2019-beach", "lisbon-2019-street"}


def test_literal_searches_every_word_as_typed(trips):
    result = photo_search(query="beach in lisbon 2019", ranking=RankingOptions(cutoff=0), literal=True)

    assert result.understood == () and result.description is None
    assert {"porto-2019-beach", "lisbon-2018-beach"} <= set(_ids(result))


def test_a_part_kept_plain_stays_a_word_and_the_rest_is_still_understood(trips):
    result = photo_search(query="beach in lisbon 2019", ranking=RankingOptions(cutoff=0), plain=frozenset({"place"}))

    assert [part.kind for part in result.understood] == ["date"]
    assert result.description == "beach in lisbon"
    assert "porto-2019-beach" in _ids(result) and "lisbon-2018-beach" not in _ids(result)


def test_a_person_finds_the_posts_that_tag_or_mention_them(trips):
    assert _ids(photo_search(query="@maria")) == ["maria-birthday"]
    assert _ids(photo_search(query="@joao")) == ["natgeo-travel-video"]


def test_hashtag_media_type_and_profile_are_understood_together(trips):
    result = photo_search(query="#travel videos from natgeo")

    assert [part.kind for part in result.understood] == ["hashtag", "media_type", "profile"]
    assert result.description == ""  # nothing left to search: the filters are browsed, newest first
    assert _ids(result) == ["natgeo-travel-video"]  # not mine-travel-video: "from natgeo" found the profile NatGeo
    assert _ids(photo_search(query="#travel videos")) == ["natgeo-travel-video", "mine-travel-video"]


def test_an_explicit_filter_wins_over_an_understood_one(trips):
    explicit = SearchFilters(country_codes=("PT",), cities=("Porto",))
    result = photo_search(query="beach in lisbon 2019", filters=explicit, ranking=RankingOptions(cutoff=0))

    assert _ids(result) == ["porto-2019-beach"]  # Porto from the form; 2019 still from the words


def test_understood_dates_do_not_override_explicit_days():
    year = Understood(
        kind="date", text="2019", value="2019-01-01/2019-12-31", date_from=date(2019, 1, 1), date_to=date(2019, 12, 31)
    )
    explicit = SearchFilters(taken_from=datetime(2020, 1, 1, tzinfo=UTC))
    assert filters_with_understood(explicit, (year,)) == explicit
    merged = filters_with_understood(SearchFilters(), (year,))
    assert merged.taken_from.year == 2019 and merged.taken_to.year == 2020


def test_the_vocabulary_knows_the_library_and_is_refreshed_when_an_import_ends(trips, photo_folder):
    from profiles.services.imports import folder_import

    assert "lisbon" in vocabulary_cached().places
    assert "natgeo" in vocabulary_cached().profiles  # lower-cased: the profile is "NatGeo"
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="holidays")
    assert "holidays" in vocabulary_cached().profiles


def test_the_api_returns_what_it_understood_and_takes_literal(trips, client):
    url = reverse("api-search")
    understood = client.get(url, {"q": "beach in lisbon 2019", "cutoff": 0}).json()
    literal = client.get(url, {"q": "beach in lisbon 2019", "cutoff": 0, "literal": "true"}).json()

    assert understood["understood"] == [
        {"kind": "place", "text": "in lisbon", "value": "Lisbon, Portugal"},
        {"kind": "date", "text": "2019", "value": "2019-01-01/2019-12-31"},
    ]
    assert understood["description"] == "beach"
    assert len(understood["results"]) == 2
    assert literal["understood"] == [] and literal["description"] == "beach in lisbon 2019"
    assert len(literal["results"]) > 2


def test_the_page_shows_a_chip_per_understood_part_whose_cross_keeps_it_as_words(trips, client):
    page = client.get(reverse("search"), {"q": "beach in lisbon 2019"}).content.decode()

    assert 'data-kind="place"' in page and "Lisbon, Portugal" in page
    assert 'data-kind="date"' in page and "<strong>2019</strong>" in page
    assert "?q=beach+in+lisbon+2019&amp;plain=place" in page
    undone = client.get(reverse("search"), {"q": "beach in lisbon 2019", "plain": "place"}).content.decode()
    assert 'data-kind="place"' not in undone and 'data-kind="date"' in undone
