"""A person understood on the search page, in a real Chromium (Playwright) against the live server: "photos of joe
biden" shows the person chip and that person's photos (none is tagged), each tile saying why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from profiles.models import Photo
from search.models import Face, Person
from search.query.understanding import vocabulary_forget
from search.services.faces import photos_find_faces
from search.services.persons import persons_update
from tests.search.pages import result_ids, search
from tests.search.people import folder_import, folder_of, photos_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

BIDEN, OBAMA = "joe_biden", "barack_obama"
GROUPS = ["group_obama_biden.jpg", "group_obama_biden_child.jpg"]


@pytest.fixture
def library(tmp_path, settings) -> None:
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    settings.PHOTOSEARCH_FACES_MIN_GROUP = 3
    folder_import(folder_of(tmp_path / "faces", [*photos_of(BIDEN), *GROUPS, *photos_of(OBAMA), "none_dogs.jpg"]))
    photos_find_faces()
    persons_update()
    Photo.objects.update(taken_at=datetime(2024, 6, 1, 12, tzinfo=UTC))
    biden = Face.objects.filter(photo__source_id=photos_of(BIDEN)[0]).values_list("person_id", flat=True).get()
    Person.objects.filter(pk=biden).update(name="Joe Biden")
    vocabulary_forget()


def test_photos_of_a_person_shows_the_chip_and_that_persons_photos(live_server, page, library):
    search(page, live_server.url, q="photos of joe biden")

    chip = page.locator(".understood .chip")
    assert chip.count() == 1 and chip.get_attribute("data-kind") == "person"
    assert "Joe Biden" in chip.inner_text()
    expected = {str(Photo.objects.get(source_id=name).pk) for name in [*photos_of(BIDEN), *GROUPS]}
    assert set(result_ids(page)) == expected
    assert page.locator("#person").count() == 1  # the form's person field, once faces were looked for

    reasons = page.locator("#results li.tile .chip-filter").all_inner_texts()
    assert reasons.count("face of Joe Biden") == len(expected)
