"""The search API's outputs are built directly (for speed); they must equal what their declared fields — the ones the
OpenAPI schema documents — give through DRF's generic representation."""

from datetime import datetime, timezone

import pytest
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.request import Request

from profiles.models import Photo
from profiles.services import folder_import
from search.api_serializers import HitOutputSerializer, ResultsOutputSerializer, SearchResultsOutputSerializer
from search.selectors import RankingOptions, photo_search
from search.services import photos_embed

pytestmark = pytest.mark.django_db


@pytest.fixture
def result(photo_folder, encoder):
    files = {f"img{i}.jpg": i for i in range(6)}
    files["img1.txt"] = "Harbour at dawn, fishing boats " + "very long words " * 200
    files["img2.txt"] = "Boats in the harbour"
    folder_import(path=photo_folder(files), profile_name="coast")
    photos_embed()
    Photo.objects.filter(source_id="img1.jpg").update(
        taken_at=datetime(2019, 7, 14, 10, 0, 0, 123456, tzinfo=timezone.utc), city="Porto", country="Portugal",
        country_code="PT", ocr_text="FISH MARKET")
    return photo_search(query="harbour boats fish", ranking=RankingOptions(cutoff=0))


def _context():
    return {"request": Request(RequestFactory().get("/api/v1/search/", {"q": "x"})), "query": "harbour boats fish"}


def test_a_hit_is_rendered_as_its_declared_fields_render_it(result):
    assert any(hit.text_rank for hit in result.hits) and any(hit.photo.taken_at for hit in result.hits)
    assert any(hit.in_image_text for hit in result.hits)
    for hit in result.hits:
        serializer = HitOutputSerializer(context=_context())
        assert serializer.to_representation(hit) == serializers.Serializer.to_representation(serializer, hit)


@pytest.mark.parametrize("cls", [ResultsOutputSerializer, SearchResultsOutputSerializer])
def test_a_page_is_rendered_as_its_declared_fields_render_it(result, cls):
    page = {"results": result.hits, "count": len(result.hits), "next": "http://testserver/next", "model": "m",
            "warnings": ["w"], "understood": result.understood, "description": result.description}
    serializer = cls(context=_context())
    generic = serializers.Serializer.to_representation(serializer, page)
    if cls is SearchResultsOutputSerializer:
        generic["description"] = "harbour boats fish"  # the query as typed when nothing was understood
    assert serializer.to_representation(page) == generic
