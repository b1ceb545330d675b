"""Random draws keyed per block of rows, inside compiled functions.

`block_normal(keys, rows, width)` returns `(len(keys) * rows, width)` standard normals where the
rows of block `i` depend on `keys[i]` alone, so the same block key gives the same numbers
whichever blocks it is stacked with. Under JAX the draws are `vmap`ped over the keys (one
threefry call); other backends loop over the (static, small) number of blocks, each draw in a
`StatelessScope` that maps a seed generator's state to the block's key.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["as_key_tensor", "block_normal", "block_uniform"]

_GENERATOR: keras.random.SeedGenerator | None = None


def _generator() -> keras.random.SeedGenerator:
    global _GENERATOR
    if _GENERATOR is None:
        _GENERATOR = keras.random.SeedGenerator(0)
    return _GENERATOR


def as_key_tensor(keys: np.ndarray) -> np.ndarray:
    """uint32 `(n, 2)` keys in the dtype this backend's random ops take for a seed."""
    dtype = keras.backend.standardize_dtype(_generator().state.dtype)
    keys = np.ascontiguousarray(keys, np.uint32)
    if dtype == "int32":  # same 32 bits, reinterpreted
        return keys.view(np.int32)
    return keys.astype(dtype)


def _per_block(keys, draw):
    if keras.backend.backend() == "jax":
        import jax

        return jax.vmap(draw)(keys)
    generator = _generator()
    blocks = []
    for i in range(keys.shape[0]):
        with keras.StatelessScope(state_mapping=[(generator.state, keys[i])]):
            blocks.append(draw(generator))
    return ops.stack(blocks)


def block_normal(keys, rows: int, width: int, dtype: str = "float32"):
    """Standard normals `(n_blocks * rows, width)`; block `i` drawn from `keys[i]` only."""
    if keras.backend.backend() == "jax":
        import jax

        out = _per_block(keys, lambda k: jax.random.normal(k, (rows, width), dtype))
    else:
        out = _per_block(keys, lambda g: keras.random.normal((rows, width), dtype=dtype, seed=g))
    return ops.reshape(out, (-1, width))


def block_uniform(keys, rows: int, width: int, minval: float, dtype: str = "float32"):
    """Uniforms on `[minval, 1)` `(n_blocks * rows, width)`; block `i` from `keys[i]` only."""
    if keras.backend.backend() == "jax":
        import jax

        out = _per_block(
            keys, lambda k: jax.random.uniform(k, (rows, width), dtype, minval=minval, maxval=1.0)
        )
    else:
        out = _per_block(
            keys,
            lambda g: keras.random.uniform(
                (rows, width), minval=minval, maxval=1.0, dtype=dtype, seed=g
            ),
        )
    return ops.reshape(out, (-1, width))
