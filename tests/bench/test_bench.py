import json
from io import StringIO

import pytest
from django.core.management import call_command

from bench.index import synthetic_jpegs
from profiles.models import Photo, Profile


def test_synthetic_photos_are_realistic_jpegs(tmp_path):
    from PIL import Image

    paths = synthetic_jpegs(tmp_path, 2)

    assert [Image.open(p).size for p in paths] == [(1080, 1350)] * 2
    assert all(50_000 < p.stat().st_size < 2_000_000 for p in paths)
    assert paths[0].read_bytes() != paths[1].read_bytes()


@pytest.mark.django_db
def test_bench_index_reports_every_figure_and_leaves_nothing_behind(encoder):
    out = StringIO()

    call_command(
        "bench_index",
        "--images",
        "6",
        "--model",
        "photosearch-tiny",
        "--device",
        "cpu",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )

    figures = json.loads(out.getvalue())
    assert {
        "device",
        "model",
        "images",
        "decode_images_per_s",
        "model_images_per_s",
        "pipeline_images_per_s",
        "pipeline_vs_model",
        "import_images_per_s",
        "files_to_rows_images_per_s",
    } <= figures.keys()
    assert (figures["device"], figures["model"], figures["images"]) == ("cpu", encoder.model_id, 6)
    assert all(figures[key] > 0 for key in ("decode_images_per_s", "model_images_per_s", "pipeline_images_per_s"))
    assert not Profile.objects.exists() and not Photo.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bench_filters_measures_each_strategy_in_its_own_database():
    out = StringIO()

    call_command(
        "bench_filters",
        "--photos",
        "400",
        "--profiles",
        "8",
        "--queries",
        "3",
        "--json",
        "--database",
        "test_photosearch_bench",
        stdout=out,
        stderr=StringIO(),
    )

    figures = json.loads(out.getvalue())
    assert figures["photos"] == 400 and figures["profiles"] == 8
    in_profile = round(figures["filter_profile_share"] * 400)
    for run, expected in (
        ("hybrid", 20),
        ("filtered_exact", min(20, in_profile)),
        ("filtered_iterative", min(20, in_profile)),
    ):
        assert figures[f"{run}_p50_ms"] > 0
        assert figures[f"{run}_min_results"] == expected, run  # k results when k exist, whatever the strategy
    assert not Photo.objects.exists()  # the test database itself was left alone


@pytest.mark.django_db(transaction=True)
def test_the_filters_benchmark_returns_sane_figures_and_reuses_its_data():
    from bench.filters import K, filters_benchmark

    steps = []
    figures = filters_benchmark(
        photos=300, profiles=6, queries=3, share=0.05, database="test_photosearch_bench", say=steps.append
    )

    assert (figures["photos"], figures["profiles"]) == (300, 6)
    assert 0 < figures["filter_profile_share"] < 1 and figures["index_build_s"] >= 0
    in_profile = round(figures["filter_profile_share"] * 300)
    for run, expected in (
        ("hybrid", K),
        ("filtered_exact", min(K, in_profile)),
        ("filtered_iterative", min(K, in_profile)),
    ):
        assert figures[f"{run}_p95_ms"] >= figures[f"{run}_p50_ms"] > 0, run
        assert figures[f"{run}_min_results"] == expected, run  # k results when k exist, whatever the strategy
    assert any(step.startswith("filling 300") for step in steps)

    steps.clear()
    again = filters_benchmark(
        photos=300, profiles=6, queries=3, share=0.05, database="test_photosearch_bench", reuse=True, say=steps.append
    )

    assert not any(step.startswith("filling") for step in steps)  # the same 300 photos, not filled again
    assert {key: again[key] for key in ("photos", "profiles", "filter_profile_share")} == {
        key: figures[key] for key in ("photos", "profiles", "filter_profile_share")
    }
    assert not Photo.objects.exists()  # the test database itself was left alone
