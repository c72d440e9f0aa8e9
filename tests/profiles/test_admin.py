import pytest

from profiles.models import Photo
from profiles.services import folder_import

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
