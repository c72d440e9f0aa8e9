"""The search page at a phone's width and a desktop's, and the home page's recent photos, in a real Chromium."""

import pytest

from profiles.models import Photo
from profiles.services.imports import folder_import
from search import views
from search.services.embedding import photos_embed
from tests.search.pages import result_ids, when

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Playwright's "iPhone 12": a 390 × 844 screen, of which the browser's bars leave the page 390 × 664.
PHONE = {"width": 390, "height": 664}
DESKTOP = {"width": 1280, "height": 900}
# Every field of the filters (the place fields show once the library knows a place).
FILTER_FIELDS = ("#profile", "#from", "#to", "#country", "#city", "#near", "#media", "#words", "#has_text", "#sort")


@pytest.fixture(autouse=True)
def no_cutoff(settings):
    """The tiny random test model puts pictures at arbitrary distances; keep every vector hit so grids are full."""
    settings.PHOTOSEARCH_CUTOFF = 0


@pytest.fixture
def open_page(browser):
    """``open_page(viewport, javascript=True)``: a fresh page of that size (a phone's is a touch screen)."""
    contexts = []

    def make(viewport: dict, *, javascript: bool = True):
        phone = viewport["width"] < 700
        context = browser.new_context(
            viewport=viewport, is_mobile=phone, has_touch=phone, java_script_enabled=javascript
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5_000)  # a missing element fails in seconds, not Playwright's 30
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def library(photo_folder, encoder):
    """Five photos in two profiles, one with a place (so all ten filter fields show): dated e (2024) > b (2023) >
    c (2022) > a (2021); d has no date and was imported last."""
    folder_import(
        path=photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": "Market stalls at night", "e.jpg": 5}, "x"),
        profile_name="city",
    )
    folder_import(path=photo_folder({"c.jpg": 3, "c.txt": "Night market in the hills"}, "y"), profile_name="hills")
    folder_import(path=photo_folder({"d.jpg": 4}, "z"), profile_name="hills")
    photos_embed()
    for name, day in (
        ("a.jpg", "2021-05-01"),
        ("b.jpg", "2023-08-15"),
        ("c.jpg", "2022-03-10"),
        ("e.jpg", "2024-01-02"),
    ):
        Photo.objects.filter(source_id=name).update(taken_at=when(day))
    Photo.objects.filter(source_id="d.jpg").update(taken_at=None)
    Photo.objects.filter(source_id="b.jpg").update(
        city="Lisbon", country="Portugal", country_code="PT", latitude=38.72, longitude=-9.14
    )
    return {p.source_id: str(p.pk) for p in Photo.objects.all()}


def first_picture_on_first_screen(page) -> bool:
    """Whether the first result's picture lies wholly within the first screen (its top, and its bottom too)."""
    box = page.locator("#results li.tile a.tile-link").first.bounding_box()
    assert box is not None
    return 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"]


def visible_fields(page) -> list[str]:
    return [field for field in FILTER_FIELDS if page.locator(field).is_visible()]


def test_at_phone_width_results_start_on_the_first_screen_and_filters_open_on_demand(live_server, open_page, library):
    page = open_page(PHONE)
    page.goto(live_server.url + "/?q=night+market")
    assert len(result_ids(page)) == 5

    assert first_picture_on_first_screen(page)
    assert page.locator("#q").is_visible()
    assert visible_fields(page) == []  # behind the disclosure
    summary = page.locator("#search-form summary", has_text="Filters")
    assert summary.is_visible()

    summary.click()

    assert visible_fields(page) == list(FILTER_FIELDS)


def test_at_phone_width_a_filter_that_is_set_keeps_the_filters_open(live_server, open_page, library):
    page = open_page(PHONE)
    page.goto(live_server.url + "/?q=night+market&profile=hills")

    assert set(result_ids(page)) == {library["c.jpg"], library["d.jpg"]}
    assert visible_fields(page) == list(FILTER_FIELDS)
    assert page.locator("#profile").input_value() == "hills"
    assert "1 set" in page.locator("#search-form summary").inner_text()


def test_at_phone_width_without_javascript_the_disclosure_still_opens(live_server, open_page, library):
    page = open_page(PHONE, javascript=False)
    page.goto(live_server.url + "/?q=night+market")
    assert first_picture_on_first_screen(page)
    assert visible_fields(page) == []

    page.locator("#search-form summary", has_text="Filters").click()

    assert visible_fields(page) == list(FILTER_FIELDS)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_at_desktop_width_the_filters_show_at_once(live_server, open_page, library, javascript):
    page = open_page(DESKTOP, javascript=javascript)
    page.goto(live_server.url + "/?q=night+market")

    assert visible_fields(page) == list(FILTER_FIELDS)
    # The same disclosure as on a phone, shown open: nothing to click.
    assert page.locator("#search-form details.filters-panel #profile").is_visible()
    assert not page.locator("#search-form summary", has_text="Filters").is_visible()
    # Browsers without ::details-content need photosearch.js to open it; Chromium's stylesheet alone shows it.
    assert page.locator("details.filters-panel").evaluate("el => el.open") is javascript


def test_the_home_page_shows_recent_photos_newest_first_then_more(live_server, open_page, library, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    page = open_page(PHONE)
    page.goto(live_server.url + "/")

    assert page.locator("#results-heading").inner_text().startswith("Recent photos")
    # By the instant taken, newest first; a photo with no date after the dated ones (then newest imported first).
    assert result_ids(page) == [library["e.jpg"], library["b.jpg"], library["c.jpg"]]
    assert first_picture_on_first_screen(page)
    more = page.locator("a[data-load-more]", has_text="More results")
    href = more.get_attribute("href")
    assert href == "?offset=3"

    more.click()  # photosearch.js appends the next page in place, as in search
    page.wait_for_function("document.querySelectorAll('#results li.tile').length === 5")
    assert result_ids(page)[3:] == [library["a.jpg"], library["d.jpg"]]
    assert page.locator("a[data-load-more]").count() == 0
    assert page.locator("[data-range-end]").inner_text() == "5"

    response = page.goto(live_server.url + "/" + href)  # the plain link, as a browser without JS follows it
    assert response.status == 200
    assert page.locator("#results-heading").inner_text().startswith("Recent photos")
    assert result_ids(page) == [library["a.jpg"], library["d.jpg"]]
