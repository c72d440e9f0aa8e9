import pytest
from django.db import connection

from profiles.models import Photo
from profiles.services.imports import folder_import
from search.selectors import (
    InvalidQuery,
    NotEmbedded,
    RankingOptions,
    SearchFilters,
    embedding_index_name,
    photo_search,
    photo_search_explain,
    photo_similar,
)
from search.services.embedding import photos_embed
from search.services.index_builds import embedding_index_ensure
from tests.conftest import image_bytes
from tests.search.encoder_backends import UNAVAILABLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(photo_folder, encoder):
    """Eight distinct pictures, one of them captioned with words no other photo has, all embedded."""
    files = {f"img{i}.jpg": i for i in range(8)}
    files["img5.txt"] = "Zebra crossing outside the old bakery at dusk"
    files["img2.txt"] = "A quiet morning in the garden"
    folder_import(path=photo_folder(files), profile_name="library")
    photos_embed()
    return {p.source_id: p for p in Photo.objects.all()}


def test_a_query_whose_words_are_only_in_one_sidecar_returns_that_photo_first(library):
    result = photo_search(query="zebra crossing bakery", ranking=RankingOptions(cutoff=0))

    first = result.hits[0]
    assert first.photo.source_id == "img5.jpg"
    assert first.text_rank == 1 and first.vector_rank is not None
    assert result.model_id == "photosearch-tiny/random-seed0"
    assert len(result.hits) == 8  # the vector channel still ranks every other photo
    assert all(hit.text_rank is None for hit in result.hits[1:])
    assert [hit.score for hit in result.hits] == sorted((hit.score for hit in result.hits), reverse=True)


def test_fused_score_is_the_sum_of_reciprocal_ranks(library, settings):
    settings.PHOTOSEARCH_RRF_K = 60
    hit = photo_search(query="zebra").hits[0]

    assert hit.score == pytest.approx(1 / (60 + hit.text_rank) + 1 / (60 + hit.vector_rank))


def test_similar_returns_the_re_encoded_copy_of_a_photo_first(photo_folder, encoder):
    files = {f"img{i}.jpg": i for i in range(10)}
    root = photo_folder(files)
    (root / "img3-copy.jpg").write_bytes(image_bytes(3, quality=55))  # same picture, re-encoded
    folder_import(path=root, profile_name="p")
    photos_embed()
    original = Photo.objects.get(source_id="img3.jpg")

    hits = photo_similar(photo=original, limit=5).hits

    assert hits[0].photo.source_id == "img3-copy.jpg"
    assert hits[0].vector_rank == 1
    assert original.pk not in [hit.photo.pk for hit in hits]
    distances = [hit.vector_distance for hit in hits]
    assert distances == sorted(distances) and len(hits) == 5


def test_similar_of_a_photo_without_embedding_is_refused(photo_folder):
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    with pytest.raises(NotEmbedded):
        photo_similar(photo=Photo.objects.get())


def test_profile_filter_keeps_other_profiles_out(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "a.txt": "red kite"}, name="one"), profile_name="one")
    folder_import(path=photo_folder({"b.jpg": 2, "b.txt": "red kite"}, name="two"), profile_name="two")
    photos_embed()
    two = Photo.objects.get(source_id="b.jpg").profile_id

    hits = photo_search(query="red kite", filters=SearchFilters(profile_ids=(two,))).hits

    assert [hit.photo.source_id for hit in hits] == ["b.jpg"]


def test_without_a_model_the_text_channel_still_answers(library, settings):
    settings.PHOTOSEARCH_ENCODER_BACKEND = UNAVAILABLE

    result = photo_search(query="zebra")

    assert [hit.photo.source_id for hit in result.hits] == ["img5.jpg"]
    assert result.model_id is None and "no weights here" in result.warnings[0]


@pytest.mark.parametrize("query", ["", "   ", "x" * 501])
def test_empty_or_over_long_queries_are_refused(query):
    with pytest.raises(InvalidQuery):
        photo_search(query=query)


def test_user_text_is_never_sql(library):
    for query in ["'; DROP TABLE profiles_photo; --", 'zebra" OR 1=1', "a & | ! <-> :*", '-zebra "crossing']:
        photo_search(query=query)
    assert Photo.objects.count() == 8


def test_the_vector_query_uses_the_hnsw_index_and_the_text_query_the_gin_index(library, encoder):
    # Enough rows for the planner to prefer the indexes over a sequential scan.
    profile_id = library["img0.jpg"].profile_id
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_photo (profile_id, source_id, permalink, original_url, thumbnail, source_text,
                hashtags, alt_text, caption, content_hash, embedding, embedding_model, imported_at, updated_at,
                media_type, extra)
            SELECT %s, 'synthetic-' || g, '', '', '', 'filler text number ' || g, '', '', '', md5(g::text),
                (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) d WHERE g > 0)::halfvec(64), %s,
                now(), now(), 'image', '{}'
            FROM generate_series(1, 3000) g
            """,
            [profile_id, encoder.model_id],
        )
        cursor.execute("ANALYZE profiles_photo")
    embedding_index_ensure(model_id=encoder.model_id, dimensions=encoder.dimensions)

    plan = photo_search_explain(
        query="zebra", query_vector=encoder.encode_texts(["zebra"])[0], model_id=encoder.model_id
    )

    assert f"Index Scan using {embedding_index_name(encoder.model_id)}" in plan
    assert "photo_search_vector_gin" in plan


def test_after_a_model_switch_search_says_which_model_it_searches_and_how_far_conversion_got(library, encoder):
    from django.core.cache import cache

    Photo.objects.filter(source_id__in=["img1.jpg", "img2.jpg"]).update(embedding_model="ViT-B-32/laion2b_s34b_b79k")

    result = photo_search(query="zebra")

    assert result.model_id == encoder.model_id
    assert result.warnings == [
        f"Searching {encoder.model_id} vectors: 6 of 8 photos have them so far (2 from ViT-B-32/laion2b_s34b_b79k "
        "still to convert); the rest match by their words only until embed_photos finishes."
    ]
    assert result.hits[0].photo.source_id == "img5.jpg"  # still found by its words
    photos_embed()
    cache.clear()
    assert photo_search(query="zebra").warnings == []
