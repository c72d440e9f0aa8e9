"""The JSON API's search, photo and schema endpoints over real HTTP (pytest-django's live server), against the real
database (the request helpers are in tests/support/api.py)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml
from django.core.management import call_command

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.services.embedding import photos_embed
from tests.conftest import image_bytes
from tests.support.api import api, assert_error, call, get_json, multipart

pytestmark = pytest.mark.django_db(transaction=True)


# --- HTTP helpers -------------------------------------------------------------------------------------------------


def search_by_image(live_server, data: bytes, *, content_type="image/jpeg", url="/api/v1/search/by-image/", **fields):
    body, form_type = multipart(fields, {"image": ("query.jpg", content_type, data)})
    return api(live_server, "POST", url, body=body, content_type=form_type)


# --- Data ---------------------------------------------------------------------------------------------------------


LIGHTHOUSE = "2024-07-01_10-00-00_UTC.jpg"
DATED = [
    "2020-01-01_10-00-00_UTC.jpg",
    "2021-06-01_10-00-00_UTC.jpg",
    "2022-03-01_10-00-00_UTC.jpg",
    "2023-01-01_10-00-00_UTC.jpg",
    LIGHTHOUSE,
]


@pytest.fixture
def embedded(photo_folder, encoder) -> dict[str, Photo]:
    """Profile "coast": five dated photos (the newest with words), one undated, a near-duplicate of the second;
    profile "harbour": two more. All embedded."""
    coast = photo_folder(
        {name: seed for seed, name in enumerate(DATED)}
        | {"undated.jpg": 5, LIGHTHOUSE.replace(".jpg", ".txt"): "Lighthouse in the fog #coast"}
    )
    (coast / "copy.jpg").write_bytes(image_bytes(1, quality=50))
    folder_import(path=coast, profile_name="coast")
    folder_import(path=photo_folder({"h1.jpg": 11, "h2.jpg": 12}, name="harbour"), profile_name="harbour")
    photos_embed()
    return {p.source_id: p for p in Photo.objects.all()}


# --- Search -------------------------------------------------------------------------------------------------------


def test_search_returns_results_in_the_documented_shape(live_server, embedded):
    status, body = get_json(live_server, "/api/v1/search/", q="lighthouse fog", profile="coast", limit=3)

    assert status == 200
    assert set(body) == {
        "results",
        "count",
        "total",
        "total_is_estimate",
        "next",
        "model",
        "warnings",
        "understood",
        "description",
    }
    assert body["count"] == 3 and body["model"] == "photosearch-tiny/random-seed0" and body["warnings"] == []
    assert body["understood"] == [] and body["description"] == "lighthouse fog"
    first = body["results"][0]
    assert set(first) == {
        "id",
        "score",
        "profile",
        "caption",
        "text",
        "thumbnail_url",
        "permalink",
        "taken_at",
        "taken_at_offset",
        "place",
        "media_type",
        "also_in",
        "match",
    }
    assert first["id"] == embedded[LIGHTHOUSE].pk
    assert (first["profile"], first["text"], first["media_type"]) == ("coast", "Lighthouse in the fog #coast", "image")
    assert first["taken_at"].startswith("2024-07-01T10:00:00")
    assert set(first["match"]) == {
        "vector_rank",
        "vector_distance",
        "text_rank",
        "text_score",
        "headline",
        "in_image_text",
        "highlights",
        "filters",
    }
    assert first["match"]["text_rank"] == 1 and "<mark>Lighthouse</mark>" in first["match"]["headline"]
    status, headers, thumbnail = call(live_server, "GET", urllib.parse.urlparse(first["thumbnail_url"]).path)
    assert status == 200 and thumbnail[:3] == b"\xff\xd8\xff"


def test_search_pages_with_an_opaque_cursor_until_next_is_null(live_server, embedded):
    status, first = get_json(live_server, "/api/v1/search/", q="photo", profile="coast", limit=3, cutoff=0)
    pages, url = [first], first["next"]
    while url:
        assert "cursor=" in url and "q=photo" in url and "limit=3" in url
        status, _, page = api(live_server, "GET", url)
        assert status == 200
        pages.append(page)
        url = page["next"]

    ids = [hit["id"] for page in pages for hit in page["results"]]
    coast = sorted(p.pk for p in embedded.values() if p.profile.handle == "coast")
    assert len(pages) == 3 and sorted(ids) == coast  # 7 photos, 3 a page, no repeats
    offset = urllib.parse.parse_qs(urllib.parse.urlparse(first["next"]).query)["cursor"][0]
    assert offset != "3"  # opaque, not the bare offset


def test_search_filters_by_profiles_dates_media_type_and_own_words(live_server, embedded):
    def ids(**params):
        status, body = get_json(live_server, "/api/v1/search/", q="photo", cutoff=0, limit=100, **params)
        assert status == 200, body
        return {hit["id"] for hit in body["results"]}

    everything = {p.pk for p in embedded.values()}
    coast = {p.pk for p in embedded.values() if p.profile.handle == "coast"}
    assert ids() == everything
    assert ids(profile="coast") == coast
    assert ids(profile="coast,harbour") == ids(profile=["coast", "harbour"]) == everything
    assert ids(**{"from": "2021-06-01", "to": "2023-01-01"}) == {embedded[n].pk for n in DATED[1:4]}  # `to` inclusive
    assert ids(media_type="video") == set()
    assert ids(has_text="true") == {embedded[LIGHTHOUSE].pk}
    assert ids(has_text="false") == everything - {embedded[LIGHTHOUSE].pk}


def test_search_sorts_by_date(live_server, embedded):
    def order(sort):
        return [
            hit["id"]
            for hit in get_json(
                live_server, "/api/v1/search/", q="photo", sort=sort, cutoff=0, **{"from": "2019-01-01"}
            )[1]["results"]
        ]

    assert order("newest") == [embedded[name].pk for name in reversed(DATED)]
    assert order("oldest") == [embedded[name].pk for name in DATED]


def test_search_takes_ranking_overrides(live_server, embedded):
    status, body = get_json(
        live_server,
        "/api/v1/search/",
        q="lighthouse",
        vector_weight=0,
        text_weight=2,
        vector_depth=5,
        text_depth=5,
        cutoff=0.5,
    )

    assert status == 200
    first = body["results"][0]
    assert first["id"] == embedded[LIGHTHOUSE].pk
    assert first["score"] == pytest.approx(2 / (60 + 1))
    assert all(hit["score"] == 0 for hit in body["results"][1:])  # vector-only hits weigh nothing


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
        ({"q": "cat", "profile": "coast,nobody"}, "profile"),
        ({"q": "cat", "sort": "best"}, "sort"),
        ({"q": "cat", "media_type": "audio"}, "media_type"),
        ({"q": "cat", "has_text": "maybe"}, "has_text"),
        ({"q": "cat", "from": "yesterday"}, "from"),
        ({"q": "cat", "from": "2022-01-02", "to": "2022-01-01"}, "to"),
        ({"q": "cat", "cursor": "not-a-cursor"}, "cursor"),
        ({"q": "cat", "vector_weight": "11"}, "vector_weight"),
        ({"q": "cat", "text_weight": "-1"}, "text_weight"),
        ({"q": "cat", "vector_depth": "1001"}, "vector_depth"),
        ({"q": "cat", "text_depth": "0"}, "text_depth"),
        ({"q": "cat", "cutoff": "2.5"}, "cutoff"),
    ],
)
def test_bad_search_requests_get_a_400_with_a_reason(live_server, params, field):
    status, body = get_json(live_server, "/api/v1/search/", **params)

    assert status == 400
    assert_error(body, field)


# --- Search by image ----------------------------------------------------------------------------------------------


def test_search_by_image_finds_the_photo_and_its_near_duplicate(live_server, embedded):
    status, _, body = search_by_image(live_server, image_bytes(1), profile="coast", limit=2)

    assert status == 200, body
    assert {hit["id"] for hit in body["results"]} == {embedded[DATED[1]].pk, embedded["copy.jpg"].pk}
    assert all(hit["match"]["text_rank"] is None and hit["match"]["vector_rank"] for hit in body["results"])
    assert body["model"] == "photosearch-tiny/random-seed0"


def test_search_by_image_pages_by_posting_again_to_next(live_server, embedded):
    status, _, first = search_by_image(live_server, image_bytes(1), limit=4, cutoff=0)
    assert status == 200 and first["next"]

    status, _, second = search_by_image(live_server, image_bytes(1), url=first["next"], limit=4, cutoff=0)

    assert status == 200 and "cursor=" in first["next"]
    seen = [hit["id"] for hit in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 8  # 9 photos: 4 + 4, then one more page
    assert second["next"]


@pytest.mark.parametrize(
    "files, field",
    [
        ({}, "image"),
        ({"image": ("a.jpg", "image/jpeg", b"")}, "image"),
        ({"image": ("a.txt", "text/plain", b"hello")}, "image"),
        ({"image": ("a.jpg", None, b"\xff\xd8\xff")}, "image"),
        ({"image": ("a.jpg", "image/jpeg", b"\xff\xd8\xff not really a jpeg")}, "image"),
    ],
)
def test_bad_image_uploads_get_a_400_with_a_reason(live_server, files, field):
    body, content_type = multipart({"limit": "5"}, files)

    status, _, answer = api(live_server, "POST", "/api/v1/search/by-image/", body=body, content_type=content_type)

    assert status == 400
    assert_error(answer, field)


def test_an_image_over_the_upload_cap_gets_a_413(live_server, settings):
    settings.PHOTOSEARCH_MAX_UPLOAD_BYTES = 2048
    big = image_bytes(1, size=(320, 240))
    assert len(big) > 2048

    status, _, body = search_by_image(live_server, big)

    assert status == 413
    assert_error(body, "image")


def test_an_oversized_body_is_refused_before_it_is_read(live_server, settings):
    settings.PHOTOSEARCH_MAX_UPLOAD_BYTES = 1024

    status, _, body = search_by_image(live_server, b"\xff\xd8\xff" + bytes(200_000))

    assert status == 413 and body["details"]["max_bytes"] == 1024
    assert_error(body, "image")


def test_search_by_image_is_a_read_a_token_client_needs_no_csrf_token(live_server, embedded, tokens, settings):
    settings.PHOTOSEARCH_API_PUBLIC_READS = False
    body, content_type = multipart({}, {"image": ("q.jpg", "image/jpeg", image_bytes(2))})

    anonymous = api(live_server, "POST", "/api/v1/search/by-image/", body=body, content_type=content_type)
    reader = api(
        live_server, "POST", "/api/v1/search/by-image/", body=body, content_type=content_type, token=tokens["reader"]
    )

    assert anonymous[0] == 401 and anonymous[1]["WWW-Authenticate"] == "Token"
    assert reader[0] == 200 and reader[2]["results"][0]["id"] == embedded[DATED[2]].pk


# --- Photos -------------------------------------------------------------------------------------------------------


def test_photo_detail_has_its_public_fields_and_a_similar_link(live_server, embedded):
    photo = embedded[LIGHTHOUSE]

    status, body = get_json(live_server, f"/api/v1/photos/{photo.pk}/")

    assert status == 200
    assert body["id"] == photo.pk and body["profile"] == "coast" and body["profile_id"] == photo.profile_id
    assert body["source_id"] == LIGHTHOUSE and body["text"] == "Lighthouse in the fog #coast"
    assert body["hashtags"] == ["coast"] and body["media_type"] == "image" and body["duplicate_of"] is None
    assert body["embedding_model"] == "photosearch-tiny/random-seed0" and body["embedded_at"]
    assert body["thumbnail_url"].startswith("http") and "original_url" not in body and "embedding" not in body
    status, similar = get_json(live_server, urllib.parse.urlparse(body["similar_url"]).path)
    assert status == 200 and photo.pk not in [hit["id"] for hit in similar["results"]]


def test_photo_detail_of_an_unknown_photo_is_404(live_server):
    status, body = get_json(live_server, "/api/v1/photos/999999/")

    assert status == 404 and "999999" in body["error"]
    assert_error(body)


def test_similar_returns_the_near_duplicate_first(live_server, embedded):
    status, body = get_json(live_server, f"/api/v1/photos/{embedded[DATED[1]].pk}/similar/", limit=2)

    assert status == 200
    ids = [hit["id"] for hit in body["results"]]
    assert ids[0] == embedded["copy.jpg"].pk and embedded[DATED[1]].pk not in ids
    assert body["next"] and "cursor=" in body["next"]


def test_similar_pages_and_filters(live_server, embedded):
    path = f"/api/v1/photos/{embedded[DATED[1]].pk}/similar/"
    status, first = get_json(live_server, path, profile="harbour", limit=1)
    status, _, second = api(live_server, "GET", first["next"])

    assert status == 200 and second["next"] is None
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {embedded["h1.jpg"].pk, embedded["h2.jpg"].pk}


def test_similar_of_an_unknown_photo_is_404(live_server):
    status, body = get_json(live_server, "/api/v1/photos/999999/similar/")

    assert status == 404 and "999999" in body["error"]


def test_similar_of_a_photo_not_yet_embedded_is_409(live_server, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    status, body = get_json(live_server, f"/api/v1/photos/{Photo.objects.get().pk}/similar/")

    assert status == 409 and "embed_photos" in body["error"]
    assert_error(body)


# --- Who may read, how often --------------------------------------------------------------------------------------


def test_reads_are_public_by_default_and_need_a_token_when_configured(live_server, embedded, tokens, settings):
    photo_path = f"/api/v1/photos/{embedded[LIGHTHOUSE].pk}/"
    assert get_json(live_server, photo_path)[0] == 200

    settings.PHOTOSEARCH_API_PUBLIC_READS = False
    status, headers, body = api(live_server, "GET", photo_path)
    assert status == 401 and headers["WWW-Authenticate"] == "Token"
    assert_error(body)
    assert api(live_server, "GET", photo_path, token="0" * 40)[0] == 401
    assert api(live_server, "GET", photo_path, token=tokens["reader"])[0] == 200
    assert api(live_server, "GET", "/api/v1/search/", params={"q": "fog"}, token=tokens["reader"])[0] == 200
    assert get_json(live_server, "/api/v1/search/", q="fog")[0] == 401


def test_anonymous_callers_are_throttled_and_told_when_to_retry(live_server, tokens, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "3/min"}}

    answers = [api(live_server, "GET", "/api/v1/photos/999999/") for _ in range(4)]

    assert [status for status, _, _ in answers] == [404, 404, 404, 429]
    status, headers, body = answers[-1]
    assert_error(body)
    assert 0 < body["details"]["retry_after"] <= 60 and int(headers["Retry-After"]) == body["details"]["retry_after"]
    assert api(live_server, "GET", "/api/v1/photos/999999/", token=tokens["reader"])[0] == 404  # users are not


# --- Errors everywhere --------------------------------------------------------------------------------------------


def test_unknown_api_paths_and_methods_answer_in_the_error_shape(live_server):
    status, _, body = api(live_server, "GET", "/api/v1/nothing/here/")
    assert status == 404 and "/api/v1/nothing/here/" in body["error"]
    assert_error(body)

    status, headers, body = api(live_server, "DELETE", "/api/v1/search/")
    assert status == 405 and "GET" in headers["Allow"]
    assert_error(body)

    status, headers, body = api(live_server, "PUT", "/api/v1/profiles/", json_body={})
    assert status == 405 and headers["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert_error(body)


# --- Schema and docs ----------------------------------------------------------------------------------------------


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert set(schema["paths"]) == {
        "/api/v1/search/",
        "/api/v1/search/by-image/",
        "/api/v1/photos/{photo_id}/",
        "/api/v1/photos/{photo_id}/similar/",
        "/api/v1/profiles/",
        "/api/v1/profiles/{profile_id}/",
        "/api/v1/profiles/{profile_id}/imports/",
        "/api/v1/jobs/{job_id}/",
        "/api/v1/places/",
        "/api/v1/people/",
        "/api/v1/people/{person_id}/",
        "/api/v1/people/{person_id}/photos/",
        "/api/v1/people/{person_id}/merge/",
    }
    assert set(schema["paths"]["/api/v1/profiles/"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/people/{person_id}/"]) == {"get", "patch"}
    by_image = schema["paths"]["/api/v1/search/by-image/"]["post"]
    assert by_image["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].endswith(
        "SearchByImageInputRequest"
    )
    assert {p["name"] for p in schema["paths"]["/api/v1/search/"]["get"]["parameters"]} >= {
        "q",
        "profile",
        "from",
        "to",
        "media_type",
        "has_text",
        "sort",
        "limit",
        "cursor",
        "vector_weight",
        "text_weight",
        "vector_depth",
        "text_depth",
        "cutoff",
    }
    assert "security" not in schema["paths"]["/api/v1/search/"]["get"]  # public read: no lock
    assert {} not in schema["paths"]["/api/v1/profiles/"]["post"]["security"]  # write: token needed
    assert (
        schema["paths"]["/api/v1/jobs/{job_id}/"]["get"]["responses"]["404"]["content"]["application/json"]["schema"][
            "$ref"
        ]
        == "#/components/schemas/Error"
    )


def test_the_schema_is_served(live_server):
    status, headers, body = call(live_server, "GET", "/api/schema/", params={"format": "json"})

    assert status == 200 and headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(body)["info"]["title"] == "photosearch API"


def test_swagger_ui_loads_from_local_static_files_only(live_server):
    status, headers, page = call(live_server, "GET", "/api/docs/")

    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = page.decode()
    assert "cdn.jsdelivr.net" not in html and not re.search(r"""(src|href)=["']https?://""", html)
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    }
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        status, _, content = call(live_server, "GET", asset)
        assert status == 200 and content
    assert "/api/schema/" in html
