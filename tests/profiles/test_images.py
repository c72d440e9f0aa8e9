import io

import pytest
from PIL import Image

from profiles.images import ImageRejected, image_check
from tests.conftest import image_bytes


def test_it_renders_an_upright_jpeg_thumbnail_within_the_size():
    checked = image_check(image_bytes(1, size=(1080, 1350)), max_pixels=10**8, thumbnail_size=256)

    thumb = Image.open(io.BytesIO(checked.thumbnail_jpeg))
    assert thumb.format == "JPEG" and max(thumb.size) == 256
    assert (checked.width, checked.height) == (1080, 1350)


def test_the_rendition_for_reading_words_is_larger_and_only_made_when_the_image_is():
    checked = image_check(image_bytes(1, size=(1080, 1350)), max_pixels=10**8, thumbnail_size=256, text_image_size=1024)
    small = image_check(image_bytes(1, size=(240, 200)), max_pixels=10**8, thumbnail_size=256, text_image_size=1024)

    text_image = Image.open(io.BytesIO(checked.text_image_jpeg))
    assert text_image.format == "JPEG" and text_image.size == (819, 1024)
    assert (
        checked.thumbnail_jpeg
        == image_check(image_bytes(1, size=(1080, 1350)), max_pixels=10**8, thumbnail_size=256).thumbnail_jpeg
    )  # the thumbnail is unchanged
    assert small.text_image_jpeg == b""  # the thumbnail already holds every pixel


def test_exif_orientation_is_applied():
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.new("RGB", (400, 200), "red").save(out, format="JPEG", exif=exif)

    checked = image_check(out.getvalue(), max_pixels=10**8, thumbnail_size=100)

    assert (checked.width, checked.height) == (200, 400)


def test_transparent_png_is_flattened_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(out, format="PNG")

    checked = image_check(out.getvalue(), max_pixels=10**8, thumbnail_size=50)

    assert Image.open(io.BytesIO(checked.thumbnail_jpeg)).getpixel((25, 25)) >= (250, 250, 250)


def test_an_oversized_image_is_refused_before_decoding():
    with pytest.raises(ImageRejected, match="too large"):
        image_check(image_bytes(1, size=(400, 300)), max_pixels=1000, thumbnail_size=64)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"GIF89a garbage", "corrupt|not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "corrupt|not an image"),
    ],
)
def test_junk_is_rejected_with_a_reason(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        image_check(data, max_pixels=10**8, thumbnail_size=64)
