"""Filters on what a post names — hashtags, people — and on words read in the image, against the real database."""

import pytest

from profiles.models import Photo
from profiles.services.photos import photo_upsert
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceRecord, hashtags_in
from search.selectors import SearchFilters, photo_browse
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def posts():
    profile = profile_get_or_create(source_kind="urls", handle="posts")
    shots = {
        "tagged": dict(text="Dinner with @Maria_Silva #travel", people=("joao",)),
        "named": dict(text="travel notes: maria silva and joao were there", hashtags=("food",)),
        "compound": dict(text="", hashtags=("south_beach", "travel")),
    }
    for seed, (source_id, fields) in enumerate(shots.items()):
        fields.setdefault("hashtags", ())
        hashtags = tuple(dict.fromkeys((*fields.pop("hashtags"), *hashtags_in(fields["text"]))))
        photo_upsert(
            profile=profile,
            record=SourceRecord(
                source_id=source_id, image_url=f"https://example.com/{source_id}.jpg", hashtags=hashtags, **fields
            ),
            data=image_bytes(seed),
        )
    Photo.objects.filter(source_id="compound").update(ocr_text="SOUTH BEACH 1.5 KM")
    return {photo.source_id: photo for photo in Photo.objects.all()}


def _browse(**filters) -> set[str]:
    return {hit.photo.source_id for hit in photo_browse(filters=SearchFilters(**filters)).hits}


def test_a_hashtag_filter_keeps_photos_with_that_hashtag_not_that_word(posts):
    assert _browse(hashtags=("travel",)) == {"tagged", "compound"}
    assert _browse(hashtags=("south_beach",)) == {"compound"}
    assert _browse(hashtags=("travel", "food")) == set()


def test_a_person_filter_keeps_photos_that_tag_or_mention_them(posts):
    assert posts["tagged"].people_list == ["joao", "maria_silva"]
    assert _browse(people=("maria_silva",)) == {"tagged"}
    assert _browse(people=("joao",)) == {"tagged"}  # "named" only has the word
    assert _browse(people=("maria",)) == set()


def test_the_image_text_filter(posts):
    assert _browse(has_image_text=True) == {"compound"}
    assert _browse(has_image_text=False) == {"tagged", "named"}
