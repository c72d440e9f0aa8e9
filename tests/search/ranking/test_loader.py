"""Hits from ranking rows (search.ranking.loader): headlines, and photos and profiles built from the statement's own
columns exactly as the ORM builds them (the one-round-trip loading is also tested through photo_search in
test_ranking.py)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection, models

from profiles.models import Photo, Profile
from search.ranking.loader import (
    HEADLINE_OPTIONS,
    MARK_START,
    MARK_STOP,
    PHOTO_LOADER,
    PROFILE_LOADER,
    hits_from_rows,
    marked,
)
from search.selectors import RankingOptions, photo_search
from tests.search.fake_encoder import MODEL, FakeEncoder

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_headlines_are_escaped_before_the_marks_become_tags():
    assert marked(f"{MARK_START}Sunset{MARK_STOP} & sea <3") == "<mark>Sunset</mark> &amp; sea &lt;3"
    assert marked(None) == "" and marked("") == ""


def test_ts_headline_is_asked_for_exactly_those_marks():
    assert f"StartSel={MARK_START}, StopSel={MARK_STOP}," in HEADLINE_OPTIONS


# --- Every field set ----------------------------------------------------------------------------------------------


def every_field(model, *, related: dict[str, models.Model], skip: tuple[str, ...] = ()) -> dict:
    """A value for every concrete field of ``model`` that differs from its default: a field added to the model
    without a value here fails the test, so that the loader is checked against it too."""
    values = {}
    for n, field in enumerate(model._meta.concrete_fields):
        if (
            field.primary_key
            or field.generated
            or field.name in skip
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
        ):
            continue
        if field.is_relation:
            value = related[field.name]
        elif field.choices:
            value = [choice for choice, _label in field.choices if choice != field.get_default()][-1]
        elif isinstance(field, models.JSONField):
            value = {"licence": "CC BY", "n": [n, 1.5, None], "é": True}
        elif isinstance(field, models.DateTimeField):
            value = T0 + timedelta(hours=n)
        elif isinstance(field, (models.IntegerField, models.FloatField)):
            value = n + 0.25 if isinstance(field, models.FloatField) else n + 1000
        elif field.name == "text_config":
            value = "french"
        elif isinstance(field, models.FileField):
            value = f"thumbnails/{field.name}-{n}.jpg"
        elif isinstance(field, (models.CharField, models.TextField)):
            value = f"{field.name} sea {n}"[: field.max_length or 100]
        elif field.name == "embedding":
            value = [0.5, 0.5, 0.5, 0.5]
        else:
            raise AssertionError(f"every_field has no value for {model.__name__}.{field.name} ({type(field).__name__})")
        assert value != field.get_default(), field.name
        values[field.name] = value
    return values


@pytest.fixture
def full_photo(db):
    profile = Profile.objects.create(**every_field(Profile, related={}))
    original = Photo.objects.create(profile=profile, source_id="original", content_hash="0" * 64)
    photo = Photo.objects.create(**every_field(Photo, related={"profile": profile, "duplicate_of": original}))
    photo.embedding_model = MODEL
    photo.save(update_fields=["embedding_model"])
    return photo


def instance_state(instance: models.Model) -> dict:
    """What a model instance holds: its field values, its deferred fields, where it was read from."""
    values = {key: value for key, value in vars(instance).items() if key != "_state"}
    return {
        "values": values,
        "deferred": instance.get_deferred_fields(),
        "db": instance._state.db,
        "adding": instance._state.adding,
        "type": type(instance),
    }


def ranking_row(photo: Photo) -> tuple:
    """The columns the ranking statement reads for ``photo``'s row (after its 9 ranking columns)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1, 0.5, 1, 0.1, NULL, NULL, 1, false, NULL, "
            f"{PHOTO_LOADER.select('p')}, {PROFILE_LOADER.select('pr')} "
            "FROM profiles_photo p JOIN profiles_profile pr ON pr.id = p.profile_id WHERE p.id = %s",
            [photo.pk],
        )
        return cursor.fetchone()


def test_a_hit_holds_the_photo_and_profile_the_orm_reads(full_photo):
    result = photo_search(query="caption sea", encoder=FakeEncoder(), ranking=RankingOptions(cutoff=0))

    [hit] = [hit for hit in result.hits if hit.photo.pk == full_photo.pk]
    orm = Photo.objects.defer("embedding", "search_vector").get(pk=full_photo.pk)
    assert instance_state(hit.photo) == instance_state(orm)
    assert instance_state(hit.photo.profile) == instance_state(Profile.objects.get(pk=full_photo.profile_id))
    assert hit.photo.get_deferred_fields() == {"embedding", "search_vector"}
    # What the pages and the API read of it, descriptors included.
    assert hit.photo.thumbnail.name == orm.thumbnail.name and hit.photo.thumbnail.instance is hit.photo
    assert hit.photo.text_image.url == orm.text_image.url
    extra_at = [field.name for field in Photo._meta.concrete_fields].index("extra")  # every_field's n
    assert hit.photo.extra == {"licence": "CC BY", "n": [extra_at, 1.5, None], "é": True}
    assert hit.photo.duplicate_of.source_id == "original"
    assert (hit.photo.place, hit.photo.camera, hit.photo.people_list) == (orm.place, orm.camera, orm.people_list)
    assert list(hit.photo.embedding) == [0.5] * 4  # deferred: read on use, from the database the hit came from


def test_the_loader_builds_through_model_from_db(full_photo, monkeypatch):
    built = []
    for model in (Photo, Profile):
        original = model.from_db.__func__

        def from_db(cls, db, field_names, values, original=original):
            instance = original(cls, db, field_names, values)
            built.append(instance)
            return instance

        monkeypatch.setattr(model, "from_db", classmethod(from_db))

    [hit] = hits_from_rows([ranking_row(full_photo)], using="default")

    # Django's public hook built both, so a model's own from_db, its __init__ and post_init receivers all see the
    # instances a search returns.
    assert len(built) == 2 and built[0] is hit.photo and built[1] is hit.photo.profile
    assert hit.photo._state.db == "default" and not hit.photo._state.adding


def test_a_built_photo_saves_as_an_update(full_photo):
    [hit] = hits_from_rows([ranking_row(full_photo)], using="default")

    hit.photo.caption = "changed"
    hit.photo.save(update_fields=["caption"])

    assert Photo.objects.count() == 2 and Photo.objects.get(pk=full_photo.pk).caption == "changed"
    assert np.allclose(list(Photo.objects.get(pk=full_photo.pk).embedding), 0.5)
