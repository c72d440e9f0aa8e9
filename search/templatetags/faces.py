"""The People pages' template helpers: ``face_url`` gives a face picture's URL (the storage's, wherever it keeps
them); ``face_box`` the CSS placing a face's box over its photo, from the box relative to the image."""

from __future__ import annotations

from django import template
from django.core.files.storage import default_storage

from search.people_selectors import ShownFace

register = template.Library()


@register.filter
def face_url(name: str | None) -> str:
    """The URL of a stored face picture (``Face.crop``); "" without one."""
    return default_storage.url(name) if name else ""


@register.filter
def face_box(face: ShownFace) -> str:
    """``left: …%; top: …%; width: …%; height: …%``: the face's box over an element the photo fills exactly."""
    return "; ".join(
        f"{side}: {value * 100:.2f}%" for side, value in zip(("left", "top", "width", "height"), face.box, strict=True)
    )
