from datetime import UTC, datetime

import pytest
from django.core.files.storage import default_storage

from profiles.models import Photo, Profile, SourceKind
from profiles.services.imports import folder_import
from profiles.sources.base import SourceNotFound
from tests.conftest import image_bytes
from tests.support.exif import IPHONE, exif_image

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
        "a.jpg",
        "c.webp",
        "d.gif",
        "nested/deeper/b.png",
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
    assert {p.taken_at for p in photos} == {datetime(2021, 6, 1, 18, 30, tzinfo=UTC)}


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
    from profiles.services.photos import SKIPPED, records_ingest
    from profiles.services.profiles import profile_get_or_create
    from profiles.sources.base import SkippedRecord, SourceRecord

    profile = profile_get_or_create(source_kind=SourceKind.URLS, handle="mixed")
    seen = []
    items = [SkippedRecord("post_2", "no image file post_2.jpg"), SourceRecord(source_id="a", image_url="mem://a")]

    records_ingest(
        profile=profile,
        records=items,
        read=lambda record: image_bytes(1),
        on_item=lambda record, outcome, reason: seen.append((record.source_id, outcome, reason)),
    )

    assert seen == [("post_2", SKIPPED, "no image file post_2.jpg"), ("a", "imported", "")]
    assert list(profile.photos.values_list("source_id", flat=True)) == ["a"]


# --- What the image says: EXIF, HEIC, places, file-name stamps ----------------------------------------------------


def test_exif_gives_the_instant_taken_the_camera_and_the_place(photo_folder, settings):
    settings.TIME_ZONE = "America/New_York"  # the file states its offset: the server's zone plays no part
    root = photo_folder({"IMG_1234.jpg": exif_image(**IPHONE)})

    job = folder_import(path=root, profile_name="p")

    photo = Photo.objects.get()
    assert job.imported == 1
    assert (photo.taken_at, photo.taken_at_source) == (datetime(2019, 7, 14, 9, 0, tzinfo=UTC), "exif")
    assert (photo.camera_make, photo.camera_model) == ("Apple", "iPhone 13")
    assert photo.lens == "Apple iPhone 13 back dual wide camera 5.1mm f/1.6"
    assert (photo.latitude, photo.longitude) == pytest.approx((38.7223, -9.139306))
    assert (photo.city, photo.region, photo.country, photo.country_code) == ("Lisbon", "Lisbon", "Portugal", "PT")


def test_a_photo_taken_in_lisbon_is_found_by_the_word_lisbon(photo_folder, encoder):
    from search.selectors import photo_search
    from search.services.embedding import photos_embed

    files = {f"img{i}.jpg": i for i in range(6)}
    files["img4.jpg"] = exif_image(**IPHONE)
    folder_import(path=photo_folder(files), profile_name="p")
    photos_embed()

    hits = photo_search(query="lisbon", literal=True).hits  # the word, not the place filter it is understood as
    understood = photo_search(query="street in lisbon")

    assert hits[0].photo.source_id == "img4.jpg" and hits[0].text_rank == 1
    assert [hit.photo.source_id for hit in hits if hit.text_rank is not None] == ["img4.jpg"]
    assert [(part.kind, part.value) for part in understood.understood] == [("place", "Lisbon, Portugal")]
    assert [hit.photo.source_id for hit in understood.hits] == ["img4.jpg"]


def test_a_heic_file_imports_with_its_exif_and_a_jpeg_thumbnail(photo_folder):
    root = photo_folder(
        {
            "IMG_0001.HEIC": exif_image(fmt="HEIF", size=(320, 240), **IPHONE),
            "IMG_0002.avif": exif_image(fmt="AVIF", size=(320, 240)),
        }
    )

    job = folder_import(path=root, profile_name="p")

    assert (job.imported, job.skipped) == (2, 0)
    heic = Photo.objects.get(source_id="IMG_0001.HEIC")
    assert (heic.width, heic.height, heic.taken_at_source, heic.city) == (320, 240, "exif", "Lisbon")
    for photo in Photo.objects.all():
        with default_storage.open(photo.thumbnail.name) as fh:
            assert fh.read(3) == b"\xff\xd8\xff"  # JPEG


def test_a_reimport_fills_the_new_fields_without_re_embedding(photo_folder, encoder):
    from search.services.embedding import photos_embed

    root = photo_folder({"IMG_1234.jpg": exif_image(**IPHONE), "IMG_20190714_100000.jpg": 2})
    folder_import(path=root, profile_name="p")
    photos_embed()
    # Photos imported before these fields existed: blank, as the migration left them.
    Photo.objects.update(
        taken_at=None,
        taken_at_source="",
        camera_make="",
        camera_model="",
        lens="",
        latitude=None,
        longitude=None,
        city="",
        region="",
        country="",
        country_code="",
    )
    before = {p.source_id: (list(p.embedding), p.embedded_at, p.thumbnail.name) for p in Photo.objects.all()}

    job = folder_import(path=root, profile_name="p")

    assert (job.imported, job.updated, job.unchanged) == (0, 2, 0)
    assert {p.source_id: (list(p.embedding), p.embedded_at, p.thumbnail.name) for p in Photo.objects.all()} == before
    exif, stamped = Photo.objects.get(source_id="IMG_1234.jpg"), Photo.objects.get(source_id="IMG_20190714_100000.jpg")
    assert (exif.taken_at_source, exif.camera_model, exif.city) == ("exif", "iPhone 13", "Lisbon")
    assert (stamped.taken_at, stamped.taken_at_source) == (datetime(2019, 7, 14, 10, 0, tzinfo=UTC), "file_name")
    assert folder_import(path=root, profile_name="p").unchanged == 2


def test_a_damaged_exif_block_does_not_fail_the_import(photo_folder):
    data = bytearray(exif_image(**IPHONE))
    start = data.find(b"Exif\x00\x00") + 6
    data[start + 8 : start + 120] = b"\xff" * 112  # the tag entries trampled
    root = photo_folder({"damaged.jpg": bytes(data)})

    job = folder_import(path=root, profile_name="p")

    assert (job.imported, job.skipped) == (1, 0)


def test_a_file_name_stamp_is_local_time_and_exif_wins_over_it(photo_folder, settings):
    settings.TIME_ZONE = "Europe/Lisbon"
    root = photo_folder(
        {
            "PXL_20200102_030405123.jpg": 1,
            "IMG-20190714-WA0001.jpg": 2,
            "IMG_20000101_000000.jpg": exif_image(**IPHONE),
            "holiday.jpg": 3,
        }
    )

    folder_import(path=root, profile_name="p")

    taken = {p.source_id: (p.taken_at, p.taken_at_source) for p in Photo.objects.all()}
    assert taken == {
        "PXL_20200102_030405123.jpg": (datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), "file_name"),  # WET = UTC
        "IMG-20190714-WA0001.jpg": (datetime(2019, 7, 14, 11, 0, tzinfo=UTC), "file_name"),  # noon WEST
        "IMG_20000101_000000.jpg": (datetime(2019, 7, 14, 9, 0, tzinfo=UTC), "exif"),
        "holiday.jpg": (None, ""),
    }


def test_instaloaders_post_date_is_the_source_date_and_beats_exif(photo_folder):
    root = photo_folder({"2021-06-01_18-30-00_UTC.jpg": exif_image(**IPHONE)})

    folder_import(path=root, profile_name="p")

    photo = Photo.objects.get()
    assert (photo.taken_at, photo.taken_at_source) == (datetime(2021, 6, 1, 18, 30, tzinfo=UTC), "source")
    assert photo.city == "Lisbon"  # the place still comes from the image


def test_instaloaders_profile_picture_is_left_out(photo_folder):
    root = photo_folder({"natgeo/2021-06-01_18-30-00_UTC.jpg": 1, "natgeo/2024-01-02_03-04-05_UTC_profile_pic.jpg": 2})

    job = folder_import(path=root, profile_name="p")

    assert (job.total, job.imported, job.skipped) == (1, 1, 0)
    assert list(Photo.objects.values_list("source_id", flat=True)) == ["natgeo/2021-06-01_18-30-00_UTC.jpg"]


def test_turning_ocr_on_a_reimport_keeps_the_rendition_and_marks_the_words_for_reading(photo_folder, settings, encoder):
    from search.services.embedding import photos_embed

    settings.PHOTOSEARCH_OCR = "none"
    root = photo_folder({"big.jpg": image_bytes(1, size=(1600, 1200)), "small.jpg": image_bytes(2, size=(320, 240))})
    folder_import(path=root, profile_name="p")
    photos_embed()
    Photo.objects.update(ocr_engine="none-before", ocr_text="")  # as if read while OCR was off
    assert not Photo.objects.exclude(text_image="").exists()
    embedded = {p.source_id: p.embedded_at for p in Photo.objects.all()}

    settings.PHOTOSEARCH_OCR = "rapidocr"
    job = folder_import(path=root, profile_name="p")

    big, small = Photo.objects.get(source_id="big.jpg"), Photo.objects.get(source_id="small.jpg")
    assert (job.updated, job.unchanged) == (1, 1)
    assert big.text_image.name.startswith("text-images/") and default_storage.exists(big.text_image.name)
    assert big.ocr_engine == ""  # read again, now from the rendition
    assert (small.text_image.name, small.ocr_engine) == ("", "none-before")  # its thumbnail is its whole image
    assert {p.source_id: p.embedded_at for p in Photo.objects.all()} == embedded
    assert folder_import(path=root, profile_name="p").unchanged == 2
