"""Words in the image (OCR), pluggable by ``PHOTOSEARCH_OCR``. The words read feed the full-text index at weight D
(``profiles.models``), so a photo of a sign, a menu or a poster is found by what it says.

- ``rapidocr`` (default): RapidOCR over onnxruntime with the PP-OCR detection and recognition models its wheel ships
  (offline, no download). Text is detected on a reduced copy (longest side ``PHOTOSEARCH_OCR_DETECT_SIZE``), and only
  the boxes found are read, at the full size of the image given: a photo without text costs one small detection pass.
  The angle classifier is off (upside-down text is rare in photos, and it costs a model run per box).
- ``none``: no words are read; the indexing stage does nothing.

Each engine names itself with its version and the settings that change what it reads (``engine_id``); every photo
records the id that read it (``Photo.ocr_engine``), so changing the engine rereads exactly the photos read by another.
"""

from __future__ import annotations

import threading
from importlib.metadata import version
from typing import Protocol

from django.conf import settings
from PIL import Image


class OcrEngine(Protocol):
    engine_id: str  # engine, version and what changes its output; stored on every photo it reads ("": off)

    def read(self, image: Image.Image) -> str:
        """The words in ``image`` (RGB), one line of text per line found, top to bottom; "" when there are none."""


class NoOcr:
    engine_id = ""

    def read(self, image: Image.Image) -> str:
        return ""


class RapidOcrEngine:
    """RapidOCR's detection + recognition, built once (loading the models takes about a second)."""

    def __init__(self, *, detect_size: int, threads: int = 0):
        from rapidocr import RapidOCR

        self.engine_id = f"rapidocr-{version('rapidocr')}/det{detect_size}"
        params = {
            "Global.use_cls": False,
            "Global.log_level": "error",
            "Det.limit_type": "max",  # shrink to this longest side; never enlarge (the default's "min" enlarges)
            "Det.limit_side_len": detect_size,
        }
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self._engine = RapidOCR(params=params)
        # RapidOCR keeps per-call options on the instance: one call at a time.
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> str:
        with self._lock:
            result = self._engine(image.convert("RGB"))
        return "\n".join(line.strip() for line in (getattr(result, "txts", None) or ()) if line.strip())


_built: dict[tuple, OcrEngine] = {}
_lock = threading.Lock()


def get_ocr_engine() -> OcrEngine:
    """The configured OCR engine, built once per process."""
    key = (settings.PHOTOSEARCH_OCR, settings.PHOTOSEARCH_OCR_DETECT_SIZE, settings.PHOTOSEARCH_OCR_THREADS)
    with _lock:
        if key not in _built:
            if settings.PHOTOSEARCH_OCR == "rapidocr":
                _built[key] = RapidOcrEngine(detect_size=settings.PHOTOSEARCH_OCR_DETECT_SIZE,
                                             threads=settings.PHOTOSEARCH_OCR_THREADS)
            else:
                _built[key] = NoOcr()
        return _built[key]
