"""Words in the image (OCR) by ``PHOTOSEARCH_OCR``, for the full-text index's weight D. Each engine's ``engine_id`` is
recorded per photo, so changing the engine rereads exactly its photos."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from importlib.metadata import version
from typing import Protocol

from django.conf import settings
from PIL import Image

# Measured: far below any line of real words, above half the lines PP-OCR reads from mere shapes.
MIN_LINE_SCORE = 0.8
_LETTER_OR_DIGIT_RUN = re.compile(r"[^\W_]{2}")  # two letters or digits in a row, any script


def words_worth_keeping(lines: Iterable[tuple[str, float]]) -> str:
    """The text of an engine's ``(line, score)`` pairs, one line each, without lines under ``MIN_LINE_SCORE`` or words
    lacking two letters or digits in a row (shapes read as single characters; a real "7" goes too)."""
    kept = []
    for text, score in lines:
        if score < MIN_LINE_SCORE:
            continue
        words = [word for word in text.split() if _LETTER_OR_DIGIT_RUN.search(word)]
        if words:
            kept.append(" ".join(words))
    return "\n".join(kept)


class OcrEngine(Protocol):
    engine_id: str  # engine, version and what changes its output; stored on every photo it reads ("": off)

    def read(self, image: Image.Image) -> str:
        """The words in ``image`` (RGB), one line of text per line found, top to bottom; "" when there are none."""


class NoOcr:
    engine_id = ""

    def read(self, image: Image.Image) -> str:
        return ""


class RapidOcrEngine:
    """RapidOCR's detection + recognition, built once per process."""

    def __init__(self, *, detect_size: int, threads: int = 0):
        from rapidocr import RapidOCR

        # The words kept are part of the output: a change of the rule rereads the photos read under the old one.
        self.engine_id = f"rapidocr-{version('rapidocr')}/det{detect_size}/min{MIN_LINE_SCORE:g}run2"
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
        texts = getattr(result, "txts", None) or ()
        scores = getattr(result, "scores", None) or ()
        return words_worth_keeping(zip(texts, scores, strict=False))  # an engine may give texts without scores


_built: dict[tuple, OcrEngine] = {}
_lock = threading.Lock()


def get_ocr_engine() -> OcrEngine:
    """The configured OCR engine, built once per process."""
    key = (settings.PHOTOSEARCH_OCR, settings.PHOTOSEARCH_OCR_DETECT_SIZE, settings.PHOTOSEARCH_OCR_THREADS)
    with _lock:
        if key not in _built:
            if settings.PHOTOSEARCH_OCR == "rapidocr":
                _built[key] = RapidOcrEngine(
                    detect_size=settings.PHOTOSEARCH_OCR_DETECT_SIZE, threads=settings.PHOTOSEARCH_OCR_THREADS
                )
            else:
                _built[key] = NoOcr()
        return _built[key]
