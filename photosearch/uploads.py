"""The one rule for uploads (search by image): an image of at most PHOTOSEARCH_MAX_UPLOAD_BYTES, in a request body
of at most that plus room for the form's other fields. The middleware applies it to the declared body before it is
read; the page and the API to the uploaded file."""

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


# What decoding one pixel costs in memory, by format, measured with Pillow 13 and pillow-heif 1.8 (a 36 Mpx image,
# peak RSS): Pillow's own decoders write straight into the image (4 bytes a pixel, 1 for a palette), the libraries
# behind WebP, AVIF and HEIC decode into a buffer of their own first, and a progressive JPEG keeps every DCT
# coefficient (2 bytes a sample, up to 4 samples a pixel) however much ``draft`` scales the output. A baseline JPEG is
# decoded at 1/2 to 1/8 scale straight to about the thumbnail's size (``draft``): it needs no limit of its own.
DECODE_BYTES_PER_PIXEL = {"WEBP": 17, "AVIF": 10, "HEIF": 8, "JPEG progressive": 8}
DECODE_BYTES_PER_PIXEL_DEFAULT = 4
# The memory one upload may take to decode: with the reduced copy and the model's own work, one search by image stays
# within 300 MB of a worker's memory whatever the file.
UPLOAD_DECODE_BYTES = 200 * 1024 * 1024


def upload_max_pixels(*, image_format: str, progressive: bool, max_pixels: int) -> int:
    """The most pixels an uploaded image of ``image_format`` (Pillow's name) may have to be decoded for a search:
    ``max_pixels`` (the import limit), or fewer where decoding that format costs more memory than the budget allows.
    """
    if image_format == "JPEG" and not progressive:
        return max_pixels
    key = "JPEG progressive" if image_format == "JPEG" else image_format
    per_pixel = DECODE_BYTES_PER_PIXEL.get(key, DECODE_BYTES_PER_PIXEL_DEFAULT)
    return min(max_pixels, UPLOAD_DECODE_BYTES // per_pixel)
