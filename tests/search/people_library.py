"""A small library of real faces for the People pages, API and admin tests (not a test module): two persons found by
the dlib engine in labelled photos of tests/data/faces, one of them named from its sidecars' @mentions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from profiles.models import Photo
from search.models import Face, Person
from search.services.faces import photos_find_faces
from search.services.persons import persons_update
from tests.search.people import folder_import, folder_of, photo_named, photos_of

SALLEY, SAVAGE = "john_salley", "john_savage"
HANDLE = "jsalley"  # @mentioned in three of Salley's four photos: the handle that names him


@dataclass
class TwoPersons:
    salley: Person  # four photos, named @jsalley
    savage: Person  # three photos, unnamed
    salley_photos: list[Photo]
    savage_photos: list[Photo]

    def face_in(self, photo: Photo) -> Face:
        return Face.objects.get(photo=photo)


def two_persons(root: Path) -> TwoPersons:
    """Import four photos of John Salley (three say "@jsalley") and three of John Savage, find their faces and
    group them (``PHOTOSEARCH_FACES`` must be ``dlib``)."""
    salley, savage = photos_of(SALLEY)[:4], photos_of(SAVAGE)[:3]
    sidecars = dict.fromkeys(salley[:3], f"Out with @{HANDLE} today")
    folder_import(folder_of(root, [*salley, *savage], sidecars=sidecars))
    photos_find_faces()
    persons_update()
    assert Face.objects.count() == 7 and Person.objects.count() == 2, "one face per photo, one person per identity"
    library = TwoPersons(
        salley=Face.objects.get(photo=photo_named(salley[0])).person,
        savage=Face.objects.get(photo=photo_named(savage[0])).person,
        salley_photos=[photo_named(name) for name in salley],
        savage_photos=[photo_named(name) for name in savage],
    )
    assert library.salley.handle == HANDLE and not library.savage.handle
    return library
