"""The admin's persons and faces on real faces (tests/data/faces), through the admin client: the persons list (a face
each, photo counts, search by name or handle), renaming by editing the name, "Merge selected", "Hide"/"Show", and the
faces' read-only list with its "Not this person" action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from search.models import Face, Person
from tests.search.people_library import HANDLE, two_persons

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(settings, tmp_path):
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    return two_persons(tmp_path / "faces")


def action(client, model: str, name: str, ids: list[int]):
    return client.post(
        f"/admin/search/{model}/", {"action": name, "_selected_action": [str(pk) for pk in ids]}, follow=True
    )


def test_the_persons_list_shows_a_face_and_photo_counts_and_finds_by_handle(admin_client, people):
    listing = admin_client.get("/admin/search/person/").content.decode()
    assert listing.count('<img src="/media/faces/') == 2 and f"@{HANDLE}" in listing
    assert '<td class="field-photo_count">4</td>' in listing and '<td class="field-photo_count">3</td>' in listing

    found = admin_client.get("/admin/search/person/", {"q": HANDLE}).content.decode()
    assert f"/admin/search/person/{people.salley.pk}/change/" in found
    assert f"/admin/search/person/{people.savage.pk}/change/" not in found


def test_a_name_typed_in_the_admin_is_kept_and_cleared_back_to_the_handle(admin_client, people):
    url = f"/admin/search/person/{people.salley.pk}/change/"
    response = admin_client.post(url, {"name": " John  Salley ", "hidden": ""})
    assert response.status_code == 302
    assert Person.objects.get(pk=people.salley.pk).name == "John Salley"

    admin_client.post(url, {"name": "", "hidden": "on"})
    person = Person.objects.get(pk=people.salley.pk)
    assert (person.name, person.shown_name, person.hidden) == ("", f"@{HANDLE}", True)


def test_merge_selected_moves_every_face_into_the_person_with_most_photos(admin_client, people):
    Person.objects.filter(pk=people.savage.pk).update(name="Savage")

    page = action(admin_client, "person", "merge_selected", [people.salley.pk, people.savage.pk]).content.decode()

    assert "Merged 2 persons into Savage" in page
    assert list(Person.objects.values_list("pk", "name")) == [(people.salley.pk, "Savage")]
    assert Face.objects.filter(person=people.salley).count() == 7


def test_hide_and_show_selected(admin_client, people):
    action(admin_client, "person", "hide_selected", [people.savage.pk])
    assert Person.objects.get(pk=people.savage.pk).hidden and not Person.objects.get(pk=people.salley.pk).hidden

    action(admin_client, "person", "show_selected", [people.savage.pk])
    assert not Person.objects.get(pk=people.savage.pk).hidden


def test_faces_are_listed_read_only_and_not_this_person_takes_them_away(admin_client, people):
    listing = admin_client.get("/admin/search/face/").content.decode()
    assert listing.count('<img src="/media/faces/') == 7 and f"/photos/{people.salley_photos[0].pk}/" in listing
    face = people.face_in(people.salley_photos[0])
    assert admin_client.get(f"/admin/search/face/{face.pk}/change/").status_code == 200  # view only
    assert admin_client.post(f"/admin/search/face/{face.pk}/change/", {"person": ""}).status_code == 403

    action(admin_client, "face", "not_this_person", [face.pk])

    face.refresh_from_db()
    assert (face.person_id, face.rejected_person_id) == (None, people.salley.pk)
    assert Face.objects.filter(person=people.salley).count() == 3


def test_not_this_person_is_offered_only_to_those_who_may_change_persons(client, people, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_face"))
    client.force_login(clerk)
    assert b'value="not_this_person"' not in client.get("/admin/search/face/").content
    face = people.face_in(people.salley_photos[0])
    action(client, "face", "not_this_person", [face.pk])
    assert Face.objects.get(pk=face.pk).person_id == people.salley.pk

    clerk.user_permissions.add(Permission.objects.get(codename="change_person"))
    client.force_login(django_user_model.objects.get(pk=clerk.pk))
    assert b'value="not_this_person"' in client.get("/admin/search/face/").content
