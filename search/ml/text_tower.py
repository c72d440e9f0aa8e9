"""A query's text embedding without the padding: CLIP's causal text transformer is read at the end-of-text token, so
later positions change nothing and are cut off. Also a float16/int8 copy of the transformer for the CPU."""

from __future__ import annotations

import copy
import functools
import warnings

POOLED_AT_END_OF_TEXT = ("argmax", "eos")


def short_context_supported(model) -> bool:
    """Whether ``model``'s text tower can be run on a shortened context (see the module docstring)."""
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final", "attn_mask", "text_pool_type")
    return (
        all(hasattr(model, name) for name in needed)
        and model.attn_mask is not None
        and getattr(model, "text_pool_type", None) in POOLED_AT_END_OF_TEXT
    )


def context_length(model, tokens) -> int:
    """How many leading positions hold every text's end-of-text token (where its embedding is read)."""
    if model.text_pool_type == "argmax":  # the end-of-text token has the highest id of the vocabulary
        ends = tokens.argmax(dim=-1)
    else:
        ends = (tokens == model.text_eos_id).int().argmax(dim=-1)
    return int(ends.max()) + 1


def encode_text_short(model, tokens, *, normalize: bool = True, transformer=None):
    """``model.encode_text(tokens, normalize=…)``, run on the positions up to the batch's last end-of-text token;
    with ``transformer`` (``reduced_text_transformer(model, …)``) in place of ``model.transformer``."""
    import torch.nn.functional as F
    from open_clip.transformer import text_global_pool
    from torch import nn

    length = context_length(model, tokens)
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype) + model.positional_embedding[:length].to(cast_dtype)
    transformer = model.transformer if transformer is None else transformer
    x = transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, nn.Linear) else x @ model.text_projection
    return F.normalize(x, dim=-1) if normalize else x


REDUCED_PRECISIONS = ("float16", "int8")


def reduced_text_transformer(model, precision: str):
    """A copy of ``model``'s text transformer with its linear weights in ``precision`` (``float16``, ``int8``), for
    the CPU; raises where torch has no such kernels. Self-attention becomes ``nn.Linear`` layers first: dynamic
    quantization skips ``nn.MultiheadAttention``'s bare input projection."""
    import torch
    from torch import nn

    if precision not in REDUCED_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(REDUCED_PRECISIONS)}, not {precision!r}")
    self_attention = _self_attention_class()
    transformer = copy.deepcopy(model.transformer).eval()
    for block in getattr(transformer, "resblocks", ()):
        if _plain_self_attention(block):
            block.attn = self_attention(block.attn)
    with warnings.catch_warnings():
        # torch marks its eager-mode quantization deprecated (for torchao) but still ships it; the tests pin its use.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        from torch.ao.quantization import float16_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

        if precision == "int8":
            return quantize_dynamic(
                transformer, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
            )
        return quantize_dynamic(transformer, {nn.Linear: float16_dynamic_qconfig}, dtype=torch.float16, inplace=True)


def _plain_self_attention(block) -> bool:
    from torch import nn

    attn = getattr(block, "attn", None)
    return (
        isinstance(attn, nn.MultiheadAttention)
        and attn._qkv_same_embed_dim
        and attn.in_proj_bias is not None
        and attn.bias_k is None
        and not attn.add_zero_attn
        and not hasattr(block, "ln_1_kv")
    )


@functools.cache
def _self_attention_class():
    """``SelfAttention``, made on first use: torch is imported only by processes that build a model."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SelfAttention(nn.Module):
        """``nn.MultiheadAttention`` as open_clip's blocks call it (self-attention, ``need_weights=False``, an additive
        or boolean ``attn_mask``, no dropout at inference), with its projections as ``nn.Linear`` layers."""

        def __init__(self, attn: nn.MultiheadAttention):
            super().__init__()
            width = attn.embed_dim
            self.heads, self.batch_first = attn.num_heads, attn.batch_first
            self.in_proj = nn.Linear(width, 3 * width)
            self.out_proj = nn.Linear(width, width)
            self.in_proj.weight.data.copy_(attn.in_proj_weight.data)
            self.in_proj.bias.data.copy_(attn.in_proj_bias.data)
            self.out_proj.weight.data.copy_(attn.out_proj.weight.data)
            self.out_proj.bias.data.copy_(attn.out_proj.bias.data)

        def forward(self, query, key, value, need_weights: bool = False, attn_mask=None):
            if key is not query or value is not query or need_weights:
                raise ValueError("this attention only attends to its own input and returns no weights")
            if attn_mask is not None and attn_mask.dtype == torch.bool:
                attn_mask = ~attn_mask  # True: may not attend (nn.MultiheadAttention); may attend (the function)
            x = query if self.batch_first else query.transpose(0, 1)
            batch, length, width = x.shape
            q, k, v = self.in_proj(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            x = self.out_proj(x.transpose(1, 2).reshape(batch, length, width))
            return (x if self.batch_first else x.transpose(0, 1)), None

    return SelfAttention
