"""Image checks and renditions. Pure functions over bytes: no models, no storage."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

# HEIC/HEIF through pillow-heif, for every Image.open of the process. AVIF stays with Pillow's own plugin: this
# pillow-heif build has no AV1 codec.
pillow_heif.register_heif_opener()

MAX_FILE_BYTES = 64 * 1024 * 1024
# What folder and instaloader imports read as images, in the order instaloader's files are looked for.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif")
# JPEG quality of the rendition kept for reading words: what OCR reads as well as at 85, at a third less space
# (docs/benchmarks.md, "Words in the image").
TEXT_IMAGE_QUALITY = 75


class ImageRejected(Exception):
    """The bytes are not an image we can use; ``str(exc)`` says why in words a user understands."""


@dataclass(frozen=True)
class CheckedImage:
    sha256: str
    width: int
    height: int
    format: str
    thumbnail_jpeg: bytes
    # The larger rendition OCR reads; b"" when not asked for or the image is no larger than its thumbnail.
    text_image_jpeg: bytes = b""


def image_open(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open ``data`` as a fully decoded image, or raise ``ImageRejected`` with the reason. The pixel cap is checked
    from the header, before any pixel is decoded, so a decompression bomb costs nothing."""
    if not data:
        raise ImageRejected("empty file")
    # Pillow's own guard follows our limit (applied exactly below), so a setting above Pillow's default works.
    Image.MAX_IMAGE_PIXELS = max_pixels
    with image_errors():
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise ImageRejected(f"image too large ({width}×{height} pixels, limit {max_pixels:,})")
            probe.verify()  # structure and checksums
        image = Image.open(io.BytesIO(data))
        image.load()  # verify() does not decode pixels; load() catches truncated data
        return image


@contextlib.contextmanager
def image_errors() -> Iterator[None]:
    """Pillow's failures on untrusted bytes inside the block as ``ImageRejected``; its bomb warning is silenced (the
    caller's pixel limit decides)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"image too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise ImageRejected(f"corrupt or truncated image ({exc})") from None


def image_check(data: bytes, *, max_pixels: int, thumbnail_size: int, text_image_size: int = 0) -> CheckedImage:
    """Verify ``data`` decodes (``image_open``); render its JPEG thumbnail and, with ``text_image_size``, the larger
    rendition OCR reads."""
    with image_open(data, max_pixels=max_pixels) as image:
        fmt = image.format or "unknown"
        try:
            thumbnail = _thumbnail(image, thumbnail_size)
            text_image = b""
            if text_image_size and max(thumbnail[1], thumbnail[2]) > thumbnail_size:
                text_image = _thumbnail(image, text_image_size, quality=TEXT_IMAGE_QUALITY)[0]
        except (OSError, ValueError, EOFError) as exc:
            raise ImageRejected(f"corrupt image ({exc})") from None
    return CheckedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        width=thumbnail[1],
        height=thumbnail[2],
        format=fmt,
        thumbnail_jpeg=thumbnail[0],
        text_image_jpeg=text_image,
    )


def read_local_image(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of an image file; ``ImageRejected`` over ``max_bytes`` or for anything not a regular file."""
    return read_regular_file(path, max_bytes=max_bytes, too_large=ImageRejected)


def read_regular_file(path: Path, *, max_bytes: int, too_large: type[Exception] | None = None) -> bytes:
    """At most ``max_bytes`` of the regular file ``path`` (more raises ``too_large`` when given); ``ImageRejected``
    if it is not one.

    Opened without blocking (a FIFO would wait for a writer) and checked on the open descriptor, so a file swapped
    after the check cannot slip through; the read is bounded whatever ``stat()`` claims.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageRejected(f"not a regular file ({_file_kind(info.st_mode)})")
        if too_large is not None and info.st_size > max_bytes:
            raise too_large(f"file too large ({info.st_size:,} bytes, limit {max_bytes:,})")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        if too_large is not None:
            raise too_large(f"file too large (over {max_bytes:,} bytes)")
        data = data[:max_bytes]
    return data


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return kind
    return "not a file"


def rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB, transparency on white; high-bit-depth grey is scaled, not clipped to white as
    ``convert("RGB")`` would."""
    if image.mode in ("RGBA", "LA", "P", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode.startswith("I") or image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        if image.mode == "F":
            top = 1.0 if pixels.size and pixels.max() <= 1.0 else 255.0
        elif image.mode.startswith("I;16"):
            top = 65535.0
        else:  # 32-bit integers: 16-bit data in practice (a PNG's I;16 becomes I after some operations)
            peak = pixels.max() if pixels.size else 0
            top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else float(peak)
        grey = np.clip(np.rint(pixels * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _thumbnail(image: Image.Image, size: int, *, quality: int = 85) -> tuple[bytes, int, int]:
    """(JPEG rendition, EXIF orientation applied, the upright original's width, height)."""
    image.seek(0)  # first frame of an animation
    upright = ImageOps.exif_transpose(image)
    width, height = upright.size
    upright = rgb(upright)
    upright.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue(), width, height


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
