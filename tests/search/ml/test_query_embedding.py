import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from search.ml import query_embedding
from search.ml.encoders import EncoderUnavailable, get_encoder
from search.ml.query_embedding import query_text_vector, split_exclusions, vector_as_array
from tests.search.encoder_backends import UNAVAILABLE
from tests.search.fake_encoder import FakeEncoder


def test_text_vectors_are_cached_per_model(monkeypatch):
    monkeypatch.setattr(query_embedding, "_text_vectors", query_embedding._LRU(2))
    first, second = FakeEncoder(), FakeEncoder()
    second.model_id = "fake/other"

    for query in ["a", "b", "a", "c", "a"]:
        query_text_vector(query, encoder=first)
    query_text_vector("a", encoder=second)

    assert first.text_calls == 3 and second.text_calls == 1  # "b" was evicted by "c"; "a" stayed recent


def fake_encoder(config):
    """An encoder backend (``PHOTOSEARCH_ENCODER_BACKEND``) with no model."""
    return FakeEncoder()


def test_without_an_encoder_the_configured_backend_embeds_the_query(monkeypatch, settings):
    """The seam a harness uses to swap the model for a whole process: a setting, no patching."""
    settings.PHOTOSEARCH_ENCODER_BACKEND = f"{__name__}.fake_encoder"
    monkeypatch.setattr(query_embedding, "_text_vectors", query_embedding._LRU(2))
    fake = get_encoder()  # built once per process for a backend and configuration
    calls = fake.text_calls

    vector, model_id = query_text_vector("a lighthouse")

    assert type(fake) is FakeEncoder and get_encoder() is fake
    assert model_id == fake.model_id and fake.text_calls == calls + 1 and vector.shape == (4,)

    settings.PHOTOSEARCH_ENCODER_BACKEND = UNAVAILABLE
    with pytest.raises(EncoderUnavailable, match="no weights here"):
        query_text_vector("something else")


@pytest.mark.parametrize(
    "backend, reason",
    [
        ("search.ml.encoders.NoSuchEncoder", "cannot be imported"),
        ("no_such_module.Encoder", "cannot be imported"),
        ("OpenClipEncoder", "cannot be imported"),  # no dotted path
        ("search.ml.encoders.RETRY_SECONDS", "names float, no callable"),
    ],
)
def test_a_backend_that_is_no_callable_is_a_configuration_error_naming_the_setting(settings, backend, reason):
    settings.PHOTOSEARCH_ENCODER_BACKEND = backend

    with pytest.raises(ImproperlyConfigured, match=f"^PHOTOSEARCH_ENCODER_BACKEND={backend!r} {reason}"):
        query_text_vector("a lighthouse")


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
