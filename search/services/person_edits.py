"""What a person changes about the persons the grouping found: a typed name, merges, hiding, and "not this person" on a
face. The grouping (``search.services.persons``) keeps every change: a typed name and a hidden flag are carried over
by a recluster, and a face taken from a person never joins it again (``Face.rejected_person``).

Each write takes the grouping's advisory lock, so it never interleaves with a grouping run.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction

from photosearch.errors import InvalidInput, StateConflict
from search.models import Face, Person
from search.people_selectors import faces_enabled
from search.query.understanding import vocabulary_forget
from search.services.person_names import persons_name
from search.services.persons import PERSONS_LOCK

NAME_MAX_LENGTH = Person._meta.get_field("name").max_length or 200
MERGE_MAX = 100  # persons merged into one at a time


def person_rename(*, person_id: int, name: str) -> Person:
    """Type a person's name (surrounding spaces dropped); an empty name goes back to the handle found on its
    photos. A typed name is never overwritten by the naming from the posts."""
    name = " ".join(name.split())
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"At most {NAME_MAX_LENGTH} characters.", field="name")
    with transaction.atomic():
        person = _person_locked(person_id=person_id)
        person.name = name
        person.save(update_fields=["name", "updated_at"])
        transaction.on_commit(vocabulary_forget)  # the query parser knows persons by name
    return person


def person_hide(*, person_id: int, hidden: bool) -> Person:
    """Hide a person from the People lists, the photo pages' names and the API's lists (or show it again)."""
    with transaction.atomic():
        person = _person_locked(person_id=person_id)
        person.hidden = hidden
        person.save(update_fields=["hidden", "updated_at"])
        transaction.on_commit(vocabulary_forget)  # the query parser knows persons by name
    return person


def persons_merge(*, into_id: int, from_ids: Sequence[int]) -> Person:
    """Move every face of the persons ``from_ids`` to ``into_id`` and delete them; "not this person" marks against
    them now hold against ``into_id``.

    The name: ``into_id``'s typed name wins when it has one; else the first typed name among ``from_ids`` in the
    order given. ``into_id``'s hidden flag stays as it is. The handles are chosen again from the merged photos."""
    others = list(dict.fromkeys(from_ids))
    if not others:
        raise InvalidInput("Name at least one person to merge.", field="from")
    if len(others) > MERGE_MAX:
        raise InvalidInput(f"At most {MERGE_MAX} persons at a time.", field="from")
    if into_id in others:
        raise InvalidInput("A person cannot be merged into itself.", field="from")
    with transaction.atomic():
        into = _person_locked(person_id=into_id)
        found = {person.pk: person for person in Person.objects.filter(pk__in=others)}
        if missing := [pk for pk in others if pk not in found]:
            raise InvalidInput(f"No person with id {missing[0]}.", field="from")
        if not into.name:
            into.name = next((found[pk].name for pk in others if found[pk].name), "")
            into.save(update_fields=["name", "updated_at"])
        Face.objects.filter(person_id__in=others).update(person=into)
        # A face now held by the merged person can no longer be "not" it; other faces keep their refusal.
        Face.objects.filter(rejected_person_id__in=others, person=into).update(rejected_person=None)
        Face.objects.filter(rejected_person_id__in=others).update(rejected_person=into)
        Person.objects.filter(pk__in=others).delete()
        persons_name()
        into.refresh_from_db()
        transaction.on_commit(vocabulary_forget)  # the query parser knows persons by name
    return into


def face_not_person(*, face_id: int) -> Face:
    """ "Not this person": take the face from its person; the grouping never puts it back with that person (it may
    join another, or found one)."""
    with transaction.atomic():
        _grouping_lock()
        face = Face.objects.select_for_update().filter(pk=face_id).first()
        if face is None:
            raise InvalidInput(f"No face with id {face_id}.", field="face")
        if face.person_id is None:
            raise StateConflict("This face is not given to any person.")
        face.rejected_person_id, face.person_id = face.person_id, None
        face.save(update_fields=["person", "rejected_person"])
    return face


def _person_locked(*, person_id: int) -> Person:
    _grouping_lock()
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None:
        raise InvalidInput(f"No person with id {person_id}.", field="person")
    return person


def _grouping_lock() -> None:
    """The lock ``search.services.persons`` holds while it groups faces (released when the transaction ends); no edit
    while faces are off."""
    if not faces_enabled():
        raise StateConflict("Faces are off (PHOTOSEARCH_FACES=none).")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PERSONS_LOCK])
