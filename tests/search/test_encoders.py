import numpy as np
import pytest

from search.encoders import EncoderConfig, EncoderUnavailable, OpenClipEncoder
from tests.conftest import make_image


def _config(**overrides) -> EncoderConfig:
    values = {"model": "photosearch-tiny", "pretrained": "none", "device": "cpu", "seed": 0, **overrides}
    return EncoderConfig(**values)


def test_random_init_is_the_same_in_every_process_for_a_seed(encoder):
    again = OpenClipEncoder(_config())
    other_seed = OpenClipEncoder(_config(seed=1))
    image = make_image(1)

    assert np.allclose(encoder.encode_images([image]), again.encode_images([image]), atol=1e-6)
    assert not np.allclose(encoder.encode_images([image]), other_seed.encode_images([image]), atol=1e-3)
    assert other_seed.model_id == "photosearch-tiny/random-seed1" != encoder.model_id


def test_vectors_are_normalised_and_sized_by_the_model(encoder):
    images = encoder.encode_images([make_image(1), make_image(2)])
    texts = encoder.encode_texts(["a dog", "a cat", "a street at night"])

    assert images.shape == (2, 64) and texts.shape == (3, 64)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)


def test_a_local_checkpoint_loads_and_is_identified_by_its_contents(tmp_path, encoder):
    import torch

    checkpoint = tmp_path / "tiny.pt"
    torch.save(encoder.model.state_dict(), checkpoint)

    loaded = OpenClipEncoder(_config(pretrained=str(checkpoint)))

    assert loaded.model_id.startswith("photosearch-tiny/tiny-")
    assert np.allclose(loaded.encode_texts(["boat"]), encoder.encode_texts(["boat"]), atol=1e-6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"pretrained": "/nowhere/weights.pt"}, "does not exist"),
        ({"pretrained": "no_such_tag"}, "no pretrained weights tagged 'no_such_tag'"),
        ({"model": "ViT-Nope-1"}, "Unknown model 'ViT-Nope-1'"),
    ],
)
def test_unreachable_weights_give_one_clear_sentence(overrides, message):
    with pytest.raises(EncoderUnavailable, match=message) as caught:
        OpenClipEncoder(_config(**overrides))
    assert "\n" not in str(caught.value)


def test_a_default_tag_without_network_says_how_to_provide_weights(monkeypatch, tmp_path):
    from huggingface_hub import constants

    # The model hub lies outside the machine: make its client offline, with an empty cache, at call time.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))

    with pytest.raises(EncoderUnavailable, match="PHOTOSEARCH_CLIP_PRETRAINED to a local checkpoint") as caught:
        OpenClipEncoder(_config(model="ViT-B-32", pretrained="laion2b_s34b_b79k"))
    assert "\n" not in str(caught.value)


def test_an_unreachable_hub_fails_fast_with_one_sentence(monkeypatch, tmp_path):
    from huggingface_hub import constants

    from search import encoders

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # nothing cached
    monkeypatch.setattr(encoders, "HUB_HOST", "hub.invalid")  # RFC 2606: never resolves

    with pytest.raises(EncoderUnavailable, match="cannot be reached") as caught:
        OpenClipEncoder(_config(model="ViT-B-32", pretrained="laion2b_s34b_b79k"))
    assert "\n" not in str(caught.value) and "HF_HOME" in str(caught.value)


def test_text_vectors_without_the_padding_equal_open_clips_own(encoder):
    import torch

    from search.text_tower import context_length, encode_text_short, short_context_supported

    texts = ["a", "red kite over the ridge", "people walking down a street at night in the rain " * 12]
    tokens = encoder.tokenizer(texts)
    assert short_context_supported(encoder.model)
    assert context_length(encoder.model, tokens[:2]) < tokens.shape[1]  # the two short texts: far fewer positions
    assert context_length(encoder.model, tokens) == tokens.shape[1]  # the long one fills the context

    with torch.inference_mode():
        own = encoder.model.encode_text(tokens, normalize=True).numpy()
        for batch in (slice(0, 1), slice(1, 2), slice(0, 2), slice(0, 3)):
            short = encode_text_short(encoder.model, tokens[batch], normalize=True).numpy()
            assert np.allclose(short, own[batch], atol=1e-5), batch
    assert np.allclose(encoder.encode_texts(texts), own, atol=1e-5)  # the encoder takes the short path
