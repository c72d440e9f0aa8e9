from datetime import datetime, timezone

import pytest
from django.core.files.storage import default_storage

from profiles.models import Photo, Profile, SourceKind
from profiles.services import folder_import
from profiles.sources.base import SourceNotFound
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


def test_it_imports_the_good_files_and_reports_each_bad_one_with_its_reason(photo_folder):
    good = image_bytes(3)
    root = photo_folder(
        {
            "a.jpg": 1,
            "nested/deeper/b.png": 2,
            "c.webp": 4,
            "d.gif": 5,
            "not-an-image.jpg": b"hello, I am text pretending to be a JPEG",
            "truncated.jpg": good[: len(good) // 2],
            "empty.png": b"",
            "notes.md": "ignored: not an image extension",
        }
    )

    job = folder_import(path=root, profile_name="holiday")

    assert (job.status, job.total, job.imported, job.skipped) == ("succeeded", 7, 4, 3)
    reasons = dict(job.problems)
    assert reasons.keys() == {"not-an-image.jpg", "truncated.jpg", "empty.png"}
    assert "not an image" in reasons["not-an-image.jpg"]
    assert "truncated" in reasons["truncated.jpg"]
    assert "empty" in reasons["empty.png"]
    profile = Profile.objects.get(handle="holiday")
    assert profile.source_kind == SourceKind.FOLDER
    assert sorted(profile.photos.values_list("source_id", flat=True)) == [
        "a.jpg", "c.webp", "d.gif", "nested/deeper/b.png",
    ]
    for photo in profile.photos.all():
        assert default_storage.exists(photo.thumbnail.name)
        assert photo.width == 320 and photo.height == 240
        assert len(photo.content_hash) == 64
        assert photo.original_url.endswith(photo.source_id)


def test_a_second_import_changes_nothing(photo_folder):
    root = photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": "two", "bad.jpg": b"junk"})
    folder_import(path=root, profile_name="p")
    before = list(Photo.objects.order_by("id").values("id", "updated_at", "thumbnail", "content_hash"))

    job = folder_import(path=root, profile_name="p")

    assert (job.imported, job.updated, job.unchanged, job.skipped) == (0, 0, 2, 1)
    assert list(Photo.objects.order_by("id").values("id", "updated_at", "thumbnail", "content_hash")) == before
    assert Profile.objects.count() == 1


def test_sidecar_text_becomes_source_text_and_hashtags(photo_folder):
    root = photo_folder({"IMG_1.jpg": 1, "IMG_1.txt": "Sunset over the harbour #Sunset #boats #sunset\n"})

    folder_import(path=root, profile_name="p")

    photo = Photo.objects.get()
    assert photo.source_text == "Sunset over the harbour #Sunset #boats #sunset"
    assert photo.hashtags == "sunset boats"
    assert Photo.objects.filter(search_vector="harbour").exists()  # the generated tsvector column is filled


def test_instaloader_layout_gives_taken_at_and_carousel_images_share_the_post_caption(photo_folder):
    root = photo_folder(
        {
            "2021-06-01_18-30-00_UTC_1.jpg": 1,
            "2021-06-01_18-30-00_UTC_2.jpg": 2,
            "2021-06-01_18-30-00_UTC.txt": "Two views of the lighthouse",
        }
    )

    folder_import(path=root, profile_name="p")

    photos = list(Photo.objects.order_by("source_id"))
    assert [p.source_text for p in photos] == ["Two views of the lighthouse"] * 2
    assert {p.taken_at for p in photos} == {datetime(2021, 6, 1, 18, 30, tzinfo=timezone.utc)}


def test_changed_bytes_replace_the_thumbnail_and_clear_the_embedding(photo_folder):
    root = photo_folder({"a.jpg": 1})
    folder_import(path=root, profile_name="p")
    photo = Photo.objects.get()
    Photo.objects.filter(pk=photo.pk).update(embedding=[0.1] * 8, embedding_model="m", caption="old")
    old_thumbnail = photo.thumbnail.name

    (root / "a.jpg").write_bytes(image_bytes(99))
    job = folder_import(path=root, profile_name="p")

    photo.refresh_from_db()
    assert job.updated == 1
    assert photo.thumbnail.name != old_thumbnail
    assert not default_storage.exists(old_thumbnail)  # no orphan left behind
    assert (photo.embedding, photo.embedding_model, photo.caption) == (None, "", "")


def test_edited_sidecar_updates_text_but_keeps_the_embedding(photo_folder):
    root = photo_folder({"a.jpg": 1, "a.txt": "first words"})
    folder_import(path=root, profile_name="p")
    Photo.objects.update(embedding=[0.1] * 8, embedding_model="m")

    (root / "a.txt").write_text("second words")
    job = folder_import(path=root, profile_name="p")

    photo = Photo.objects.get()
    assert job.updated == 1
    assert photo.source_text == "second words"
    assert photo.embedding_model == "m" and photo.embedding is not None


def test_the_same_bytes_twice_in_a_profile_are_stored_once_and_linked(photo_folder, media_root):
    root = photo_folder({"a.jpg": 7, "copy/a.jpg": 7, "copy/a.txt": "the repost"})

    job = folder_import(path=root, profile_name="p")

    original, repost = Photo.objects.get(source_id="a.jpg"), Photo.objects.get(source_id="copy/a.jpg")
    assert job.imported == 2
    assert (original.duplicate_of, repost.duplicate_of) == (None, original)
    assert repost.source_text == "the repost" and repost.thumbnail.name == original.thumbnail.name
    assert len(list((media_root / "thumbnails").rglob("*.jpg"))) == 1


def test_a_duplicate_becomes_a_photo_of_its_own_when_the_original_changes(photo_folder):
    root = photo_folder({"a.jpg": 7, "b.jpg": 7})
    folder_import(path=root, profile_name="p")

    (root / "a.jpg").write_bytes(image_bytes(8))
    folder_import(path=root, profile_name="p")

    assert set(Photo.objects.values_list("duplicate_of", flat=True)) == {None}


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceNotFound, match="is not a folder"):
        folder_import(path=tmp_path / "nope", profile_name="p")
    assert Profile.objects.get().import_jobs.get().status == "failed"


def test_an_item_the_source_skips_is_counted_with_its_reason_and_the_rest_goes_on():
    from profiles.services import SKIPPED, profile_get_or_create, records_ingest
    from profiles.sources.base import SkippedRecord, SourceRecord

    profile = profile_get_or_create(source_kind=SourceKind.URLS, handle="mixed")
    seen = []
    items = [SkippedRecord("post_2", "no image file post_2.jpg"), SourceRecord(source_id="a", image_url="mem://a")]

    records_ingest(profile=profile, records=items, read=lambda record: image_bytes(1),
                   on_item=lambda record, outcome, reason: seen.append((record.source_id, outcome, reason)))

    assert seen == [("post_2", SKIPPED, "no image file post_2.jpg"), ("a", "imported", "")]
    assert list(profile.photos.values_list("source_id", flat=True)) == ["a"]
