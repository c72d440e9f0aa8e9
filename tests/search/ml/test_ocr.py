"""Words in the image (search/ml/ocr.py and the stage in search/services/): the real RapidOCR engine on pictures the
tests draw with Pillow's built-in font, imported and searched through the real services and database.

Kept few and small: RapidOCR costs 0.1–1 s per image on 2 cores. tests/settings.py turns OCR off for the rest of the
suite; the ``ocr_on`` fixture turns it on here.
"""

from __future__ import annotations

import io
from importlib.metadata import version

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image, ImageDraw, ImageFont

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.ml.ocr import get_ocr_engine
from search.selectors import photo_search
from search.services.embedding import photos_embed
from search.services.words_read import photos_read_text

pytestmark = pytest.mark.django_db

SIGN_WORD = "marmalade"


@pytest.fixture
def ocr_on(settings):
    settings.PHOTOSEARCH_OCR = "rapidocr"
    return get_ocr_engine()


def sign_photo(words: str, *, seed: int = 0, size: tuple[int, int] = (960, 720)) -> bytes:
    """A photo-like JPEG (smooth colour fields and grain) with a light sign holding ``words`` in dark letters
    (Pillow's built-in scalable font, ~36 px high): no system font needed."""
    rng = np.random.default_rng(seed)
    width, height = size
    coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.normal(0, 8, size=(height, width, 1)).astype(np.int16)
    image = Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8))
    if words:
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=48)
        left, top, right, bottom = draw.textbbox((0, 0), words, font=font)
        x, y = (width - (right - left)) // 2, height // 3
        draw.rectangle((x - 20, y + top - 16, x + right - left + 20, y + bottom + 16), fill=(240, 236, 220))
        draw.text((x, y), words, font=font, fill=(25, 25, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def test_a_word_only_in_the_picture_finds_that_photo_first_and_says_so(photo_folder, encoder, ocr_on, client):
    folder = photo_folder(
        {
            "plain.jpg": 1,
            "plain.txt": "a jar on the kitchen table",
            "other.jpg": 2,
            "other.txt": "breakfast with friends",
        }
    )
    (folder / "sign.jpg").write_bytes(sign_photo(f"{SIGN_WORD} shop"))
    (folder / "sign.txt").write_text("on the way home", encoding="utf-8")
    folder_import(path=folder, profile_name="p")
    photos_embed()

    summary = photos_read_text()

    assert summary.read == 3 and summary.failed == []
    sign = Photo.objects.get(source_id="sign.jpg")
    assert SIGN_WORD in sign.ocr_text.lower() and sign.ocr_engine == ocr_on.engine_id
    assert sign.text_image.name.startswith("text-images/")  # read from the larger rendition kept at import
    hits = photo_search(query=SIGN_WORD).hits
    assert hits[0].photo.source_id == "sign.jpg" and hits[0].in_image_text
    assert "<mark>" in hits[0].headline

    body = client.get("/api/v1/search/", {"q": SIGN_WORD}).json()
    assert body["results"][0]["id"] == sign.pk and body["results"][0]["match"]["in_image_text"] is True
    assert SIGN_WORD in client.get(f"/api/v1/photos/{sign.pk}/").json()["ocr_text"].lower()
    page = client.get("/", {"q": SIGN_WORD}).content.decode()
    assert "words in the image" in page
    assert SIGN_WORD in client.get(f"/photos/{sign.pk}/").content.decode().lower()  # "Words in the photo"
    # A match by the photo's own words is not a match by the image's text.
    by_caption = client.get("/api/v1/search/", {"q": "breakfast"}).json()["results"][0]
    assert by_caption["id"] == Photo.objects.get(source_id="other.jpg").pk
    assert by_caption["match"]["in_image_text"] is False


def test_the_engine_is_recorded_and_only_photos_read_by_another_engine_are_read_again(photo_folder, ocr_on):
    folder = photo_folder({"blank.jpg": 1})
    (folder / "sign.jpg").write_bytes(sign_photo("open daily"))
    folder_import(path=folder, profile_name="p")

    assert photos_read_text().read == 2
    blank = Photo.objects.get(source_id="blank.jpg")
    assert blank.ocr_engine == ocr_on.engine_id and blank.ocr_text == "" and blank.ocr_at is not None
    assert ocr_on.engine_id.startswith(f"rapidocr-{version('rapidocr')}/")
    assert photos_read_text().read == 0

    Photo.objects.filter(source_id="sign.jpg").update(ocr_engine="rapidocr-1.0.0/det736")
    stamp = Photo.objects.get(source_id="blank.jpg").ocr_at

    assert photos_read_text().read == 1
    assert set(Photo.objects.values_list("ocr_engine", flat=True)) == {ocr_on.engine_id}
    assert Photo.objects.get(source_id="blank.jpg").ocr_at == stamp
    assert "open" in Photo.objects.get(source_id="sign.jpg").ocr_text.lower()


def test_an_unreadable_image_is_reported_and_skipped(photo_folder, ocr_on, media_root):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    broken = Photo.objects.get(source_id="a.jpg")
    assert not broken.text_image  # 320×240: no larger than its thumbnail, which is read instead
    (media_root / broken.thumbnail.name).write_bytes(b"garbage")

    summary = photos_read_text()

    assert summary.read == 1 and [photo_id for photo_id, _ in summary.failed] == [broken.pk]
    assert "cannot read image" in summary.failed[0][1]
    assert Photo.objects.get(pk=broken.pk).ocr_engine == ""  # left for a later run
    assert Photo.objects.get(source_id="b.jpg").ocr_engine == ocr_on.engine_id


def test_duplicates_share_the_originals_image_and_are_not_read(photo_folder, ocr_on):
    sign = sign_photo("fresh bread")
    folder = photo_folder({"notes.txt": "not a photo"})
    (folder / "a.jpg").write_bytes(sign)
    (folder / "b.jpg").write_bytes(sign)
    folder_import(path=folder, profile_name="p")
    original, repost = Photo.objects.get(source_id="a.jpg"), Photo.objects.get(source_id="b.jpg")
    assert repost.duplicate_of == original and repost.text_image.name == original.text_image.name

    assert photos_read_text().read == 1
    repost.refresh_from_db()
    assert repost.ocr_engine == "" and "bread" in repost.shown_ocr_text.lower()


def test_embed_photos_reads_the_words_after_the_vectors(photo_folder, encoder, ocr_on):
    folder = photo_folder({"notes.txt": "not a photo"})
    (folder / "sign.jpg").write_bytes(sign_photo("closed monday"))
    folder_import(path=folder, profile_name="p")
    out, err = io.StringIO(), io.StringIO()

    call_command("embed_photos", "--no-progress", stdout=out, stderr=err)

    assert "1 embedded" in out.getvalue() and f"1 read with {ocr_on.engine_id} (1 with words)" in out.getvalue()
    assert "monday" in Photo.objects.get().ocr_text.lower()


def test_with_ocr_off_nothing_is_read_and_no_text_image_is_kept(photo_folder, settings):
    settings.PHOTOSEARCH_OCR = "none"
    folder = photo_folder({"notes.txt": "not a photo"})
    (folder / "sign.jpg").write_bytes(sign_photo("closed monday"))
    folder_import(path=folder, profile_name="p")

    summary = photos_read_text()

    assert summary.read == 0 and summary.engine_id == ""
    photo = Photo.objects.get()
    assert photo.ocr_engine == "" and not photo.text_image


def test_the_embedding_task_queues_the_reading_of_words_too(photo_folder, encoder, ocr_on):
    from search.tasks import embed_photos_task

    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    summary = embed_photos_task(profile_ids=None)  # no broker in tests: the batches run in-process

    assert summary["ocr"] == ocr_on.engine_id and summary["ocr_photos"] == 1
    photo = Photo.objects.get()
    assert photo.embedding_model == encoder.model_id and photo.ocr_engine == ocr_on.engine_id
