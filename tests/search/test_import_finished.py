"""``import_finished`` is sent whenever an import ends; ``--no-embed`` skips the embedding and nothing else."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from profiles.models import Photo, Profile
from profiles.signals import import_finished
from search.query.understanding import vocabulary_cached
from search.ranking.indexes import text_profile_index_name

pytestmark = pytest.mark.django_db(transaction=True)


def _word_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'photo\\_search\\_vector\\_gin%%'")
        return {row[0] for row in cursor.fetchall()}


def _pending_pages() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('photo_search_vector_gin'::regclass)")
        return cursor.fetchone()[0]


def test_an_import_without_embedding_still_keeps_the_word_indexes_and_vocabulary(photo_folder, settings):
    settings.PHOTOSEARCH_PROFILE_INDEX_MIN = 3
    settings.PHOTOSEARCH_AUTO_EMBED = True
    files = {f"{name}.jpg": seed for seed, name in enumerate("abcd")}
    files.update({f"{name}.txt": f"harbour cranes at dawn number {name}" for name in "abcd"})
    assert "harbourtrip" not in vocabulary_cached().profiles
    sent = []

    def listen(sender, **kwargs):
        sent.append(kwargs)

    import_finished.connect(listen)
    try:
        call_command(
            "import_folder",
            str(photo_folder(files)),
            "--profile",
            "harbourtrip",
            "--no-progress",
            "--no-embed",
            stdout=StringIO(),
        )
    finally:
        import_finished.disconnect(listen)

    profile = Profile.objects.get(handle="harbourtrip")
    assert sent == [{"signal": import_finished, "profile_id": profile.pk, "changed": 4, "embed": False}]
    assert not Photo.objects.filter(embedding__isnull=False).exists()  # --no-embed: nothing was embedded
    assert text_profile_index_name(profile.pk) in _word_indexes()  # a big profile's own word index was made
    assert _pending_pages() == 0  # the imported words were merged into the GIN index
    assert "harbourtrip" in vocabulary_cached().profiles  # the query parser knows the new profile at once


def test_an_import_that_changes_nothing_is_still_announced(photo_folder):
    folder = photo_folder({"a.jpg": 1})
    call_command("import_folder", str(folder), "--profile", "p", "--no-progress", "--no-embed", stdout=StringIO())
    sent = []

    def listen(sender, **kwargs):
        sent.append(kwargs)

    import_finished.connect(listen)
    try:
        call_command("import_folder", str(folder), "--profile", "p", "--no-progress", stdout=StringIO())
    finally:
        import_finished.disconnect(listen)

    assert [(kwargs["changed"], kwargs["embed"]) for kwargs in sent] == [(0, True)]
