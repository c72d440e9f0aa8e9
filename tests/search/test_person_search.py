"""Search by person on real faces (tests/data/faces): ``person=`` by handle, name or id returns the photos holding
that person's face, tagged or not, and the photos tagged with the handle; several persons are all required;
``faces=`` counts what the faces stage found; a hidden person's faces never match; "photos of joe biden" and "@barack"
are understood, and each hit says why ("face of @barack", "tagged @barack"). Real import, faces stage, SQL and HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from profiles.models import Photo
from search.models import Face, Person
from search.query.understanding import vocabulary_forget
from search.selectors import SearchFilters, photo_browse, photo_search
from search.services.faces import photos_find_faces
from search.services.persons import persons_update
from search.types import PersonWanted
from tests.search.fake_encoder import FakeEncoder
from tests.search.people import folder_import, folder_of, photos_of
from tests.support.api import get_json

pytestmark = pytest.mark.django_db(transaction=True)

OBAMA, BIDEN, KIT = "barack_obama", "joe_biden", "kit_harington"
GROUPS = {"group_obama_biden.jpg", "group_obama_biden_child.jpg"}  # Obama and Biden in both
NO_FACES = {"none_dogs.jpg", "none_horses.jpg"}


@pytest.fixture
def library(tmp_path, settings) -> dict[str, Person]:
    """Obama alone (4, two mentioning @barack), Obama with Biden (2), Biden alone (2), Kit Harington (3), six
    strangers in one photo, two photos without faces (one mentioning @barack); faces found and grouped, the
    persons named. Returns identity → person."""
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    settings.PHOTOSEARCH_FACES_MIN_GROUP = 3
    obama = photos_of(OBAMA)
    names = [*obama, *GROUPS, *photos_of(BIDEN), *photos_of(KIT), "group_six.jpg", *NO_FACES]
    sidecars = {
        obama[0]: "At the podium with @barack",
        obama[1]: "Speech day, @barack",
        "none_horses.jpg": "For @barack",
    }
    folder_import(folder_of(tmp_path / "faces", names, sidecars=sidecars))
    photos_find_faces()
    persons_update()
    Photo.objects.update(taken_at=datetime(2024, 6, 1, 12, tzinfo=UTC))
    persons = {}
    for identity in (OBAMA, BIDEN, KIT):
        faces = Face.objects.filter(photo__source_id__in=photos_of(identity))
        [(person_id, _)] = Counter(faces.values_list("person_id", flat=True)).most_common(1)
        persons[identity] = Person.objects.get(pk=person_id)
    assert persons[OBAMA].handle == "barack"  # mentioned on two of its photos
    Person.objects.filter(pk=persons[BIDEN].pk).update(name="Joe Biden")
    vocabulary_forget()  # the query parser reads the persons' names anew
    return persons


def names_of(body: dict) -> set[str]:
    return {Photo.objects.get(pk=hit["id"]).source_id for hit in body["results"]}


def search(live_server, q: str = "2024", **params) -> dict:
    status, body = get_json(live_server, "/api/v1/search/", q=q, limit=100, **params)
    assert status == 200, body
    return body


def test_a_person_by_handle_name_or_id_brings_their_untagged_photos_and_the_tagged_ones(live_server, library):
    obama = {*photos_of(OBAMA), *GROUPS}
    by_handle = search(live_server, person="barack")
    assert names_of(by_handle) == obama | {"none_horses.jpg"}  # the untagged photos of that face too
    assert names_of(search(live_server, person="@BARACK")) == obama | {"none_horses.jpg"}
    assert names_of(search(live_server, person=str(library[OBAMA].pk))) == obama | {"none_horses.jpg"}
    assert names_of(search(live_server, person="joe biden")) == {*photos_of(BIDEN), *GROUPS}

    why = {Photo.objects.get(pk=hit["id"]).source_id: hit["match"]["filters"] for hit in by_handle["results"]}
    assert why["barack_obama_3.jpg"] == ["face of @barack", "taken in 2024"]
    assert "tagged @barack" in why["none_horses.jpg"] and "face of @barack" not in why["none_horses.jpg"]
    assert "face of @barack" in why["barack_obama_1.jpg"]  # tagged too, but its face is the stronger reason


def test_several_persons_are_each_required(live_server, library):
    assert names_of(search(live_server, person=["barack", "Joe Biden"])) == GROUPS
    assert names_of(search(live_server, person=["Joe Biden", str(library[KIT].pk)])) == set()


def test_faces_counts_what_the_faces_stage_found_and_unscanned_photos_have_no_count(live_server, library, tmp_path):
    folder_import(folder_of(tmp_path / "later", ["none_giraffe.jpg"]), profile="later")  # not scanned yet
    Photo.objects.update(taken_at=datetime(2024, 6, 1, 12, tzinfo=UTC))

    assert names_of(search(live_server, faces="0")) == NO_FACES
    assert names_of(search(live_server, faces="2-5")) == GROUPS  # the child beside them is too small to be found
    assert names_of(search(live_server, faces="3+")) == {"group_six.jpg"}
    assert names_of(search(live_server, faces="1")) == {*photos_of(OBAMA), *photos_of(BIDEN), *photos_of(KIT)}
    assert names_of(search(live_server, faces="1+", person="joe biden")) == {*photos_of(BIDEN), *GROUPS}
    for bad in ("two", "5-2", "-1"):
        status, body = get_json(live_server, "/api/v1/search/", q="2024", faces=bad)
        assert status == 400 and "faces" in str(body), body


def test_a_hidden_person_matches_nothing_and_an_unknown_one_is_refused(live_server, library):
    Person.objects.filter(pk__in=[library[KIT].pk, library[OBAMA].pk]).update(hidden=True)
    vocabulary_forget()

    assert names_of(search(live_server, person=str(library[KIT].pk))) == set()
    # Its faces no longer count; the posts that name the handle still do.
    assert names_of(search(live_server, person="barack")) == {*photos_of(OBAMA)[:2], "none_horses.jpg"}
    assert names_of(search(live_server, q="@barack")) == {*photos_of(OBAMA)[:2], "none_horses.jpg"}
    # The statement itself leaves hidden persons' faces out, whatever ids or handles reach it.
    assert photo_browse(filters=SearchFilters(persons=(PersonWanted(ids=(library[KIT].pk,)),))).hits == []
    browsed = photo_browse(filters=SearchFilters(people=("barack",)), limit=100)
    assert {hit.photo.source_id for hit in browsed.hits} == {*photos_of(OBAMA)[:2], "none_horses.jpg"}
    status, body = get_json(live_server, "/api/v1/search/", q="2024", person="Nobody Here")
    assert status == 400 and "person" in str(body), body
    status, body = get_json(live_server, "/api/v1/search/", q="2024", person="999999")
    assert status == 400 and "person" in str(body), body


def test_an_at_handle_in_the_query_or_the_people_filter_also_finds_the_persons_faces(live_server, library):
    status, body = get_json(live_server, "/api/v1/search/", q="@barack", limit=100)
    assert status == 200 and names_of(body) == {*photos_of(OBAMA), *GROUPS, "none_horses.jpg"}
    assert body["understood"] == [{"kind": "person", "text": "@barack", "value": "barack"}]

    browsed = photo_browse(filters=SearchFilters(people=("barack",)), limit=100)
    assert {hit.photo.source_id for hit in browsed.hits} == {*photos_of(OBAMA), *GROUPS, "none_horses.jpg"}
    why = {hit.photo.source_id: hit.filters for hit in browsed.hits}
    assert why["barack_obama_3.jpg"] == ("face of @barack",) and why["barack_obama_1.jpg"] == ("tagged @barack",)


def test_persons_named_in_the_query_are_understood_and_an_ordinary_name_word_stays_a_word(library):
    result = photo_search(query="photos of joe biden", limit=100)
    assert [(part.kind, part.value) for part in result.understood] == [("person", "Joe Biden")]
    assert {hit.photo.source_id for hit in result.hits} == {*photos_of(BIDEN), *GROUPS}
    assert {hit.filters for hit in result.hits} == {("face of Joe Biden",)}

    both = photo_search(query="joe biden and @barack", limit=100)
    assert [part.text for part in both.understood] == ["joe biden", "and @barack"] and both.description == ""
    assert {hit.photo.source_id for hit in both.hits} == GROUPS

    hidden = Person.objects.filter(pk=library[BIDEN].pk)
    hidden.update(hidden=True)
    vocabulary_forget()
    assert photo_search(query="photos of joe biden", encoder=FakeEncoder()).understood == ()  # words again
