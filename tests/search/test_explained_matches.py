"""Matches people can see (issue 24, item 3) and a total over every page (item 9): a query's stop words match nothing,
every word match is marked where it matched (the post's words, the generated caption, the words in the image, the
place, the people, the hashtags), results that only filters hold say which filters and have no score, and a page of
results says how many there are in all. Real posts through the ingest service, the real SQL, real HTTP, a real
Chromium for the tile."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.probes import photo_text_match_count
from profiles.models import Photo, Profile, SourceKind
from search.query.understanding import vocabulary_forget
from search.ranking import statement
from search.selectors import RankingOptions, photo_search
from tests.search.fake_encoder import FakeEncoder
from tests.search.posts import ingest
from tests.support.api import get_json

pytestmark = pytest.mark.django_db(transaction=True)

POSTS = {
    "park": "Walking the dog in the park this morning",
    "bbc": "BBC News: the latest headlines in the world today",
    "river": "Golden hour over the river #riverside #sunset",
    "french": "Une belle journée au soleil avec les amis",
    "cafe": "Coffee break before the train",
}
WORDS_ONLY = RankingOptions(vector_weight=0, cutoff=0)


@pytest.fixture
def library():
    profile = Profile.objects.create(source_kind=SourceKind.FOLDER, handle="posts")
    ingest(profile, POSTS)
    # What the other stages and the source add: a generated caption (English), words read in the image, a place
    # and the people named.
    Photo.objects.filter(source_id="french").update(caption="a dog running on the grass")
    Photo.objects.filter(source_id="cafe").update(ocr_text="CAFE ROMA espresso")
    Photo.objects.filter(source_id="river").update(
        city="Lisbon",
        region="Lisbon",
        country="Portugal",
        country_code="PT",
        people="maria joao",
        taken_at=datetime(2019, 6, 1, 18, tzinfo=UTC),
    )
    vocabulary_forget()  # the query parser reads the places anew
    return profile


def word_hits(query: str, **kwargs) -> dict[str, object]:
    result = photo_search(query=query, ranking=WORDS_ONLY, encoder=FakeEncoder(), **kwargs)
    return {hit.photo.source_id: hit for hit in result.hits if hit.text_rank is not None}


def marks(hit) -> str:
    """Everything the hit shows of its words (the headline, and the fields it matched in, where the hit has them)."""
    return " ".join([hit.headline, *getattr(hit, "matched", {}).values()])


def test_the_querys_stop_words_neither_match_nor_rank(library):
    # Every post holds "the" (weight C keeps every own word unstemmed); English drops it, so it matches nothing.
    assert photo_text_match_count(query="the") == 0
    assert word_hits("the") == {}
    # "bbc" holds only "in" and "the" of "dog in the park": it is no match, and the dog posts are.
    assert set(word_hits("dog in the park")) == {"park", "french"}
    # A quoted phrase stays as typed.
    assert set(word_hits('"in the park"')) == {"park"}


@pytest.mark.parametrize(
    "query, source_id, field, marked",
    [
        ("dog", "park", "text", "<mark>dog</mark>"),
        ("dogs", "french", "caption", "<mark>dog</mark>"),  # the caption is English, the post French
        ("roma", "cafe", "image_text", "<mark>ROMA</mark>"),
        ("lisbon", "river", "place", "<mark>Lisbon</mark>, Portugal"),
        ("maria", "river", "people", "<mark>@maria</mark> @joao"),
        ("riverside", "river", "hashtags", "<mark>#riverside</mark> #sunset"),
    ],
)
def test_every_word_match_is_marked_where_it_matched(library, query, source_id, field, marked):
    hits = word_hits(query, literal=True)

    assert source_id in hits
    assert marked in marks(hits[source_id])
    assert hits[source_id].matched[field] and "<mark>" in hits[source_id].matched[field]
    assert all("<mark>" in marks(hit) for hit in hits.values())  # no word match goes unmarked


@pytest.mark.parametrize(
    "query, reason",
    [("in lisbon", "in Lisbon"), ("@maria", "tagged @maria"), ("#sunset", "#sunset"), ("in 2019", "taken in 2019")],
)
def test_results_only_filters_hold_say_which_and_have_no_score(live_server, library, query, reason):
    status, body = get_json(live_server, "/api/v1/search/", q=query)

    assert status == 200 and [hit["id"] for hit in body["results"]] == [Photo.objects.get(source_id="river").pk]
    hit = body["results"][0]
    assert hit["score"] is None
    assert hit["match"]["filters"] == [reason]


def test_a_ranked_hit_names_its_filters_and_keeps_its_score(live_server, library):
    status, body = get_json(live_server, "/api/v1/search/", q="sunset in lisbon", vector_weight=0)

    [hit] = body["results"]
    assert hit["score"] > 0 and hit["match"]["filters"] == ["in Lisbon"]
    assert hit["match"]["highlights"]["hashtags"] == "#riverside <mark>#sunset</mark>"


def test_a_page_says_how_many_results_there_are_in_all(live_server, library, monkeypatch):
    # A search: every word match, over every page.
    status, body = get_json(live_server, "/api/v1/search/", q="sunset coffee dog", limit=1, vector_weight=0)
    assert (body["count"], body["total"], body["total_is_estimate"]) == (1, 4, False)
    # The words channel stopped at its depth: more would come on deeper pages.
    status, body = get_json(
        live_server, "/api/v1/search/", q="sunset coffee dog", limit=1, vector_weight=0, text_depth=2
    )
    assert (body["total"], body["total_is_estimate"]) == (2, True)
    # Browsing by filters counts up to a bound.
    status, body = get_json(live_server, "/api/v1/search/", q="from posts", limit=2)
    assert (body["count"], body["total"], body["total_is_estimate"]) == (2, 5, False)
    monkeypatch.setattr(statement, "TOTAL_BOUND", 3)
    status, body = get_json(live_server, "/api/v1/search/", q="from posts", limit=2)
    assert (body["count"], body["total"], body["total_is_estimate"]) == (2, 3, True)


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_a_tile_says_why_it_is_there(live_server, library, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/?q=in+lisbon")
        tile = page.locator("#results li.tile")
        assert tile.count() == 1
        assert tile.locator(".chip-filter").all_inner_texts() == ["in Lisbon"]

        page.goto(f"{live_server.url}/?q=riverside+maria&literal=1")
        tile = page.locator(f"#results li.tile[data-photo-id='{Photo.objects.get(source_id='river').pk}']")
        assert tile.locator(".matched-hashtags mark").all_inner_texts() == ["#riverside"]
        assert tile.locator(".matched-people mark").all_inner_texts() == ["@maria"]
        assert tile.locator(".chip-filter").count() == 0
    finally:
        context.close()
