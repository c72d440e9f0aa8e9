"""The search API's outputs are built directly (for speed); they must equal what their declared fields — the ones the
OpenAPI schema documents — give through DRF's generic representation."""

import copy
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory
from django.utils.functional import Promise
from django.utils.timezone import override as timezone_override
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.utils.formatting import lazy_format

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.api_serializers import HitOutputSerializer, ResultsOutputSerializer, SearchResultsOutputSerializer
from search.selectors import RankingOptions, photo_search
from search.services.embedding import photos_embed

pytestmark = pytest.mark.django_db


@pytest.fixture
def result(photo_folder, encoder):
    files = {f"img{i}.jpg": i for i in range(6)}
    files["img1.txt"] = "Harbour at dawn, fishing boats " + "very long words " * 200
    files["img2.txt"] = "Boats in the harbour"
    folder_import(path=photo_folder(files), profile_name="coast")
    photos_embed()
    Photo.objects.filter(source_id="img1.jpg").update(
        taken_at=datetime(2019, 7, 14, 10, 0, 0, 123456, tzinfo=UTC),
        city="Porto",
        country="Portugal",
        country_code="PT",
        ocr_text="FISH MARKET",
    )
    return photo_search(query="harbour boats fish", ranking=RankingOptions(cutoff=0))


def _context():
    return {"request": Request(RequestFactory().get("/api/v1/search/", {"q": "x"})), "query": "harbour boats fish"}


@pytest.mark.parametrize("zone", [None, "America/Sao_Paulo", "Asia/Kathmandu"])
def test_a_hit_is_rendered_as_its_declared_fields_render_it(result, zone):
    assert any(hit.text_rank for hit in result.hits) and any(hit.photo.taken_at for hit in result.hits)
    assert any(hit.in_image_text for hit in result.hits)
    with timezone_override(zone):  # the display time zone (PHOTOSEARCH_TIME_ZONE), or one activated for a request
        serializer = HitOutputSerializer(context=_context())  # one per page: its time zone looked up once
        for hit in result.hits:
            assert serializer.to_representation(hit) == serializers.Serializer.to_representation(serializer, hit)


@pytest.mark.parametrize("cls", [ResultsOutputSerializer, SearchResultsOutputSerializer])
def test_a_page_is_rendered_as_its_declared_fields_render_it(result, cls):
    page = {
        "results": result.hits,
        "count": len(result.hits),
        "total": 7,
        "total_is_estimate": True,
        "next": "http://testserver/next",
        "model": "m",
        "warnings": ["w"],
        "understood": result.understood,
        "description": result.description,
    }
    serializer = cls(context=_context())
    generic = serializers.Serializer.to_representation(serializer, page)
    if cls is SearchResultsOutputSerializer:
        generic["description"] = "harbour boats fish"  # the query as typed when nothing was understood
    assert serializer.to_representation(page) == generic


# --- Inputs: each serializer instance's copies of the declared fields (photosearch.api.field_copy) ---------------

INPUTS = [
    {"q": "harbour boats"},
    {
        "q": "harbour",
        "limit": "5",
        "sort": "newest",
        "profile": ["coast,other"],
        "from": "2019-01-01",
        "to": "2019-12-31",
        "media_type": "image",
        "has_text": "true",
        "country": ["PT"],
        "city": ["Porto"],
        "near": "41.15,-8.61,5",
        "vector_weight": "2",
        "text_weight": "0.5",
        "vector_depth": "50",
        "text_depth": "60",
        "cutoff": "0.1",
        "words": "all",
        "literal": "true",
        "cursor": "bzIw",
    },
    {},
    {"q": ""},
    {"q": "x" * 5000},
    {"q": "x", "limit": "0"},
    {"q": "x", "limit": "many", "sort": "sideways"},
    {"q": "x", "from": "2019-13-01", "to": "yesterday"},
    {"q": "x", "media_type": "sound", "has_text": "perhaps"},
    {"q": "x", "near": "91,0", "cursor": "not-a-cursor"},
    {"q": "x", "vector_weight": "-1", "cutoff": "2", "words": "some", "vector_depth": "1001"},
    {"q": "x", "profile": ["a" * 3000], "country": ["Atlantis"], "city": ["b" * 300]},
]


def _drf_and_ours(cls, data, monkeypatch):
    from django.http import QueryDict

    from search import api_serializers

    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    ours = cls(data=query)
    with monkeypatch.context() as patched:
        patched.setattr(api_serializers, "field_copy", copy.deepcopy)  # what DRF's get_fields does
        drf = cls(data=query)
        drf.fields  # noqa: B018 (copied now, while patched)
    return ours, drf


def _field_state(field) -> dict:
    """A bound field's attributes by value (its child's too; validators by type and attributes; a field named in its
    constructor arguments by its repr), its parent by type; not its creation counter (an ordering of declarations)."""

    def value_of(value):
        if isinstance(value, serializers.Field):
            return ("field", repr(value))
        if isinstance(value, lazy_format):  # a validator's message
            return str(value)
        if isinstance(value, dict):
            return {key: value_of(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [value_of(item) for item in value]
        if hasattr(value, "__dict__") and not isinstance(value, (type, Promise)):
            return (type(value), value_of(vars(value)))
        return value

    state = {
        key: value_of(value)
        for key, value in vars(field).items()
        if key not in ("parent", "child", "_creation_counter")
    }
    state["parent"] = type(field.parent)
    if hasattr(field, "child"):
        state["child"] = _field_state(field.child)
        assert field.child.parent is field
    return state


@pytest.mark.parametrize("data", INPUTS, ids=range(len(INPUTS)))
@pytest.mark.parametrize("cls", ["search", "similar"])
def test_inputs_validate_as_with_drfs_own_field_copies(data, cls, monkeypatch, django_assert_max_num_queries):
    from search.apis import PhotoSimilarApi, SearchApi

    serializer = {"search": SearchApi, "similar": PhotoSimilarApi}[cls].InputSerializer
    ours, drf = _drf_and_ours(serializer, data, monkeypatch)

    assert list(ours.fields) == list(drf.fields)
    for name in ours.fields:
        assert _field_state(ours.fields[name]) == _field_state(drf.fields[name]), name
    valid = ours.is_valid()
    assert valid == drf.is_valid()
    assert ours.errors == drf.errors
    if valid:
        assert ours.validated_data == drf.validated_data
        assert _outcome(ours.filters) == _outcome(drf.filters)


def _outcome(call):
    try:
        return "answered", call()
    except Exception as exc:
        return "raised", type(exc), str(exc), getattr(exc, "field", None)


def test_each_input_serializer_has_fields_of_its_own():
    from search.apis import SearchApi

    first, second = SearchApi.InputSerializer(data={}), SearchApi.InputSerializer(data={})
    for name, field in first.fields.items():
        other = second.fields[name]
        assert field is not other and field.parent is first and other.parent is second
        if hasattr(field, "child"):
            assert field.child is not other.child and field.child.parent is field
    declared = SearchApi.InputSerializer._declared_fields
    assert all(field.parent is None and field.field_name is None for field in declared.values())
