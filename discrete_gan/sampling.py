"""Compiled, seeded sampling from a trained generator.

Bulk sampling never goes through `model.predict()` (its default batch of 32 is ~30x slower).
Rows are produced in chunks by compiled functions (one per chunk shape: a power of two up to
`chunk_size`); chunk `i` of a call with seed `s` draws all its randomness (noise `z` and Gumbel
noise) from the seed pairs `(s, 2i)` and `(s, 2i + 1)`. So the same generator weights, seed and
`n` give identical rows on a backend, after a reload too; requests of `chunk_size` rows or more
share a prefix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import keras
import numpy as np
from keras import ops

from discrete_gan.layers import blockwise_argmax, blockwise_softmax

__all__ = ["Sampler"]

DEFAULT_CHUNK = 8192


def _compile(fn):
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    return fn


class Sampler:
    """Draws category codes (and optionally relaxed vectors) from a generator.

    Args:
        generator: a generator built by `build_generator` (outputs a dict with
            "samples" and "probabilities", each `(batch, sum(k))`).
        chunk_size: the largest number of rows per compiled call (large requests stream in
            chunks of this size; smaller ones use the next power of two >= 256).

    The generator's own noise input width and optional condition input are read from the
    model. Unconditional sampling feeds a zero condition vector.
    """

    def __init__(self, generator: keras.Model, chunk_size: int = DEFAULT_CHUNK):
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(
                f"Invalid value for `chunk_size`. Expected an int >= 1. Received: {chunk_size}"
            )
        from discrete_gan.models import generator_heads

        self.generator = generator
        self._heads = generator_heads(generator)
        # Noise -> hidden features; the heads' logits are taken directly, skipping the
        # relaxation the training graph computes.
        self._trunk = keras.Model(generator.inputs, self._heads.input)
        self.cardinalities = list(self._heads.cardinalities)
        self.chunk_size = chunk_size
        shapes = [tuple(t.shape) for t in generator.inputs]
        self.noise_dim = int(shapes[0][-1])
        self.condition_dim = int(shapes[1][-1]) if len(shapes) > 1 else 0
        self._seed = keras.random.SeedGenerator(0)
        self._seed_dtype = keras.backend.standardize_dtype(self._seed.state.dtype)
        self._fns: dict[str, object] = {}
        self._compile_lock = threading.Lock()

    # ------------------------------------------------------------------ core
    def _logits(self, tv, ntv, seed_state, condition):
        """Per-row logits `(rows, sum(k))` for fresh noise, and the seed for the Gumbel noise."""
        g = self.generator
        mapping = [
            (self._seed.state, seed_state),
            *zip(g.trainable_variables, tv),
            *zip(g.non_trainable_variables, ntv),
        ]
        with keras.StatelessScope(state_mapping=mapping):
            z = keras.random.normal((condition.shape[0], self.noise_dim), seed=self._seed)
            gumbel_seed = self._seed.next()
            inputs = [z, condition] if self.condition_dim else z
            logits = self._heads.compute_logits(self._trunk(inputs, training=False))
        return logits, gumbel_seed

    def _perturbed(self, tv, ntv, seed_state, condition):
        logits, gumbel_seed = self._logits(tv, ntv, seed_state, condition)
        with keras.StatelessScope(state_mapping=[(self._seed.state, gumbel_seed)]):
            u = keras.random.uniform(
                ops.shape(logits), minval=float(np.finfo("float32").tiny), seed=self._seed
            )
        return logits - ops.log(-ops.log(u))

    def _codes(self, tv, ntv, seed_state, condition):
        return blockwise_argmax(self._perturbed(tv, ntv, seed_state, condition), self.cardinalities)

    def _relaxed(self, tv, ntv, seed_state, condition, temperature):
        perturbed = self._perturbed(tv, ntv, seed_state, condition)
        codes = blockwise_argmax(perturbed, self.cardinalities)
        return codes, blockwise_softmax(perturbed / temperature, self.cardinalities)

    def _probabilities(self, tv, ntv, seed_state, condition):
        logits, _ = self._logits(tv, ntv, seed_state, condition)
        return blockwise_softmax(logits, self.cardinalities)

    def _fn(self, kind: str):
        with self._compile_lock:  # concurrent first calls (a server's threads) build it once
            return self._build_fn(kind)

    def _build_fn(self, kind: str):
        if kind not in self._fns:
            fns = {
                "codes": self._codes,
                "relaxed": self._relaxed,
                "chunk": self._probabilities,
                "mean": lambda *a: ops.sum(self._probabilities(*a), axis=0),
            }
            self._fns[kind] = _compile(fns[kind])
        return self._fns[kind]

    def _rows(self, n: int) -> int:
        """Rows per compiled call for a request of `n`: a power of two (>= 256) up to the chunk
        size, so small requests stay fast while few shapes are ever compiled."""
        if n >= self.chunk_size:
            return self.chunk_size
        return min(self.chunk_size, max(256, 1 << (max(n, 1) - 1).bit_length()))

    def _state(self):
        g = self.generator
        return [v.value for v in g.trainable_variables], [
            v.value for v in g.non_trainable_variables
        ]

    def _condition(self, condition, rows: int | None = None) -> np.ndarray:
        rows = rows or self.chunk_size
        if not self.condition_dim:
            return np.zeros((rows, 0), "float32")
        if condition is None:
            return np.zeros((rows, self.condition_dim), "float32")
        return np.broadcast_to(np.asarray(condition, "float32"), (rows, self.condition_dim)).copy()

    def _seed_pair(self, seed: int, chunk: int):
        # Chunk i uses counters 2i (noise z) and 2i + 1 (Gumbel noise): no stream is shared.
        return np.array([seed % 2**31, 2 * chunk], dtype=self._seed_dtype)

    # ---------------------------------------------------------------- public
    def iter_codes(
        self,
        n: int,
        seed: int = 0,
        temperature: float | None = None,
        relaxed: bool = False,
        condition=None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Yields `(codes (m, n_columns) int32, relaxed (m, sum(k)) float32 or None)` chunks.

        `codes` are exact draws from the generator's categorical distribution (Gumbel-max);
        `relaxed` are the matching Gumbel-Softmax vectors `softmax((log p + g) / temperature)`
        (same Gumbel noise, so `argmax(relaxed) == codes` for any temperature).
        """
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"Invalid value for `n`. Expected an int >= 0. Received: n={n}")
        tau = 1.0 if temperature is None else float(temperature)
        if not np.isfinite(tau) or tau <= 0:
            raise ValueError(
                "Invalid value for `temperature`. Expected a float > 0. "
                f"Received: temperature={temperature}"
            )
        tv, ntv = self._state()
        rows = self._rows(n)
        cond = self._condition(condition, rows)
        fn = self._fn("relaxed" if relaxed else "codes")
        tau_t = np.float32(tau)
        for i, start in enumerate(range(0, n, rows)):
            m = min(rows, n - start)
            seed_pair = self._seed_pair(seed, i)
            if relaxed:
                codes, soft = fn(tv, ntv, seed_pair, cond, tau_t)
                yield ops.convert_to_numpy(codes)[:m], ops.convert_to_numpy(soft)[:m]
            else:
                yield ops.convert_to_numpy(fn(tv, ntv, seed_pair, cond))[:m], None

    def probabilities_chunk(self, seed: int, chunk: int, condition=None) -> np.ndarray:
        """Per-noise categorical probabilities `(chunk_size, sum(k))` for chunk `chunk` of `seed`.

        `condition` is None, one vector `(condition_dim,)` or one per row
        `(chunk_size, condition_dim)`. The noise is the same as `iter_codes` uses for that chunk.
        """
        tv, ntv = self._state()
        cond = self._condition(condition)
        out = self._fn("chunk")(tv, ntv, self._seed_pair(seed, chunk), cond)
        return np.asarray(ops.convert_to_numpy(out), "float64")

    def sample_codes(self, n: int, seed: int = 0, condition=None) -> np.ndarray:
        """`n` rows of int32 codes, shape `(n, n_columns)`."""
        chunks = [c for c, _ in self.iter_codes(n, seed=seed, condition=condition)]
        if not chunks:
            return np.zeros((0, len(self.cardinalities)), "int32")
        return np.concatenate(chunks, axis=0)

    def mean_probabilities(self, n: int = 32768, seed: int = 0, condition=None) -> np.ndarray:
        """Monte-Carlo estimate of `E_z[p(. | z)]`, shape `(sum(k),)`: the learned marginals.

        Averages the exact per-noise probabilities (not sampled one-hots), so the estimate's
        error is that of the noise average only. Rounded up to whole chunks.
        """
        tv, ntv = self._state()
        cond = self._condition(condition)
        fn = self._fn("mean")
        chunks = max(1, -(-n // self.chunk_size))
        total = sum(
            ops.convert_to_numpy(fn(tv, ntv, self._seed_pair(seed, i), cond)) for i in range(chunks)
        )
        return np.asarray(total, "float64") / (chunks * self.chunk_size)
