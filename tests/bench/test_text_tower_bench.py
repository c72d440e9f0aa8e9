"""bench_text_tower on the tiny model: every figure is there, and the agreement figures say what they measure."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench.text_tower import queries


def test_the_query_set_is_varied_and_the_same_every_run():
    texts = queries(200)

    assert texts == queries(200) and len(set(texts)) == 200
    assert min(len(text.split()) for text in texts) == 1 and max(len(text.split()) for text in texts) >= 15


def test_bench_text_tower_reports_speed_and_agreement_for_each_precision():
    out = StringIO()

    call_command(
        "bench_text_tower",
        "--model",
        "photosearch-tiny",
        "--repeat",
        "2",
        "--threads",
        "1",
        "--batch",
        "4",
        "--queries",
        "20",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )

    figures = json.loads(out.getvalue())
    assert figures["model"] == "photosearch-tiny/random-seed0" and figures["agreement queries"] == 20
    for precision in ("float32", "float16", "int8"):
        assert figures[f"1 thread: {precision} query ms"] > 0 and figures[f"1 thread: {precision} batch of 4 ms"] > 0
    assert figures["float16: cosine min"] > 0.99999 and figures["int8: cosine min"] > 0.99
    assert figures["int8: cosine min"] < 1 and 0 < figures["int8: top-10 overlap mean"] <= 1
    assert figures["float32 query stored as float16: top-10 overlap mean"] >= 0.9


def test_bench_text_tower_refuses_an_unknown_precision():
    with pytest.raises(CommandError, match="--precisions"):
        call_command(
            "bench_text_tower",
            "--model",
            "photosearch-tiny",
            "--precisions",
            "int4",
            stdout=StringIO(),
            stderr=StringIO(),
        )


@pytest.mark.django_db
def test_bench_text_tower_finds_neighbours_among_the_librarys_own_vectors():
    import numpy as np

    from profiles.models import Photo, Profile

    profile = Profile.objects.create(source_kind="folder", handle="library")
    vectors = np.random.default_rng(0).standard_normal((150, 64))
    Photo.objects.bulk_create(
        Photo(
            profile=profile,
            source_id=str(i),
            content_hash=str(i).ljust(64, "0"),
            embedding=vector.tolist(),
            embedding_model="photosearch-tiny/random-seed0",
        )
        for i, vector in enumerate(vectors)
    )
    out = StringIO()

    call_command(
        "bench_text_tower",
        "--model",
        "photosearch-tiny",
        "--repeat",
        "1",
        "--threads",
        "1",
        "--batch",
        "2",
        "--queries",
        "10",
        "--precisions",
        "int8",
        "--library",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )

    figures = json.loads(out.getvalue())
    assert figures["agreement photos"] == "150 library photos" and "float16: cosine min" not in figures
    assert 0 < figures["int8: top-100 overlap mean"] <= 1

    Photo.objects.all().delete()
    with pytest.raises(CommandError, match="only 0 photos"):
        call_command(
            "bench_text_tower",
            "--model",
            "photosearch-tiny",
            "--queries",
            "10",
            "--library",
            stdout=StringIO(),
            stderr=StringIO(),
        )
