"""The vectors searched with: what of a query is embedded, the cached text-tower call, the image tower for an upload;
with the configured encoder unless one is given."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from PIL import Image

from search.ml.encoders import Encoder, get_encoder

_EXCLUDED = re.compile(r'(?:^|\s)-("[^"]*"|\S+)')


class _LRU:
    """A small thread-safe LRU map (the web process serves queries from several threads)."""

    def __init__(self, size: int):
        self.size, self.lock = size, threading.Lock()
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_text_vectors = _LRU(1024)


def query_text_vector(text: str, *, encoder: Encoder | None = None) -> tuple[np.ndarray, str]:
    """(the text tower's vector for ``text``, its model id), LRU-cached by model and normalised text; may raise
    ``EncoderUnavailable``."""
    encoder = encoder or get_encoder()
    key = (encoder.model_id, " ".join(text.lower().split()))
    vector = _text_vectors.get(key)
    if vector is None:
        vector = encoder.encode_texts([text])[0]
        _text_vectors.put(key, vector)
    return vector, encoder.model_id


def query_image_vector(image: Image.Image, *, encoder: Encoder | None = None) -> tuple[np.ndarray, str]:
    """(the image tower's vector for ``image``, its model id); not cached, an upload is rarely searched twice."""
    encoder = encoder or get_encoder()
    return encoder.encode_images([image])[0], encoder.model_id


def split_exclusions(query: str) -> tuple[str, list[str]]:
    """(the text to embed: no ``-excluded`` words, no quotes or operators; the excluded words/phrases)."""
    excluded = [term for term in _EXCLUDED.findall(query) if term.strip('"')]
    kept = _EXCLUDED.sub(" ", query)
    vector_text = " ".join(kept.replace('"', " ").split())
    if vector_text.lower() in {"or", "and"}:
        vector_text = ""
    return vector_text, excluded


def vector_as_array(vector) -> np.ndarray:
    """A stored embedding (pgvector ``HalfVector``, list or array) as a numpy array."""
    return vector.to_numpy() if hasattr(vector, "to_numpy") else np.asarray(vector, dtype=np.float32)
