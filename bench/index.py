"""The indexing benchmark behind ``manage.py bench_index``: how fast photos go from files to searchable rows, and
where the time goes (import, decoding, the model, the whole embedding pipeline, and with OCR on the words in the
images: a third of the set carries words, ``bench.ocr``)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from django.test import override_settings
from PIL import Image

from bench.ocr import draw_words
from profiles.models import Profile
from profiles.services.imports import folder_import
from search.ml.captions import get_captioner
from search.ml.encoders import get_encoder
from search.ml.ocr import get_ocr_engine
from search.services.embedding import loader_threads, photos_embed, thumbnail_pixels
from search.services.words_read import photos_read_text

IMAGE_SIZE = (1080, 1350)  # Instagram's portrait format


@dataclass
class IndexBenchmark:
    device: str
    model: str
    captioner: str
    images: int
    repeat: int
    batch_size: int
    loader_threads: int
    cpu_count: int
    torch_threads: int
    import_images_per_s: float  # files → verified, thumbnail stored, row written
    decode_images_per_s: float  # stored thumbnail → model input tensor, one thread
    model_images_per_s: float  # model forward alone, on ready tensors (median of the repeats)
    pipeline_images_per_s: float  # rows → decode (threads) + model + caption → vectors written (median)
    pipeline_vs_model: float
    files_to_rows_images_per_s: float  # import + embedding, end to end, OCR off
    ocr: str = ""  # the OCR engine id ("": PHOTOSEARCH_OCR=none, the figures below are not measured)
    ocr_import_images_per_s: float | None = None  # import keeping the larger rendition OCR reads
    ocr_images_per_s: float | None = None  # the OCR stage alone on the mixed set (a third with words; median)
    files_to_rows_with_ocr_images_per_s: float | None = None  # import + embedding + OCR, end to end

    def as_dict(self) -> dict:
        return {key: round(value, 2) if isinstance(value, float) else value for key, value in asdict(self).items()}


def synthetic_jpegs(folder: Path, count: int, *, seed: int = 0, text_every: int = 3) -> list[Path]:
    """``count`` photo-like 1080×1350 JPEGs (smooth colour fields, edges and grain; ~300 kB each at quality 90), every
    ``text_every``-th with lines of words drawn on it (0: none)."""
    rng = np.random.default_rng(seed)
    words_rng = np.random.default_rng(seed + 1)  # its own stream: the pictures stay those of earlier versions
    paths = []
    height, width = IMAGE_SIZE[1], IMAGE_SIZE[0]
    for index in range(count):
        coarse = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
        grain = rng.normal(0, 12, size=(height, width, 1)).astype(np.int16)
        pixels = np.clip(base + grain, 0, 255).astype(np.uint8)
        y, x = rng.integers(0, height - 300), rng.integers(0, width - 300)
        pixels[y : y + 300, x : x + 300] = rng.integers(0, 256, size=3)
        path = folder / f"{index:06}.jpg"
        image = Image.fromarray(pixels)
        if text_every and index % text_every == 0:
            draw_words(image, words_rng)
        image.save(path, format="JPEG", quality=90)
        paths.append(path)
    return paths


def index_benchmark(*, images: int, batch_size: int, repeat: int = 3, on_step=lambda message: None) -> IndexBenchmark:
    """Run the benchmark on a scratch profile with its own media folder; both are removed afterwards."""
    import torch

    encoder = get_encoder()
    captioner = get_captioner(encoder)  # built before any timing: the tags captioner embeds its vocabulary once
    with tempfile.TemporaryDirectory(prefix="bench-index-") as scratch:
        scratch_path = Path(scratch)
        files = scratch_path / "files"
        files.mkdir()
        on_step(f"writing {images} synthetic {IMAGE_SIZE[0]}×{IMAGE_SIZE[1]} JPEGs")
        synthetic_jpegs(files, images)
        name = f"bench-index-{uuid.uuid4().hex[:8]}"
        ocr = get_ocr_engine()
        ocr_runs: list[float] = []
        ocr_import_seconds = None
        with override_settings(MEDIA_ROOT=str(scratch_path / "media"), PHOTOSEARCH_AUTO_EMBED=False):
            try:
                on_step("importing (verify, thumbnail, row)")
                started = time.perf_counter()
                with override_settings(PHOTOSEARCH_OCR="none"):
                    job = folder_import(path=files, profile_name=name)
                import_seconds = time.perf_counter() - started
                if ocr.engine_id:
                    # Again with the rendition OCR reads, into a profile the stage is then timed on.
                    on_step("importing with OCR on (verify, thumbnail, text image, row)")
                    started = time.perf_counter()
                    ocr_profile = folder_import(path=files, profile_name=f"{name}-ocr").profile
                    ocr_import_seconds = time.perf_counter() - started
                profile = job.profile
                photos = list(profile.photos.order_by("id"))

                on_step("decoding thumbnails")
                started = time.perf_counter()
                tensors = [thumbnail_pixels(photo=photo, preprocess=encoder.preprocess) for photo in photos]
                decode_seconds = time.perf_counter() - started

                batches = [torch.stack(tensors[i : i + batch_size]) for i in range(0, len(tensors), batch_size)]
                encoder.encode_pixels(batches[0])  # warm-up (kernels, allocator)
                model_runs, pipeline_runs = [], []
                # Interleaved repeats, medians reported: shared machines are noisy, and a drift then hits both.
                for run in range(1, repeat + 1):
                    on_step(f"model forward alone ({run}/{repeat})")
                    started = time.perf_counter()
                    for batch in batches:
                        encoder.encode_pixels(batch)
                    _synchronize(encoder.device)
                    model_runs.append(time.perf_counter() - started)

                    on_step(f"full embedding pipeline ({run}/{repeat})")
                    profile.photos.update(embedding=None, embedding_model="", embedded_at=None, caption="")
                    started = time.perf_counter()
                    summary = photos_embed(
                        profile_ids=[profile.pk], batch_size=batch_size, encoder=encoder, captioner=captioner
                    )
                    pipeline_runs.append(time.perf_counter() - started)
                    assert summary.embedded == len(photos), summary

                    if ocr.engine_id:
                        on_step(f"reading the words in the images ({run}/{repeat})")
                        ocr_profile.photos.update(ocr_text="", ocr_engine="", ocr_at=None)
                        started = time.perf_counter()
                        read = photos_read_text(profile_ids=[ocr_profile.pk], engine=ocr)
                        ocr_runs.append(time.perf_counter() - started)
                        assert read.read == len(photos), read
                model_seconds, pipeline_seconds = statistics.median(model_runs), statistics.median(pipeline_runs)
            finally:
                Profile.objects.filter(handle__in=[name, f"{name}-ocr"]).delete()
    count = len(photos)
    return IndexBenchmark(
        device=encoder.device,
        model=encoder.model_id,
        captioner=captioner.name,
        images=count,
        repeat=repeat,
        batch_size=batch_size,
        loader_threads=loader_threads(device=encoder.device),
        cpu_count=os.cpu_count() or 0,
        torch_threads=torch.get_num_threads(),
        import_images_per_s=count / import_seconds,
        decode_images_per_s=count / decode_seconds,
        model_images_per_s=count / model_seconds,
        pipeline_images_per_s=count / pipeline_seconds,
        pipeline_vs_model=model_seconds / pipeline_seconds,
        files_to_rows_images_per_s=count / (import_seconds + pipeline_seconds),
        ocr=ocr.engine_id,
        ocr_import_images_per_s=count / ocr_import_seconds if ocr_runs else None,
        ocr_images_per_s=count / statistics.median(ocr_runs) if ocr_runs else None,
        files_to_rows_with_ocr_images_per_s=(
            count / (ocr_import_seconds + pipeline_seconds + statistics.median(ocr_runs)) if ocr_runs else None
        ),
    )


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
