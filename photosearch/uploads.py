"""The one rule for uploads (search by image): an image of at most PHOTOSEARCH_MAX_UPLOAD_BYTES, in a body of at most
that plus the form's other fields; the middleware checks the declared body, the page and the API the file."""

from __future__ import annotations

from django.conf import settings

# Room for the form fields that travel with an upload (filters, CSRF token, multipart boundaries).
FORM_FIELDS_ALLOWANCE = 64 * 1024


def upload_max_bytes() -> int:
    """The largest image accepted (read at call time: tests and operators may change the setting)."""
    return settings.PHOTOSEARCH_MAX_UPLOAD_BYTES


def upload_body_too_large(declared: int) -> bool:
    """Whether a request body of ``declared`` bytes cannot be an acceptable upload with its form."""
    return declared > upload_max_bytes() + FORM_FIELDS_ALLOWANCE


def upload_too_large_message() -> str:
    return f"The upload is larger than {upload_max_bytes():,} bytes."


def upload_size_error(size: int, *, name: str = "") -> str | None:
    """Why an uploaded file of ``size`` bytes is refused, or None when it fits."""
    limit = upload_max_bytes()
    if size <= limit:
        return None
    what = f"“{name}”" if name else "The upload"
    return f"{what} is too large ({size / 1048576:.1f} MB; at most {limit / 1048576:g} MB)."


# Peak memory to decode one pixel, by format (docs/benchmarks.md, "Hostile uploads"): WebP, AVIF and HEIC decode into
# a buffer of their own first; a progressive JPEG keeps every DCT coefficient whatever ``draft`` scales. A baseline
# JPEG decodes at reduced scale (``draft``) and needs no limit.
DECODE_BYTES_PER_PIXEL = {"WEBP": 17, "AVIF": 10, "HEIF": 8, "JPEG progressive": 8}
DECODE_BYTES_PER_PIXEL_DEFAULT = 4
# The memory one upload may take to decode: a search by image must stay within its target (docs/benchmarks.md,
# "Hostile uploads").
UPLOAD_DECODE_BYTES = 200 * 1024 * 1024


def upload_max_pixels(*, image_format: str, progressive: bool, max_pixels: int) -> int:
    """The most pixels an upload in ``image_format`` (Pillow's name) may have: ``max_pixels``, or fewer where that
    format's decoding would exceed ``UPLOAD_DECODE_BYTES``."""
    if image_format == "JPEG" and not progressive:
        return max_pixels
    key = "JPEG progressive" if image_format == "JPEG" else image_format
    per_pixel = DECODE_BYTES_PER_PIXEL.get(key, DECODE_BYTES_PER_PIXEL_DEFAULT)
    return min(max_pixels, UPLOAD_DECODE_BYTES // per_pixel)
