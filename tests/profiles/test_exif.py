"""EXIF read from real files Pillow and pillow-heif write, in the forms cameras and phones write them."""

import io
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from PIL import TiffImagePlugin

from profiles.exif import NOTHING, _coordinates, image_metadata
from tests.conftest import make_image
from tests.support.exif import IPHONE, exif_image

LISBON = ZoneInfo("Europe/Lisbon")


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF", "AVIF", "WEBP", "PNG"])
def test_date_offset_place_and_camera_are_read_from_every_format(fmt):
    meta = image_metadata(exif_image(fmt=fmt, **IPHONE), default_zone=LISBON)

    assert meta.taken_at == datetime(2019, 7, 14, 9, 0, tzinfo=UTC)
    assert meta.latitude == pytest.approx(38.7223) and meta.longitude == pytest.approx(-9.139306)
    assert (meta.camera_make, meta.camera_model) == ("Apple", "iPhone 13")
    assert meta.lens == "Apple iPhone 13 back dual wide camera 5.1mm f/1.6"


def test_without_an_offset_the_date_is_in_the_default_zone():
    meta = image_metadata(exif_image(sub={0x9003: "2019:07:14 10:00:00"}), default_zone=LISBON)

    assert meta.taken_at == datetime(2019, 7, 14, 9, 0, tzinfo=UTC)  # Lisbon is UTC+1 in summer


def test_offset_time_stands_in_for_a_missing_offset_time_original():
    meta = image_metadata(exif_image(sub={0x9003: "2019:07:14 10:00:00", 0x9010: "-05:00"}))

    assert meta.taken_at == datetime(2019, 7, 14, 15, 0, tzinfo=UTC)


def test_the_gps_clock_gives_the_offset_when_the_file_states_none():
    gps = {7: (8.0, 0.0, 12.0), 29: "2019:07:14"}  # UTC, 12 s after the local 10:00:00 of UTC+2
    meta = image_metadata(exif_image(sub={0x9003: "2019:07:14 10:00:00"}, gps=gps), default_zone=LISBON)

    assert meta.taken_at == datetime(2019, 7, 14, 8, 0, tzinfo=UTC)


def test_a_stale_gps_clock_gives_no_offset():
    gps = {7: (7.0, 37.0, 0.0), 29: "2019:07:14"}  # 23 minutes off a whole offset: an old fix
    meta = image_metadata(exif_image(sub={0x9003: "2019:07:14 10:00:00"}, gps=gps), default_zone=UTC)

    assert meta.taken_at == datetime(2019, 7, 14, 10, 0, tzinfo=UTC)


def test_sub_seconds_are_kept():
    meta = image_metadata(exif_image(sub={0x9003: "2019:07:14 10:00:00", 0x9291: "25", 0x9011: "+00:00"}))

    assert meta.taken_at == datetime(2019, 7, 14, 10, 0, 0, 250000, tzinfo=UTC)


def test_digitized_date_stands_in_for_a_missing_original_and_ifd0_datetime_is_ignored():
    digitized = image_metadata(exif_image(sub={0x9004: "2018:01:02 03:04:05", 0x9012: "+00:00"}))
    edited_only = image_metadata(exif_image(ifd0={0x0132: "2024:05:06 07:08:09"}))

    assert digitized.taken_at == datetime(2018, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert edited_only.taken_at is None  # DateTime is when the file was last written, not when it was taken


@pytest.mark.parametrize(
    "value",
    [
        "0000:00:00 00:00:00",
        "    :  :     :  :  ",
        "",
        "2019:13:45 10:00:00",
        "2019:07:14",
        "garbage",
        "1601:01:01 00:00:00",
    ],
)
def test_unknown_or_impossible_dates_give_none(value):
    assert image_metadata(exif_image(sub={0x9003: value})).taken_at is None


def test_a_date_in_the_future_is_a_wrong_clock():
    future = (datetime.now() + timedelta(days=30)).strftime("%Y:%m:%d %H:%M:%S")

    assert image_metadata(exif_image(sub={0x9003: future})).taken_at is None


def test_nul_padded_and_bytes_strings_are_cleaned():
    meta = image_metadata(
        exif_image(
            ifd0={0x010F: "Canon\x00\x00\x00", 0x0110: b"Canon EOS 5D\x00junk"},
            sub={0x9003: b"2019:07:14 10:00:00\x00", 0xA434: "EF24-70mm f/2.8L USM\x00"},
        )
    )

    assert (meta.camera_make, meta.camera_model, meta.lens) == ("Canon", "Canon EOS 5D", "EF24-70mm f/2.8L USM")
    assert meta.taken_at is not None


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        ((38.0, 43.0, 20.28), (9.0, 8.0, 21.5)),  # degrees, minutes, seconds
        ((38.0, 43.338), (9.0, 8.358333)),  # degrees, decimal minutes
        ((38.7223,), (9.139306,)),  # decimal degrees in one rational
        (38.7223, 9.139306),  # a bare number
        (
            (TiffImagePlugin.IFDRational(Fraction(387223, 10000)),),
            (TiffImagePlugin.IFDRational(Fraction(9139306, 10**6)),),
        ),
    ],
)
def test_degrees_in_every_form(latitude, longitude):
    gps = {1: b"N\x00", 2: latitude, 3: b"W\x00", 4: longitude}

    meta = image_metadata(exif_image(gps=gps))

    assert meta.latitude == pytest.approx(38.7223, abs=1e-4) and meta.longitude == pytest.approx(-9.1393, abs=1e-4)


# Forms Pillow reads from some files (the legacy ``_getexif`` pairs, signed rationals, strings) but does not write:
# given to the reader of the GPS block as Pillow hands it over.
def test_numerator_denominator_pairs_are_rationals():
    gps = {1: "N", 2: ((38, 1), (43, 1), (2028, 100)), 3: "W", 4: ((9, 1), (8, 1), (215, 10))}

    assert _coordinates(gps) == pytest.approx((38.7223, -9.139306))


def test_signed_degrees_keep_their_sign_with_or_without_a_ref_that_agrees():
    assert _coordinates({2: (-33.8568,), 4: (151.2153,)}) == pytest.approx((-33.8568, 151.2153))
    assert _coordinates({1: "S", 2: (-33.8568,), 3: "E", 4: (151.2153,)}) == pytest.approx((-33.8568, 151.2153))


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # no fix
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (9.0, 0.0, 0.0)},  # past the pole
        {1: "N", 2: (38.0, 75.0, 0.0), 3: "E", 4: (9.0, 0.0, 0.0)},  # 75 minutes
        {1: "N", 2: (38.0, 43.0, 20.0)},  # no longitude
    ],
)
def test_unusable_coordinates_give_none(gps):
    meta = image_metadata(exif_image(gps=gps))

    assert (meta.latitude, meta.longitude) == (None, None)


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: ((38, 0), (43, 1), (0, 1)), 3: "E", 4: (9.0, 0.0, 0.0)},  # a zero denominator
        {1: "N", 2: (TiffImagePlugin.IFDRational(38, 0),), 3: "E", 4: (9.0,)},  # Pillow's NaN for one
        {1: "N", 2: "38.7", 3: "W", 4: "9.1"},  # strings are no rationals
    ],
)
def test_unusable_rationals_give_none(gps):
    assert _coordinates(gps) == (None, None)


def test_a_damaged_exif_block_gives_what_can_be_read_and_never_raises():
    data = bytearray(exif_image(**IPHONE))
    start = data.find(b"Exif\x00\x00") + 6
    for position in range(start + 8, start + 200, 7):  # trample the tag entries
        data[position] = 0xFF

    meta = image_metadata(bytes(data))  # no exception

    assert meta.camera_make in ("", "Apple")


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\xff\xff\xff\xff"])
def test_no_image_or_a_truncated_header_gives_nothing(data):
    assert image_metadata(data) == NOTHING


def test_an_image_without_exif_gives_nothing():
    out = io.BytesIO()
    make_image(2).save(out, format="JPEG")

    assert image_metadata(out.getvalue()) == NOTHING
