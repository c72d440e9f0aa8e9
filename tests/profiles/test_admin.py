import pytest

from profiles.models import ImportJob, Photo, Profile
from profiles.services.imports import folder_import

pytestmark = pytest.mark.django_db


def test_photo_admin_lists_photos_with_their_thumbnails(admin_client, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1, "a.txt": "harbour at dawn"}), profile_name="p")
    photo = Photo.objects.get()

    listing = admin_client.get("/admin/profiles/photo/")
    detail = admin_client.get(f"/admin/profiles/photo/{photo.pk}/change/")
    found = admin_client.get("/admin/profiles/photo/", {"q": "harbour"})

    assert listing.status_code == 200 and f'src="{photo.thumbnail.url}"' in listing.text
    assert detail.status_code == 200 and f'src="{photo.thumbnail.url}"' in detail.text
    assert "a.jpg" in found.text


def test_profile_admin_shows_photo_and_embedded_counts(admin_client, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="trip")

    page = admin_client.get("/admin/profiles/profile/")

    assert page.status_code == 200
    assert '<td class="field-photo_count">2</td>' in page.text
    assert '<td class="field-embedded_count">0</td>' in page.text


def test_the_admin_is_for_staff_only(client):
    assert client.get("/admin/profiles/photo/").status_code == 302


def test_a_folder_profile_can_be_added_with_its_folder(admin_client, tmp_path):
    response = admin_client.post(
        "/admin/profiles/profile/add/",
        {
            "source_kind": "folder",
            "handle": "shoebox",
            "display_name": "",
            "folder_path": str(tmp_path),
            "import_jobs-TOTAL_FORMS": "0",
            "import_jobs-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    assert Profile.objects.get(handle="shoebox").source_options == {"path": str(tmp_path)}


def test_a_profile_form_refuses_a_missing_folder_and_an_ambiguous_flickr_target(admin_client, tmp_path):
    base = {"display_name": "", "import_jobs-TOTAL_FORMS": "0", "import_jobs-INITIAL_FORMS": "0"}
    folder = admin_client.post(
        "/admin/profiles/profile/add/",
        {**base, "source_kind": "folder", "handle": "x", "folder_path": str(tmp_path / "no")},
    )
    flickr = admin_client.post(
        "/admin/profiles/profile/add/",
        {**base, "source_kind": "flickr", "handle": "y", "flickr_album": "1", "flickr_user": "u"},
    )

    assert "No such folder on the server (give an absolute path)." in folder.text  # the API's words: one rule
    assert "Give an album id or a user, not both." in flickr.text
    assert not Profile.objects.exists()


def test_import_now_enqueues_a_job_that_imports_the_folder(
    admin_client, photo_folder, django_capture_on_commit_callbacks
):
    root = photo_folder({"a.jpg": 1, "b.jpg": 2})
    profile = Profile.objects.create(source_kind="folder", handle="box", source_options={"path": str(root)})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post("/admin/profiles/profile/", {"action": "import_now", "_selected_action": [profile.pk]})
    job = ImportJob.objects.get()
    assert (job.profile, job.status, len(callbacks)) == (profile, "queued", 1)

    callbacks[0]()  # what the broker would deliver; no broker here, so it runs in-process

    job.refresh_from_db()
    assert (job.status, job.imported) == ("succeeded", 2)
    assert job.imported == Photo.objects.filter(profile=profile).count()


def test_fast_update_and_reembed_actions(admin_client, photo_folder, django_capture_on_commit_callbacks):
    root = photo_folder({"a.jpg": 1})
    profile = Profile.objects.create(source_kind="folder", handle="box", source_options={"path": str(root)})

    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post("/admin/profiles/profile/", {"action": "fast_update", "_selected_action": [profile.pk]})
    assert ImportJob.objects.get().options == {"fast_update": True}

    Photo.objects.create(
        profile=profile, source_id="x", content_hash="0" * 64, embedding=[1, 0, 0], embedding_model="m"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/profiles/profile/", {"action": "reembed", "_selected_action": [profile.pk]}, follow=True
        )
    assert "Queued 1 photos for embedding." in response.text
    assert Photo.objects.get(source_id="x").embedding is None and len(callbacks) == 1


def test_the_job_list_refreshes_itself_while_an_import_runs(admin_client):
    profile = Profile.objects.create(source_kind="folder", handle="box")
    job = ImportJob.objects.create(profile=profile, status="running", total=10, imported=3)

    page = admin_client.get("/admin/profiles/importjob/")

    assert 'http-equiv="refresh"' in page.text and "3/10" in page.text
    job.status = "succeeded"
    job.save()
    assert 'http-equiv="refresh"' not in admin_client.get("/admin/profiles/importjob/").text


def test_photo_admin_search_uses_the_full_text_index(admin_client, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1, "a.txt": "Boats in the harbours", "b.jpg": 2}), profile_name="p")

    stemmed = admin_client.get("/admin/profiles/photo/", {"q": "harbour boat"})
    excluded = admin_client.get("/admin/profiles/photo/", {"q": "harbour -boats"})
    by_id = admin_client.get("/admin/profiles/photo/", {"q": "b.jpg"})

    assert "a.jpg" in stemmed.text and "b.jpg" not in stemmed.text
    assert "a.jpg" not in excluded.text
    assert "b.jpg" in by_id.text


def test_the_profile_page_links_to_its_search_and_shows_recent_imports(admin_client, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="trip")
    profile = Profile.objects.get()

    page = admin_client.get(f"/admin/profiles/profile/{profile.pk}/change/")

    assert 'href="/?profile=trip"' in page.text
    assert "Recent imports" in page.text and "Succeeded" in page.text


def test_photo_admin_shows_place_people_and_words_in_the_image_and_filters_by_country(admin_client, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    Photo.objects.filter(source_id="a.jpg").update(
        city="Porto", country="Portugal", country_code="PT", people="maria", ocr_text="MENU DO DIA"
    )
    photo = Photo.objects.get(source_id="a.jpg")

    detail = admin_client.get(f"/admin/profiles/photo/{photo.pk}/change/")
    by_country = admin_client.get("/admin/profiles/photo/", {"country": "Portugal"})

    assert detail.status_code == 200
    assert "MENU DO DIA" in detail.text and "Porto" in detail.text and "maria" in detail.text
    assert "a.jpg" in by_country.text and "b.jpg" not in by_country.text
    assert "Porto, Portugal" in by_country.text
