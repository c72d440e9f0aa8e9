"""Images with the EXIF a camera writes (dates, offsets, GPS, the camera's make and model): shared by the metadata,
import and local-time tests (not a test module)."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

from tests.conftest import make_image

LISBON_GPS = {1: "N", 2: (38.0, 43.0, 20.28), 3: "W", 4: (9.0, 8.0, 21.5)}


def exif_image(
    *,
    fmt: str = "JPEG",
    ifd0: dict | None = None,
    sub: dict | None = None,
    gps: dict | None = None,
    size: tuple[int, int] = (64, 48),
) -> bytes:
    exif = Image.Exif()
    exif.update(ifd0 or {})
    if sub:
        exif.get_ifd(ExifTags.IFD.Exif).update(sub)
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    out = io.BytesIO()
    make_image(1, size).save(out, format=fmt, exif=exif)
    return out.getvalue()


IPHONE = {
    "ifd0": {0x010F: "Apple", 0x0110: "iPhone 13"},
    "sub": {
        0x9003: "2019:07:14 10:00:00",
        0x9011: "+01:00",
        0xA433: "Apple",
        0xA434: "iPhone 13 back dual wide camera 5.1mm f/1.6",
    },
    "gps": LISBON_GPS,
}


def exif_jpeg(seed: int, *, taken: str, offset: str | None = None, gps: dict | None = None) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif).update({0x9003: taken, **({0x9011: offset} if offset else {})})
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    out = io.BytesIO()
    make_image(seed).save(out, format="JPEG", exif=exif)
    return out.getvalue()
