"""Generated captions by ``PHOTOSEARCH_CAPTIONER``, for the full-text index's weight B, so a photo without words of its
own is found by exact words. ``coca`` needs ``transformers<4.56``."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings

from search.ml.encoders import Encoder, EncoderConfig, EncoderUnavailable

logger = logging.getLogger(__name__)

# Scenes, activities and everyday subjects that ImageNet's object classes lack.
SCENES_AND_ACTIVITIES = (
    "beach",
    "sea",
    "ocean waves",
    "lake",
    "river",
    "waterfall",
    "mountain",
    "snowy mountain",
    "forest",
    "desert",
    "field of flowers",
    "garden",
    "park",
    "countryside",
    "island",
    "sky",
    "clouds",
    "sunset",
    "sunrise",
    "night sky",
    "stars",
    "city street",
    "city at night",
    "skyline",
    "skyscraper",
    "bridge",
    "old town",
    "market",
    "street food",
    "restaurant",
    "cafe",
    "bar",
    "kitchen",
    "living room",
    "bedroom",
    "office",
    "classroom",
    "library",
    "museum",
    "church",
    "temple",
    "castle",
    "ruins",
    "stadium",
    "concert",
    "festival",
    "party",
    "wedding",
    "birthday cake",
    "graduation",
    "airport",
    "train station",
    "subway",
    "road trip",
    "highway",
    "parking lot",
    "harbour",
    "boat trip",
    "swimming pool",
    "gym",
    "yoga",
    "running",
    "cycling",
    "hiking",
    "climbing",
    "skiing",
    "snowboarding",
    "surfing",
    "swimming",
    "diving",
    "fishing",
    "camping",
    "picnic",
    "dancing",
    "singing",
    "playing guitar",
    "painting",
    "reading",
    "cooking",
    "eating",
    "drinking coffee",
    "shopping",
    "walking",
    "people walking",
    "crowd",
    "family",
    "friends",
    "couple",
    "child",
    "baby",
    "portrait",
    "selfie",
    "group photo",
    "man",
    "woman",
    "old man",
    "old woman",
    "dog",
    "cat",
    "horse",
    "bird",
    "flowers",
    "tree",
    "autumn leaves",
    "snow",
    "rain",
    "fog",
    "food",
    "pizza",
    "burger",
    "pasta",
    "sushi",
    "salad",
    "dessert",
    "ice cream",
    "cake",
    "bread",
    "fruit",
    "cocktail",
    "wine",
    "beer",
    "coffee",
    "tea",
    "car",
    "motorcycle",
    "bicycle",
    "bus",
    "train",
    "airplane",
    "fashion",
    "dress",
    "shoes",
    "jewelry",
    "makeup",
    "tattoo",
    "art",
    "graffiti",
    "sculpture",
    "architecture",
    "interior design",
    "screenshot",
    "text",
    "meme",
    "drawing",
    "black and white photo",
    "fireworks",
    "christmas",
    "halloween",
    "sports",
    "football",
    "basketball",
    "tennis",
    "golf",
)
PROMPT = "a photo of {}."
TEMPERATURE = 100.0  # CLIP's trained logit scale
MAX_TAGS = 3
RELATIVE_THRESHOLD = 0.5  # keep labels at least half as likely as the best one


class Captioner(Protocol):
    name: str

    def caption(self, vectors: np.ndarray, pixels) -> list[str]:
        """Captions for a batch: its image ``vectors`` (normalised) and ``pixels`` (the encoder's input tensors)."""


class NoCaptioner:
    name = "none"

    def caption(self, vectors: np.ndarray, pixels) -> list[str]:
        return [""] * len(vectors)


class TagCaptioner:
    """Zero-shot tags: the labels whose text vectors are nearest to the image vector, as a short phrase."""

    name = "tags"

    def __init__(self, encoder: Encoder, labels: Sequence[str] | None = None):
        self.labels = list(labels) if labels is not None else default_vocabulary()
        self.label_vectors = _label_vectors(encoder, self.labels)

    def caption(self, vectors: np.ndarray, pixels) -> list[str]:
        if len(vectors) == 0:
            return []
        logits = TEMPERATURE * (vectors @ self.label_vectors.T)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        captions = []
        for row in probs:
            best = np.argsort(row)[::-1][:MAX_TAGS]
            chosen = [self.labels[i] for i in best if row[i] >= RELATIVE_THRESHOLD * row[best[0]]]
            captions.append(_phrase(chosen))
        return captions


class CocaCaptioner:
    """Sentences from open_clip's CoCa generator, on the same preprocessed pixels as the CLIP encoder."""

    name = "coca"

    def __init__(self, encoder: Encoder):
        import open_clip
        import torch

        try:
            import transformers  # noqa: F401  (CoCa's generate() uses its beam search)
        except ImportError:
            raise EncoderUnavailable(
                'PHOTOSEARCH_CAPTIONER=coca needs the transformers package: pip install "transformers<4.56".'
            ) from None
        config = EncoderConfig(
            model="coca_ViT-B-32", pretrained=settings.PHOTOSEARCH_COCA_PRETRAINED, device=encoder.device, seed=0
        )
        from search.ml.encoders import OpenClipEncoder

        self._coca = OpenClipEncoder(config)
        self._torch = torch
        self._decode = open_clip.decode

    def caption(self, vectors: np.ndarray, pixels) -> list[str]:
        with self._torch.inference_mode():
            generated = self._coca.model.generate(pixels.to(self._coca.device), seq_len=30)
        return [
            self._decode(tokens).split("<end_of_text>")[0].replace("<start_of_text>", "").strip(" .")
            for tokens in generated
        ]


def _label_vectors(encoder: Encoder, labels: list[str]) -> np.ndarray:
    """The labels' text vectors, cached on disk per model and vocabulary: computing them costs every worker and
    command a slow start on a CPU."""
    key = hashlib.sha256("\n".join([encoder.model_id, PROMPT, *labels]).encode()).hexdigest()[:24]
    path = Path(settings.DATA_DIR) / "cache" / f"tag-vectors-{key}.npy"
    try:
        vectors = np.load(path)
        if vectors.shape == (len(labels), encoder.dimensions):
            return vectors
    except (OSError, ValueError):
        pass
    vectors = encoder.encode_texts([PROMPT.format(label) for label in labels])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


def _phrase(labels: list[str]) -> str:
    if len(labels) <= 1:
        return labels[0] if labels else ""
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def default_vocabulary() -> list[str]:
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    seen: dict[str, None] = {}
    for label in (*SCENES_AND_ACTIVITIES, *IMAGENET_CLASSNAMES):
        seen.setdefault(label.lower(), None)
    return list(seen)


_CAPTIONERS: dict[str, Callable[[Encoder], Captioner]] = {
    "none": lambda encoder: NoCaptioner(),
    "tags": TagCaptioner,
    "coca": CocaCaptioner,
}
_built: dict[tuple[str, str], Captioner] = {}
_lock = threading.Lock()


def get_captioner(encoder: Encoder) -> Captioner:
    """The configured captioner for ``encoder``'s model, built once per process."""
    key = (settings.PHOTOSEARCH_CAPTIONER, encoder.model_id)
    with _lock:
        if key not in _built:
            _built[key] = _CAPTIONERS[settings.PHOTOSEARCH_CAPTIONER](encoder)
        return _built[key]
