"""Image checks and renditions. Pure functions over bytes: no models, no storage."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError


class ImageRejected(Exception):
    """The bytes are not an image we can use; ``str(exc)`` says why in words a user understands."""


@dataclass(frozen=True)
class CheckedImage:
    sha256: str
    width: int
    height: int
    format: str
    thumbnail_jpeg: bytes


def image_open(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open ``data`` as a fully decoded image, or raise ``ImageRejected`` with the reason (empty, not an image,
    corrupt, truncated, oversized). The pixel cap is checked from the header, before any pixel is decoded, so a
    decompression bomb costs nothing."""
    if not data:
        raise ImageRejected("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                if width * height > max_pixels:
                    raise ImageRejected(f"image too large ({width}×{height} pixels, limit {max_pixels:,})")
                probe.verify()  # structure and checksums
            image = Image.open(io.BytesIO(data))
            image.load()  # verify() does not decode pixels; load() catches truncated data
            return image
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"image too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise ImageRejected(f"corrupt or truncated image ({exc})") from None


def image_check(data: bytes, *, max_pixels: int, thumbnail_size: int) -> CheckedImage:
    """Verify ``data`` fully decodes as an image (``image_open``) and render a JPEG thumbnail (longest side
    ``thumbnail_size``)."""
    with image_open(data, max_pixels=max_pixels) as image:
        fmt = image.format or "unknown"
        try:
            thumbnail = _thumbnail(image, thumbnail_size)
        except (OSError, ValueError, EOFError) as exc:
            raise ImageRejected(f"corrupt image ({exc})") from None
    return CheckedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        width=thumbnail[1],
        height=thumbnail[2],
        format=fmt,
        thumbnail_jpeg=thumbnail[0],
    )


def read_local_image(path, *, max_bytes: int = 64 * 1024 * 1024) -> bytes:
    """The bytes of an image file, refusing files over ``max_bytes`` before reading them."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageRejected(f"file too large ({size:,} bytes, limit {max_bytes:,})")
    return path.read_bytes()


def _thumbnail(image: Image.Image, size: int) -> tuple[bytes, int, int]:
    """JPEG rendition, EXIF orientation applied, transparency flattened on white. Returns (bytes, width, height)
    where width/height are the upright original's size."""
    image.seek(0)  # first frame of an animation
    upright = ImageOps.exif_transpose(image)
    width, height = upright.size
    if upright.mode in ("RGBA", "LA", "P"):
        upright = upright.convert("RGBA")
        background = Image.new("RGB", upright.size, (255, 255, 255))
        background.paste(upright, mask=upright.getchannel("A"))
        upright = background
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    upright.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue(), width, height


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
