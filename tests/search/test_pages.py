"""The pages in a real Chromium (Debian's /usr/bin/chromium driven by Playwright) against the live server."""

import io
import os
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter

from profiles.models import ImportJob, Photo, Profile
from profiles.services.imports import folder_import
from search import views
from search.services.embedding import photos_embed
from tests.conftest import image_bytes
from tests.search.pages import result_ids, search, when

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(autouse=True)
def no_cutoff(settings):
    """The tiny random test model puts pictures at arbitrary distances; keep every vector hit so grids are full."""
    settings.PHOTOSEARCH_CUTOFF = 0


@pytest.fixture
def two_profiles(photo_folder, encoder):
    """city: a (2021, a video cover), b (2023, "Market stalls at night"); hills: c (2022, "Night market …")."""
    folder_import(
        path=photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": "Market stalls at night <b>open</b>"}, "x"),
        profile_name="city",
    )
    folder_import(path=photo_folder({"c.jpg": 3, "c.txt": "Night market in the hills"}, "y"), profile_name="hills")
    photos_embed()
    Photo.objects.filter(source_id="a.jpg").update(taken_at=when("2021-05-01"), media_type="video")
    Photo.objects.filter(source_id="b.jpg").update(taken_at=when("2023-08-15"))
    Photo.objects.filter(source_id="c.jpg").update(taken_at=when("2022-03-10"))
    return {p.source_id: p for p in Photo.objects.all()}


@pytest.fixture
def look_alikes(photo_folder, encoder):
    """Eight different pictures, and a re-encoded copy of img3 under its own name."""
    root = photo_folder({**{f"img{i}.jpg": i for i in range(8)}, "img3.txt": "Red kite over the ridge"})
    (root / "img3-copy.jpg").write_bytes(image_bytes(3, quality=55))
    folder_import(path=root, profile_name="birds")
    photos_embed()
    Photo.objects.filter(source_id="img3.jpg").update(permalink="https://example.org/p/img3", hashtags="kite ridge")
    return {p.source_id: p for p in Photo.objects.all()}


def test_typing_a_description_shows_the_matching_photo_first_and_why(live_server, page, two_profiles):
    page.goto(live_server.url + "/")
    assert page.locator("select#profile option").all_inner_texts() == ["All profiles", "city (2)", "hills (1)"]
    unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                                  .filter(el => el.labels.length === 0).map(el => el.name)""")
    assert unlabelled == []

    search(page, live_server.url, q="market stalls")

    tiles = page.locator("#results li.tile")
    assert tiles.count() == 3
    first = tiles.first
    assert first.get_attribute("data-photo-id") == str(two_profiles["b.jpg"].pk)
    assert first.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")  # the thumbnail loads
    caption = Photo.objects.get(source_id="b.jpg").caption
    assert caption and first.locator("img").get_attribute("alt") == caption
    assert "words #1" in first.locator(".why").inner_text()
    assert first.locator(".headline mark").all_inner_texts()[:2] == ["Market", "stalls"]
    assert first.locator(".headline b").count() == 0  # the photo's own "<b>" is text, not markup
    first.locator("a.tile-link").focus()  # keyboard-reachable, and focus shows the overlay like hover does
    assert first.locator(".hover .text").is_visible()
    assert "Market stalls at night" in first.locator(".hover .text").inner_text()


def test_profile_date_and_media_filters_narrow_the_grid(live_server, page, two_profiles):
    ids = {name: str(photo.pk) for name, photo in two_profiles.items()}
    search(page, live_server.url, q="night market")
    assert sorted(result_ids(page)) == sorted(ids.values())

    search(page, live_server.url, q="night market", profile="hills")
    assert result_ids(page) == [ids["c.jpg"]]
    assert page.locator("select#profile").input_value() == "hills"

    search(page, live_server.url, q="night market", **{"from": "2022-01-01", "to": "2023-08-15"})
    assert sorted(result_ids(page)) == sorted([ids["b.jpg"], ids["c.jpg"]])  # "to" includes its whole day
    assert page.locator("#from").input_value() == "2022-01-01"

    search(page, live_server.url, q="night market", media_type="video")
    assert result_ids(page) == [ids["a.jpg"]]
    assert page.locator("#results .badge").inner_text() == "Video"

    search(page, live_server.url, q="night market", has_text="no")
    assert result_ids(page) == [ids["a.jpg"]]


def test_sort_newest_orders_by_date_taken(live_server, page, two_profiles):
    search(page, live_server.url, q="market", sort="newest")

    assert result_ids(page) == [str(two_profiles[name].pk) for name in ("b.jpg", "c.jpg", "a.jpg")]
    assert page.locator("select#sort").input_value() == "newest"


def test_more_results_loads_the_next_page_with_and_without_javascript(live_server, page, look_alikes, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    search(page, live_server.url, q="kite")
    first_page = result_ids(page)
    assert len(first_page) == 4
    assert page.url == live_server.url + "/?q=kite"  # photosearch.js leaves empty filters out of the URL
    more = page.locator("a[data-load-more]")
    href = more.get_attribute("href")
    assert "offset=4" in href and "q=kite" in href

    more.click()  # photosearch.js appends the next page in place
    page.wait_for_function("document.querySelectorAll('#results li.tile').length === 8")
    all_ids = result_ids(page)
    assert all_ids[:4] == first_page and len(set(all_ids)) == 8
    assert page.url == live_server.url + "/?q=kite"  # appended in place, no navigation
    assert page.locator("[data-range-end]").inner_text() == "8"

    response = page.goto(live_server.url + "/" + href)  # the plain link, as a browser without JS follows it
    assert response.status == 200
    assert result_ids(page) == all_ids[4:]
    assert page.locator("[data-range-start]").inner_text() == "5"


def test_clicking_a_tile_opens_the_photo_page_with_similar_photos(live_server, page, look_alikes):
    search(page, live_server.url, q="red kite")
    original = look_alikes["img3.jpg"]

    page.click(f"#results li[data-photo-id='{original.pk}'] a.tile-link")

    page.wait_for_url(f"**/photos/{original.pk}/")
    assert "Red kite over the ridge" in page.locator("h1").inner_text()
    assert page.locator(".photo-figure img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator(".facts .caption").inner_text() == Photo.objects.get(pk=original.pk).caption
    assert page.locator(".tags a").all_inner_texts() == ["#kite", "#ridge"]
    assert page.locator("a", has_text="Open the original post").get_attribute("href") == "https://example.org/p/img3"
    assert page.locator(".eyebrow a").inner_text() == "birds"
    similar = page.locator("#similar li.tile")
    assert similar.first.get_attribute("data-photo-id") == str(look_alikes["img3-copy.jpg"].pk)
    assert str(original.pk) not in similar.evaluate_all("els => els.map(e => e.dataset.photoId)")


def test_a_photo_that_is_not_indexed_yet_says_so(live_server, page, photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="fresh")

    response = page.goto(f"{live_server.url}/photos/{Photo.objects.get().pk}/")

    assert response.status == 200
    assert "not been indexed yet" in page.locator(".similar .message").inner_text()


def test_a_repost_shows_the_original_image_and_its_look_alikes_with_its_own_words(live_server, page, photo_folder):
    folder_import(
        path=photo_folder({"a.jpg": 1, "b.jpg": 2, "z-repost.jpg": 1, "z-repost.txt": "Posted again"}), profile_name="p"
    )
    photos_embed()
    repost = Photo.objects.get(source_id="z-repost.jpg")
    assert repost.duplicate_of is not None and repost.embedding is None

    page.goto(f"{live_server.url}/photos/{repost.pk}/")

    assert page.locator("h1").inner_text() == "Posted again"
    assert page.locator(".photo-figure img").get_attribute("alt") == repost.duplicate_of.caption
    assert page.locator("#similar li.tile").evaluate_all("els => els.map(e => e.dataset.photoId)") == [
        str(Photo.objects.get(source_id="b.jpg").pk)
    ]


def test_uploading_a_picture_finds_its_near_duplicate_first(live_server, page, look_alikes):
    page.goto(live_server.url + "/")
    page.click("details.by-image summary")
    page.set_input_files(
        "#image", files=[{"name": "kite.jpg", "mimeType": "image/jpeg", "buffer": image_bytes(3, quality=40)}]
    )
    page.click("#image-form button[type=submit]")
    page.wait_for_load_state()

    ids = result_ids(page)
    assert ids[0] in {str(look_alikes["img3.jpg"].pk), str(look_alikes["img3-copy.jpg"].pk)}
    assert "look like “kite.jpg”" in page.locator("#results-heading").inner_text()


BAD_UPLOADS = [
    ({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}, "not an image"),
    ({"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8junk"}, "not an image Pillow can read"),
    ({"name": "big.jpg", "mimeType": "image/jpeg", "buffer": image_bytes(1)}, "too large"),
]


def test_a_bad_upload_shows_the_reason_with_status_400(live_server, page, settings):
    settings.PHOTOSEARCH_MAX_UPLOAD_BYTES = 2_000  # image_bytes(1) is about 7 kB
    for upload, reason in BAD_UPLOADS:
        page.goto(live_server.url + "/")
        page.click("details.by-image summary")
        page.set_input_files("#image", files=[upload])

        with page.expect_response(lambda r: r.url.endswith("/search/image/")) as answer:
            page.click("#image-form button[type=submit]")

        assert answer.value.status == 400, upload["name"]
        assert reason in page.locator("[role=alert]").inner_text()


BAD_QUERIES = [
    ("q=" + "x" * 501, "too long"),
    ("q=kite&from=2024-13-01", "is not a date"),
    ("q=kite&from=2024-02-01&to=2024-01-01", "after the To date"),
    ("q=kite&sort=best", "Unknown sort"),
    ("q=kite&profile=nobody", "no profile named"),
]


def test_a_bad_query_shows_the_reason_with_status_400(live_server, page):
    for query, reason in BAD_QUERIES:
        response = page.goto(f"{live_server.url}/?{query}")

        assert response.status == 400, query
        assert reason in page.locator("[role=alert]").inner_text()
        if "kite" in query:
            assert page.locator("input[name=q]").input_value() == "kite"  # the form keeps what was typed


def test_an_empty_library_explains_what_to_do(live_server, page):
    page.goto(live_server.url + "/")
    assert "import_folder" in page.locator(".hint").inner_text()

    search(page, live_server.url, q="red kite")
    assert "No photos match “red kite”" in page.locator(".empty").inner_text()


def test_an_unknown_photo_is_404(live_server, page):
    assert page.goto(live_server.url + "/photos/999999/").status == 404
    assert "Not found" in page.locator("[role=alert]").inner_text()
    assert page.locator("nav").is_visible()  # the site's own page, not a bare error


def test_the_profiles_page_lists_counts_and_the_last_import(live_server, page, two_profiles, photo_folder):
    folder_import(path=photo_folder({"d.jpg": 4}, "z"), profile_name="hills")  # a second import; not embedded yet

    page.goto(live_server.url + "/")
    page.click("nav >> text=Profiles")

    rows = page.locator("table.profiles tbody tr")
    assert rows.count() == 2
    hills = page.locator("tr[data-profile=hills]")
    assert hills.locator(".photo-count").inner_text() == "2"
    assert hills.locator(".embedded-count").inner_text() == "1"
    assert hills.locator(".status").inner_text() == "Succeeded"
    assert "1 new" in hills.locator(".counts").inner_text()
    assert "finished" in hills.locator(".when").inner_text()
    assert page.locator("tr[data-profile=city] .photo-count").inner_text() == "2"

    hills.locator("a", has_text="Search hills").click()
    assert page.locator("select#profile").input_value() == "hills"
    # With no words typed, the profile's photos are listed, newest first.
    assert page.locator("#results li.tile").count() == 2
    assert "of hills, newest first" in page.locator("#results-heading").inner_text()


# --- Screenshots (docs/*.png in the README) ---------------------------------------------------------------------

SKIES = {  # top of the sky, horizon, sun or moon
    "day": ((110, 170, 230), (200, 225, 245), (255, 250, 220)),
    "sunset": ((60, 50, 120), (250, 150, 90), (255, 220, 140)),
    "night": ((10, 15, 40), (45, 40, 90), (235, 235, 215)),
    "dawn": ((120, 150, 200), (250, 200, 180), (255, 240, 200)),
}


def scene(seed: int, sky: str, land: str) -> bytes:
    """A flat illustration (sky, sun, and sea, mountains or a skyline): screenshots that show something like photos."""
    rng, (w, h) = random.Random(seed), (640, 480)
    top, bottom, sun = SKIES[sky]
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    horizon = int(h * rng.uniform(0.55, 0.68))
    for y in range(h):
        t = min(1, y / horizon)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    r = rng.randint(22, 40)
    cx, cy = rng.randint(r, w - r), rng.randint(int(horizon * 0.25), int(horizon * 0.7))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=sun)
    if land in ("coast", "sea"):
        for y in range(horizon, h):
            shade = 0.75 - 0.35 * (y - horizon) / (h - horizon)
            draw.line([(0, y), (w, y)], fill=tuple(int(c * shade) for c in bottom))
        for _ in range(40):
            y = rng.randint(horizon + 3, h - 3)
            x = cx + rng.randint(-60, 60) * (1 + (y - horizon) / 80)
            draw.line([(x - rng.randint(5, 25), y), (x + rng.randint(5, 25), y)], fill=sun)
    if land in ("mountains", "coast"):
        layers = 3 if land == "mountains" else 1
        ground = (40, 70, 55) if sky != "night" else (12, 16, 26)
        for i in range(layers):
            far = (layers - 1 - i) / (layers - 1) if layers > 1 else 0
            base = horizon + i * 30 if land == "mountains" else horizon
            peak = rng.randint(110, 190) - i * 30 if land == "mountains" else rng.randint(40, 80)
            right = w if land == "mountains" else int(w * rng.uniform(0.35, 0.5))
            points, x, y = [(0, h)], 0, base - rng.randint(peak // 2, peak)
            while x < right:
                points.append((x, y))
                x += rng.randint(20, 60)
                y = max(base - peak, min(base - 5, y + rng.randint(-40, 40)))
            points += [(right, horizon), (right + 40, h)] if land == "coast" else [(w, y), (w, h)]
            draw.polygon(points, fill=tuple(int(g + (b - g) * far * 0.65) for g, b in zip(ground, bottom, strict=True)))
    if land == "city":
        x = 0
        while x < w:
            width, height = rng.randint(30, 80), rng.randint(60, int(h * 0.55))
            wall = (25, 25, 45) if sky == "night" else (90, 95, 110)
            draw.rectangle((x, horizon - height + 80, x + width, h), fill=wall)
            for wy in range(horizon - height + 90, h - 10, 14):
                for wx in range(x + 5, x + width - 6, 11):
                    if rng.random() < (0.45 if sky == "night" else 0.15):
                        lit = (255, 210, 120) if sky == "night" else (180, 200, 220)
                        draw.rectangle((wx, wy, wx + 5, wy + 7), fill=lit)
            x += width + rng.randint(2, 8)
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.8)).save(out, "JPEG", quality=88)
    return out.getvalue()


SCREENSHOT_LIBRARY = {  # profile: [(instaloader-style name, sky, land, the photo's own words or "")]
    "coast": [
        (
            "2024-07-14_20-41-00_UTC",
            "sunset",
            "coast",
            "Sunset over the sea from the cliffs above the harbour #sunset #coast",
        ),
        ("2024-07-15_06-02-00_UTC", "dawn", "sea", "Calm sea at dawn, nobody on the beach yet"),
        ("2024-07-16_13-10-00_UTC", "day", "coast", "Headland walk under clear skies #coast"),
        ("2024-07-18_21-05-00_UTC", "sunset", "sea", "Last light over the bay"),
        ("2024-07-19_22-30-00_UTC", "night", "sea", ""),
        ("2024-07-20_12-00-00_UTC", "day", "sea", "Sea as flat as a mirror"),
    ],
    "alps": [
        ("2023-09-02_07-30-00_UTC", "dawn", "mountains", "First light on the ridge #mountains"),
        ("2023-09-02_19-45-00_UTC", "sunset", "mountains", "Sunset from the hut, peaks turning pink"),
        ("2023-09-03_11-20-00_UTC", "day", "mountains", ""),
        ("2023-09-03_23-10-00_UTC", "night", "mountains", "Moonrise over the valley"),
    ],
    "city-nights": [
        ("2022-12-01_22-15-00_UTC", "night", "city", "Office towers still lit at midnight"),
        ("2022-12-02_14-00-00_UTC", "day", "city", ""),
        ("2022-12-03_23-40-00_UTC", "night", "city", "Skyline from the bridge"),
    ],
}


@pytest.fixture
def scenery(photo_folder, encoder):
    seed = 0
    for profile, shots in SCREENSHOT_LIBRARY.items():
        files: dict[str, bytes | str] = {}
        for name, sky, land, text in shots:
            seed += 1
            files[f"{name}.jpg"] = scene(seed, sky, land)
            if text:
                files[f"{name}.txt"] = text
        folder_import(path=photo_folder(files, profile), profile_name=profile)
    Profile.objects.filter(handle="coast").update(display_name="Coastal walks")
    photos_embed()
    folder_import(path=photo_folder({"late.jpg": scene(99, "dawn", "city")}, "more"), profile_name="city-nights")
    natgeo = Profile.objects.create(source_kind="instagram", handle="natgeo", display_name="National Geographic")
    ImportJob.objects.create(
        profile=natgeo,
        status=ImportJob.Status.INTERRUPTED,
        imported=212,
        total=None,
        last_error="Instagram answered 401 “Please wait a few minutes”; rerun to resume.",
        started_at=when("2024-07-21"),
        finished_at=when("2024-07-21"),
    )


def test_screenshots_of_the_three_pages_and_a_phone(live_server, browser, scenery, tmp_path):
    """Writes docs/screenshot-*.png with PHOTOSEARCH_SCREENSHOTS=1 (for the README); otherwise to a temporary folder."""
    folder = DOCS if os.environ.get("PHOTOSEARCH_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(exist_ok=True)
    photo = Photo.objects.get(source_id__startswith="2024-07-14")
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        shots = {
            "search": live_server.url + "/?q=sunset+over+the+sea",
            "photo": f"{live_server.url}/photos/{photo.pk}/",
            "profiles": live_server.url + "/profiles/",
        }
        for name, url in shots.items():
            page.goto(url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=folder / f"screenshot-{name}.png", full_page=name != "profiles")
    finally:
        context.close()
    # A phone's first screen (390 px, as Playwright's "iPhone 12"): the query, the closed Filters, the first results.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = phone.new_page()
        page.goto(live_server.url + "/?q=sunset+over+the+sea")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=folder / "screenshot-phone.png")
    finally:
        phone.close()

    for name in ("search", "photo", "profiles", "phone"):
        assert (folder / f"screenshot-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_understood_place_shows_as_a_chip_whose_cross_takes_it_back_as_words(
    live_server, page, photo_folder, encoder
):
    folder_import(
        path=photo_folder({"a.jpg": 1, "a.txt": "Beach day", "b.jpg": 2, "b.txt": "Beach at dusk"}),
        profile_name="trips",
    )
    photos_embed()
    Photo.objects.filter(source_id="a.jpg").update(
        city="Lisbon", region="Lisbon", country="Portugal", country_code="PT", latitude=38.72, longitude=-9.14
    )

    search(page, live_server.url, q="beach in lisbon")

    chip = page.locator(".understood .chip[data-kind=place]")
    assert " ".join(chip.inner_text().split()) == "place: Lisbon, Portugal ✕"
    assert result_ids(page) == [str(Photo.objects.get(source_id="a.jpg").pk)]

    chip.locator("a.chip-undo").click()
    page.wait_for_load_state()

    assert page.locator(".understood .chip[data-kind=place]").count() == 0
    assert "plain=place" in page.url
    assert set(result_ids(page)) == {str(photo.pk) for photo in Photo.objects.all()}  # "lisbon" is a word again
