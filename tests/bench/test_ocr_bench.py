"""The OCR benchmarks: bench_ocr's figures and bench_index with OCR on, on a handful of images (real RapidOCR)."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from bench.ocr import MIN_WORD_HEIGHT, draw_words, photo_like
from profiles.models import Photo, Profile


def test_words_are_drawn_at_least_the_minimum_height():
    rng = np.random.default_rng(0)
    image = photo_like(rng)

    words, smallest = draw_words(image, rng)

    assert words and smallest >= MIN_WORD_HEIGHT
    assert image.size == (1080, 1350) and isinstance(image, Image.Image)


def test_bench_ocr_reports_accuracy_cost_without_text_and_throughput():
    out = StringIO()

    call_command("bench_ocr", "--images", "3", "--repeat", "1", "--json", stdout=out, stderr=StringIO())

    figures = json.loads(out.getvalue())
    assert figures["engine"].startswith("rapidocr-") and (figures["images"], figures["with_text"]) == (3, 1)
    assert figures["words_drawn"] > 0 and figures["word_accuracy"] >= 0.5
    assert figures["no_text_ms_median"] > 0 and figures["mixed_images_per_s"] > 0
    assert figures["text_image_kb_median"] > figures["thumbnail_kb_median"] > 0


@pytest.mark.django_db
def test_bench_index_with_ocr_reports_the_pipeline_with_and_without_it(encoder):
    out = StringIO()

    call_command(
        "bench_index",
        "--images",
        "3",
        "--repeat",
        "1",
        "--model",
        "photosearch-tiny",
        "--device",
        "cpu",
        "--ocr",
        "rapidocr",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )

    figures = json.loads(out.getvalue())
    assert figures["ocr"].startswith("rapidocr-")
    assert figures["ocr_images_per_s"] > 0 and figures["ocr_import_images_per_s"] > 0
    assert 0 < figures["files_to_rows_with_ocr_images_per_s"] < figures["files_to_rows_images_per_s"]
    assert not Profile.objects.exists() and not Photo.objects.exists()
