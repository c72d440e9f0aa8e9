"""Duplicates: a repost within a profile (``duplicate_of``) finds similar photos through its original's vector and
is counted apart ("3 indexed + 1 duplicate"); the same image imported under two profiles is one result naming both
(API ``also_in``, tile "also in @beta"), pages stay full, and it is never "similar" to itself."""

from __future__ import annotations

import pytest

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.services.embedding import photos_embed
from tests.search.pages import search
from tests.support.api import api, get_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_cutoff(settings):
    """The tiny random test model puts pictures at arbitrary distances: keep every vector hit."""
    settings.PHOTOSEARCH_CUTOFF = 0


@pytest.fixture
def library(photo_folder, encoder) -> dict[str, Photo]:
    """alpha: kite.jpg (image 1), b.jpg, c.jpg and z-repost.jpg (image 1 reposted: a duplicate of kite.jpg);
    beta: valley.jpg (image 1 again, its own words) and d.jpg. Embedded."""
    folder_import(
        path=photo_folder(
            {
                "kite.jpg": 1,
                "kite.txt": "Red kite over the ridge",
                "b.jpg": 2,
                "c.jpg": 3,
                "z-repost.jpg": 1,
                "z-repost.txt": "Posted again",
            },
            "alpha",
        ),
        profile_name="alpha",
    )
    folder_import(
        path=photo_folder({"valley.jpg": 1, "valley.txt": "Red kite seen from the valley", "d.jpg": 4}, "beta"),
        profile_name="beta",
    )
    photos_embed()
    photos = {p.source_id: p for p in Photo.objects.all()}
    assert photos["z-repost.jpg"].duplicate_of_id == photos["kite.jpg"].pk
    assert photos["valley.jpg"].content_hash == photos["kite.jpg"].content_hash
    assert photos["valley.jpg"].duplicate_of_id is None  # another profile: a photo of its own, embedded
    return photos


def pages(live_server, path: str, **params) -> list[list[dict]]:
    """Every page of a listing, following ``next``."""
    status, body = get_json(live_server, path, **params)
    assert status == 200, body
    found = [body["results"]]
    while body["next"]:
        status, _, body = api(live_server, "GET", body["next"])
        found.append(body["results"])
    return found


def test_similar_photos_of_a_repost_are_its_original_s(live_server, library):
    kite, again = library["kite.jpg"], library["z-repost.jpg"]

    status, body = get_json(live_server, f"/api/v1/photos/{again.pk}/similar/")
    _, of_original = get_json(live_server, f"/api/v1/photos/{kite.pk}/similar/")

    assert status == 200, body
    assert [hit["id"] for hit in body["results"]] == [hit["id"] for hit in of_original["results"]]
    ids = {hit["id"] for hit in body["results"]}
    assert ids == {library[name].pk for name in ("b.jpg", "c.jpg", "d.jpg")}  # not the image itself, in any profile
    assert all(hit["match"]["vector_distance"] > 0.001 for hit in body["results"])


def test_the_same_image_in_two_profiles_is_one_result_naming_both(live_server, library):
    kite, valley = library["kite.jpg"], library["valley.jpg"]

    found = pages(live_server, "/api/v1/search/", q="red kite", limit=1)

    hits = [hit for page_ in found for hit in page_]
    assert all(len(page_) == 1 for page_ in found)  # collapsed before paging: no short page
    assert len(hits) == 4 and len({hit["id"] for hit in hits}) == 4  # kite/valley, b, c, d
    (image,) = [hit for hit in hits if hit["id"] in (kite.pk, valley.pk)]
    other = valley if image["id"] == kite.pk else kite
    assert image["also_in"] == [{"profile": other.profile.handle, "photo_id": other.pk}]
    assert all(hit["also_in"] == [] for hit in hits if hit is not image)


def test_a_photo_s_copy_in_another_profile_is_not_similar_to_it(live_server, library):
    kite, valley, b = library["kite.jpg"], library["valley.jpg"], library["b.jpg"]

    _, of_kite = get_json(live_server, f"/api/v1/photos/{kite.pk}/similar/")
    _, of_b = get_json(live_server, f"/api/v1/photos/{b.pk}/similar/")

    assert valley.pk not in [hit["id"] for hit in of_kite["results"]]
    ids = [hit["id"] for hit in of_b["results"]]
    assert len(ids) == 3 and len({kite.pk, valley.pk} & set(ids)) == 1  # kite and valley: one result


@pytest.mark.browser
def test_the_tile_says_also_in_and_the_profiles_page_counts_duplicates_apart(live_server, page, library):
    search(page, live_server.url, q="red kite")

    tiles = page.locator("li.tile .also-in")
    assert tiles.count() == 1
    assert tiles.inner_text() in ("also in @alpha", "also in @beta")
    assert page.locator("li.tile").count() == 4

    page.goto(live_server.url + "/profiles/")
    alpha = page.locator("tr[data-profile=alpha] .embedded").inner_text()
    beta = page.locator("tr[data-profile=beta] .embedded").inner_text()
    assert " ".join(alpha.split()) == "3 indexed + 1 duplicate"
    assert " ".join(beta.split()) == "2 indexed"
