import numpy as np
import pytest

from search.ml import query_embedding
from search.ml.encoders import EncoderUnavailable
from search.ml.query_embedding import query_text_vector, split_exclusions, vector_as_array
from tests.search.fake_encoder import FakeEncoder


def test_text_vectors_are_cached_per_model(monkeypatch):
    monkeypatch.setattr(query_embedding, "_text_vectors", query_embedding._LRU(2))
    first, second = FakeEncoder(), FakeEncoder()
    second.model_id = "fake/other"

    for query in ["a", "b", "a", "c", "a"]:
        query_text_vector(query, encoder=first)
    query_text_vector("a", encoder=second)

    assert first.text_calls == 3 and second.text_calls == 1  # "b" was evicted by "c"; "a" stayed recent


def test_without_an_encoder_the_module_global_get_encoder_is_asked(monkeypatch):
    """The patch point a harness uses to swap the model for a whole process."""
    fake = FakeEncoder()
    monkeypatch.setattr(query_embedding, "_text_vectors", query_embedding._LRU(2))
    monkeypatch.setattr(query_embedding, "get_encoder", lambda: fake)

    vector, model_id = query_text_vector("a lighthouse")

    assert model_id == fake.model_id and fake.text_calls == 1 and vector.shape == (4,)

    def unavailable():
        raise EncoderUnavailable("no weights here")

    monkeypatch.setattr(query_embedding, "get_encoder", unavailable)
    with pytest.raises(EncoderUnavailable):
        query_text_vector("something else")


@pytest.mark.parametrize(
    "query, embedded, excluded",
    [
        ("red tram", "red tram", []),
        ('town -clock -"old cats"', "town", ["clock", '"old cats"']),
        ('"old town" or', "old town or", []),
        ("or -x", "", ["x"]),
    ],
)
def test_excluded_words_and_operators_stay_out_of_the_embedded_text(query, embedded, excluded):
    assert split_exclusions(query) == (embedded, excluded)


def test_vector_as_array_accepts_stored_and_plain_vectors():
    from pgvector import HalfVector

    assert vector_as_array(HalfVector([1, 0.5])).tolist() == [1, 0.5]
    assert vector_as_array([1, 2]).dtype == np.float32
