"""A person renamed, hidden, merged or found is known to the query parser at once, not after the vocabulary's cache
expires."""

import pytest

from search.models import Person
from search.query.tokens import fold
from search.query.understanding import vocabulary_cached
from search.services.person_edits import person_hide, person_rename

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_renamed_or_hidden_person_is_known_to_queries_at_once(settings):
    settings.PHOTOSEARCH_FACES = "dlib"
    person = Person.objects.create(handle="maria")
    assert fold("Maria Silva") not in vocabulary_cached().persons  # read and cached before the edit

    person_rename(person_id=person.pk, name="Maria Silva")
    assert fold("Maria Silva") in vocabulary_cached().persons

    person_hide(person_id=person.pk, hidden=True)
    assert fold("Maria Silva") not in vocabulary_cached().persons
