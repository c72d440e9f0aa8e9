"""Faces in the image, by ``PHOTOSEARCH_FACES``: each face's box, recognition quality and 128-number descriptor; two
faces of one person lie within ``SAME_PERSON_DISTANCE`` (Euclidean). ``dlib``: HOG detector, 5-point alignment, ResNet
descriptor, models from the face-recognition-models wheel (choices: docs/benchmarks.md, "Faces"); ``none``: nothing.

``engine_id`` names the engine's version and output-changing settings; the stage records it per photo, so changing
the engine rereads exactly the photos another read.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from PIL import Image

SAME_PERSON_DISTANCE = 0.6  # dlib's own threshold for its descriptors (Euclidean); see docs/benchmarks.md, "Faces"
MAX_FACES = 100  # faces described per photo at most, the largest first
NUM_JITTERS = 0  # dlib jitters only from 2 (each costs one more ResNet run); 1 gives the very same descriptor
CHIP_SIZE = 150  # the ResNet's input: aligned face chips of 150 x 150 px
MIN_FACE_SIZE = 20  # px: HOG's window is 80 px; one upsampling reaches ~40 px faces, smaller ones are found by luck
QUALITY_FULL_SIZE = 80  # px: a face this wide (in the given image) has all the detail the 150-px chip can use
QUALITY_FULL_SHARPNESS = 100.0  # variance of the Laplacian of the grey chip; measured: sharp portraits 150–1,500


@dataclass(frozen=True)
class DetectedFace:
    box: tuple[float, float, float, float]  # x, y, w, h relative to the analysed image (the one given), 0..1
    score: float  # detector confidence (HOG: the SVM's margin, 0 is its threshold; CNN: its confidence)
    quality: float  # 0..1: higher = better for recognition (size x sharpness x frontalness: face_quality)
    size: int  # the face box's shorter side in pixels of the analysed image
    descriptor: np.ndarray  # float32 (128,)


class FaceEngine(Protocol):
    engine_id: str  # backend, version and the settings that change its output ("": off)

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """The faces in ``image``, largest first, at most ``MAX_FACES``; [] when there are none."""


class NoFaces:
    engine_id = ""

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        return []


def models_folder() -> Path | None:
    """Where the face-recognition-models wheel keeps its model files, or None. Found without importing the package
    (its ``__init__`` imports pkg_resources, gone from recent setuptools)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def dlib_available() -> bool:
    """dlib imports and the model files the ``dlib`` engine needs are there."""
    folder = models_folder()
    if importlib.util.find_spec("dlib") is None or folder is None:
        return False
    needed = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
    return all((folder / name).is_file() for name in needed)


def detection_copy(image: Image.Image, *, image_size: int) -> Image.Image:
    """``image`` in RGB, scaled to ``image_size`` on its longest side (0 keeps it): a fixed size fixes the detection's
    cost and the smallest face found as a share of the photo."""
    image = image.convert("RGB")
    if image_size and max(image.size) != image_size:
        scale = image_size / max(image.size)
        width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return image


def face_quality(*, size: int, chip: np.ndarray, points: list[tuple[float, float]]) -> float:
    """Size (full from ``QUALITY_FULL_SIZE``) x sharpness (Laplacian variance of the grey ``chip``) x frontalness
    (the nose tip between the eyes), each 0..1. ``points``: the 5 landmarks, eye corners then nose tip."""
    size_part = min(1.0, max(0.0, (size - MIN_FACE_SIZE) / (QUALITY_FULL_SIZE - MIN_FACE_SIZE)))
    grey = chip.astype(np.float32).mean(axis=2)
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    sharp_part = min(1.0, float(laplacian.var()) / QUALITY_FULL_SHARPNESS)
    eye_a = (points[0][0] + points[1][0]) / 2
    eye_b = (points[2][0] + points[3][0]) / 2
    nose = points[4][0]
    span = abs(eye_a - eye_b)
    if span <= 0:
        return 0.0
    frontal_part = max(0.0, 1.0 - abs(nose - (eye_a + eye_b) / 2) / (span / 2))
    return round(size_part * sharp_part * frontal_part, 4)


class DlibFaceEngine:
    """dlib's detector + 5-point alignment + ResNet descriptor, built once per process."""

    def __init__(self, *, detector: str = "hog", image_size: int, upsample: int, models: Path | None = None):
        import dlib

        folder = models or models_folder()
        if folder is None:
            raise RuntimeError("PHOTOSEARCH_FACES=dlib needs the face-recognition-models package (model files).")
        self.detector_kind = detector
        self.image_size = image_size
        self.upsample = upsample
        if detector == "cnn":
            self._cnn: Any = dlib.cnn_face_detection_model_v1(str(folder / "mmod_human_face_detector.dat"))
        else:
            self._hog: Any = dlib.get_frontal_face_detector()
        self._shapes: Any = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._describer: Any = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
        self._dlib = dlib
        self.engine_id = (
            f"dlib-{dlib.__version__}/{detector}/side{image_size}/up{upsample}/j{NUM_JITTERS}/max{MAX_FACES}"
        )
        # dlib's detectors and networks keep working buffers on the instance: one photo at a time.
        self._lock = threading.Lock()

    def _boxes(self, pixels: np.ndarray) -> list[tuple[Any, float]]:
        if self.detector_kind == "cnn":
            return [(found.rect, float(found.confidence)) for found in self._cnn(pixels, self.upsample)]
        rects, scores, _ = self._hog.run(pixels, self.upsample, 0.0)
        return [(rect, float(score)) for rect, score in zip(rects, scores, strict=True)]

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        picture = detection_copy(image, image_size=self.image_size)
        width, height = picture.size
        to_given = image.width / width  # box sides in the given image's pixels
        pixels = np.ascontiguousarray(np.asarray(picture, dtype=np.uint8))
        faces = []
        with self._lock:
            found = self._boxes(pixels)
            found.sort(key=lambda item: -min(item[0].width(), item[0].height()))
            for rect, score in found[:MAX_FACES]:
                left, top = max(0, rect.left()), max(0, rect.top())
                right, bottom = min(width, rect.right() + 1), min(height, rect.bottom() + 1)
                if right <= left or bottom <= top:
                    continue
                shape = self._shapes(pixels, rect)
                chip = np.asarray(self._dlib.get_face_chip(pixels, shape, size=CHIP_SIZE))
                descriptor = np.asarray(self._describer.compute_face_descriptor(chip, NUM_JITTERS), dtype=np.float32)
                size = round(min(right - left, bottom - top) * to_given)
                points = [(point.x, point.y) for point in shape.parts()]
                faces.append(
                    DetectedFace(
                        box=(left / width, top / height, (right - left) / width, (bottom - top) / height),
                        score=score,
                        quality=face_quality(size=size, chip=chip, points=points),
                        size=size,
                        descriptor=descriptor,
                    )
                )
        return faces


_built: dict[tuple, FaceEngine] = {}
_lock = threading.Lock()


def get_face_engine() -> FaceEngine:
    """The configured face engine, built once per process."""
    key = (settings.PHOTOSEARCH_FACES, settings.PHOTOSEARCH_FACES_IMAGE_SIZE, settings.PHOTOSEARCH_FACES_UPSAMPLE)
    with _lock:
        if key not in _built:
            if settings.PHOTOSEARCH_FACES == "dlib":
                _built[key] = DlibFaceEngine(
                    image_size=settings.PHOTOSEARCH_FACES_IMAGE_SIZE, upsample=settings.PHOTOSEARCH_FACES_UPSAMPLE
                )
            else:
                _built[key] = NoFaces()
        return _built[key]
