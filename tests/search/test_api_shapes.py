"""The API's shapes as a mobile client reads them: one `place` object in results and in a photo's detail, null (not
"") for what is missing, and no lock on public reads in the OpenAPI schema while anonymous reads are on."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.services.embedding import photos_embed
from tests.support.api import call, get_json
from tests.support.exif import LISBON_GPS, exif_jpeg

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def library(photo_folder, encoder):
    """lisbon.jpg: EXIF date, GPS, camera; bare.jpg: nothing but pixels; other.jpg: the photo whose similar both are."""
    folder_import(
        path=photo_folder(
            {"lisbon.jpg": exif_jpeg(1, taken="2022:07:14 09:12:00", gps=LISBON_GPS), "bare.jpg": 2, "other.jpg": 3}
        ),
        profile_name="shapes",
    )
    photos_embed()
    return {photo.source_id: photo for photo in Photo.objects.all()}


def test_place_is_the_same_object_in_results_and_in_the_photos_detail(library, live_server):
    _, page = get_json(live_server, f"/api/v1/photos/{library['other.jpg'].pk}/similar/")
    hits = {hit["id"]: hit for hit in page["results"]}
    _, lisbon = get_json(live_server, f"/api/v1/photos/{library['lisbon.jpg'].pk}/")

    place = hits[library["lisbon.jpg"].pk]["place"]
    assert place == lisbon["place"]
    assert place["name"] == "Lisbon, Portugal" and place["country_code"] == "PT"
    assert place["latitude"] == pytest.approx(38.7223)
    assert place["source_name"] is None and place["source_id"] is None  # the source named no place


def test_missing_values_are_null_not_empty_strings(library, live_server):
    _, page = get_json(live_server, f"/api/v1/photos/{library['other.jpg'].pk}/similar/")
    bare_hit = next(hit for hit in page["results"] if hit["id"] == library["bare.jpg"].pk)
    _, bare = get_json(live_server, f"/api/v1/photos/{library['bare.jpg'].pk}/")
    _, profiles = get_json(live_server, "/api/v1/profiles/")

    for key in ("text", "permalink", "place", "taken_at", "taken_at_offset"):
        assert bare_hit[key] is None, key
    for key in (
        "permalink",
        "text",
        "alt_text",
        "taken_at",
        "taken_at_source",
        "taken_at_offset",
        "place",
        "camera",
        "ocr_text",
    ):
        assert bare[key] is None, key
    profile = profiles["results"][0]
    assert profile["last_job"]["last_error"] is None
    # Lists stay lists: empty is their "none".
    assert bare["hashtags"] == [] and bare["people"] == []


def _schema(live_server) -> dict:
    status, _, body = call(live_server, "GET", "/api/schema/", params={"format": "json"})
    assert status == 200
    return json.loads(body)


def test_public_reads_carry_no_lock_while_anonymous_reads_are_on(live_server, settings, django_user_model):
    settings.PHOTOSEARCH_API_PUBLIC_READS = True
    paths = _schema(live_server)["paths"]

    for path, method in (
        ("/api/v1/search/", "get"),
        ("/api/v1/photos/{photo_id}/", "get"),
        ("/api/v1/search/by-image/", "post"),
        ("/api/v1/profiles/", "get"),
    ):
        assert "security" not in paths[path][method], path
    assert {"tokenAuth": []} in paths["/api/v1/profiles/"]["post"]["security"]  # a write needs a token
    assert {} not in paths["/api/v1/profiles/"]["post"]["security"]

    # Reads closed: they need a token, and the lock says so (the schema itself is then read by a signed-in user).
    settings.PHOTOSEARCH_API_PUBLIC_READS = False
    client = Client()
    client.force_login(django_user_model.objects.create_user("reader", password="pw", is_staff=True))
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    assert {"tokenAuth": []} in paths["/api/v1/search/"]["get"]["security"]
    assert {} not in paths["/api/v1/search/"]["get"]["security"]


def test_the_schema_declares_every_null_a_response_can_hold(live_server):
    components = _schema(live_server)["components"]["schemas"]

    hit = components["HitOutput"]["properties"]
    for key in ("caption", "text", "permalink", "taken_at", "taken_at_offset"):
        assert hit[key].get("nullable"), key
    assert hit["place"].get("nullable") or any(
        part.get("nullable") for part in hit["place"].get("oneOf", hit["place"].get("allOf", []))
    ), hit["place"]
    assert all(field.get("nullable") for field in components["PlaceOutput"]["properties"].values())
