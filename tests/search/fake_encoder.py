"""A fake 4-d encoder whose query vectors a test chooses: shared by the search tests that need an encoder but not a
model (not a test module)."""

import numpy as np

MODEL = "fake/4d"


def unit(*values) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


class FakeEncoder:
    """Every query text maps to (1, 0, 0, 0) unless listed; counts calls to the text tower."""

    model_id, dimensions, device = MODEL, 4, "cpu"

    def __init__(self, vectors=None):
        self.vectors = vectors or {}
        self.text_calls = 0

    def encode_texts(self, texts):
        self.text_calls += 1
        return np.stack([self.vectors.get(text, unit(1, 0, 0, 0)) for text in texts])

    def encode_images(self, images):
        return np.stack([unit(1, 0, 0, 0) for _ in images])
