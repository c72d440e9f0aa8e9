import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from bench.api import TextTowerTopicEncoder, TopicTextEncoder, server_environment
from bench.api_layers import LAYERS
from bench.data import BENCH_MODEL, topic_queries
from profiles.models import Photo
from search.ranking import statement

KEYS = {
    "photos",
    "vector_p50_ms",
    "text_p50_ms",
    "hybrid_p50_ms",
    "hybrid_p95_ms",
    "filtered_p50_ms",
    "similar_p50_ms",
    "text_all_p50_ms",
    "hybrid_all_p50_ms",
    "text_matches_all_p50",
    "recall_at_10",
    "tfidf_baseline_p50_ms",
    "numpy_baseline_p50_ms",
    "api_requests_per_s",
    "api_errors",
    "index_build_s",
    "index_bytes",
    "hnsw_index_bytes",
    "gin_index_bytes",
    "hybrid_vs_tfidf",
    "vector_vs_numpy",
    "tfidf_baseline_queries",
    "api_p50_ms",
}


@pytest.mark.django_db(transaction=True)
def test_bench_search_reports_every_figure_from_its_own_database(settings, tmp_path):
    settings.PHOTOSEARCH_PROFILE_INDEX_MIN = 60  # the biggest of 20 skewed profiles holds ~140 of 500 photos
    backend = settings.PHOTOSEARCH_ENCODER_BACKEND
    out = StringIO()

    call_command(
        "bench_search",
        "--photos",
        "500",
        "--profiles",
        "20",
        "--queries",
        "3",
        "--concurrency",
        "2",
        "--api-seconds",
        "2",
        "--warmup",
        "5",
        "--uncached",
        "3",
        "--json",
        "--database",
        "test_photosearch_benchsearch",
        stdout=out,
        stderr=StringIO(),
    )

    figures = json.loads(out.getvalue())
    assert KEYS <= figures.keys()
    assert figures["photos"] == 500 and figures["tfidf_baseline_queries"] == 3 and figures["warmup_queries"] == 5
    assert figures["text_matches_p50"] > 0  # the text queries use words the photos have
    assert 0 <= figures["recall_at_10"] <= 1
    assert all(figures[f"{run}_p50_ms"] > 0 for run in ("vector", "text", "hybrid", "filtered", "similar", "api"))
    assert figures["hybrid_p95_ms"] >= figures["hybrid_p50_ms"]
    assert figures["tfidf_baseline_p50_ms"] > 0 and figures["numpy_baseline_p50_ms"] > 0
    assert figures["api_errors"] == 0 and figures["api_requests_per_s"] > 0
    assert figures["api_cpu_ms_per_request_server"] > 0 and figures["api_cpu_ms_per_request_postgres"] > 0
    assert figures["api_cpu_postgres_scope"] == "bench server"  # the bench's own PostgreSQL, not every one here
    # Queries never seen before, through a real ViT-B-32 text tower: each costs its forward pass on top.
    assert (figures["api_uncached_queries"], figures["api_uncached_errors"]) == (3, 0)
    assert figures["api_uncached_p50_ms"] > 0
    assert figures["index_build_s"] >= 0
    assert figures["profile_indexes"] >= 1 and figures["profile_index_bytes"] > 0
    assert figures["profile_text_indexes"] >= 1 and figures["profile_text_index_bytes"] > 0
    assert figures["index_bytes"] == (
        figures["hnsw_index_bytes"]
        + figures["gin_index_bytes"]
        + figures["profile_index_bytes"]
        + figures["profile_text_index_bytes"]
    )
    # A small library: the small graph, searched at the candidate depth.
    assert (figures["hnsw_m"], figures["hnsw_ef_construction"], figures["hnsw_ef_search"]) == (16, 128, 100)

    # The statement A/B on that database: the same module gives the same pages; one ordering the other way does not.
    current = Path(statement.__file__)
    reversed_order = tmp_path / "statement_reversed.py"
    reversed_order.write_text(
        current.read_text().replace('"relevance": "fused_score DESC', '"relevance": "fused_score ASC')
    )
    runs = ((current, True, []), (reversed_order, False, []), (current, True, ["--filtered"]))
    for other, all_same, filtered in runs:
        out = StringIO()
        call_command(
            "bench_statement_ab",
            str(other),
            "--queries",
            "3",
            "--rounds",
            "2",
            "--json",
            *filtered,
            "--database",
            "test_photosearch_benchsearch",
            stdout=out,
        )
        ab = json.loads(out.getvalue())
        assert ab["pages"] == 6 and ab["other_p50_ms"] > 0 and ab["current_p50_ms"] > 0
        assert (ab["same_pages"] == ab["pages"]) is all_same
        # Filtered to the bench's ~2 % profile (~10 photos here): an exact scan of its rows instead of the graph.
        assert (ab["filtered"], ab["vector_strategy"]) == ((True, "exact") if filtered else (False, "hnsw"))
    assert not Photo.objects.exists()  # the test database itself was left alone

    # The same database, one API request at a time in-process, layer by layer.
    out = StringIO()
    call_command(
        "bench_api_layers",
        "--requests",
        "4",
        "--rounds",
        "2",
        "--warmup",
        "2",
        "--json",
        "--database",
        "test_photosearch_benchsearch",
        stdout=out,
        stderr=StringIO(),
    )
    layers = json.loads(out.getvalue())
    assert {key for key, _label in LAYERS} | {"sql_wall", "postgres_cpu", "photos"} <= layers.keys()
    assert layers["photos"] == 500 and layers["requests"] == 4
    assert layers["request"] > layers["dispatch"] > layers["get"] > layers["photo_search"] > layers["loader"] > 0
    assert all(
        layers[key] > 0 for key in ("input", "output", "statement", "run_ranked", "sql_wall", "render", "initial")
    )
    assert settings.PHOTOSEARCH_ENCODER_BACKEND == backend and not Photo.objects.exists()  # all put back


def test_the_api_benchmark_encoder_puts_topic_words_near_their_topic():
    encoder = TopicTextEncoder()
    texts, vectors = topic_queries(20, seed=5)

    encoded = encoder.encode_texts(texts)
    similarity = np.einsum("ij,ij->i", encoded, vectors)
    other_topics = np.einsum("ij,ij->i", encoded, np.roll(vectors, 1, axis=0))

    # Same topic: as close as two photos of one topic (~0.5); another topic's: unrelated (~0).
    assert np.median(similarity) > 0.35 > 0.1 > np.median(other_topics)
    assert np.array_equal(encoder.encode_texts(texts[:1]), encoder.encode_texts(texts[:1]))


@pytest.mark.parametrize("text_tower, encoder_class", [(False, TopicTextEncoder), (True, TextTowerTopicEncoder)])
def test_the_benchmark_servers_environment_gives_search_the_bench_text_tower(text_tower, encoder_class):
    """What the gunicorn process does with that environment: set Django up, embed a query for search."""
    script = (
        "import django; django.setup()\n"
        "from search.ml.encoders import get_encoder; from search.ml.query_embedding import query_text_vector\n"
        "vector, model = query_text_vector('lighthouse'); print(type(get_encoder()).__name__, model, vector.shape[0])"
    )
    environment = server_environment("test_photosearch_benchsearch", text_tower=text_tower)

    run = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120)

    assert run.stdout.split() == [encoder_class.__name__, BENCH_MODEL, "512"], run.stderr[-2000:]
