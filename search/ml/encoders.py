"""Image and text encoders behind one small interface, with the open_clip backend; ``get_encoder`` builds one per
process, shared by every thread (inference mode, no per-call state)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from PIL import Image

from search.ml.text_tower import encode_text_short, reduced_text_transformer, short_context_supported

logger = logging.getLogger(__name__)

# Extra open_clip architectures shipped with photosearch (e.g. the tiny one the tests use).
MODEL_CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
HUB_HOST = "huggingface.co"


class EncoderUnavailable(Exception):
    """The configured model cannot be loaded; the message is one sentence that says how to fix it."""


class Encoder(Protocol):
    model_id: str  # names model + weights; stored next to every vector it makes
    dimensions: int
    device: str

    def preprocess(self, image: Image.Image):
        """Image → the model's input tensor (resize, crop, normalise). Thread-safe; runs in loader threads."""

    def encode_pixels(self, pixels) -> np.ndarray:
        """L2-normalised float32 array for a batch of ``preprocess`` outputs."""

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """L2-normalised float32 array of shape (len(images), dimensions)."""

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 array of shape (len(texts), dimensions)."""


@dataclass(frozen=True)
class EncoderConfig:
    model: str
    pretrained: str
    device: str
    seed: int
    # The text tower's weights on the CPU (PHOTOSEARCH_TEXT_TOWER_PRECISION).
    text_precision: str = "float32"

    @classmethod
    def from_settings(cls) -> EncoderConfig:
        return cls(
            model=settings.PHOTOSEARCH_CLIP_MODEL,
            pretrained=settings.PHOTOSEARCH_CLIP_PRETRAINED,
            device=settings.PHOTOSEARCH_DEVICE,
            seed=settings.PHOTOSEARCH_CLIP_SEED,
            text_precision=settings.PHOTOSEARCH_TEXT_TOWER_PRECISION,
        )


class OpenClipEncoder:
    def __init__(self, config: EncoderConfig):
        import open_clip
        import torch

        open_clip.add_model_config(MODEL_CONFIG_DIR)
        if config.model not in open_clip.list_models():
            raise EncoderUnavailable(
                f"Unknown model {config.model!r} in PHOTOSEARCH_CLIP_MODEL; "
                f"pick one of open_clip.list_models(), e.g. ViT-B-32 or ViT-L-14."
            )
        self.device = _resolve_device(config.device)
        self._torch = torch
        weights = config.pretrained
        if weights.lower() == "none":
            logger.warning(
                "PHOTOSEARCH_CLIP_PRETRAINED=none: %s has RANDOM weights (seed %d). Search results are meaningless; "
                "use this only for tests and benchmarks.",
                config.model,
                config.seed,
            )
            # Same seed → same weights in every process (web, worker, command), so their vectors are comparable.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed)
                model, _, preprocess = open_clip.create_model_and_transforms(config.model, pretrained=None)
            weights_id = f"random-seed{config.seed}"
        else:
            model, preprocess, weights_id = _load_pretrained(open_clip, config.model, weights)
        self.model = model.to(self.device).eval()
        self.preprocess = _aspect_bounded(preprocess, model)
        self.tokenizer = open_clip.get_tokenizer(config.model)
        self.model_id = f"{config.model}/{weights_id}"
        self.dimensions = int(open_clip.get_model_config(config.model)["embed_dim"])
        self.text_precision = "float32"  # what encode_texts runs: config.text_precision where it applies
        self._text_transformer = self._reduced_text_transformer(config) if config.text_precision != "float32" else None

    def _reduced_text_transformer(self, config: EncoderConfig):
        """The text transformer with lighter weights, for the CPU and short-context models only; ``None`` (float32)
        otherwise or where torch has no kernels for it."""
        if self.device != "cpu" or not short_context_supported(self.model):
            logger.info(
                "PHOTOSEARCH_TEXT_TOWER_PRECISION=%s applies to the CPU and open_clip's CLIP text tower: %s "
                "on %s keeps float32",
                config.text_precision,
                config.model,
                self.device,
            )
            return None
        try:
            transformer = reduced_text_transformer(self.model, config.text_precision)
        except (ImportError, RuntimeError) as exc:
            logger.warning(
                "PHOTOSEARCH_TEXT_TOWER_PRECISION=%s is not available with this torch (%s); the text "
                "tower keeps float32",
                config.text_precision,
                str(exc).splitlines()[0][:200],
            )
            return None
        self.text_precision = config.text_precision
        return transformer

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return self.encode_pixels(self._torch.stack([self.preprocess(image) for image in images]))

    def encode_pixels(self, pixels) -> np.ndarray:
        """Embed a batch already preprocessed with ``self.preprocess`` (shape N×3×H×W)."""
        pixels = pixels.to(self.device, non_blocking=True)
        with self._torch.inference_mode(), self._autocast():
            features = self.model.encode_image(pixels, normalize=True)
        return features.float().cpu().numpy()

    def _autocast(self):
        # Half precision on GPU: faster, and vectors are stored as halfvec anyway.
        if self.device.startswith("cuda"):
            dtype = self._torch.bfloat16 if self._torch.cuda.is_bf16_supported() else self._torch.float16
            return self._torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        tokens = self.tokenizer(list(texts)).to(self.device)
        with self._torch.inference_mode(), self._autocast():
            if short_context_supported(self.model):  # the same vectors without the padding (search/ml/text_tower.py)
                features = encode_text_short(self.model, tokens, normalize=True, transformer=self._text_transformer)
            else:
                features = self.model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy()


# open_clip scales the *shortest* side to the model's size, so a thin strip would become a huge tensor. Past this
# aspect the image is first cropped to its centre, keeping every pixel the centre crop reads: the same input.
MAX_ASPECT = 4


def _aspect_bounded(preprocess, model):
    """``preprocess`` fed at most MAX_ASPECT:1 images, where it scales the shortest side (open_clip's "shortest"
    resize mode); unchanged for the modes that fit the whole image in the model's size ("longest", "squash")."""
    resize_mode = (getattr(model.visual, "preprocess_cfg", None) or {}).get("resize_mode", "shortest")
    if resize_mode != "shortest":
        return preprocess

    def bounded(image: Image.Image):
        return preprocess(aspect_cropped(image, max_aspect=MAX_ASPECT))

    bounded.__wrapped__ = preprocess  # type: ignore[attr-defined]
    return bounded


def aspect_cropped(image: Image.Image, *, max_aspect: float) -> Image.Image:
    """``image``, or its centre at ``max_aspect``:1 when it is longer than that."""
    width, height = image.size
    if width > height * max_aspect:
        keep = max(1, round(height * max_aspect))
        left = (width - keep) // 2
        return image.crop((left, 0, left + keep, height))
    if height > width * max_aspect:
        keep = max(1, round(width * max_aspect))
        top = (height - keep) // 2
        return image.crop((0, top, width, top + keep))
    return image


def _load_pretrained(open_clip, model: str, weights: str):
    """Load pretrained weights by tag (open_clip's hub cache) or from a local checkpoint file."""
    path = Path(weights).expanduser()
    is_path = path.suffix in {".pt", ".pth", ".bin", ".safetensors"} or "/" in weights
    if is_path and not path.is_file():
        raise EncoderUnavailable(
            f"Checkpoint file {path} (PHOTOSEARCH_CLIP_PRETRAINED) does not exist; "
            f"point it at a downloaded open_clip checkpoint for {model}."
        )
    if not is_path and weights not in open_clip.list_pretrained_tags_by_model(model):
        raise EncoderUnavailable(
            f"{model} has no pretrained weights tagged {weights!r}; "
            f"known tags: {', '.join(open_clip.list_pretrained_tags_by_model(model)) or 'none'}."
        )
    try:
        if is_path:
            created = open_clip.create_model_and_transforms(model, pretrained=str(path))
        else:
            created = _create_from_hub(open_clip, model, weights)
    except EncoderUnavailable:
        raise
    except Exception as exc:  # the hub client raises many types; all mean "no weights"
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise EncoderUnavailable(f"Could not load {model} weights {weights!r} ({reason}); {ways_out(model)}.") from None
    model_obj, _, preprocess = created
    weights_id = _checkpoint_id(path) if is_path else weights
    return model_obj, preprocess, weights_id


def _create_from_hub(open_clip, model: str, tag: str):
    """Weights by tag: from the hub cache without network when there; else downloaded, after a quick check that the
    hub answers (its client would retry for most of a minute)."""
    from huggingface_hub import constants

    offline = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        with _cache_miss_unlogged():
            return open_clip.create_model_and_transforms(model, pretrained=tag)
    except Exception as exc:
        if offline and "Failed to download" not in str(exc):
            raise
        if offline:  # the user's own HF_HUB_OFFLINE: the cache was all there was
            raise EncoderUnavailable(
                f"{model} weights {tag!r} are not in the local cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE "
                f"forbids downloading them; {ways_out(model)}."
            ) from None
    finally:
        constants.HF_HUB_OFFLINE = offline
    try:
        socket.create_connection((HUB_HOST, 443), timeout=5).close()
    except OSError as exc:
        raise EncoderUnavailable(
            f"{model} weights {tag!r} are not in the local cache and the model hub ({HUB_HOST}) cannot be reached "
            f"({exc.strerror or exc}); {ways_out(model)}."
        ) from None
    logger.info("Downloading %s weights %r (first use; cached under HF_HOME afterwards)", model, tag)
    return open_clip.create_model_and_transforms(model, pretrained=tag)


def ways_out(model: str) -> str:
    """Every way to give ``model`` its weights, for the end of an ``EncoderUnavailable`` sentence."""
    from huggingface_hub import constants

    return (
        "to search by looks, connect to the model hub once, HF_HUB_OFFLINE unset (the weights are then cached under "
        f"HF_HOME), or set PHOTOSEARCH_CLIP_PRETRAINED to a local checkpoint file for {model}, or copy a model cache "
        "that holds them to "
        f"{constants.HF_HUB_CACHE} (HF_HUB_OFFLINE=1 then never asks the hub), or set PHOTOSEARCH_CLIP_PRETRAINED=none "
        f'for random weights (tests only); see README, "Model weights without internet"'
    )


@contextlib.contextmanager
def _cache_miss_unlogged():
    """Silence open_clip's ERROR for weights not in the cache: here it only means "not cached yet"."""

    def keep(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to download weights")

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _checkpoint_id(path: Path) -> str:
    """A short id for a checkpoint file that changes when its contents do (first 4 MiB + size)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        digest.update(fh.read(4 * 1024 * 1024))
    digest.update(str(path.stat().st_size).encode())
    return f"{path.stem}-{digest.hexdigest()[:12]}"


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EncoderUnavailable(f"PHOTOSEARCH_DEVICE={device} but no CUDA device is available; use cpu or auto.")
    return device


def encoder_backend() -> Callable[[EncoderConfig], Encoder]:
    """The factory ``PHOTOSEARCH_ENCODER_BACKEND`` names; ``ImproperlyConfigured`` (naming the setting) when that is
    not the dotted path of a callable."""
    path = settings.PHOTOSEARCH_ENCODER_BACKEND
    try:
        backend = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"PHOTOSEARCH_ENCODER_BACKEND={path!r} cannot be imported ({exc}); it must be the dotted path of a "
            f"callable that takes an EncoderConfig and returns an Encoder, e.g. search.ml.encoders.OpenClipEncoder."
        ) from exc
    if not callable(backend):
        raise ImproperlyConfigured(f"PHOTOSEARCH_ENCODER_BACKEND={path!r} names {type(backend).__name__}, no callable.")
    return backend


# Built encoders and failed attempts, by (backend, config): another setting builds another encoder.
_encoders: dict[tuple[str, EncoderConfig], Encoder] = {}
_encoders_lock = threading.Lock()
# A model that failed to load is retried after this long: an attempt costs seconds, and weights may arrive later.
RETRY_SECONDS = 60.0
_failures: dict[tuple[str, EncoderConfig], tuple[float, str]] = {}  # -> (when it failed, the EncoderUnavailable text)


def get_encoder() -> Encoder:
    """The encoder for the current settings, built once per process. ``EncoderUnavailable`` when it cannot be
    loaded, kept ``RETRY_SECONDS`` before the next try."""
    config = EncoderConfig.from_settings()
    key = (settings.PHOTOSEARCH_ENCODER_BACKEND, config)
    encoder = _encoders.get(key)
    if encoder is None:
        with _encoders_lock:
            encoder = _encoders.get(key)
            if encoder is None:
                failed = _failures.get(key)
                if failed is not None and time.monotonic() - failed[0] < RETRY_SECONDS:
                    raise EncoderUnavailable(failed[1])
                backend = encoder_backend()
                try:
                    encoder = _encoders[key] = backend(config)
                except EncoderUnavailable as exc:
                    _failures[key] = (time.monotonic(), str(exc))
                    raise
                _failures.pop(key, None)
    return encoder


def encoder_unavailable_reason() -> str | None:
    """Why search by looks is off (the ``EncoderUnavailable`` sentence), or None when the model loads."""
    try:
        get_encoder()
    except EncoderUnavailable as exc:
        return str(exc)
    return None
