"""A query's text embedding without the padding: open_clip pads every text to the model's full context (77 tokens for
CLIP), but its text transformer is causal — a position attends only to itself and those before it — and the
embedding is read at the end-of-text token. So the positions after the batch's last end-of-text token change
nothing, and running the transformer on the tokens up to it gives the same vector (equal up to float rounding: the
same arithmetic on fewer rows) for a fraction of the cost: a 4-word query is 6 tokens, not 77.

Only for the architecture whose ``encode_text`` this mirrors (open_clip's ``CLIP`` with a causal mask and
``argmax``/``eos`` pooling); any other model gets its own ``encode_text``. ``tests/search/test_encoders.py`` checks
both give the same vectors.
"""

from __future__ import annotations

POOLED_AT_END_OF_TEXT = ("argmax", "eos")


def short_context_supported(model) -> bool:
    """Whether ``model``'s text tower can be run on a shortened context (see the module docstring)."""
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final", "attn_mask", "text_pool_type")
    return (all(hasattr(model, name) for name in needed) and model.attn_mask is not None
            and getattr(model, "text_pool_type", None) in POOLED_AT_END_OF_TEXT)


def context_length(model, tokens) -> int:
    """How many leading positions hold every text's end-of-text token (where its embedding is read)."""
    if model.text_pool_type == "argmax":  # the end-of-text token has the highest id of the vocabulary
        ends = tokens.argmax(dim=-1)
    else:
        ends = (tokens == model.text_eos_id).int().argmax(dim=-1)
    return int(ends.max()) + 1


def encode_text_short(model, tokens, *, normalize: bool = True):
    """``model.encode_text(tokens, normalize=…)``, run on the positions up to the batch's last end-of-text token."""
    import torch.nn.functional as F
    from open_clip.transformer import text_global_pool
    from torch import nn

    length = context_length(model, tokens)
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype) + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, nn.Linear) else x @ model.text_projection
    return F.normalize(x, dim=-1) if normalize else x
