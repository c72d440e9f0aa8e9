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
from tests.search.test_ranking import FakeEncoder

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
