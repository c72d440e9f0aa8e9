"""The search page in a real Chromium (Debian's /usr/bin/chromium driven by Playwright) against the live server."""

import pytest

from profiles.models import Photo
from profiles.services import folder_import
from search.services import photos_embed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def two_profiles(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": "Market stalls at night"}, "x"),
                  profile_name="city")
    folder_import(path=photo_folder({"c.jpg": 3, "c.txt": "Night market in the hills"}, "y"), profile_name="hills")
    photos_embed()
    return {p.source_id: p for p in Photo.objects.all()}


def test_typing_a_description_shows_the_matching_photo_first_with_its_text(live_server, page, two_profiles):
    page.goto(live_server.url + "/")
    assert page.locator("select#profile option").all_inner_texts() == ["All profiles", "city (2)", "hills (1)"]

    page.fill("input[name=q]", "market stalls")
    page.click("button[type=submit]")

    tiles = page.locator("#results li.tile")
    tiles.first.wait_for()
    assert tiles.count() == 3
    assert tiles.first.get_attribute("data-photo-id") == str(two_profiles["b.jpg"].pk)
    first_image = tiles.first.locator("img")
    assert first_image.evaluate("img => img.complete && img.naturalWidth > 0")  # the thumbnail really loads
    caption = Photo.objects.get(source_id="b.jpg").caption
    assert caption and first_image.get_attribute("alt") == caption  # the generated caption describes the image
    tiles.first.hover()
    assert tiles.first.locator(".hover .text").is_visible()
    assert "Market stalls at night" in tiles.first.locator(".hover .text").inner_text()


def test_the_profile_filter_narrows_the_results(live_server, page, two_profiles):
    page.goto(live_server.url + "/")
    page.fill("input[name=q]", "night market")
    page.select_option("select#profile", "hills")
    page.click("button[type=submit]")

    page.locator("#results li.tile").first.wait_for()
    ids = page.locator("#results li.tile").evaluate_all("els => els.map(e => e.dataset.photoId)")
    assert ids == [str(two_profiles["c.jpg"].pk)]
    assert page.locator("select#profile").input_value() == "hills"


def test_an_over_long_query_shows_the_reason(live_server, page):
    response = page.goto(live_server.url + "/?q=" + "x" * 501)

    assert response.status == 400
    assert "too long" in page.locator("[role=alert]").inner_text()


def test_an_empty_library_explains_what_to_do(live_server, page):
    page.goto(live_server.url + "/")

    assert "import_folder" in page.locator(".hint").inner_text()
