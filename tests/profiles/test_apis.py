"""The JSON API's profile and import-job endpoints over real HTTP (pytest-django's live server), against the real
database. Without a broker an import runs in-process when its request commits, so a job is finished by the time the
test looks at it."""

from __future__ import annotations

import urllib.parse

import pytest

from profiles.models import ImportJob, Photo, Profile
from profiles.services.imports import folder_import
from tests.support.api import api, assert_error

pytestmark = pytest.mark.django_db(transaction=True)


def path_of(url: str) -> str:
    return urllib.parse.urlparse(url).path


# --- Reads --------------------------------------------------------------------------------------------------------


def test_profiles_list_has_photo_counts_and_the_last_import(live_server, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}, name="alpha"), profile_name="alpha")
    Photo.objects.update(embedding=[0.5] * 8, embedding_model="m")  # counted, not searched: any vector will do
    folder_import(path=photo_folder({"c.jpg": 3, "bad.jpg": b"junk"}, name="beta"), profile_name="beta")

    status, _, body = api(live_server, "GET", "/api/v1/profiles/")

    assert status == 200
    alpha, beta = body["results"]
    assert (alpha["handle"], alpha["source_kind"], alpha["photo_count"], alpha["embedded_count"]) == (
        "alpha",
        "folder",
        2,
        2,
    )
    assert (beta["handle"], beta["photo_count"], beta["embedded_count"]) == ("beta", 1, 0)
    assert beta["last_job"]["status"] == "succeeded"
    assert (beta["last_job"]["imported"], beta["last_job"]["skipped"]) == (1, 1)
    assert "source_options" not in beta  # server paths and session files stay private
    status, _, detail = api(live_server, "GET", path_of(beta["url"]))
    assert status == 200 and detail == beta


def test_a_profile_never_imported_has_no_last_job(live_server):
    profile = Profile.objects.create(source_kind="folder", handle="empty")

    status, _, body = api(live_server, "GET", f"/api/v1/profiles/{profile.pk}/")

    assert status == 200 and body["last_job"] is None and body["photo_count"] == 0


def test_an_unknown_profile_or_job_is_404(live_server):
    for path in ("/api/v1/profiles/999999/", "/api/v1/jobs/999999/"):
        status, _, body = api(live_server, "GET", path)
        assert status == 404 and "999999" in body["error"]
        assert_error(body)


def test_a_job_reports_its_counts_and_problems(live_server, photo_folder):
    job = folder_import(path=photo_folder({"a.jpg": 1, "bad.jpg": b"junk"}), profile_name="p")

    status, _, body = api(live_server, "GET", f"/api/v1/jobs/{job.pk}/")

    assert status == 200
    assert (body["id"], body["profile"], body["status"], body["total"], body["processed"]) == (
        job.pk,
        "p",
        "succeeded",
        2,
        2,
    )
    assert (body["imported"], body["skipped"], body["fast_update"]) == (1, 1, False)
    assert [problem["source_id"] for problem in body["problems"]] == ["bad.jpg"]
    assert body["problems"][0]["reason"] and body["finished_at"]


def test_reads_need_a_token_when_reads_are_not_public(live_server, tokens, settings):
    settings.PHOTOSEARCH_API_PUBLIC_READS = False

    status, headers, body = api(live_server, "GET", "/api/v1/profiles/")

    assert status == 401 and headers["WWW-Authenticate"] == "Token"
    assert_error(body)
    assert api(live_server, "GET", "/api/v1/profiles/", token=tokens["reader"])[0] == 200


# --- Create a profile and import it -------------------------------------------------------------------------------


def test_staff_creates_a_folder_profile_and_its_import_runs(live_server, photo_folder, tokens):
    folder = photo_folder({"a.jpg": 1, "b.jpg": 2, "a.txt": "a red door"})

    status, headers, body = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        token=tokens["staff"],
        json_body={
            "source_kind": "folder",
            "handle": "doors",
            "display_name": "Doors",
            "options": {"path": str(folder)},
        },
    )

    assert status == 201, body
    profile = Profile.objects.get()
    assert (profile.handle, profile.display_name, profile.source_options) == ("doors", "Doors", {"path": str(folder)})
    assert body["profile"]["id"] == profile.pk and path_of(headers["Location"]) == f"/api/v1/profiles/{profile.pk}/"
    assert body["profile"]["photo_count"] == 2  # no broker: the import ran when the request committed
    assert body["job"]["profile"] == "doors" and body["job"]["status"] == "succeeded"
    status, _, job = api(live_server, "GET", path_of(body["job"]["url"]))
    assert status == 200 and job["imported"] == 2


def test_creating_a_profile_needs_a_staff_token(live_server, photo_folder, tokens):
    payload = {"source_kind": "folder", "handle": "x", "options": {"path": str(photo_folder({"a.jpg": 1}))}}

    anonymous = api(live_server, "POST", "/api/v1/profiles/", json_body=payload)
    reader = api(live_server, "POST", "/api/v1/profiles/", json_body=payload, token=tokens["reader"])
    bad_token = api(live_server, "POST", "/api/v1/profiles/", json_body=payload, token="f" * 40)

    assert anonymous[0] == 401 and anonymous[1]["WWW-Authenticate"] == "Token"
    assert reader[0] == 403 and "staff" in reader[2]["error"]
    assert bad_token[0] == 401
    for _, _, body in (anonymous, reader, bad_token):
        assert_error(body)
    assert not Profile.objects.exists() and not ImportJob.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "source_kind"),
        ({"source_kind": "tumblr", "handle": "x"}, "source_kind"),
        ({"source_kind": "folder"}, "handle"),
        ({"source_kind": "folder", "handle": "  "}, "handle"),
        ({"source_kind": "folder", "handle": "x"}, "options.path"),
        ({"source_kind": "folder", "handle": "x", "options": {"path": "/no/such/folder"}}, "options.path"),
        ({"source_kind": "folder", "handle": "x", "options": {"path": "relative/folder"}}, "options.path"),
        ({"source_kind": "folder", "handle": "x", "options": {"path": "{tmp}", "album": "1"}}, "options.album"),
        ({"source_kind": "folder", "handle": "x", "options": {"path": "{tmp}", "colour": "red"}}, "options.colour"),
        ({"source_kind": "folder", "handle": "x", "options": "{tmp}"}, "options"),
        ({"source_kind": "urls", "handle": "x", "options": {"file": "/no/such/list.json"}}, "options.file"),
        ({"source_kind": "urls", "handle": "x", "options": {"file": "{tmp}"}}, "options.file"),  # a folder
        ({"source_kind": "flickr", "handle": "x", "options": {"album": "1", "user": "me"}}, "options.album"),
        ({"source_kind": "flickr", "handle": "x", "options": {}}, "options.album"),
        (
            {"source_kind": "instagram", "handle": "x", "options": {"session_file": "/no/such/session"}},
            "options.session_file",
        ),
        ({"source_kind": "instagram", "handle": "x", "options": {"login": "not a name!"}}, "options.login"),
    ],
)
def test_bad_profiles_get_a_400_with_a_reason(live_server, tokens, tmp_path, settings, payload, field):
    settings.FLICKR_API_KEY = "key"
    options = payload.get("options")
    if isinstance(options, dict):
        payload = {**payload, "options": {k: v.replace("{tmp}", str(tmp_path)) for k, v in options.items()}}

    status, _, body = api(live_server, "POST", "/api/v1/profiles/", json_body=payload, token=tokens["staff"])

    assert status == 400
    assert_error(body, field)
    assert not Profile.objects.exists()


def test_a_flickr_profile_needs_the_server_to_have_an_api_key(live_server, tokens, settings):
    settings.FLICKR_API_KEY = ""

    status, _, body = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        token=tokens["staff"],
        json_body={"source_kind": "flickr", "handle": "x", "options": {"album": "721"}},
    )

    assert status == 400 and "FLICKR_API_KEY" in body["error"]
    assert_error(body, "options.album")


def test_a_body_that_is_not_json_gets_a_400_or_415(live_server, tokens):
    broken = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        body=b"{not json",
        content_type="application/json",
        token=tokens["staff"],
    )
    form = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        body=b"handle=x",
        token=tokens["staff"],
        content_type="application/x-www-form-urlencoded",
    )

    assert broken[0] == 400 and "JSON" in broken[2]["error"]
    assert form[0] == 415
    assert_error(broken[2])
    assert_error(form[2])


def test_creating_a_profile_that_exists_is_409(live_server, photo_folder, tokens):
    folder = photo_folder({"a.jpg": 1})
    folder_import(path=folder, profile_name="mine")
    payload = {"source_kind": "folder", "handle": "mine", "options": {"path": str(folder)}}

    status, _, body = api(live_server, "POST", "/api/v1/profiles/", json_body=payload, token=tokens["staff"])

    assert status == 409 and "imports" in body["error"]
    assert_error(body)
    assert ImportJob.objects.count() == 1


def test_an_admin_session_works_with_a_csrf_token_and_fails_without(
    live_server, photo_folder, client, django_user_model
):
    client.force_login(django_user_model.objects.create_user("admin", password="pw", is_staff=True))
    session = client.cookies["sessionid"].value
    payload = {"source_kind": "folder", "handle": "x", "options": {"path": str(photo_folder({"a.jpg": 1}))}}
    csrf = "a" * 32

    without = api(
        live_server, "POST", "/api/v1/profiles/", json_body=payload, headers={"Cookie": f"sessionid={session}"}
    )
    with_token = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        json_body=payload,
        headers={"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf},
    )

    assert without[0] == 403 and "CSRF" in without[2]["error"]
    assert_error(without[2])
    assert with_token[0] == 201


# --- Import again ---------------------------------------------------------------------------------------------------


def test_staff_starts_another_import_and_follows_the_job(live_server, photo_folder, tokens):
    folder = photo_folder({"a.jpg": 1})
    profile = folder_import(path=folder, profile_name="p").profile
    photo_folder({"b.jpg": 2})  # a new photo in the same folder

    status, headers, body = api(
        live_server,
        "POST",
        f"/api/v1/profiles/{profile.pk}/imports/",
        json_body={"fast_update": True},
        token=tokens["staff"],
    )

    assert status == 202, body
    job = ImportJob.objects.latest("created_at")
    assert body["id"] == job.pk and path_of(headers["Location"]) == f"/api/v1/jobs/{job.pk}/"
    assert body["fast_update"] is True and job.options == {"fast_update": True}
    status, _, followed = api(live_server, "GET", path_of(body["url"]))
    assert (followed["status"], followed["imported"], followed["unchanged"]) == ("succeeded", 1, 1)


def test_an_import_without_a_body_is_a_plain_import(live_server, photo_folder, tokens):
    profile = folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p").profile

    status, _, body = api(live_server, "POST", f"/api/v1/profiles/{profile.pk}/imports/", token=tokens["staff"])

    assert status == 202 and body["fast_update"] is False and body["unchanged"] == 1


def test_starting_an_import_needs_staff_an_existing_profile_and_a_good_body(live_server, photo_folder, tokens):
    profile = folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p").profile
    url = f"/api/v1/profiles/{profile.pk}/imports/"

    assert api(live_server, "POST", url)[0] == 401
    assert api(live_server, "POST", url, token=tokens["reader"])[0] == 403
    status, _, body = api(live_server, "POST", "/api/v1/profiles/999999/imports/", token=tokens["staff"])
    assert status == 404 and "999999" in body["error"]
    status, _, body = api(live_server, "POST", url, json_body={"fast_update": "maybe"}, token=tokens["staff"])
    assert status == 400
    assert_error(body, "fast_update")
    assert ImportJob.objects.count() == 1
