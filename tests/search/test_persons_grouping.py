"""The grouping rules of search.services.persons on small synthetic descriptors laid out exactly (a centre plus one
orthogonal offset per face, so every distance is known): a big identity stays one person however few lone faces a
seed may gather, and a stranger close to one face of a person only stays alone."""

from __future__ import annotations

import numpy as np
import pytest

from profiles.models import Photo, Profile
from search.models import Face, Person
from search.services import persons
from search.services.persons import persons_update

pytestmark = pytest.mark.django_db

DIMENSIONS = 128


@pytest.fixture(autouse=True)
def rules(settings):
    settings.PHOTOSEARCH_FACES_DISTANCE = 0.55
    settings.PHOTOSEARCH_FACES_MIN_GROUP = 3
    settings.PHOTOSEARCH_FACES_SEED_SIZE = 40
    settings.PHOTOSEARCH_FACES_SEED_QUALITY = 0.2


def axis(index: int) -> np.ndarray:
    vector = np.zeros(DIMENSIONS)
    vector[index] = 1.0
    return vector


CENTRE = 1.3 * axis(0)


def faces_add(descriptors: list[np.ndarray]) -> list[Face]:
    """One face per photo, each big and sharp enough to seed a person."""
    profile, _ = Profile.objects.get_or_create(source_kind="folder", handle="grouping")
    added = []
    for descriptor in descriptors:
        number = Photo.objects.count()
        photo = Photo.objects.create(profile=profile, source_id=f"p{number}", content_hash=f"{number:064x}")
        added.append(
            Face.objects.create(
                photo=photo, x=0.4, y=0.3, w=0.2, h=0.25, score=1.0, quality=0.9, size=120,
                descriptor=descriptor.tolist(), engine="test",
            )
        )  # fmt: skip
    return added


def test_an_identity_with_more_faces_than_a_seed_gathers_becomes_one_person(monkeypatch):
    monkeypatch.setattr(persons, "SEED_CANDIDATES", 8)
    # Twenty faces around one centre, 0.14–0.42 apart: each within the distance of every other.
    radii = np.linspace(0.3, 0.1, 20)
    faces = faces_add([CENTRE + radius * axis(1 + i) for i, radius in enumerate(radii)])

    summary = persons_update()

    assert (summary.created, Person.objects.count()) == (1, 1)
    assert set(Face.objects.values_list("person_id", flat=True)) == {Person.objects.get().pk}
    assert len(faces) == 20


def test_a_stranger_within_the_distance_of_one_face_of_a_person_only_stays_alone():
    # Five faces 0.28 apart; the stranger 0.50 from the first of them and 0.57 from the four others.
    group = faces_add([CENTRE + 0.2 * axis(1 + i) for i in range(5)])
    (stranger,) = faces_add([CENTRE + 0.2 * axis(1) + 0.5 * axis(9)])

    persons_update()

    person = Person.objects.get()
    assert {face.person_id for face in Face.objects.filter(pk__in=[face.pk for face in group])} == {person.pk}
    assert Face.objects.get(pk=stranger.pk).person_id is None
