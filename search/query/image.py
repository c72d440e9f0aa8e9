"""An uploaded query image: its declared type checked, then decoded within its format's pixel limit and reduced,
band by band, to the thumbnail's size before any model sees it."""

from __future__ import annotations

import io
from typing import cast

import numpy as np
from django.conf import settings
from PIL import ExifTags, Image

from photosearch.uploads import upload_max_pixels
from profiles.fetch import IMAGE_CONTENT_TYPES
from profiles.images import ImageRejected, image_errors, rgb
from search.types import InvalidQuery


def upload_type_error(*, content_type: str | None, name: str) -> str | None:
    """Why an upload cannot be an image by its declared type (``text/html``, a video…), or None. The type is only a
    hint, so a missing one, ``image/*`` and octet-stream pass: the bytes decide (``clean_image``)."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if not declared or declared.startswith(IMAGE_CONTENT_TYPES):
        return None
    return f"“{name}” is not an image ({declared})."


def clean_image(data: bytes) -> Image.Image:
    """An uploaded query image, upright 8-bit RGB at the thumbnail's size (imports embed their thumbnail, so the same
    rendition finds the same photo). Refused (``image``) when not an image or over the pixel bound."""
    try:
        return image_reduced(
            data, size=settings.PHOTOSEARCH_THUMBNAIL_SIZE, max_pixels=settings.PHOTOSEARCH_MAX_IMAGE_PIXELS
        )
    except ImageRejected as exc:
        raise InvalidQuery(f"The upload is not a usable image: {exc}.", field="image") from None


# Pixels converted at a time, so a palette, alpha or 16-bit image never gets a full-size converted copy.
_BAND_PIXELS = 2_000_000
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def image_reduced(data: bytes, *, size: int, max_pixels: int) -> Image.Image:
    """``data`` decoded and reduced to fit ``size``×``size`` (8-bit RGB, EXIF orientation applied), or
    ``ImageRejected``. The pixel limit for its format is checked from the header before any pixel is decoded; a JPEG
    is decoded at reduced scale; the rest is converted and reduced a band of rows at a time."""
    if not data:
        raise ImageRejected("empty file")
    with image_errors():
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            limit = upload_max_pixels(
                image_format=probe.format or "", max_pixels=max_pixels, progressive=bool(probe.info.get("progressive"))
            )
            if width * height > limit:
                raise ImageRejected(
                    f"image too large to search with ({width}×{height} pixels; at most {limit:,} "
                    f"for a {probe.format} file)"
                )
            probe.verify()  # structure and checksums
        with Image.open(io.BytesIO(data)) as image:
            target = _fitted(image.size, size)
            # As Image.thumbnail: a JPEG decoded at reduced scale, no smaller than twice the target.
            image.draft(None, (target[0] * 2, target[1] * 2))
            image.load()  # the first frame; truncated data fails here
            reduced = _reduced_in_bands(image, target)
            orientation = _orientation(image)
    return reduced.transpose(_ORIENTATION[orientation]) if orientation in _ORIENTATION else reduced


def _fitted(source: tuple[int, int], size: int) -> tuple[int, int]:
    """``source`` scaled to fit ``size``×``size``, aspect kept, never enlarged, at least one pixel a side."""
    width, height = source
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduced_in_bands(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """``image`` as 8-bit RGB of ``target`` size, reduced as ``Image.thumbnail`` does but a band of rows at a time:
    the only full-size copy is the decoded image itself."""
    width, height = image.size
    factor_x, factor_y = max(1, int(width / target[0] / 2)), max(1, int(height / target[1] / 2))
    band_rows = factor_y * max(1, _BAND_PIXELS // (width * factor_y))
    top = _grey_top(image)
    reduced = Image.new("RGB", (-(-width // factor_x), -(-height // factor_y)))
    for row in range(0, height, band_rows):
        band = _band_rgb(image.crop((0, row, width, min(height, row + band_rows))), top=top)
        reduced.paste(band.reduce((factor_x, factor_y)) if factor_x * factor_y > 1 else band, (0, row // factor_y))
    return reduced if reduced.size == target else reduced.resize(target, Image.Resampling.LANCZOS)


def _peak(image: Image.Image) -> float:
    """The largest value of a one-band image: its extrema are (min, max), typed by Pillow as if it had many bands."""
    return cast(float, image.getextrema()[1])


def _grey_top(image: Image.Image) -> float | None:
    """The value that becomes white in high-bit-depth grey (``profiles.images.rgb``'s rule), read once so every band
    scales alike; None for the other modes."""
    if image.mode.startswith("I;16"):
        return 65535.0
    if image.mode == "F":
        return 1.0 if _peak(image) <= 1.0 else 255.0
    if image.mode.startswith("I"):
        peak = _peak(image)
        return 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else float(peak)
    return None


def _band_rgb(band: Image.Image, *, top: float | None) -> Image.Image:
    if top is None:
        return rgb(band)
    grey = np.clip(np.rint(np.asarray(band, dtype=np.float32) * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert("RGB")


def _orientation(image: Image.Image) -> int | None:
    # EXIF is a hint: junk in it never refuses an image that decodes (Pillow raises many types on bad EXIF).
    try:
        return image.getexif().get(ExifTags.Base.Orientation)
    except Exception:
        return None
