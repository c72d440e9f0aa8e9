"""The library's names for the query parser (search.query.vocabulary.query_vocabulary), and evaluate_query_parser."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from profiles.models import Photo
from profiles.services.photos import photo_upsert
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceRecord
from search.query.vocabulary import query_vocabulary
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    profile = profile_get_or_create(source_kind="urls", handle="NatGeo")
    for seed, (latitude, longitude) in enumerate(((41.1496, -8.6109), (-33.8688, 151.2093), (None, None))):
        record = SourceRecord(
            source_id=str(seed),
            image_url=f"https://example.com/{seed}.jpg",
            text="river",
            latitude=latitude,
            longitude=longitude,
        )
        photo_upsert(profile=profile, record=record, data=image_bytes(seed))
    return {photo.source_id: photo for photo in Photo.objects.all()}


def test_the_vocabulary_holds_handles_and_the_towns_regions_countries_photos_were_taken_in(library):
    vocabulary = query_vocabulary()
    assert vocabulary.profiles == frozenset({"natgeo"})
    porto, sydney = library["0"], library["1"]
    assert [place.kind for place in vocabulary.places["portugal"]] == ["country"]
    town = vocabulary.places[porto.city.casefold()][0]
    assert (town.kind, town.country_code) == ("city", "PT")
    assert vocabulary.places[sydney.city.casefold()][0].latitude < 0


def test_evaluate_query_parser_prints_the_shipped_sets_figures():
    out = StringIO()
    call_command("evaluate_query_parser", stdout=out)
    assert "parsed exactly" in out.getvalue() and "0 of 81 traps became a filter" in out.getvalue()


def test_evaluate_query_parser_reads_a_users_file_against_the_library(library, tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            {
                "today": "2025-03-15",
                "queries": [
                    {
                        "query": "bridge in portugal 2019",
                        "description": "bridge",
                        "understood": [
                            {"kind": "place", "text": "in portugal", "value": "Portugal"},
                            {"kind": "date", "text": "2019", "value": "2019-01-01/2019-12-31"},
                        ],
                    }
                ],
            }
        )
    )
    out = StringIO()
    call_command("evaluate_query_parser", str(path), "--library", stdout=out)
    assert out.getvalue().startswith("1 queries: 100.0% parsed exactly")
