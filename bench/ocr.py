"""The OCR benchmark behind ``manage.py bench_ocr``: how many of the words drawn in photo-like images the configured
engine reads, what a photo without text costs, and photos/s on a mixed set. The photo-like images with words are
shared with ``bench_index`` (its mixed set: a third with text).

Words are drawn with Pillow's built-in scalable font (``ImageFont.load_default(size=N)``: no system font needed), in
lines of one to three words, each line at least ``MIN_WORD_HEIGHT`` pixels high (ink, ascenders to descenders) in the
original photo, half of them on a plain sign and half straight on the picture. Each photo goes through the same
rendition the import keeps (``profiles.images.image_check``) and the same loading the stage does. A further third
of photos without words hold drawn shapes (discs, dots, frames, lines, triangles), which PP-OCR likes to read as
single characters: every word read there is a stray one.
"""

from __future__ import annotations

import io
import os
import re
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from profiles.images import image_check
from search.ml.ocr import get_ocr_engine

IMAGE_SIZE = (1080, 1350)  # Instagram's portrait format, as bench_index
MIN_WORD_HEIGHT = 20
WORDS = (
    "beach sunset harbour lighthouse mountain forest river waterfall street market coffee pizza dinner party wedding "
    "concert guitar garden museum castle station airport window winter summer kitchen breakfast stadium tower "
    "rooftop bakery pharmacy hotel open closed sale exit welcome library theatre cinema parking bicycle tickets menu "
    "special fresh bread tuesday friday saturday gallery"
).split()


def photo_like(rng: np.random.Generator, size: tuple[int, int] = IMAGE_SIZE) -> Image.Image:
    """Smooth colour fields, grain and one flat block: compresses and detects like a photo, not like a flat image."""
    width, height = size
    coarse = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.normal(0, 12, size=(height, width, 1)).astype(np.int16)
    pixels = np.clip(base + grain, 0, 255).astype(np.uint8)
    y, x = rng.integers(0, height - 300), rng.integers(0, width - 300)
    pixels[y : y + 300, x : x + 300] = rng.integers(0, 256, size=3)
    return Image.fromarray(pixels)


def draw_words(image: Image.Image, rng: np.random.Generator, *, lines: int = 3) -> tuple[list[str], int]:
    """Draw up to ``lines`` lines of words; return the words drawn and the smallest line height (px)."""
    draw = ImageDraw.Draw(image)
    words: list[str] = []
    smallest = 10_000
    y = int(rng.integers(40, 200))
    for _ in range(lines):
        line = [WORDS[int(i)] for i in rng.integers(0, len(WORDS), int(rng.integers(1, 4)))]
        text = " ".join(line)
        size = int(rng.integers(26, 72))
        font = ImageFont.load_default(size=size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        while bottom - top < MIN_WORD_HEIGHT:
            size += 1
            font = ImageFont.load_default(size=size)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if y + bottom + 20 > image.height:
            break
        x = int(rng.integers(20, max(21, image.width - (right - left) - 20)))
        behind = np.asarray(image.crop((x, y + top, x + right - left, y + bottom))).mean()
        ink = (20, 20, 20) if behind > 128 else (245, 245, 245)
        if rng.random() < 0.5:  # a sign: the words on a plain panel of the opposite tone
            draw.rectangle(
                (x - 12, y + top - 10, x + right - left + 12, y + bottom + 10), fill=tuple(255 - c for c in ink)
            )
        draw.text((x, y), text, font=font, fill=ink)
        words += line
        smallest = min(smallest, bottom - top)
        y += bottom + int(rng.integers(30, 150))
    return words, smallest


def shapes_photo(rng: np.random.Generator, *, on_photo: bool) -> Image.Image:
    """Shapes without words, on a photo-like picture or on a flat colour: what OCR must read as nothing."""
    image = (
        photo_like(rng) if on_photo else Image.new("RGB", IMAGE_SIZE, tuple(int(v) for v in rng.integers(0, 256, 3)))
    )
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 12))):
        x, y = int(rng.integers(0, IMAGE_SIZE[0] - 80)), int(rng.integers(0, IMAGE_SIZE[1] - 100))
        width, height = int(rng.integers(5, 200)), int(rng.integers(5, 200))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 5))
        if kind == 0:
            draw.ellipse((x, y, x + width, y + height), fill=colour)
        elif kind == 1:
            draw.rectangle((x, y, x + width, y + height), outline=colour, width=int(rng.integers(1, 8)))
        elif kind == 2:
            draw.line((x, y, x + width, y + int(rng.integers(-5, 6))), fill=colour, width=int(rng.integers(1, 10)))
        elif kind == 3:
            draw.polygon([(x, y), (x + width, y + height // 2), (x, y + height)], fill=colour)
        else:
            draw.ellipse((x, y, x + 12, y + 12), fill=colour)
    return image


def mixed_photos(count: int, *, seed: int = 0, text_every: int = 3) -> list[tuple[bytes, list[str], int]]:
    """``count`` photo-like JPEGs (quality 90), every ``text_every``-th with words: (bytes, words, smallest height)."""
    rng = np.random.default_rng(seed)
    photos = []
    for index in range(count):
        image = photo_like(rng)
        words, smallest = draw_words(image, rng) if index % text_every == 0 else ([], 0)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=90)
        photos.append((out.getvalue(), words, smallest))
    return photos


@dataclass
class OcrBenchmark:
    engine: str
    images: int
    with_text: int
    repeat: int
    cpu_count: int
    image_size: int  # longest side of the rendition read (PHOTOSEARCH_OCR_IMAGE_SIZE)
    detect_size: int  # longest side text is detected at (PHOTOSEARCH_OCR_DETECT_SIZE)
    threads: int  # onnxruntime intra-op threads (0: its own choice)
    words_drawn: int
    words_found: int
    word_accuracy: float  # share of the drawn words found (as whole words, any case)
    smallest_word_height_px: int
    stray_words_per_photo_without_text: float  # words "read" where none were drawn (any token, not only letters)
    shape_photos: int  # photos of drawn shapes without words, read once
    stray_words_per_shape_photo: float  # words "read" on them
    no_text_ms_median: float  # decode the rendition + read it, photos without words
    text_ms_median: float  # the same, photos with words
    mixed_images_per_s: float  # the whole set (a third with words), decode + read, one after the other
    text_image_kb_median: float  # the rendition kept per photo (JPEG)
    thumbnail_kb_median: float

    def as_dict(self) -> dict:
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in asdict(self).items()}


def ocr_benchmark(*, images: int, repeat: int = 3, on_step=lambda message: None) -> OcrBenchmark:
    """Run the configured engine over ``images`` generated photos (a third with words), ``repeat`` times; medians."""
    engine = get_ocr_engine()
    if not engine.engine_id:
        raise ValueError("PHOTOSEARCH_OCR is none: nothing to measure.")
    on_step(f"writing {images} photo-like {IMAGE_SIZE[0]}×{IMAGE_SIZE[1]} JPEGs, a third with words")
    photos = mixed_photos(images)
    renditions = []
    for data, words, _smallest in photos:
        checked = _rendition(data)
        renditions.append((checked.text_image_jpeg or checked.thumbnail_jpeg, checked.thumbnail_jpeg, words))
    rng = np.random.default_rng(1)
    shapes = []
    for index in range(max(3, images // 3)):
        out = io.BytesIO()
        shapes_photo(rng, on_photo=bool(index % 2)).save(out, format="JPEG", quality=90)
        checked = _rendition(out.getvalue())
        shapes.append(checked.text_image_jpeg or checked.thumbnail_jpeg)
    engine.read(Image.open(io.BytesIO(renditions[0][0])).convert("RGB"))  # warm-up: model sessions, allocator
    seconds = [[] for _ in renditions]
    texts = [""] * len(renditions)
    totals = []
    for run in range(1, repeat + 1):
        on_step(f"reading ({run}/{repeat})")
        started = time.perf_counter()
        for index, (jpeg, _, _) in enumerate(renditions):
            began = time.perf_counter()
            texts[index] = engine.read(Image.open(io.BytesIO(jpeg)).convert("RGB"))
            seconds[index].append(time.perf_counter() - began)
        totals.append(time.perf_counter() - started)
    drawn = found = stray = 0
    for (_, _, words), text in zip(renditions, texts, strict=True):
        read = set(re.findall(r"[a-z]+", text.lower()))
        drawn += len(words)
        found += sum(word in read for word in words)
        stray += 0 if words else len(text.split())
    on_step(f"reading {len(shapes)} photos of drawn shapes")
    shape_stray = sum(len(engine.read(Image.open(io.BytesIO(jpeg)).convert("RGB")).split()) for jpeg in shapes)
    per_photo = [statistics.median(runs) for runs in seconds]
    with_text = [t for t, (_, _, words) in zip(per_photo, renditions, strict=True) if words]
    without = [t for t, (_, _, words) in zip(per_photo, renditions, strict=True) if not words]
    return OcrBenchmark(
        engine=engine.engine_id,
        images=len(renditions),
        with_text=len(with_text),
        repeat=repeat,
        cpu_count=os.cpu_count() or 0,
        image_size=settings.PHOTOSEARCH_OCR_IMAGE_SIZE,
        detect_size=settings.PHOTOSEARCH_OCR_DETECT_SIZE,
        threads=settings.PHOTOSEARCH_OCR_THREADS,
        words_drawn=drawn,
        words_found=found,
        word_accuracy=found / drawn if drawn else 0.0,
        smallest_word_height_px=min((s for _, _, s in photos if s), default=0),
        stray_words_per_photo_without_text=stray / len(without) if without else 0.0,
        shape_photos=len(shapes),
        stray_words_per_shape_photo=shape_stray / len(shapes),
        no_text_ms_median=1000 * statistics.median(without) if without else 0.0,
        text_ms_median=1000 * statistics.median(with_text) if with_text else 0.0,
        mixed_images_per_s=len(renditions) / statistics.median(totals),
        text_image_kb_median=statistics.median(len(jpeg) for jpeg, _, _ in renditions) / 1024,
        thumbnail_kb_median=statistics.median(len(thumb) for _, thumb, _ in renditions) / 1024,
    )


def _rendition(data: bytes):
    return image_check(
        data,
        max_pixels=settings.PHOTOSEARCH_MAX_IMAGE_PIXELS,
        thumbnail_size=settings.PHOTOSEARCH_THUMBNAIL_SIZE,
        text_image_size=settings.PHOTOSEARCH_OCR_IMAGE_SIZE,
    )
