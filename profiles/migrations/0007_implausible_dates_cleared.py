"""Dates no photo can have (before 1826, after tomorrow: profiles.sources.text.date_plausible) are no longer stored;
this clears the ones stored before the rule. A year-9999 or year-1 date broke every page that shows it in a time zone
ahead of or behind UTC (``OverflowError`` in ``localtime``). The next import of the photo fills in the next source of
its date (EXIF, a file-name stamp) if there is one."""

from django.db import migrations

EARLIEST_PHOTO = "1826-01-01T00:00:00Z"  # profiles.sources.text.EARLIEST_PHOTO, as of this migration


def clear_implausible_dates(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE profiles_photo SET taken_at = NULL, taken_at_source = '' "
            "WHERE taken_at < %s OR taken_at > now() + interval '1 day'",
            [EARLIEST_PHOTO],
        )


class Migration(migrations.Migration):
    dependencies = [("profiles", "0006_big_profiles_word_indexes")]

    operations = [migrations.RunPython(clear_implausible_dates, migrations.RunPython.noop, elidable=True)]
