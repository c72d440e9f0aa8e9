"""The kept image an index stage reads (the 1,024-px rendition, else the thumbnail), decoded a photo ahead."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from django.core.files.storage import default_storage
from PIL import Image

from profiles.models import Photo


def rendition_load(*, photo: Photo) -> Image.Image:
    """The photo's kept rendition as RGB, else its thumbnail (photos imported while no stage kept one)."""
    name = photo.text_image.name or photo.thumbnail.name
    if not name:
        raise ValueError("no image stored")
    with default_storage.open(name, "rb") as fh:
        image = Image.open(fh)
        image.load()
    return image.convert("RGB")


def renditions_prefetched(
    *, pool: ThreadPoolExecutor, photos: list[Photo]
) -> Iterator[tuple[Photo, Image.Image | None, str]]:
    """Yield (photo, RGB image or None, the reason it could not be read), the next image decoding meanwhile."""
    ahead: deque[tuple[Photo, Future[Image.Image]]] = deque()
    for photo in photos:
        ahead.append((photo, pool.submit(rendition_load, photo=photo)))
        if len(ahead) > 1:
            yield _loaded(*ahead.popleft())
    while ahead:
        yield _loaded(*ahead.popleft())


def _loaded(photo: Photo, future: Future[Image.Image]) -> tuple[Photo, Image.Image | None, str]:
    try:
        return photo, future.result(), ""
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return photo, None, f"cannot read image {(photo.text_image.name or photo.thumbnail.name)!r} ({exc})"
