"""The People pages in a real Chromium against the live server, on real faces (tests/data/faces): the People page (a
face per person, photo counts, named first), a person's photos, named boxes over the faces of a photo, the edits a
staff user makes there (rename, merge, "not this person"), a phone's width, faces off, and faces_forget."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from search.models import Face, Person
from tests.search.people_library import HANDLE, two_persons

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 664}


@pytest.fixture
def people(settings, tmp_path):
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    return two_persons(tmp_path / "faces")


def sign_in(page, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_load_state()


def loaded(image) -> bool:
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_the_people_page_shows_a_face_per_person_named_first_and_leads_to_their_photos(live_server, page, people):
    page.goto(live_server.url + "/")
    page.click("header nav >> text=People")

    cards = page.locator("#people .person-card")
    assert cards.count() == 2
    assert cards.locator(".person-name").all_inner_texts() == [f"@{HANDLE}", "Unnamed"]
    assert cards.locator(".photo-count").all_inner_texts() == ["4 photos", "3 photos"]
    assert all(loaded(cards.nth(i).locator("img.face")) for i in range(2))
    assert page.locator("header nav a[aria-current=page]").inner_text() == "People"

    cards.first.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"@{HANDLE}"
    tiles = page.locator("#person-photos li.tile")
    assert sorted(tiles.evaluate_all("els => els.map(e => +e.dataset.photoId)")) == sorted(
        photo.pk for photo in people.salley_photos
    )
    assert page.locator("form.rename").count() == 0 and page.locator("form.not-person").count() == 0  # anonymous

    page.click("text=Search among their photos")  # the person filter: their faces, or their handle on a post
    page.wait_for_load_state()
    found = page.locator("#results li.tile").evaluate_all("els => els.map(e => +e.dataset.photoId)")
    assert sorted(found) == sorted(photo.pk for photo in people.salley_photos)

    page.goto(live_server.url + "/people/?q=%40jsal")
    assert page.locator("#people .person-card").count() == 1


def test_the_photo_page_draws_a_named_box_over_each_face(live_server, page, people):
    photo = people.salley_photos[0]
    face = people.face_in(photo)

    page.goto(f"{live_server.url}/photos/{photo.pk}/")

    box = page.locator(".photo-frame a.face-box")
    assert box.count() == 1 and box.locator(".face-label").inner_text() == f"@{HANDLE}"
    image = page.locator(".photo-frame img").bounding_box()
    drawn = box.bounding_box()
    # Where the engine found the face, within a few pixels, over the image as shown.
    assert drawn["x"] == pytest.approx(image["x"] + face.x * image["width"], abs=3)
    assert drawn["y"] == pytest.approx(image["y"] + face.y * image["height"], abs=3)
    assert drawn["width"] == pytest.approx(face.w * image["width"], abs=3)
    assert page.locator(".faces-list a").all_inner_texts() == [f"@{HANDLE}"]

    box.click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/people/{people.salley.pk}/"


def test_staff_rename_merge_and_take_a_face_away_on_the_person_page(live_server, page, people, django_user_model):
    django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    sign_in(page, live_server.url, "staff")
    page.goto(f"{live_server.url}/people/{people.salley.pk}/")

    page.click("details.person-edit summary")
    page.fill("#person-name", "John Salley")
    page.click("form.rename button")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "John Salley"
    assert "Renamed to John Salley" in page.locator(".notices").inner_text()

    page.click("details.person-edit summary")
    page.select_option("#merge-from", str(people.savage.pk))
    page.click("form.merge button")
    page.wait_for_load_state()
    assert page.locator("#person-photos li.tile").count() == 7
    assert not Person.objects.filter(pk=people.savage.pk).exists()

    tile = page.locator(f"#person-photos li.tile[data-photo-id='{people.savage_photos[0].pk}']")
    assert tile.locator("form.not-person button").inner_text() == "Not John Salley"
    tile.locator("form.not-person button").click()
    page.wait_for_load_state()
    assert page.locator("#person-photos li.tile").count() == 6
    face = people.face_in(people.savage_photos[0])
    assert (face.person_id, face.rejected_person_id) == (None, people.salley.pk)


def test_a_signed_in_user_without_the_right_sees_no_forms_and_may_not_post(
    live_server, page, people, django_user_model
):
    django_user_model.objects.create_user("reader", password="pw")
    sign_in(page, live_server.url, "reader")
    page.goto(f"{live_server.url}/people/{people.salley.pk}/")
    assert page.locator("details.person-edit").count() == 0
    token = page.context.cookies()
    csrf = next((c["value"] for c in token if c["name"] == "csrftoken"), "")

    response = page.request.post(
        f"{live_server.url}/people/{people.salley.pk}/rename/",
        form={"name": "Nope", "csrfmiddlewaretoken": csrf},
        headers={"Referer": live_server.url + "/"},
    )

    assert response.status == 403 and "Not allowed" in response.text()
    assert Person.objects.get(pk=people.salley.pk).name == ""


@pytest.mark.parametrize("where", ["people", "person", "photo"])
def test_people_pages_fit_a_phone(live_server, browser, people, django_user_model, where):
    django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "staff")
        path = {
            "people": "/people/",
            "person": f"/people/{people.salley.pk}/",
            "photo": f"/photos/{people.salley_photos[0].pk}/",
        }[where]
        page.goto(live_server.url + path)
        if where == "person":
            page.click("details.person-edit summary")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if where == "people":
            cards = page.locator("#people .person-card").all()
            assert cards[0].bounding_box()["y"] == pytest.approx(cards[1].bounding_box()["y"])  # two a row
        if where == "photo":
            image = page.locator(".photo-frame img").bounding_box()
            box = page.locator(".face-box").bounding_box()
            assert image["x"] <= box["x"] and box["x"] + box["width"] <= image["x"] + image["width"]
    finally:
        context.close()


def test_with_faces_off_the_people_page_says_how_to_turn_them_on_and_shows_nobody(live_server, page, people, settings):
    settings.PHOTOSEARCH_FACES = "none"

    page.goto(live_server.url + "/people/")
    assert "Faces are off" in page.locator(".faces-off").inner_text()
    assert "PHOTOSEARCH_FACES=dlib" in page.locator(".faces-off").inner_text()
    assert page.locator(".person-card").count() == 0
    page.goto(f"{live_server.url}/photos/{people.salley_photos[0].pk}/")
    assert page.locator(".face-box").count() == 0 and page.locator(".faces-list").count() == 0
    assert page.goto(f"{live_server.url}/people/{people.salley.pk}/").status == 404


def test_faces_forget_leaves_the_people_page_empty(live_server, page, people):
    page.goto(live_server.url + "/people/")
    assert page.locator(".person-card").count() == 2

    call_command("faces_forget", "--yes-really", stdout=None)

    assert not Face.objects.exists()
    page.goto(live_server.url + "/people/")
    assert page.locator(".person-card").count() == 0 and "No people yet" in page.locator(".empty").inner_text()
    page.goto(f"{live_server.url}/photos/{people.salley_photos[0].pk}/")
    assert page.locator(".face-box").count() == 0
    assert page.goto(f"{live_server.url}/people/{people.salley.pk}/").status == 404
