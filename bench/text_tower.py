"""The text tower benchmark behind ``manage.py bench_text_tower``: what a query nobody asked before costs in the
float32 text tower (short context, ``search/ml/text_tower.py``) and in its copies with float16 or int8 weights
(``PHOTOSEARCH_TEXT_TOWER_PRECISION``), and how far their vectors are from float32's.

Speed: one 5-word query and a batch, through ``OpenClipEncoder.encode_texts`` (tokenizer included), at each torch
thread count asked for; the variants take turns within every repeat so a shared machine's slow spells hit them alike;
medians. Agreement over ``queries()`` (varied texts of 1 to 17 words): the cosine between each query's vector and
float32's (each query embedded alone, as a search does; for int8 also all in one batch, as the tag labels are, where
the activations of every text share one int8 scale), and how many of the float32 vector's nearest 10 and 100
"photos" the other vector also finds, among random unit vectors (seeded) or, with ``library``, the photos' own stored
vectors for the model. Beside them, the float32 vector rounded to float16 (as a ``halfvec`` column stores it) gives a
scale for those overlaps.

With random weights (``pretrained="none"``) the speed is the real model's, but the agreement is only a proxy: trained
weights have a few large activation channels that int8 may round worse (float16 weights do not depend on the
activations). Run it on the real weights (and ``library``) before turning int8 on.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SUBJECTS = (
    "dog",
    "cat",
    "two kids",
    "an old man",
    "a bride and groom",
    "a red bicycle",
    "a lighthouse",
    "the eiffel tower",
    "a birthday cake",
    "a surfer",
    "snow covered mountains",
    "a busy market",
    "a sailing boat",
    "a plate of pasta",
    "a black and white portrait",
    "fireworks",
    "a golden retriever puppy",
    "a mountain lake",
    "a vintage car",
    "a street musician",
    "a coffee cup",
    "a skyline",
    "a football match",
    "cherry blossoms",
    "a horse",
    "a kitchen",
    "a waterfall",
    "a concert crowd",
    "a desert road",
    "a library",
    "a baby",
    "a train station",
    "sunflowers",
    "a hot air balloon",
    "a lizard",
    "a wedding dance",
    "a graduation",
    "a tent",
    "a rooftop bar",
    "a frozen river",
)
PLACES = (
    "on the beach",
    "in the rain",
    "at night",
    "in paris",
    "at sunset",
    "in the snow",
    "in a forest",
    "on a rooftop",
    "in tokyo",
    "at the harbour",
    "in the desert",
    "by the window",
    "in autumn",
    "under the stars",
    "in new york",
    "at a festival",
    "in the fog",
    "on a mountain trail",
    "in grandma's garden",
    "in 2019",
)
SENTENCES = (
    "photos from our trip to iceland last summer",
    "the one where everyone is laughing at the dinner table",
    "screenshot of a train ticket with the booking number",
    "blurry picture of the northern lights taken with a phone",
    "our dog asleep on the sofa with the cat next to him, a lazy sunday afternoon",
    "menu of the little italian restaurant near the station, with the prices in euro",
    "kids building a sandcastle while the tide comes in, waves in the background and a red bucket",
    "selfie",
    "receipt",
    "whiteboard notes",
    "passport",
    "sunset",
    "ski",
    "pizza",
    "graffiti",
    "lego",
    "aerial view of a city at dusk with traffic lights streaming along the avenues",
    "close-up of dew drops on a spider web early in the morning",
    "people dancing at a street party with colourful flags",
    "an empty swimming pool in winter",
)


def queries(count: int = 200) -> list[str]:
    """``count`` (≤ 800) varied query texts, the same every run: the fixed sentences, then subject and place
    combinations in a seeded order (a bare subject, or with a place, with or without "photo of")."""
    rng = np.random.default_rng(17)
    made: list[str] = list(SENTENCES)
    for index in rng.permutation(len(SUBJECTS) * len(PLACES)):
        subject, place = SUBJECTS[index // len(PLACES)], PLACES[index % len(PLACES)]
        form = int(rng.integers(4))
        made.append(subject if form == 0 else f"photo of {subject} {place}" if form == 1 else f"{subject} {place}")
    unique = list(dict.fromkeys(made))
    return unique[:count]


@dataclass(frozen=True)
class TextTowerBenchmark:
    model_id: str
    device: str
    query: str
    batch: int
    repeat: int
    speed: dict[str, dict[str, float]]  # "1 thread" → {"float32 query ms": …, "int8 query ms": …, …}
    queries: int
    photos: int
    photos_from: str  # "random unit vectors" or "library photos"
    agreement: dict[str, dict[str, float]]  # "int8" / … → {"cosine min": …, "top-10 overlap mean": …}

    def as_dict(self) -> dict:
        rows: dict = {
            "model": self.model_id,
            "device": self.device,
            "query": self.query,
            "batch": self.batch,
            "repeat": self.repeat,
        }
        for threads, figures in self.speed.items():
            rows.update({f"{threads}: {name}": value for name, value in figures.items()})
        rows.update({"agreement queries": self.queries, "agreement photos": f"{self.photos:,} {self.photos_from}"})
        for variant, figures in self.agreement.items():
            rows.update({f"{variant}: {name}": value for name, value in figures.items()})
        return rows


def text_tower_benchmark(
    encoders: dict[str, object],
    *,
    threads: Sequence[int] = (1, 2),
    repeat: int = 20,
    batch: int = 32,
    query_count: int = 200,
    photos: np.ndarray | None = None,
    random_photos: int = 10_000,
    on_step: Callable[[str], None] = lambda message: None,
) -> TextTowerBenchmark:
    """Time and compare encoders of the same model and weights, by text precision: ``{"float32": …, "int8": …}``
    (float32 is the reference). ``photos``: the vectors to find neighbours among (default: ``random_photos`` seeded
    random unit vectors)."""
    import torch

    reference_encoder = encoders["float32"]
    texts = queries(query_count)
    query = "a red kite over the ridge"  # 5 words, 7 tokens with the start and end tokens
    batch_texts = texts[:batch]
    inputs = {"query": [query], f"batch of {len(batch_texts)}": batch_texts}
    speed: dict[str, dict[str, float]] = {}
    before = torch.get_num_threads()
    try:
        for count in threads:
            torch.set_num_threads(count)
            on_step(f"timing with {count} thread(s), {repeat} repeats")
            timings: dict[str, list[float]] = {}
            for encoder in encoders.values():  # warm-up: the first calls allocate and pick kernels
                for texts_in in inputs.values():
                    encoder.encode_texts(texts_in)
            for _ in range(repeat):
                for name, encoder in encoders.items():
                    for label, texts_in in inputs.items():
                        started = time.perf_counter()
                        encoder.encode_texts(texts_in)
                        timings.setdefault(f"{name} {label} ms", []).append((time.perf_counter() - started) * 1000)
            figures = {key: round(statistics.median(values), 2) for key, values in timings.items()}
            for name in encoders:
                if name != "float32":
                    for label in inputs:
                        figures[f"{name} speed-up, {label}"] = round(
                            figures[f"float32 {label} ms"] / figures[f"{name} {label} ms"], 2
                        )
            speed[f"{count} thread{'s' if count > 1 else ''}"] = figures
    finally:
        torch.set_num_threads(before)

    on_step(f"agreement over {len(texts)} queries")
    photos_from = "library photos" if photos is not None else "random unit vectors"
    if photos is None:
        photos = np.random.default_rng(0).standard_normal((random_photos, reference_encoder.dimensions))
    photos = (photos / np.linalg.norm(photos, axis=1, keepdims=True)).astype(np.float32)

    def alone(encoder):  # each query embedded alone, as a search does
        return np.concatenate([encoder.encode_texts([text]) for text in texts])

    reference = alone(reference_encoder)
    agreement = {}
    for name, encoder in encoders.items():
        if name != "float32":
            agreement[name] = _agreement(reference, alone(encoder), photos)
    if "int8" in encoders:  # all at once, as the tag labels are: every text's activations share one int8 scale
        agreement["int8, one batch"] = _agreement(reference, encoders["int8"].encode_texts(texts), photos)
    halved = reference.astype(np.float16).astype(np.float32)
    agreement["float32 query stored as float16"] = _agreement(reference, halved, photos)
    return TextTowerBenchmark(
        model_id=reference_encoder.model_id,
        device=reference_encoder.device,
        query=query,
        batch=len(batch_texts),
        repeat=repeat,
        speed=speed,
        queries=len(texts),
        photos=len(photos),
        photos_from=photos_from,
        agreement=agreement,
    )


def _agreement(reference: np.ndarray, other: np.ndarray, photos: np.ndarray) -> dict[str, float]:
    cosines = np.sum(reference * other, axis=1) / (np.linalg.norm(reference, axis=1) * np.linalg.norm(other, axis=1))
    figures = {"cosine min": round(float(cosines.min()), 6), "cosine median": round(float(np.median(cosines)), 6)}
    for k in (10, 100):
        k = min(k, len(photos))
        wanted, found = _top(reference @ photos.T, k), _top(other @ photos.T, k)
        overlaps = np.array([len(set(a) & set(b)) / k for a, b in zip(wanted, found, strict=True)])
        figures[f"top-{k} overlap mean"] = round(float(overlaps.mean()), 4)
        figures[f"top-{k} overlap min"] = round(float(overlaps.min()), 4)
    return figures


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]
