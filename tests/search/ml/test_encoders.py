import numpy as np
import pytest

from search.ml.encoders import EncoderConfig, EncoderUnavailable, OpenClipEncoder
from tests.conftest import make_image


def _config(**overrides) -> EncoderConfig:
    """The test settings' encoder (``encoder``), but for ``overrides``."""
    from django.conf import settings

    values = {
        "model": "photosearch-tiny",
        "pretrained": "none",
        "device": "cpu",
        "seed": 0,
        "text_precision": settings.PHOTOSEARCH_TEXT_TOWER_PRECISION,
        **overrides,
    }
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

    from search.ml import encoders

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # nothing cached
    monkeypatch.setattr(encoders, "HUB_HOST", "hub.invalid")  # RFC 2606: never resolves

    with pytest.raises(EncoderUnavailable, match="cannot be reached") as caught:
        OpenClipEncoder(_config(model="ViT-B-32", pretrained="laion2b_s34b_b79k"))
    assert "\n" not in str(caught.value) and "HF_HOME" in str(caught.value)


def test_text_vectors_without_the_padding_equal_open_clips_own(encoder):
    import torch

    from search.ml.text_tower import context_length, encode_text_short, short_context_supported

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
    float32 = OpenClipEncoder(_config(text_precision="float32"))
    assert np.allclose(float32.encode_texts(texts), own, atol=1e-5)  # the encoder takes the short path


# --- Lighter text tower weights (PHOTOSEARCH_TEXT_TOWER_PRECISION) ------------------------------------------------

TEXTS = [
    "a",
    "red kite over the ridge",
    "two kids building a sandcastle while the tide comes in",
    "snow",
    "receipt",
    "people walking down a street at night in the rain " * 12,
]


@pytest.fixture(scope="module")
def towers():
    """The tiny model three times, its text tower in float32, float16 and int8 (same seed: the same weights)."""
    return {name: OpenClipEncoder(_config(text_precision=name)) for name in ("float32", "float16", "int8")}


def _quantized_layers(module) -> int:
    from torch.ao.nn.quantized.dynamic import Linear

    return sum(isinstance(layer, Linear) for layer in module.modules())


def _cosines(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_the_settings_precision_reaches_the_encoder(settings):
    settings.PHOTOSEARCH_TEXT_TOWER_PRECISION = "int8"
    assert EncoderConfig.from_settings().text_precision == "int8"
    settings.PHOTOSEARCH_TEXT_TOWER_PRECISION = "float32"
    assert EncoderConfig.from_settings().text_precision == "float32"


def test_float32_is_exactly_the_float_text_tower(towers):
    import torch

    from search.ml.text_tower import encode_text_short

    tower = towers["float32"]
    assert tower.text_precision == "float32" and tower._text_transformer is None
    with torch.inference_mode():
        own = encode_text_short(tower.model, tower.tokenizer(TEXTS), normalize=True).numpy()
    assert np.array_equal(tower.encode_texts(TEXTS), own)


@pytest.mark.parametrize(
    "precision, least_cosine",
    [
        # float16 weights are float32's rounded to 11 significant bits (relative error ≤ 2^-11) and the products add up
        # in float32: 1 - cosine ≤ 5e-7 here (seeds 0-2); 1e-5 leaves room for other rounding, not for a wrong layer.
        ("float16", 0.99999),
        # int8: weights on 255 levels per output channel, activations on 128 levels per call: 1 - cosine ≤ 0.0026
        # here (seeds 0-2; ViT-B-32's ≤ 0.002 over 200 queries, docs/benchmarks.md); 0.01 is 4× that. A dropped bias,
        # a swapped projection or heads split wrongly move the vector much further.
        ("int8", 0.99),
    ],
)
def test_lighter_text_towers_agree_with_float32(towers, precision, least_cosine):
    reference = towers["float32"].encode_texts(TEXTS)
    tower = towers[precision]

    vectors = tower.encode_texts(TEXTS)
    alone = np.concatenate([tower.encode_texts([text]) for text in TEXTS])

    assert tower.text_precision == precision and _quantized_layers(tower._text_transformer) == 8  # 2 blocks × 4
    assert _cosines(vectors, reference).min() > least_cosine
    assert _cosines(alone, reference).min() > least_cosine
    assert not np.array_equal(vectors, reference)  # the lighter weights are what ran
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_the_image_tower_is_the_same_whatever_the_text_towers_precision(towers):
    images = [make_image(1), make_image(2)]
    reference = towers["float32"].encode_images(images)

    for precision in ("float16", "int8"):
        tower = towers[precision]
        assert np.array_equal(tower.encode_images(images), reference), precision
        assert _quantized_layers(tower.model) == 0  # the model (both towers) is left as loaded; the copy is apart
        assert tower._text_transformer is not tower.model.transformer


def test_the_lighter_text_tower_is_made_once_per_encoder(monkeypatch):
    from search.ml import encoders

    made = []

    def counting(model, precision):
        made.append(precision)
        return reduced(model, precision)

    reduced = encoders.reduced_text_transformer
    monkeypatch.setattr(encoders, "reduced_text_transformer", counting)
    tower = OpenClipEncoder(_config(text_precision="int8"))
    assert made == ["int8"]

    transformer = tower._text_transformer
    for texts in (["a dog"], ["a cat", "a street at night"], TEXTS):
        tower.encode_texts(texts)
    assert made == ["int8"] and tower._text_transformer is transformer
    assert OpenClipEncoder(_config(text_precision="float32"))._text_transformer is None and made == ["int8"]


def test_without_kernels_for_the_precision_the_text_tower_stays_float32(monkeypatch, towers, caplog):
    import torch

    # QNNPACK (torch's ARM engine) has no float16 linear: building the copy fails, the encoder says so and goes on.
    monkeypatch.setattr(torch.backends.quantized, "engine", "qnnpack")
    tower = OpenClipEncoder(_config(text_precision="float16"))

    assert tower.text_precision == "float32" and tower._text_transformer is None
    assert "keeps float32" in caplog.text
    assert np.array_equal(tower.encode_texts(TEXTS), towers["float32"].encode_texts(TEXTS))


@pytest.mark.parametrize("batch_first", [True, False])
def test_the_rewritten_attention_is_multihead_attentions_function(batch_first):
    import torch

    from search.ml.text_tower import _self_attention_class

    torch.manual_seed(0)
    attention = torch.nn.MultiheadAttention(64, 4, batch_first=batch_first).eval()
    with torch.no_grad():
        attention.in_proj_bias.normal_()
        attention.out_proj.bias.normal_()
    x = torch.randn(3, 9, 64) if batch_first else torch.randn(9, 3, 64)
    causal = torch.full((9, 9), float("-inf")).triu(1)
    rewritten = _self_attention_class()(attention)

    with torch.inference_mode():
        for mask in (causal, causal == float("-inf"), None):  # additive, boolean (True: masked), none
            expected = attention(x, x, x, need_weights=False, attn_mask=mask)[0]
            assert torch.allclose(rewritten(x, x, x, need_weights=False, attn_mask=mask)[0], expected, atol=1e-5)
