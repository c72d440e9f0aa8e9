"""The People API over real HTTP (the live server) on real faces (tests/data/faces): the list (named first, a face
each, ``q``), a person, its photos a page at a time, the photo detail's ``faces``, renaming, hiding and merging by
staff only, anonymous reads behind the one public-reads switch, and nothing at all while faces are off."""

from __future__ import annotations

import urllib.parse

import pytest

from search.models import Face, Person
from tests.search.people_library import HANDLE, two_persons
from tests.support.api import api, assert_error, call, get_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(settings, tmp_path):
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    return two_persons(tmp_path / "faces")


def test_the_list_puts_named_persons_first_with_photo_counts_and_a_face_each(live_server, people):
    status, body = get_json(live_server, "/api/v1/people/")

    assert status == 200 and body["enabled"] is True and body["notice"] is None
    assert [(p["id"], p["name"], p["photo_count"]) for p in body["results"]] == [
        (people.salley.pk, f"@{HANDLE}", 4),
        (people.savage.pk, None, 3),
    ]
    first = body["results"][0]
    assert first["handle"] == HANDLE and first["typed_name"] is None and first["name_evidence"]["source"] == "mention"
    status, headers, picture = call(live_server, "GET", first["cover_url"])
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and picture[:2] == b"\xff\xd8"


@pytest.mark.parametrize("q", [HANDLE, "@JSAL", "salley"[1:]])  # by handle, with "@", any case; part of it
def test_q_finds_a_person_by_handle(live_server, people, q):
    assert [p["id"] for p in get_json(live_server, "/api/v1/people/", q=q)[1]["results"]] == [people.salley.pk]


def test_q_finds_a_person_by_typed_name_and_nobody_else(live_server, people):
    Person.objects.filter(pk=people.savage.pk).update(name="John Savage")

    assert [p["id"] for p in get_json(live_server, "/api/v1/people/", q="savage")[1]["results"]] == [people.savage.pk]
    assert get_json(live_server, "/api/v1/people/", q="nobody")[1]["results"] == []


def test_the_list_pages_with_a_cursor(live_server, people):
    status, body = get_json(live_server, "/api/v1/people/", limit=1)
    assert status == 200 and [p["id"] for p in body["results"]] == [people.salley.pk] and body["next"]
    status, _, second = api(live_server, "GET", body["next"])
    assert [p["id"] for p in second["results"]] == [people.savage.pk] and second["next"] is None


def test_a_person_and_its_photos_a_page_at_a_time(live_server, people):
    status, person = get_json(live_server, f"/api/v1/people/{people.salley.pk}/")
    assert status == 200 and person["photo_count"] == 4 and person["face_count"] == 4

    status, _, first = api(live_server, "GET", person["photos_url"], params={"limit": 3})
    status, _, rest = api(live_server, "GET", first["next"])

    photos = [*first["results"], *rest["results"]]
    assert sorted(photo["id"] for photo in photos) == sorted(photo.pk for photo in people.salley_photos)
    assert rest["next"] is None and all(photo["face_url"] and photo["thumbnail_url"] for photo in photos)
    assert {photo["face_id"] for photo in photos} == set(people.salley.faces.values_list("id", flat=True))
    assert get_json(live_server, "/api/v1/people/999999/")[0] == 404


def test_the_photo_detail_lists_its_faces_with_their_persons(live_server, people):
    photo = people.salley_photos[0]
    face = people.face_in(photo)

    status, body = get_json(live_server, f"/api/v1/photos/{photo.pk}/")

    assert status == 200 and len(body["faces"]) == 1
    (shown,) = body["faces"]
    assert shown["person"] == {"id": people.salley.pk, "name": f"@{HANDLE}"}
    assert shown["box"] == pytest.approx([face.x, face.y, face.w, face.h], abs=1e-4)
    x, y, w, h = shown["box"]
    assert 0 <= x < x + w <= 1 and 0 <= y < y + h <= 1 and 0.05 < w < 0.9  # a face, not the whole photo


def test_staff_rename_and_hide_others_may_not(live_server, people, tokens):
    path = f"/api/v1/people/{people.salley.pk}/"
    status, _, body = api(live_server, "PATCH", path, json_body={"name": "John"})
    assert status == 401 and set(body) == {"error", "details"}
    status, _, body = api(live_server, "PATCH", path, json_body={"name": "John"}, token=tokens["reader"])
    assert status == 403

    status, _, body = api(live_server, "PATCH", path, json_body={"name": "  John   Salley "}, token=tokens["staff"])
    assert status == 200 and (body["name"], body["typed_name"]) == ("John Salley", "John Salley")
    status, _, body = api(live_server, "PATCH", path, json_body={"name": ""}, token=tokens["staff"])
    assert status == 200 and body["name"] == f"@{HANDLE}" and body["typed_name"] is None

    status, _, body = api(live_server, "PATCH", path, json_body={"hidden": True}, token=tokens["staff"])
    assert status == 200 and body["hidden"] is True
    assert [p["id"] for p in get_json(live_server, "/api/v1/people/")[1]["results"]] == [people.savage.pk]
    assert len(get_json(live_server, "/api/v1/people/", include_hidden="true")[1]["results"]) == 2
    # Hidden: its faces show no person on the photo
    assert get_json(live_server, f"/api/v1/photos/{people.salley_photos[0].pk}/")[1]["faces"][0]["person"] is None

    status, _, body = api(live_server, "PATCH", path, json_body={}, token=tokens["staff"])
    assert status == 400 and set(body) == {"error", "details"}
    status, _, body = api(live_server, "PATCH", path, json_body={"name": "x" * 201}, token=tokens["staff"])
    assert status == 400
    assert_error(body, "name")


def test_staff_merge_keeps_the_typed_name_of_the_person_merged_into(live_server, people, tokens):
    Person.objects.filter(pk=people.salley.pk).update(name="Salley")
    Person.objects.filter(pk=people.savage.pk).update(name="Savage")
    path = f"/api/v1/people/{people.salley.pk}/merge/"
    assert api(live_server, "POST", path, json_body={"from": [people.savage.pk]}, token=tokens["reader"])[0] == 403

    status, _, body = api(live_server, "POST", path, json_body={"from": [people.savage.pk]}, token=tokens["staff"])

    assert status == 200 and body["name"] == "Salley" and body["photo_count"] == 7
    assert not Person.objects.filter(pk=people.savage.pk).exists()
    assert get_json(live_server, f"/api/v1/people/{people.savage.pk}/")[0] == 404


def test_merge_takes_the_typed_name_from_the_other_when_this_one_has_none(live_server, people, tokens):
    Person.objects.filter(pk=people.savage.pk).update(name="Savage")
    path = f"/api/v1/people/{people.salley.pk}/merge/"

    status, _, body = api(live_server, "POST", path, json_body={"from": [people.savage.pk]}, token=tokens["staff"])

    assert status == 200 and body["name"] == "Savage" and body["face_count"] == 7


@pytest.mark.parametrize("sent", [{"from": "self"}, {"from": [999999]}, {"from": []}, {"from": ["x"]}, {}], ids=str)
def test_a_bad_merge_names_from(live_server, people, tokens, sent):
    if sent.get("from") == "self":
        sent = {"from": [people.salley.pk]}
    path = f"/api/v1/people/{people.salley.pk}/merge/"

    status, _, body = api(live_server, "POST", path, json_body=sent, token=tokens["staff"])

    assert status == 400 and body["error"].startswith(("from: ", "from.0: ")) and "from" in body["details"], body
    assert Person.objects.count() == 2 and Face.objects.filter(person=people.salley).count() == 4


def test_anonymous_reads_of_persons_and_face_pictures_follow_the_public_reads_switch(
    live_server, people, tokens, settings, client
):
    cover = urllib.parse.urlsplit(get_json(live_server, f"/api/v1/people/{people.salley.pk}/")[1]["cover_url"]).path
    assert b"".join(client.get(cover).streaming_content)[:2] == b"\xff\xd8"
    settings.PHOTOSEARCH_API_PUBLIC_READS = False

    for path in (
        "/api/v1/people/",
        f"/api/v1/people/{people.salley.pk}/",
        f"/api/v1/people/{people.salley.pk}/photos/",
    ):
        status, _, body = api(live_server, "GET", path)
        assert status == 401 and set(body) == {"error", "details"}, path
        assert api(live_server, "GET", path, token=tokens["reader"])[0] == 200, path
    # Media through Django's middleware (the live server answers /media/ itself, before any middleware).
    assert client.get(cover).status_code == 403
    assert client.get(cover, headers={"Authorization": f"Token {tokens['reader']}"}).status_code == 200
    for page in ("/people/", f"/people/{people.salley.pk}/"):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), page


def test_with_faces_off_nothing_of_a_person_shows(live_server, people, tokens, settings):
    settings.PHOTOSEARCH_FACES = "none"

    status, body = get_json(live_server, "/api/v1/people/")
    assert status == 200 and body["results"] == [] and body["enabled"] is False
    assert "PHOTOSEARCH_FACES=dlib" in body["notice"]
    assert get_json(live_server, f"/api/v1/people/{people.salley.pk}/")[0] == 404
    assert get_json(live_server, f"/api/v1/people/{people.salley.pk}/photos/")[0] == 404
    assert get_json(live_server, f"/api/v1/photos/{people.salley_photos[0].pk}/")[1]["faces"] == []
    path = f"/api/v1/people/{people.salley.pk}/"
    status, _, body = api(live_server, "PATCH", path, json_body={"name": "X"}, token=tokens["staff"])
    assert status == 409 and "PHOTOSEARCH_FACES" in body["error"]
    assert Person.objects.get(pk=people.salley.pk).name == ""
