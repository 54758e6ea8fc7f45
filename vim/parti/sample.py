"""Sampling image codes from Parti.

`sample_uncached` re-runs the decoder over the whole prefix for every token: simple and exact, used
for training-time sample grids of small models.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from vim.data.text import PAD_ID
from vim.parti.model import Parti


def sample_uncached(model: Parti, text_ids_bt: jax.Array, key: jax.Array, temperature: float = 1.0) -> jax.Array:
    """Codes int32 [B, N] drawn token by token (one compiled loop) at the given temperature."""
    text_ids_bt = jnp.asarray(text_ids_bt)
    b, n = text_ids_bt.shape[0], model.cfg.image_grid**2
    mask_bt = text_ids_bt != PAD_ID
    text_btd = model.encode_text(text_ids_bt, mask_bt)
    bos = jnp.full((b, 1), model.bos_id, jnp.int32)

    def body(i, codes_bn):
        logits_bnv = model.decode(text_btd, mask_bt, jnp.concatenate([bos, codes_bn[:, :-1]], axis=1))
        token_b = jax.random.categorical(jax.random.fold_in(key, i), logits_bnv[:, i] / temperature)
        return codes_bn.at[:, i].set(token_b.astype(jnp.int32))

    return jax.lax.fori_loop(0, n, body, jnp.zeros((b, n), jnp.int32))
