"""The JSON API over real HTTP (pytest-django's live server), against the real database."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from profiles.models import Photo
from profiles.services import folder_import
from search.services import photos_embed
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def get(live_server, path, **params):
    url = f"{live_server.url}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(live_server, path, **params):
    status, headers, body = get(live_server, path, **params)
    assert headers["Content-Type"].startswith("application/json")
    return status, json.loads(body)


@pytest.fixture
def embedded(photo_folder, encoder):
    root = photo_folder({f"img{i}.jpg": i for i in range(6)} | {"img4.txt": "Lighthouse in the fog #coast"})
    (root / "img1-copy.jpg").write_bytes(image_bytes(1, quality=50))
    folder_import(path=root, profile_name="coast")
    photos_embed()
    return {p.source_id: p for p in Photo.objects.all()}


def test_search_returns_results_in_the_documented_shape(live_server, embedded):
    status, body = get_json(live_server, "/api/v1/search/", q="lighthouse fog", profile="coast", limit=3)

    assert status == 200
    assert body["count"] == 3 and body["model"] == "photosearch-tiny/random-seed0" and body["warnings"] == []
    first = body["results"][0]
    assert set(first) >= {"id", "score", "profile", "caption", "text", "thumbnail_url", "permalink", "taken_at"}
    assert first["id"] == embedded["img4.jpg"].pk
    assert (first["profile"], first["text"]) == ("coast", "Lighthouse in the fog #coast")
    assert first["match"]["text_rank"] == 1
    status, headers, thumbnail = get(live_server, urllib.parse.urlparse(first["thumbnail_url"]).path)
    assert status == 200 and thumbnail[:3] == b"\xff\xd8\xff"


def test_similar_returns_the_near_duplicate_first(live_server, embedded):
    status, body = get_json(live_server, f"/api/v1/photos/{embedded['img1.jpg'].pk}/similar/", limit=2)

    assert status == 200
    assert [r["id"] for r in body["results"]][0] == embedded["img1-copy.jpg"].pk
    assert embedded["img1.jpg"].pk not in [r["id"] for r in body["results"]]


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "cat", "limit": "0"}, "limit"),
        ({"q": "cat", "limit": "many"}, "limit"),
        ({"q": "cat", "limit": "101"}, "limit"),
        ({"q": "cat", "profile": "nobody"}, "profile"),
    ],
)
def test_bad_search_requests_get_a_400_with_a_reason(live_server, params, field):
    status, body = get_json(live_server, "/api/v1/search/", **params)

    assert status == 400
    assert body["error"].startswith(f"{field}: ")
    assert field in body["details"]


def test_similar_of_an_unknown_photo_is_404(live_server):
    status, body = get_json(live_server, "/api/v1/photos/999999/similar/")

    assert status == 404 and "999999" in body["error"]


def test_similar_of_a_photo_not_yet_embedded_is_409(live_server, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    status, body = get_json(live_server, f"/api/v1/photos/{Photo.objects.get().pk}/similar/")

    assert status == 409 and "embed_photos" in body["error"]
