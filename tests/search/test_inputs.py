"""Input checks: each refusal names the field at fault, through the selectors that run them."""

import pickle

import pytest

from search.inputs import clean_ranking
from search.selectors import (
    InvalidQuery,
    RankingOptions,
    SearchFilters,
    photo_browse,
    photo_search,
    photo_search_by_image,
)
from tests.search.fake_encoder import FakeEncoder

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"query": ""}, "q"),
        ({"query": "x" * 501}, "q"),
        ({"query": "a\x02b"}, "q"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "offset": -1}, "offset"),
        ({"query": "x", "sort": "random"}, "sort"),
        ({"query": "x", "filters": SearchFilters(media_type="hologram")}, "media_type"),
        ({"query": "x", "ranking": RankingOptions(vector_weight=11)}, "vector_weight"),
        ({"query": "x", "ranking": RankingOptions(text_weight=-1)}, "text_weight"),
        ({"query": "x", "ranking": RankingOptions(vector_depth=0)}, "vector_depth"),
        ({"query": "x", "ranking": RankingOptions(text_depth=1001)}, "text_depth"),
        ({"query": "x", "ranking": RankingOptions(cutoff=3)}, "cutoff"),
    ],
)
def test_a_refused_search_names_its_field(kwargs, field):
    with pytest.raises(InvalidQuery) as refused:
        photo_search(encoder=FakeEncoder(), **kwargs)

    assert refused.value.field == field


def test_browsing_and_uploads_name_their_fields_too():
    with pytest.raises(InvalidQuery) as bad_limit:
        photo_browse(limit=101)
    with pytest.raises(InvalidQuery) as bad_upload:
        photo_search_by_image(data=b"not an image", encoder=FakeEncoder())

    assert bad_limit.value.field == "limit" and bad_upload.value.field == "image"


def test_invalid_query_keeps_its_message_and_is_a_value_error():
    exc = InvalidQuery("limit must be between 1 and 100.", field="limit")

    assert isinstance(exc, ValueError) and str(exc) == "limit must be between 1 and 100."
    assert InvalidQuery("about the whole request").field is None
    copy = pickle.loads(pickle.dumps(exc))
    assert (str(copy), copy.field) == (str(exc), "limit")


def test_ranking_defaults_come_from_the_settings(settings):
    settings.PHOTOSEARCH_VECTOR_WEIGHT, settings.PHOTOSEARCH_CUTOFF = 2, 0.1

    filled = clean_ranking(RankingOptions(text_depth=7))

    assert (filled.vector_weight, filled.cutoff, filled.text_depth) == (2.0, 0.1, 7)
    assert isinstance(filled.vector_weight, float)


# --- One parser for the page and the API -------------------------------------------------------------------------

PAGE_AND_API_MISTAKES = [
    ("from", {"q": "kite", "from": "2024-13-01"}),
    ("to", {"q": "kite", "from": "2024-02-01", "to": "2024-01-01"}),
    ("profile", {"q": "kite", "profile": "nobody"}),
    ("media_type", {"q": "kite", "media_type": "hologram"}),
    ("has_text", {"q": "kite", "has_text": "maybe"}),
    ("sort", {"q": "kite", "sort": "best"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("field, params", PAGE_AND_API_MISTAKES)
def test_a_mistake_reads_the_same_on_the_page_and_in_the_api_naming_its_field(live_server, field, params):
    import html
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{live_server.url}{path}?{urllib.parse.urlencode(params)}") as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    api_status, api_body = get("/api/v1/search/")
    page_status, page_body = get("/")

    message = json.loads(api_body)["error"]
    assert api_status == page_status == 400
    assert message.startswith(f"{field}: ")
    assert message in html.unescape(page_body)  # word for word, field included


def test_the_request_parser_names_each_field():
    from search.inputs import day_parse, has_text_parse, media_type_parse, sort_parse

    for parse, value, field in (
        (lambda v: day_parse(v, field="from"), "2024-02-30", "from"),
        (lambda v: day_parse(v, field="to"), "0000-01-01", "to"),
        (media_type_parse, "audio", "media_type"),
        (has_text_parse, "perhaps", "has_text"),
        (sort_parse, "random", "sort"),
    ):
        with pytest.raises(InvalidQuery) as refused:
            parse(value)
        assert refused.value.field == field and refused.value.labelled.startswith(f"{field}: ")
    assert (
        day_parse("2024-06-30", field="from").isoformat(),
        has_text_parse("yes"),
        has_text_parse("false"),
        media_type_parse(""),
        sort_parse(""),
    ) == ("2024-06-30", True, False, None, "relevance")
