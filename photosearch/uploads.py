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
