"""The HNSW graph shape and search width follow the library's size (search.ranking.indexes): built small, rebuilt
once past PHOTOSEARCH_HNSW_LARGE_LIBRARY, and searched wider there. The real index builds on the real database; the
options an index was built with are read by the product's own ``index_build_options``."""

import numpy as np
import pytest
from django.db import connection

from bench.probes import photo_nearest_ids
from profiles.models import Photo, Profile
from search.ranking.indexes import embedding_index_name, hnsw_ef_search_floor, hnsw_graph_shape
from search.ranking.session import ef_search
from search.selectors import index_build_options
from search.services.index_builds import embedding_index_ensure

MODEL = "fake/4d-size"


@pytest.fixture
def library(db):
    profile = Profile.objects.create(source_kind="folder", handle="size")
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(40, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    Photo.objects.bulk_create(
        Photo(
            profile=profile,
            source_id=f"s{i}",
            content_hash=f"{i:064}",
            embedding=vector.tolist(),
            embedding_model=MODEL,
        )
        for i, vector in enumerate(vectors)
    )
    return vectors


@pytest.mark.django_db
def test_build_options_are_none_for_a_missing_index_and_empty_for_one_built_without_any():
    assert index_build_options(name=embedding_index_name("no/such-model")) is None
    assert index_build_options(name="profiles_photo_pkey") == {}


def test_the_shape_follows_the_size_and_settings_win(settings):
    settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY = 250_000
    assert hnsw_graph_shape(100_000) == (16, 128)
    assert hnsw_graph_shape(250_000) == hnsw_graph_shape(1_000_000) == (24, 200)
    assert hnsw_ef_search_floor(100_000) == 0 and hnsw_ef_search_floor(1_000_000) == 250
    assert ef_search(100, photos=100_000) == 100 and ef_search(100, photos=1_000_000) == 250
    assert ef_search(500, photos=1_000_000) == 500  # a deeper query still gets its depth

    settings.PHOTOSEARCH_HNSW_M, settings.PHOTOSEARCH_HNSW_EF_CONSTRUCTION = 32, 64
    settings.PHOTOSEARCH_HNSW_EF_SEARCH = 300
    assert hnsw_graph_shape(10) == hnsw_graph_shape(10_000_000) == (32, 64)
    assert hnsw_ef_search_floor(10) == 300


def test_a_small_library_gets_the_small_graph(library, settings):
    settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY = 1000

    name = embedding_index_ensure(model_id=MODEL, dimensions=4)

    assert index_build_options(name=name) == {"m": "16", "ef_construction": "128"}


def test_the_index_is_rebuilt_once_when_the_library_crosses_the_line(library, settings):
    settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY = 1000
    name = embedding_index_ensure(model_id=MODEL, dimensions=4)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [name])
        small_oid = cursor.fetchone()[0]

    settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY = 40  # the library (40 vectors) is now "large"
    assert embedding_index_ensure(model_id=MODEL, dimensions=4) == name

    assert index_build_options(name=name) == {"m": "24", "ef_construction": "200"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid, to_regclass(%s)", [name, name + "_next"])
        large_oid, leftover = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE %s", [name + "%"])
        assert cursor.fetchone()[0] == 1
    assert large_oid != small_oid and leftover is None
    # Built once: ensuring again leaves the large graph alone.
    embedding_index_ensure(model_id=MODEL, dimensions=4)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [name])
        assert cursor.fetchone()[0] == large_oid
    # And the rebuilt graph answers: the nearest photo to a stored vector is that photo.
    nearest = photo_nearest_ids(vector=library[7], model_id=MODEL, limit=1)
    assert Photo.objects.get(id=nearest[0]).source_id == "s7"


def test_a_setting_still_decides_when_given(library, settings):
    settings.PHOTOSEARCH_HNSW_M, settings.PHOTOSEARCH_HNSW_EF_CONSTRUCTION = 8, 40

    name = embedding_index_ensure(model_id=MODEL, dimensions=4)

    assert index_build_options(name=name) == {"m": "8", "ef_construction": "40"}
    assert name == embedding_index_name(MODEL)


@pytest.mark.django_db(transaction=True)  # closes the connection: no test transaction around it
def test_a_large_library_is_searched_wider_on_new_connections(settings):
    profile = Profile.objects.create(source_kind="folder", handle="wide")
    Photo.objects.create(profile=profile, source_id="w", content_hash="w" * 64)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_photo")  # the size a new connection reads (reltuples): here 1
    try:
        for large_from, expected in ((2, settings.PHOTOSEARCH_VECTOR_CANDIDATES), (1, 250)):
            settings.PHOTOSEARCH_HNSW_LARGE_LIBRARY = large_from
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('hnsw.ef_search')")
                assert cursor.fetchone() == (str(expected),)
    finally:
        connection.close()  # the next test's connection starts from the defaults again
