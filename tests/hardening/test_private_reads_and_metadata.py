"""Issue 23, cases 9, 10 (EXIF) and 12: one switch closes every anonymous read; each EXIF field is read on its own;
photos without text get no OCR words.

Real HTTP against ``live_server`` (pages, media, API, the admin login), real EXIF written by Pillow into real files,
the real RapidOCR engine (its wheel bundles the models) on pictures drawn with Pillow.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import urllib.parse

import numpy as np
import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
from PIL import ExifTags, Image, ImageDraw, ImageFont

from profiles.exif import image_metadata
from profiles.models import Photo
from profiles.services.imports import folder_import
from search.ml.ocr import get_ocr_engine
from tests.conftest import free_port, process_stop
from tests.hardening.conftest import ROOT, subprocess_env
from tests.support.api import make_tokens

# --- Case 9: PHOTOSEARCH_API_PUBLIC_READS=false closes pages, photo pages, media and the API alike -------------------


@pytest.fixture
def library(photo_folder, django_user_model) -> dict:
    """One imported photo (with words of its own), a staff user with a password, and API tokens."""
    folder = photo_folder({"harbour.jpg": 3, "harbour.txt": "the harbour at dawn"})
    folder_import(path=folder, profile_name="trip")
    photo = Photo.objects.get(source_id="harbour.jpg")
    tokens = make_tokens(django_user_model)
    # Hashed as the server hashes (the suite's own settings use a fast MD5 hasher the server does not know).
    django_user_model.objects.create(
        username="admin", is_staff=True, password=PBKDF2PasswordHasher().encode("secret-pw", "pepper0salt")
    )
    # A plain user (not staff): the admin's login refuses it, the site's sign-in page must not.
    django_user_model.objects.create(
        username="viewer", password=PBKDF2PasswordHasher().encode("view-pw", "salt1pepper")
    )
    return {"photo": photo, "tokens": tokens}


# What each answers to a reader who may read it: the search-by-image page takes POSTs only (405 to a GET).
_ANSWERS = {"search by image page": 405, "a page that does not exist": 404}


def _reads(photo: Photo) -> dict[str, str]:
    return {
        "search page": "/?q=harbour",
        "home": "/",
        "photo page": f"/photos/{photo.pk}/",
        "profiles page": "/profiles/",
        "search by image page": "/search/image/",
        "a page that does not exist": "/nothing-here/",
        "media": f"/media/{photo.thumbnail.name}",
    }


def _get(server: str, path: str, **kwargs) -> requests.Response:
    return requests.get(f"{server}{path}", allow_redirects=False, timeout=30, **kwargs)


@pytest.fixture
def private_server(library, media_root):
    """gunicorn on 127.0.0.1 started with PHOTOSEARCH_API_PUBLIC_READS=false in its environment (the setting as an
    operator sets it), serving this test's database and media. Not ``live_server``: Django's test server answers
    /media/ itself, before any middleware."""
    port = free_port()
    env = subprocess_env(media_root, PHOTOSEARCH_API_PUBLIC_READS="false", PHOTOSEARCH_LOG_LEVEL="warning")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "photosearch.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if _get(server, "/admin/login/").status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"gunicorn did not start: {process.communicate()[0][-2000:]}")
        time.sleep(0.3)
    try:
        yield server
    finally:
        process_stop(process)


@pytest.mark.django_db(transaction=True)
def test_with_public_reads_off_no_page_photo_media_or_api_is_served_to_an_anonymous_visitor(private_server, library):
    photo = library["photo"]

    for what, path in _reads(photo).items():
        response = _get(private_server, path)
        if what == "media":
            assert response.status_code == 403, (what, response.status_code)
            assert response.content == b"Sign in to see photos."
        else:
            assert response.status_code == 302, (what, response.status_code)
            location = urllib.parse.urlsplit(response.headers["Location"])
            assert location.path == "/login/"
            assert urllib.parse.parse_qs(location.query) == {"next": [path]}, what
        assert b"harbour" not in response.content, what
    # A form post (search by image) is turned away the same way.
    posted = requests.post(
        f"{private_server}/search/image/", files={"image": ("a.jpg", b"x")}, allow_redirects=False, timeout=30
    )
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/login/")
    # The API as before: 401 in its own error shape.
    api = _get(private_server, f"/api/v1/photos/{photo.pk}/")
    assert api.status_code == 401 and set(api.json()) == {"error", "details"}
    assert _get(private_server, "/api/v1/search/", params={"q": "harbour"}).status_code == 401
    # What must stay reachable: the login page, static files, the API's schema.
    assert _get(private_server, "/login/").status_code == 200
    assert _get(private_server, "/admin/login/").status_code == 200
    assert _get(private_server, "/static/photosearch.css").status_code == 200
    assert _get(private_server, "/api/schema/").status_code == 200
    # A wrong token opens nothing.
    assert _get(private_server, _reads(photo)["media"], headers={"Authorization": "Token nope"}).status_code == 403


def _session_of(user) -> dict[str, str]:
    """The session cookie of ``user`` signed in (a session of its own: a second login on one client ends the first)."""
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


@pytest.mark.django_db(transaction=True)
def test_with_public_reads_off_a_signed_in_user_or_a_token_holder_reads_everything(
    private_server, library, django_user_model
):
    photo = library["photo"]
    readers = {
        "session of a staff user": {"cookies": _session_of(django_user_model.objects.get(username="staff"))},
        "session of a reader": {"cookies": _session_of(django_user_model.objects.get(username="reader"))},
        "reader's API token": {"headers": {"Authorization": f"Token {library['tokens']['reader']}"}},
    }
    with photo.thumbnail.open("rb") as file:
        thumbnail = file.read()

    for who, auth in readers.items():
        for what, path in _reads(photo).items():
            response = _get(private_server, path, **auth)
            assert response.status_code == _ANSWERS.get(what, 200), (who, what, response.status_code)
            assert _get(private_server, path).status_code in (302, 403), what  # the same without credentials
        media = _get(private_server, _reads(photo)["media"], **auth)
        assert media.content == thumbnail and media.headers["Content-Type"] == "image/jpeg", who
        assert "harbour" in _get(private_server, f"/photos/{photo.pk}/", **auth).text, who
        assert _get(private_server, f"/api/v1/photos/{photo.pk}/", **auth).json()["id"] == photo.pk, who


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "username,password", [("admin", "secret-pw"), ("viewer", "view-pw")], ids=["staff", "not staff"]
)
def test_signing_in_through_the_redirect_leads_back_to_the_page_asked_for(private_server, library, username, password):
    browser = requests.Session()
    page = f"/photos/{library['photo'].pk}/"

    login_url = browser.get(f"{private_server}{page}", timeout=30).url  # follows the redirect to the login form
    assert login_url.startswith(f"{private_server}/login/?next=")
    signed_in = browser.post(
        login_url,
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": page,
        },
        headers={"Referer": login_url},
        timeout=30,
    )

    assert signed_in.status_code == 200 and signed_in.url == f"{private_server}{page}"
    assert "harbour" in signed_in.text


@pytest.mark.django_db
def test_with_public_reads_on_anonymous_visitors_read_pages_media_and_api(client, library):
    photo = library["photo"]
    for what, path in _reads(photo).items():
        response = client.get(path)
        assert response.status_code == _ANSWERS.get(what, 200), what
    with photo.thumbnail.open("rb") as file:
        assert b"".join(client.get(_reads(photo)["media"]).streaming_content) == file.read()
    assert client.get(f"/api/v1/photos/{photo.pk}/").status_code == 200


# --- Case 10 (EXIF): each field on its own, UTF-8 text, a junk GPS ref leaves the sign alone -------------------------

LISBON = {"latitude": 38.7223, "longitude": -9.139306}
EXIF_OK = {
    "ifd0": {0x010F: "Leica", 0x0110: "Q2"},
    "sub": {0x9003: "2019:07:14 10:00:00", 0x9011: "+01:00"},
    "gps": {1: "N", 2: (38.0, 43.0, 20.28), 3: "W", 4: (9.0, 8.0, 21.5)},
}


def exif_file(*, ifd0: dict, sub: dict, gps: dict, signed_longitude: bool = False) -> bytes:
    """A real JPEG whose EXIF Pillow writes. ``signed_longitude``: the longitude's degrees turned into a negative
    SRATIONAL, as writers that put the sign in the value do (Pillow writes GPS degrees as unsigned RATIONALs only)."""
    exif = Image.Exif()
    exif.update(ifd0)
    exif.get_ifd(ExifTags.IFD.Exif).update(sub)
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 160)).save(out, format="JPEG", exif=exif)
    data = bytearray(out.getvalue())
    if signed_longitude:
        tiff = data.find(b"Exif\x00\x00") + 6
        order = "big" if data[tiff : tiff + 2] == b"MM" else "little"
        entry = data.find((4).to_bytes(2, order) + (5).to_bytes(2, order) + (3).to_bytes(4, order), tiff)
        assert entry > 0, "GPSLongitude entry not found"
        data[entry + 2 : entry + 4] = (10).to_bytes(2, order)  # SRATIONAL
        degrees_at = tiff + int.from_bytes(data[entry + 8 : entry + 12], order)
        numerator = int.from_bytes(data[degrees_at : degrees_at + 4], order, signed=True)
        data[degrees_at : degrees_at + 4] = (-numerator).to_bytes(4, order, signed=True)
    return bytes(data)


def test_the_exif_writer_of_these_tests_writes_what_it_says():
    assert image_metadata(exif_file(**EXIF_OK)).longitude == pytest.approx(-9.139306)
    assert image_metadata(exif_file(**EXIF_OK, signed_longitude=True)).longitude == pytest.approx(-9.139306)


def test_degrees_that_carry_a_sign_keep_it_against_a_ref_that_disagrees():
    meta = image_metadata(exif_file(**{**EXIF_OK, "gps": {**EXIF_OK["gps"], 3: "E"}}, signed_longitude=True))

    assert meta.longitude == pytest.approx(-9.139306)


@pytest.mark.parametrize(
    "subsec",
    ["²".encode(), b"\xb2", "½".encode(), b"\xff\xfe"],
    ids=["superscript two UTF-8", "superscript two Latin-1", "one half", "junk bytes"],
)
def test_a_junk_sub_second_loses_nothing_else(subsec):
    meta = image_metadata(exif_file(**{**EXIF_OK, "sub": {**EXIF_OK["sub"], 0x9291: subsec}}))

    assert meta.taken_at is not None and meta.taken_at.isoformat() == "2019-07-14T10:00:00+01:00"
    assert (meta.latitude, meta.longitude) == pytest.approx((38.7223, -9.139306))
    assert (meta.camera_make, meta.camera_model) == ("Leica", "Q2")


@pytest.mark.parametrize(
    "bad",
    [
        {"sub": {0x9011: b"\xff\xfe+01:00"}},  # an offset of junk: the date in the default zone
        {"gps": {2: (38.0, 43.0, 20.28, 7.0)}},  # four parts for degrees: no place
        {"gps": {7: (25.0, 61.0, 99.0), 29: "²⁰¹⁹:07:14".encode()}},  # a GPS clock of junk
        {"sub": {0xA434: 12345}},  # a number for a lens
    ],
)
def test_one_bad_field_costs_only_itself(bad):
    meta = image_metadata(
        exif_file(
            ifd0=EXIF_OK["ifd0"],
            sub={**EXIF_OK["sub"], **bad.get("sub", {})},
            gps={**EXIF_OK["gps"], **bad.get("gps", {})},
        )
    )

    assert meta.taken_at is not None and meta.taken_at.replace(tzinfo=None).isoformat() == "2019-07-14T10:00:00"
    assert (meta.camera_make, meta.camera_model) == ("Leica", "Q2")
    if "gps" not in bad or 7 in bad["gps"]:
        assert (meta.latitude, meta.longitude) == pytest.approx((38.7223, -9.139306))


def test_utf8_exif_text_is_read_as_utf8_and_legacy_latin1_still_reads():
    meta = image_metadata(
        exif_file(
            ifd0={0x010F: "Café Cameras".encode("latin-1"), 0x0110: "Q2 Édition «Ghost»".encode()},
            sub={**EXIF_OK["sub"], 0xA434: "Summilux 28 f/1.7 ASPH — 東京".encode()},
            gps=EXIF_OK["gps"],
        )
    )

    assert meta.camera_model == "Q2 Édition «Ghost»"
    assert meta.camera_make == "Café Cameras"
    assert meta.lens == "Summilux 28 f/1.7 ASPH — 東京"


@pytest.mark.parametrize(
    "latitude_ref, longitude_ref",
    [("-", b"\xff"), (b"\xff", "-"), ("?", " "), ("X", "Z")],
    ids=["dash, y-umlaut", "y-umlaut, dash", "question mark, blank", "X, Z"],
)
def test_a_junk_gps_ref_leaves_the_sign_the_degrees_carry(latitude_ref, longitude_ref):
    gps = {1: latitude_ref, 2: (38.0, 43.0, 20.28), 3: longitude_ref, 4: (9.0, 8.0, 21.5)}

    meta = image_metadata(exif_file(ifd0=EXIF_OK["ifd0"], sub=EXIF_OK["sub"], gps=gps, signed_longitude=True))

    assert (meta.latitude, meta.longitude) == pytest.approx((38.7223, -9.139306))  # Lisbon, not Pula (Sardinia)


@pytest.mark.parametrize(
    "refs, expected",
    [
        (("N", "W"), (38.7223, -9.139306)),
        ((b"S\x00", b"E\x00"), (-38.7223, 9.139306)),
        (("n", "w"), (38.7223, -9.139306)),
        (("North", "West"), (38.7223, -9.139306)),
    ],
)
def test_a_valid_gps_ref_still_signs_unsigned_degrees(refs, expected):
    gps = {1: refs[0], 2: (38.0, 43.0, 20.28), 3: refs[1], 4: (9.0, 8.0, 21.5)}

    meta = image_metadata(exif_file(ifd0=EXIF_OK["ifd0"], sub=EXIF_OK["sub"], gps=gps))

    assert (meta.latitude, meta.longitude) == pytest.approx(expected)


# --- Case 12: photos without text get no OCR words; real words are still read ---------------------------------------


@pytest.fixture
def rapidocr(settings):
    settings.PHOTOSEARCH_OCR = "rapidocr"
    return get_ocr_engine()


def _shapes(kind: str) -> Image.Image:
    """Shapes without a letter that RapidOCR 3.10 reads as characters with no filter (its scores in brackets)."""
    image = Image.new("RGB", (900, 700), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    ink = (20, 20, 20)
    if kind == "three squares":  # "品" (0.9999: as sure as of any real word)
        for box in ((400, 200, 440, 240), (370, 250, 410, 290), (430, 250, 470, 290)):
            draw.rectangle(box, outline=ink, width=5)
    elif kind == "dots":  # "●" (0.95, 0.71)
        for index, size in enumerate((10, 16, 22, 30)):
            draw.ellipse((100 + 200 * index, 300, 100 + 200 * index + size, 300 + size), fill=ink)
    elif kind == "frames":  # "□" ×5 (0.67–0.78)
        for x in range(60, 800, 180):
            draw.rectangle((x, 250, x + 60, 310), outline=ink, width=6)
            draw.rectangle((x + 18, 330, x + 42, 354), outline=ink, width=4)
    elif kind == "dash and bar":  # "-I" (0.72)
        draw.line((300, 330, 330, 330), fill=ink, width=5)
        draw.line((350, 300, 350, 360), fill=ink, width=6)
    else:  # "scattered", the bench's generator: "1" (0.72)
        from bench.ocr import shapes_photo

        image = shapes_photo(np.random.default_rng(21), on_photo=False)
    return image


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["three squares", "dots", "frames", "dash and bar", "scattered"])
def test_drawn_shapes_without_text_read_as_no_words(rapidocr, kind):
    assert rapidocr.read(_shapes(kind)) == ""


@pytest.mark.django_db
@pytest.mark.parametrize("text, size", [("harbour market", 40), ("OPEN 24 hours", 28), ("Gate 12", 36)])
def test_real_rendered_words_are_still_read(rapidocr, text, size):
    image = Image.new("RGB", (900, 400), (240, 236, 220))
    draw = ImageDraw.Draw(image)
    draw.text((60, 150), text, font=ImageFont.load_default(size=size), fill=(25, 25, 30))
    draw.ellipse((700, 300, 714, 314), fill=(30, 30, 30))  # a dot beside the words: no "•" comes with them

    read = rapidocr.read(image)

    assert read.lower().split() == text.lower().split()


def test_a_line_is_kept_only_above_the_score_and_a_word_only_with_two_letters_or_digits_in_a_row():
    from search.ml.ocr import MIN_LINE_SCORE, words_worth_keeping

    lines = [
        ("•", 0.99),
        ("-1", 0.97),
        ("品", 0.98),
        ("口 0", 0.9),
        ("Café 7 • menu", 0.96),
        ("東京駅", 0.97),
        ("harbour", MIN_LINE_SCORE - 0.01),
        ("A1 road", 0.9),
    ]

    assert words_worth_keeping(lines) == "Café menu\n東京駅\nA1 road"
    assert words_worth_keeping([]) == ""
