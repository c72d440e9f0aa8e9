"""A photo's time as the clocks of its place showed it: stored offset (EXIF, else the place's zone), the API's
ISO 8601 with that offset, and the pages (in a real Chromium) showing the place's local time; sorting stays on the
instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from profiles.metadata import photo_metadata
from profiles.models import Photo
from profiles.services.imports import folder_import
from profiles.sources.base import SourceRecord
from profiles.timezones import zone_at
from search.services.embedding import photos_embed
from tests.conftest import image_bytes
from tests.support.api import get_json
from tests.support.exif import LISBON_GPS, exif_jpeg

SYDNEY_GPS = {1: "S", 2: (33.0, 52.0, 4.0), 3: "E", 4: (151.0, 12.0, 26.0)}


@pytest.fixture
def travels(photo_folder, settings):
    """The server in New York; photos from Sydney (EXIF offset), Lisbon (GPS, no offset) and nowhere known."""
    settings.TIME_ZONE = "America/New_York"
    root = photo_folder(
        {
            "sydney.jpg": exif_jpeg(1, taken="2022:01:10 07:30:00", offset="+11:00", gps=SYDNEY_GPS),
            "lisbon.jpg": exif_jpeg(2, taken="2022:07:14 09:12:00", gps=LISBON_GPS),
            "nowhere.jpg": exif_jpeg(3, taken="2022:03:01 12:00:00"),
        }
    )
    folder_import(path=root, profile_name="trips")
    return {photo.source_id: photo for photo in Photo.objects.all()}


# --- What the import stores ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_offset_exif_states_is_stored_beside_the_instant(travels):
    sydney = travels["sydney.jpg"]

    assert sydney.taken_at == datetime(2022, 1, 9, 20, 30, tzinfo=UTC)
    assert sydney.taken_at_offset == 11 * 60


@pytest.mark.django_db
def test_a_camera_clock_without_offset_is_read_in_the_zone_of_its_place_not_the_servers(travels):
    lisbon = travels["lisbon.jpg"]

    # 09:12 on a Lisbon clock in July is 08:12 UTC (before: 09:12 in New York, 13:12 UTC).
    assert lisbon.taken_at == datetime(2022, 7, 14, 8, 12, tzinfo=UTC)
    assert lisbon.taken_at_offset == 60


@pytest.mark.django_db
def test_without_offset_or_place_the_offset_is_unknown_and_the_server_zone_reads_the_clock(travels):
    nowhere = travels["nowhere.jpg"]

    assert nowhere.taken_at == datetime(2022, 3, 1, 17, 0, tzinfo=UTC)  # 12:00 in New York (EST)
    assert nowhere.taken_at_offset is None


def test_a_source_date_keeps_its_instant_and_gets_the_offset_of_its_place():
    record = SourceRecord(
        source_id="p",
        image_url="https://example.org/p.jpg",
        taken_at=datetime(2022, 1, 9, 20, 30, tzinfo=UTC),
        latitude=-33.8679,
        longitude=151.2073,
    )

    fields = photo_metadata(record=record, data=image_bytes(1))

    assert fields["taken_at"] == datetime(2022, 1, 9, 20, 30, tzinfo=UTC)
    assert fields["taken_at_offset"] == 11 * 60 and fields["city"] == "Sydney"


def test_a_place_between_two_zones_cities_gets_no_zone():
    july = datetime(2022, 7, 1, tzinfo=UTC)

    # El Paso keeps Mountain time with DST; Phoenix (nearer) and Denver differ in July: no guess.
    assert zone_at(latitude=31.76, longitude=-106.49, country_code="US", moment=july) is None
    assert str(zone_at(latitude=38.72, longitude=-9.14, country_code="PT", moment=july)) == "Europe/Lisbon"
    assert str(zone_at(latitude=37.74, longitude=-25.67, country_code="PT", moment=july)) == "Atlantic/Azores"


# --- API ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_api_gives_taken_at_in_the_offset_of_its_place(travels, live_server, encoder):
    photos_embed()
    _, sydney = get_json(live_server, f"/api/v1/photos/{travels['sydney.jpg'].pk}/")
    _, nowhere = get_json(live_server, f"/api/v1/photos/{travels['nowhere.jpg'].pk}/")
    _, page = get_json(live_server, f"/api/v1/photos/{travels['nowhere.jpg'].pk}/similar/")  # hits: the others

    assert (sydney["taken_at"], sydney["taken_at_offset"]) == ("2022-01-10T07:30:00+11:00", 660)
    assert (nowhere["taken_at"], nowhere["taken_at_offset"]) == ("2022-03-01T12:00:00-05:00", None)  # as before
    hits = {hit["id"]: hit for hit in page["results"]}
    assert hits[travels["lisbon.jpg"].pk]["taken_at"] == "2022-07-14T09:12:00+01:00"
    assert hits[travels["sydney.jpg"].pk]["taken_at"] == "2022-01-10T07:30:00+11:00"


# --- Pages --------------------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_photo_page_shows_the_local_time_of_the_place(travels, live_server, page):
    page.goto(f"{live_server.url}/photos/{travels['sydney.jpg'].pk}/")
    taken = page.locator("dl.facts time")
    assert taken.inner_text() == "10 January 2022, 07:30 (UTC+11)"
    assert taken.get_attribute("datetime") == "2022-01-10T07:30:00+11:00"

    page.goto(f"{live_server.url}/photos/{travels['nowhere.jpg'].pk}/")
    assert page.locator("dl.facts time").inner_text() == "1 March 2022, 12:00"  # the server's zone, no suffix


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_tiles_show_the_local_date_and_place_and_sort_on_the_instant(travels, live_server, page, settings, encoder):
    settings.PHOTOSEARCH_CUTOFF = 0
    # Sydney's 10 January 07:30 (+11) is 9 January 20:30 UTC; a Lisbon photo of 9 January 22:00 (+0) is later.
    Photo.objects.filter(source_id="lisbon.jpg").update(
        taken_at=datetime(2022, 1, 9, 22, 0, tzinfo=UTC), taken_at_offset=0
    )
    photos_embed()

    page.goto(f"{live_server.url}/?profile=trips&sort=newest")
    lines = page.locator("li.tile .when-where").all_inner_texts()

    # Newest first by the instant, whatever the local dates say: March, then Lisbon's 9 January, then Sydney's 10th.
    assert lines == ["1 Mar 2022", "9 Jan 2022 · Lisbon, Portugal", "10 Jan 2022 · Sydney, Australia"]
