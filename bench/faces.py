"""The face benchmarks behind ``manage.py evaluate_faces`` and ``manage.py bench_faces``, on a labelled folder of real
photos (default: tests/data/faces/, see its ATTRIBUTION.md).

The folder holds images and a ``labels.json``: file → ``{"identity": person or null, "faces": count}``. A photo with
an identity and one face is a portrait of that person; every pair of portraits is a verification pair (same person
or not), decided by the Euclidean distance of the largest face's descriptors against the threshold.

- ``evaluate_faces``: detection rate (faces found / faces labelled, and photos whose count is exactly right, and
  faces found on photos labelled without any), verification accuracy at the threshold, the distance distributions of
  same-person and different-person pairs, and the threshold that maximises accuracy.
- ``bench_faces``: photos/s over the whole folder (a mix of portraits, groups and photos without people), ms for a
  photo without a face, and ms per face (detection time taken off, from the photos with faces).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

from search.ml.faces import SAME_PERSON_DISTANCE, DetectedFace, FaceEngine

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces"


@dataclass(frozen=True)
class Labelled:
    name: str
    identity: str | None
    faces: int


def labelled_folder(folder: Path) -> list[Labelled]:
    """The photos of ``folder`` its ``labels.json`` names, sorted by name."""
    labels = json.loads((folder / "labels.json").read_text())
    missing = [name for name in labels if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"labels.json names photos not in {folder}: {', '.join(missing[:5])}")
    return [Labelled(name, label.get("identity"), int(label["faces"])) for name, label in sorted(labels.items())]


def load(folder: Path, name: str) -> Image.Image:
    with Image.open(folder / name) as image:
        return image.convert("RGB")


def quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    points = np.quantile(values, [0, 0.05, 0.5, 0.95, 1])
    return {key: round(float(v), 3) for key, v in zip(("min", "p5", "median", "p95", "max"), points, strict=True)}


def best_threshold(same: list[float], other: list[float]) -> tuple[float, float]:
    """The threshold (a midpoint between two observed distances) that classifies the most pairs right, and that
    accuracy; ties go to the threshold nearest the configured one."""
    cuts = sorted(set(same) | set(other))
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(cuts)] or [SAME_PERSON_DISTANCE]
    same_sorted, other_sorted = np.sort(same), np.sort(other)
    best = (-1.0, 0.0)
    for cut in candidates:
        right = np.searchsorted(same_sorted, cut) + (len(other_sorted) - np.searchsorted(other_sorted, cut))
        accuracy = float(right) / (len(same) + len(other))
        if accuracy > best[0] or (
            accuracy == best[0] and abs(cut - SAME_PERSON_DISTANCE) < abs(best[1] - SAME_PERSON_DISTANCE)
        ):
            best = (accuracy, cut)
    return round(best[1], 3), round(best[0], 4)


def evaluate_faces(
    *,
    engine: FaceEngine,
    folder: Path = DEFAULT_FOLDER,
    threshold: float = SAME_PERSON_DISTANCE,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say: Callable[[str], None] = on_step or (lambda message: None)
    photos = labelled_folder(folder)
    found_faces = labelled_faces = exact = strays = 0
    portraits: dict[str, tuple[str, np.ndarray]] = {}
    unfound: list[str] = []
    for index, photo in enumerate(photos, 1):
        found = engine.detect(load(folder, photo.name))
        labelled_faces += photo.faces
        found_faces += min(len(found), photo.faces)
        exact += len(found) == photo.faces
        strays += len(found) if photo.faces == 0 else max(0, len(found) - photo.faces)
        if photo.identity and photo.faces == 1:
            if found:
                portraits[photo.name] = (photo.identity, found[0].descriptor)
            else:
                unfound.append(photo.name)
        if index % 20 == 0:
            say(f"{index}/{len(photos)} photos looked at")
    same: list[float] = []
    other: list[float] = []
    for (_, (who_a, a)), (_, (who_b, b)) in itertools.combinations(sorted(portraits.items()), 2):
        (same if who_a == who_b else other).append(float(np.linalg.norm(a - b)))
    best_cut, best_accuracy = best_threshold(same, other)
    clustering = settings.PHOTOSEARCH_FACES_DISTANCE
    return {
        "engine": engine.engine_id,
        "photos": len(photos),
        "identities": len({who for who, _ in portraits.values()}),
        "faces_labelled": labelled_faces,
        "detection_rate": round(found_faces / labelled_faces, 4) if labelled_faces else None,
        "photos_count_exact": round(exact / len(photos), 4) if photos else None,
        "stray_faces": strays,
        "portraits_without_a_face": unfound,
        "same_pairs": len(same),
        "different_pairs": len(other),
        "threshold": threshold,
        **pairs_at(same, other, threshold, "threshold"),
        "clustering_distance": clustering,  # PHOTOSEARCH_FACES_DISTANCE: persons join faces at most this far apart
        **pairs_at(same, other, clustering, "clustering_distance"),
        "same_distances": quantiles(same),
        "different_distances": quantiles(other),
        "best_threshold": best_cut,
        "best_accuracy": best_accuracy,
    }


def pairs_at(same: list[float], other: list[float], cut: float, name: str) -> dict[str, Any]:
    """Verification at ``cut`` (same person below it): accuracy, same-person pairs rejected and different-person pairs
    accepted, keyed ``accuracy_at_NAME`` etc. (the threshold keys keep their first names)."""
    right = sum(d < cut for d in same) + sum(d >= cut for d in other)
    suffix = "" if name == "threshold" else f"_at_{name}"
    return {
        f"accuracy_at_{name}": round(right / (len(same) + len(other)), 4) if same or other else None,
        f"same_rejected{suffix}": sum(d >= cut for d in same),
        f"different_accepted{suffix}": sum(d < cut for d in other),
    }


def timed(engine: FaceEngine, image: Image.Image) -> tuple[float, list[DetectedFace]]:
    started = time.perf_counter()
    found = engine.detect(image)
    return time.perf_counter() - started, found


def bench_faces(
    *, engine: FaceEngine, folder: Path = DEFAULT_FOLDER, repeat: int = 1, on_step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Medians over ``repeat`` passes of the folder: photos/s (wall clock and this process's CPU time), ms for a photo
    without a face, ms per face (what a photo with faces costs beyond the median photo without one, per face)."""
    say: Callable[[str], None] = on_step or (lambda message: None)
    load_before = os.getloadavg()[0]
    photos = [(photo, load(folder, photo.name)) for photo in labelled_folder(folder)]
    engine.detect(photos[0][1])  # warm: the first call allocates dlib's buffers
    rates: list[float] = []
    empty_cpu_ms: list[float] = []
    cpu_rates: list[float] = []
    empty_ms: list[float] = []
    per_face_ms: list[float] = []
    faces_found = 0
    for run in range(repeat):
        empty: list[tuple[float, int]] = []
        with_faces: list[tuple[float, int]] = []
        started, cpu_started = time.perf_counter(), time.process_time()
        empty_cpu: list[float] = []
        for _, image in photos:
            cpu_before = time.process_time()
            seconds, found = timed(engine, image)
            (with_faces if found else empty).append((seconds, len(found)))
            if not found:
                empty_cpu.append(time.process_time() - cpu_before)
        rates.append(len(photos) / (time.perf_counter() - started))
        cpu_rates.append(len(photos) / (time.process_time() - cpu_started))
        faces_found = sum(count for _, count in with_faces)
        empty_median = statistics.median(s for s, _ in empty) if empty else 0.0
        empty_ms.append(1000 * empty_median)
        empty_cpu_ms.append(1000 * statistics.median(empty_cpu) if empty_cpu else 0.0)
        if faces_found:
            per_face_ms.append(1000 * sum(s - empty_median for s, _ in with_faces) / faces_found)
        say(f"pass {run + 1}/{repeat}: {rates[-1]:.2f} photos/s")
    return {
        "engine": engine.engine_id,
        "photos": len(photos),
        "faces_found": faces_found,
        "repeat": repeat,
        "photos_per_s": round(statistics.median(rates), 2),
        "photos_per_cpu_s": round(statistics.median(cpu_rates), 2),  # this process's CPU time: steady on a busy machine
        "cpu_ms_per_photo": round(1000 / statistics.median(cpu_rates), 1),
        "ms_photo_without_face": round(statistics.median(empty_ms), 1),
        "cpu_ms_photo_without_face": round(statistics.median(empty_cpu_ms), 1),
        "ms_per_face": round(statistics.median(per_face_ms), 1) if per_face_ms else None,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before and after: a shared machine
    }
