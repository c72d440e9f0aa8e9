"""Driving the search page in a real Chromium (Playwright's page) and the dates its tests give photos: shared by the
page tests (not a test module)."""

from __future__ import annotations

from datetime import UTC, datetime


def when(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def search(page, url: str, **fields: str):
    """Open the search page, fill the form (selects by value) and submit it."""
    page.goto(url + "/")
    for name, value in fields.items():
        element = page.locator(f"#search-form [name={name}]")
        if element.evaluate("el => el.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)
    page.click("#search-form button[type=submit]")
    page.wait_for_load_state()


def result_ids(page) -> list[str]:
    return page.locator("#results li.tile").evaluate_all("els => els.map(e => e.dataset.photoId)")
