"""Compiled, seeded sampling from a trained generator.

Bulk sampling never goes through `model.predict()` (its default batch of 32 is ~30x slower).
Rows come in blocks of `BLOCK_ROWS` (256): block `b` of a draw with seed `s` takes its noise `z`
and its Gumbel noise from the keys `seeding.block_keys(s, stream, b, 1)` and from nothing else.
So a row is a pure function of (generator weights, seed, row index): any `n`, any starting row,
any grouping of blocks into compiled calls (one request, a batch of requests, a partition of a
distributed job) gives the same row `r`. A compiled call handles a power-of-two number of blocks
up to `max_blocks` (8,192 rows by default), so few shapes are ever compiled and small requests
stay fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import keras
import numpy as np
from keras import ops

from discrete_gan import seeding
from discrete_gan._random import as_key_tensor, block_normal, block_uniform
from discrete_gan.layers import blockwise_softmax
from discrete_gan.validation import check_int, check_temperature

__all__ = ["BLOCK_ROWS", "RelaxedUnavailable", "Sampler"]

BLOCK_ROWS = seeding.BLOCK_ROWS
_TINY = float(np.finfo("float32").tiny)


class RelaxedUnavailable(ValueError):
    """Relaxed vectors were asked of a model with two-level columns (no one-hot block)."""

    def __init__(self):
        super().__init__(
            "Relaxed vectors are not available for a model with two-level columns (more than "
            "split_above labels): their labels have no one-hot block. Sample without a "
            "temperature."
        )


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
        generator: a generator built by `build_generator` (its `GumbelSoftmaxHeads` layer gives
            the per-column logits; the relaxation of the training graph is skipped).
        max_blocks: the most blocks of `BLOCK_ROWS` rows per compiled call.
        layout: the `ModelLayout` between the table's columns and the generator's; codes
            from `draw_blocks`, `iter_codes` and `sample_codes` and `mean_probabilities`
            are in the table's layout, the per-chunk methods (`probabilities_chunk`,
            `masked_chunk`) in the generator's. None: the generator's columns are the table's.

    The generator's noise width and optional condition input are read from the model;
    unconditional sampling feeds a zero condition vector.
    """

    def __init__(self, generator: keras.Model, max_blocks: int = 32, layout=None):
        from discrete_gan.models import generator_heads

        self.max_blocks = check_int("max_blocks", max_blocks, 1)
        self.generator = generator
        self._heads = generator_heads(generator)
        self._trunk = keras.Model(generator.inputs, self._heads.input)
        self.cardinalities = list(self._heads.cardinalities)
        self.layout = None if layout is None or layout.identity else layout
        self.n_columns = len(self.cardinalities) if self.layout is None else len(layout.order)
        shapes = [tuple(t.shape) for t in generator.inputs]
        self.noise_dim = int(shapes[0][-1])
        self.condition_dim = int(shapes[1][-1]) if len(shapes) > 1 else 0
        self._fns: dict[str, object] = {}
        self._compile_lock = threading.Lock()

    @property
    def chunk_size(self) -> int:
        """The most rows one compiled call produces."""
        return self.max_blocks * BLOCK_ROWS

    @property
    def autoregressive(self) -> bool:
        """Whether the columns are drawn in order, each given the ones before it."""
        return bool(self._heads.autoregressive)

    # ------------------------------------------------------------ traced code
    def _draw(self, tv, ntv, keys_z, keys_u, condition, mask=None):
        """`heads.gumbel_max` on the rows of the given block keys (see its contract)."""
        g = self.generator
        mapping = [*zip(g.trainable_variables, tv), *zip(g.non_trainable_variables, ntv)]
        with keras.StatelessScope(state_mapping=mapping):
            z = block_normal(keys_z, BLOCK_ROWS, self.noise_dim)
            inputs = [z, condition] if self.condition_dim else z
            hidden = self._trunk(inputs, training=False)
            u = block_uniform(keys_u, BLOCK_ROWS, sum(self.cardinalities), _TINY)
            return self._heads.gumbel_max(hidden, -ops.log(-ops.log(u)), mask)

    def _codes(self, tv, ntv, keys_z, keys_u, condition):
        return self._draw(tv, ntv, keys_z, keys_u, condition)[0]

    def _relaxed(self, tv, ntv, keys_z, keys_u, condition, temperature):
        codes, _, perturbed, _ = self._draw(tv, ntv, keys_z, keys_u, condition)
        return codes, blockwise_softmax(perturbed / temperature, self.cardinalities)

    def _probabilities(self, tv, ntv, keys_z, keys_u, condition):
        return self._draw(tv, ntv, keys_z, keys_u, condition)[1]

    def _mean(self, tv, ntv, keys_z, keys_u, condition):
        return ops.sum(self._probabilities(tv, ntv, keys_z, keys_u, condition), axis=0)

    def _masked(self, tv, ntv, keys_z, keys_u, condition, mask):
        codes, probabilities, _, mass = self._draw(tv, ntv, keys_z, keys_u, condition, mask)
        return codes, probabilities, mass

    def _fn(self, kind: str):
        with self._compile_lock:  # concurrent first calls (a server's threads) build it once
            if kind not in self._fns:
                fns = {
                    "codes": self._codes,
                    "relaxed": self._relaxed,
                    "probabilities": self._probabilities,
                    "mean": self._mean,
                    "masked": self._masked,
                }
                self._fns[kind] = _compile(fns[kind])
            return self._fns[kind]

    # ------------------------------------------------------------ host side
    def _state(self):
        g = self.generator
        return (
            [v.value for v in g.trainable_variables],
            [v.value for v in g.non_trainable_variables],
        )

    def _condition(self, condition, rows: int) -> np.ndarray:
        if not self.condition_dim:
            return np.zeros((rows, 0), "float32")
        if condition is None:
            return np.zeros((rows, self.condition_dim), "float32")
        condition = np.asarray(condition, "float32")
        if condition.ndim == 2 and condition.shape[0] != rows:
            raise ValueError(f"Expected a condition per row ({rows}). Received: {condition.shape}")
        return np.broadcast_to(condition, (rows, self.condition_dim)).copy()

    @staticmethod
    def _padded(count: int) -> int:
        return 1 << (count - 1).bit_length()

    def _calls(self, first_block: int, n_blocks: int) -> Iterator[tuple[int, int]]:
        """`(first block, blocks used)` per compiled call covering `n_blocks` blocks."""
        end = first_block + n_blocks
        for start in range(first_block, end, self.max_blocks):
            yield start, min(self.max_blocks, end - start)

    def draw_blocks(
        self,
        keys_z: np.ndarray,
        keys_u: np.ndarray,
        condition=None,
        temperature: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Codes (and relaxed vectors at `temperature`, if given) for explicit block keys.

        Args:
            keys_z, keys_u: uint32 `(n_blocks, 2)` keys of the noise and Gumbel noise,
                `n_blocks <= max_blocks` (see `seeding.block_keys`).
            condition: None, one vector `(condition_dim,)` or one per row.
            temperature: with a float, also return `softmax((log p + g) / temperature)`.

        Returns:
            `(codes (n_blocks * BLOCK_ROWS, n_columns) int32, relaxed or None)`.
        """
        count = len(keys_z)
        if not 0 < count <= self.max_blocks or len(keys_u) != count:
            raise ValueError(
                f"Expected 1 to {self.max_blocks} blocks of keys. Received: {count}, {len(keys_u)}"
            )
        padded = self._padded(count)
        if padded > count:  # pad with copies: compiled shapes stay powers of two
            keys_z = np.concatenate([keys_z, np.repeat(keys_z[-1:], padded - count, axis=0)])
            keys_u = np.concatenate([keys_u, np.repeat(keys_u[-1:], padded - count, axis=0)])
        rows = count * BLOCK_ROWS
        cond = self._condition(condition, rows)
        if len(cond) < padded * BLOCK_ROWS:
            cond = np.concatenate([cond, np.zeros((padded * BLOCK_ROWS - rows, cond.shape[1]))])
        cond = cond.astype("float32")
        tv, ntv = self._state()
        kz, ku = as_key_tensor(keys_z), as_key_tensor(keys_u)
        if temperature is None:
            codes = ops.convert_to_numpy(self._fn("codes")(tv, ntv, kz, ku, cond))[:rows]
            return (codes if self.layout is None else self.layout.from_model(codes)), None
        if self.layout is not None:
            raise RelaxedUnavailable()
        tau = np.float32(check_temperature(temperature))
        codes, soft = self._fn("relaxed")(tv, ntv, kz, ku, cond, tau)
        return ops.convert_to_numpy(codes)[:rows], ops.convert_to_numpy(soft)[:rows]

    def _iter(self, n, seed, start, condition, temperature):
        n = check_int("n", n, 0)
        start = check_int("start", start, 0)
        seed = seeding.resolve_seed(seed)
        if n == 0:
            return
        first = start // BLOCK_ROWS
        skip = start - first * BLOCK_ROWS
        n_blocks = -(-(skip + n) // BLOCK_ROWS)
        left = n
        for block, count in self._calls(first, n_blocks):
            keys_z = seeding.block_keys(seed, "sample.noise", block, count)
            keys_u = seeding.block_keys(seed, "sample.gumbel", block, count)
            codes, soft = self.draw_blocks(keys_z, keys_u, condition, temperature)
            stop = min(len(codes), skip + left)
            yield codes[skip:stop], None if soft is None else soft[skip:stop]
            left -= stop - skip
            skip = 0

    # ---------------------------------------------------------------- public
    def iter_codes(self, n: int, seed: int, start: int = 0, condition=None) -> Iterator[np.ndarray]:
        """Yields int32 `(m, n_columns)` chunks of rows `start, ..., start + n - 1` of `seed`.

        Codes are exact draws (Gumbel-max) from the generator's categorical distribution.
        """
        for codes, _ in self._iter(n, seed, start, condition, None):
            yield codes

    def iter_relaxed(
        self, n: int, seed: int, temperature: float, start: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yields `(codes (m, n_columns), relaxed (m, sum(k)))` for the same rows as `iter_codes`.

        `relaxed` are the rows' Gumbel-Softmax vectors `softmax((log p + g) / temperature)`
        with the Gumbel noise that drew the codes, so `argmax(relaxed) == codes` per column.
        """
        check_temperature(temperature)
        yield from self._iter(n, seed, start, None, temperature)

    def sample_codes(self, n: int, seed: int, start: int = 0, condition=None) -> np.ndarray:
        """Rows `start, ..., start + n - 1` of `seed` as int32 codes, shape `(n, n_columns)`."""
        chunks = list(self.iter_codes(n, seed, start, condition))
        if not chunks:
            return np.zeros((0, self.n_columns), "int32")
        return np.concatenate(chunks, axis=0)

    def probabilities_chunk(
        self, seed: int, chunk: int, condition=None, stream: str = "conditional.noise"
    ) -> np.ndarray:
        """Per-row categorical probabilities `(chunk_size, sum(k))` for chunk `chunk`.

        The noise is that of blocks `chunk * max_blocks, ...` of `stream`. `condition` is None,
        one vector `(condition_dim,)` or one per row `(chunk_size, condition_dim)`. For an
        autoregressive generator each column's probabilities are given the row's earlier
        labels, drawn with the Gumbel noise of stream `gumbel_stream(stream)`.
        """
        keys_z, keys_u = self._chunk_keys(seed, stream, chunk)
        tv, ntv = self._state()
        cond = self._condition(condition, self.chunk_size)
        out = self._fn("probabilities")(tv, ntv, keys_z, keys_u, cond)
        return np.asarray(ops.convert_to_numpy(out), "float64")

    def masked_chunk(
        self, seed: int, chunk: int, mask: np.ndarray, condition=None, stream="conditional.noise"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gumbel-max draws restricted to allowed labels, for chunk `chunk` of `stream`.

        Args:
            mask: `(sum(k),)` or `(chunk_size, sum(k))`, 1 for allowed labels (every label of
                an unrestricted column), at least one per column.

        Returns:
            `(codes (m, n_columns), probabilities (m, sum(k)), mass (m, n_columns))`: the
            labels, each column's unrestricted probabilities along the row's draw, and the
            probability of the allowed labels at each column (1 where all are allowed).
        """
        keys_z, keys_u = self._chunk_keys(seed, stream, chunk)
        tv, ntv = self._state()
        cond = self._condition(condition, self.chunk_size)
        mask = np.broadcast_to(
            np.asarray(mask, "float32"), (self.chunk_size, sum(self.cardinalities))
        )
        codes, probs, mass = self._fn("masked")(
            tv, ntv, keys_z, keys_u, cond, np.ascontiguousarray(mask)
        )
        return (
            ops.convert_to_numpy(codes),
            np.asarray(ops.convert_to_numpy(probs), "float64"),
            np.asarray(ops.convert_to_numpy(mass), "float64"),
        )

    def _chunk_keys(self, seed: int, stream: str, chunk: int):
        first = chunk * self.max_blocks
        keys_z = seeding.block_keys(seed, stream, first, self.max_blocks)
        keys_u = seeding.block_keys(seed, gumbel_stream(stream), first, self.max_blocks)
        return as_key_tensor(keys_z), as_key_tensor(keys_u)

    def mean_probabilities(self, n: int = 32768, seed: int = 0, condition=None) -> np.ndarray:
        """Monte-Carlo estimate of `E[p(. | z)]`, shape `(sum(k),)`: the learned marginals.

        Averages the exact per-row probabilities (not sampled one-hots), so the estimate's
        error is that of the noise average only; for an autoregressive generator, that of the
        noise and the earlier columns' draws (each column's probabilities given them, averaged,
        are its marginal). Rounded up to whole chunks.
        """
        check_int("n", n, 1)
        chunks = -(-n // self.chunk_size)
        if self.layout is not None:
            return self._layout_mean(chunks, seed, condition)
        tv, ntv = self._state()
        cond = self._condition(condition, self.chunk_size)
        fn = self._fn("mean")
        total = 0.0
        for i in range(chunks):
            keys_z, keys_u = self._chunk_keys(seed, "probabilities.noise", i)
            total = total + ops.convert_to_numpy(fn(tv, ntv, keys_z, keys_u, cond))
        return np.asarray(total, "float64") / (chunks * self.chunk_size)

    def _layout_mean(self, chunks: int, seed: int, condition) -> np.ndarray:
        """`mean_probabilities` in the table's layout, from each row's draw and probabilities
        (a two-level column's label probability is `E[1(bucket) p(member | bucket)]`)."""
        layout = self.layout
        total = np.zeros(layout.schema.total_dim)
        ones = np.ones(sum(self.cardinalities), "float32")
        for i in range(chunks):
            codes, probs, _ = self.masked_chunk(
                seed, i, ones, condition, stream="probabilities.noise"
            )
            values = [probs[:, layout.block(m)] for m in range(len(self.cardinalities))]
            layout.accumulate(total, codes, values, np.ones(len(codes)))
        return total / (chunks * self.chunk_size)


def gumbel_stream(noise_stream: str) -> str:
    """The Gumbel-noise stream paired with a noise stream of the probability estimates."""
    return {
        "probabilities.noise": "probabilities.gumbel",
        "conditional.noise": "conditional.gumbel",
    }.get(noise_stream, "probabilities.gumbel")
