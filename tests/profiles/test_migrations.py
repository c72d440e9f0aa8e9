import importlib
from types import SimpleNamespace

import pytest
from django.db import connection

from profiles.models import Photo, Profile
from search.ranking.indexes import text_profile_index_name

pytestmark = pytest.mark.django_db

word_indexes = importlib.import_module("profiles.migrations.0006_big_profiles_word_indexes")


def word_index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'photo\\_search\\_vector\\_gin\\_p%%'")
        return {row[0] for row in cursor.fetchall()}


def test_the_migration_gives_profiles_already_big_their_word_index_and_takes_them_back(settings):
    settings.PHOTOSEARCH_PROFILE_INDEX_MIN = 3
    big, small = (Profile.objects.create(source_kind="folder", handle=handle) for handle in ("big", "small"))
    Photo.objects.bulk_create(
        Photo(profile=profile, source_id=str(i), content_hash=f"{i:064}")
        for i, profile in enumerate((big, big, big, small, small))
    )
    editor = SimpleNamespace(connection=connection)

    word_indexes.create_word_indexes(None, editor)
    word_indexes.create_word_indexes(None, editor)  # migrating again after a rollback is harmless

    assert word_index_names() == {text_profile_index_name(big.pk)}  # the name search.ranking.indexes uses
    word_indexes.drop_word_indexes(None, editor)
    assert word_index_names() == set()
