"""The UTC offset where each photo was taken (null: unknown). Rows imported before it stay unknown, shown in the
server's time zone as before, until their next import, which fills it without re-embedding. A nullable column
without a default: PostgreSQL adds it without rewriting the table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0007_implausible_dates_cleared'),
    ]

    operations = [
        migrations.AddField(
            model_name='photo',
            name='taken_at_offset',
            field=models.SmallIntegerField(blank=True, help_text='UTC offset where the photo was taken, in minutes east of UTC (Sydney in summer: 660); null: unknown.', null=True),
        ),
    ]
