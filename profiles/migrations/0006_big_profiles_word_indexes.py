"""A profile with at least PHOTOSEARCH_PROFILE_INDEX_MIN photos gets a partial GIN index over its words
(search.services.index_builds.text_profile_indexes_ensure makes them from now on, when an import ends); this gives one to
each profile that is already that big."""

from django.conf import settings
from django.db import migrations

NAME = "photo_search_vector_gin_p{}"  # search.ranking.indexes.text_profile_index_name, as of this migration


def create_word_indexes(apps, schema_editor):
    minimum = settings.PHOTOSEARCH_PROFILE_INDEX_MIN
    if not minimum:
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred FK checks of earlier rows would block CREATE INDEX
        cursor.execute("SELECT profile_id FROM profiles_photo GROUP BY profile_id HAVING count(*) >= %s", [minimum])
        for (profile_id,) in cursor.fetchall():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {NAME.format(int(profile_id))} ON profiles_photo "
                           f"USING gin (search_vector) WHERE profile_id = {int(profile_id)}")


def drop_word_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'profiles_photo' AND indexname LIKE %s",
                       [NAME.format("").replace("_", "\\_") + "%"])
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX IF EXISTS {name}")  # names of ours: the pattern above


class Migration(migrations.Migration):
    dependencies = [("profiles", "0005_photo_metadata_places_people_ocr")]

    operations = [migrations.RunPython(create_word_indexes, drop_word_indexes)]
