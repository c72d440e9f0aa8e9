"""The source registry is the one place a source kind's options live: the API, the admin and the commands offer its
options and apply its rules, word for word."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from profiles.admin import ProfileForm
from profiles.apis import ProfileOptionsInputSerializer
from profiles.models import Profile, SourceKind
from profiles.sources.registry import SOURCE_KINDS, SourceOptionsInvalid, source_options_check
from tests.support.api import api, make_tokens

pytestmark = pytest.mark.django_db


def test_every_source_kind_has_one_entry_and_every_option_a_form_and_an_api_field():
    options = {option for spec in SOURCE_KINDS.values() for option in spec.options}

    assert set(SOURCE_KINDS) == set(SourceKind.values)
    assert {option.admin_field for option in options} <= set(ProfileForm().fields)
    assert set(ProfileOptionsInputSerializer().fields) == {option.name for option in options}


def test_options_are_checked_and_normalised(tmp_path, settings):
    settings.FLICKR_API_KEY = "key"
    folder = tmp_path / "trip"
    folder.mkdir()

    assert source_options_check(kind="folder", options={"path": f"{tmp_path}/./trip"}) == {"path": str(folder)}
    assert source_options_check(kind="instagram", options={"login": "@alice"}) == {"login": "alice"}
    with pytest.raises(SourceOptionsInvalid) as refused:
        source_options_check(kind="flickr", options={"album": "1", "user": "u", "path": "/x"})
    assert set(refused.value.errors) == {"album", "path"}
    with pytest.raises(SourceOptionsInvalid) as refused:
        source_options_check(kind="instagram", options={"login": "alice", "cookies_file": str(folder)})
    assert "Give one way to log in" in " ".join(refused.value.errors["cookies_file"])


def test_admin_api_and_command_refuse_a_folder_outside_the_import_roots_in_the_same_words(
    tmp_path, settings, admin_client, live_server, django_user_model
):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir(), outside.mkdir()
    settings.PHOTOSEARCH_IMPORT_ROOTS = [allowed]
    with pytest.raises(SourceOptionsInvalid) as refused:
        source_options_check(kind="folder", options={"path": str(outside)})
    reason = refused.value.errors["path"][0]
    assert "PHOTOSEARCH_IMPORT_ROOTS" in reason

    form = admin_client.post(
        "/admin/profiles/profile/add/",
        {
            "source_kind": "folder",
            "handle": "x",
            "display_name": "",
            "folder_path": str(outside),
            "import_jobs-TOTAL_FORMS": "0",
            "import_jobs-INITIAL_FORMS": "0",
        },
    )
    status, _, body = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        token=make_tokens(django_user_model)["staff"],
        json_body={"source_kind": "folder", "handle": "y", "options": {"path": str(outside)}},
    )
    with pytest.raises(CommandError) as command:
        call_command("import_folder", str(outside), "--profile", "z", "--no-progress")

    assert reason in form.text.replace("&#x27;", "'")
    assert status == 400 and body["error"] == f"options.path: {reason}"
    assert reason in str(command.value)
    assert not Profile.objects.exists()
    assert source_options_check(kind="folder", options={"path": str(allowed)}) == {"path": str(allowed)}


def test_a_profile_stored_before_the_roots_were_set_cannot_import_from_outside_them(photo_folder, tmp_path, settings):
    from profiles.models import ImportJob, Photo
    from profiles.services.imports import import_job_create, import_job_run
    from profiles.services.profiles import profile_get_or_create
    from profiles.sources.base import SourceNotFound

    folder = photo_folder({"a.jpg": 1})
    profile = profile_get_or_create(source_kind="folder", handle="old", source_options={"path": str(folder)})
    settings.PHOTOSEARCH_IMPORT_ROOTS = [tmp_path / "elsewhere"]

    with pytest.raises(SourceNotFound, match="PHOTOSEARCH_IMPORT_ROOTS"):
        import_job_run(job_id=import_job_create(profile=profile).pk)

    assert ImportJob.objects.get().status == "failed" and not Photo.objects.exists()
