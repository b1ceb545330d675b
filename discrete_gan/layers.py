"""`GumbelSoftmaxHeads`: hidden features -> one Gumbel-Softmax block per categorical column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from discrete_gan.distributions import sample_gumbel, straight_through
from discrete_gan.validation import check_bool, check_int, check_temperature

__all__ = ["GumbelSoftmaxHeads", "blockwise_argmax", "blockwise_softmax", "blockwise_sum"]


def blockwise_softmax(logits, cardinalities: Sequence[int]):
    """Softmax applied separately to each column's block of a concatenated tensor.

    Args:
        logits: tensor `(n, sum(cardinalities))`.
        cardinalities: the width of each block, in order.

    Returns:
        Tensor of the same shape; each block sums to 1.
    """
    blocks, start = [], 0
    for k in cardinalities:
        block = logits[:, start : start + k]
        blocks.append(ops.ones_like(block) if k == 1 else ops.softmax(block, axis=-1))
        start += k
    return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]


def blockwise_argmax(values, cardinalities: Sequence[int]):
    """Per-column argmax of a concatenated tensor `(n, sum(k))` -> int32 codes `(n, n_columns)`."""
    codes, start = [], 0
    for k in cardinalities:
        codes.append(ops.argmax(values[:, start : start + k], axis=-1))
        start += k
    return ops.cast(ops.stack(codes, axis=-1), "int32")


def blockwise_sum(values, cardinalities: Sequence[int]):
    """Per-column sums of a concatenated tensor `(n, sum(k))` -> `(n, n_columns)`."""
    sums, start = [], 0
    for k in cardinalities:
        sums.append(ops.sum(values[:, start : start + k], axis=-1))
        start += k
    return ops.stack(sums, axis=-1)


@keras.saving.register_keras_serializable(package="discrete_gan")
class GumbelSoftmaxHeads(keras.layers.Layer):
    """Projects hidden features to per-column logits and emits relaxed one-hot samples.

    For a table with columns of cardinalities `(k_1, ..., k_c)` the layer holds one affine map
    `hidden -> sum(k)` logits (a single matmul for all columns) and returns, per column,
    `softmax((logits_j + g_j) / temperature)` with fresh Gumbel noise `g_j`
    (Jang et al. 2017; Maddison et al. 2017). With `hard=True` each block is the
    straight-through sample: exactly one-hot forward, the soft gradient backward, which keeps a
    discriminator from telling generated rows from one-hot real rows by their softness.

    The temperature lives in a non-trainable variable so that a schedule can change it during
    training without retracing the compiled step, and so that it is saved with the weights.

    Args:
        cardinalities: number of categories of each column, each >= 1.
        temperature: initial temperature, a float > 0.
        hard: True for straight-through one-hot output, False for soft samples.
        seed: int or None, seeds the layer's Gumbel noise.
        kernel_initializer: initializer of the projection kernel.

    Input shape: `(batch, features)`. Output: `[samples, probabilities]`, both
    `(batch, sum(cardinalities))`.
    """

    autoregressive = False  # columns are independent given the input

    def __init__(
        self,
        cardinalities: Sequence[int],
        temperature: float = 1.0,
        hard: bool = True,
        seed: int | None = None,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(cardinalities, str) or not isinstance(cardinalities, Sequence):
            cardinalities = None
        if not cardinalities:
            raise ValueError(
                "Invalid value for `cardinalities`. Expected a non-empty list of ints >= 1. "
                f"Received: cardinalities={cardinalities}"
            )
        cards = [check_int("cardinalities", k, 1) for k in cardinalities]
        temperature = check_temperature(temperature)
        hard = check_bool("hard", hard)
        self.cardinalities = cards
        self.initial_temperature = temperature
        self.hard = hard
        self.seed = seed
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.temperature = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
            name="temperature",
        )

    @property
    def output_dim(self) -> int:
        return sum(self.cardinalities)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.output_dim),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.output_dim,), initializer="zeros", name="bias")

    def compute_logits(self, hidden):
        """Concatenated per-column logits, `(batch, sum(cardinalities))`."""
        return ops.matmul(hidden, self.kernel) + self.bias

    def relax(self, logits):
        """Gumbel-Softmax (or straight-through) samples from concatenated logits, per column."""
        noise = sample_gumbel(ops.shape(logits), seed=self.seed_generator, dtype=logits.dtype)
        tau = ops.cast(self.temperature, logits.dtype)
        blocks, start = [], 0
        for k in self.cardinalities:
            if k == 1:  # a one-label column is always that label: nothing to relax
                blocks.append(ops.ones_like(logits[:, start : start + 1]))
                start += 1
                continue
            y = ops.softmax((logits[:, start : start + k] + noise[:, start : start + k]) / tau)
            blocks.append(straight_through(y) if self.hard else y)
            start += k
        return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]

    def call(self, hidden, training=None):
        """Returns `[samples, probabilities]`, each `(batch, sum(cardinalities))`.

        `samples` are the relaxed (or straight-through) draws the discriminator sees;
        `probabilities` is the per-column softmax of the logits, the generator's exact
        categorical distribution for this input (Gumbel-max on it is an exact sample).
        """
        logits = self.compute_logits(hidden)
        return [self.relax(logits), blockwise_softmax(logits, self.cardinalities)]

    def log_likelihood(self, hidden, rows):
        """`log p(x | h) = sum_j log p_j(x_j | h)` per row `(batch,)` for one-hot `rows`."""
        logits = self.compute_logits(hidden)
        total, start = 0.0, 0
        for k in self.cardinalities:
            if k > 1:
                block = ops.log_softmax(logits[:, start : start + k], axis=-1)
                total = total + ops.sum(rows[:, start : start + k] * block, axis=-1)
            start += k
        return total

    def gumbel_max(self, hidden, gumbel, mask=None):
        """Exact categorical draws by Gumbel-max, optionally restricted to allowed labels.

        Args:
            hidden: `(batch, features)` trunk output.
            gumbel: `(batch, sum(k))` standard Gumbel noise.
            mask: None, or `(batch, sum(k))` with 1 where a label is allowed and 0 where not
                (at least one allowed label per column).

        Returns:
            `(codes (batch, n_columns) int32, probabilities (batch, sum(k)), perturbed
            (batch, sum(k)), mass (batch, n_columns) or None)`: the drawn labels, each
            column's unrestricted categorical probabilities for this row, `logits + gumbel`
            (whose tempered softmax is the row's relaxed vector), and with a mask each
            column's probability of its allowed labels. Columns are independent given the
            input, so the draw is one argmax per block.
        """
        logits = self.compute_logits(hidden)
        perturbed = logits + gumbel
        probabilities = blockwise_softmax(logits, self.cardinalities)
        if mask is None:
            return blockwise_argmax(perturbed, self.cardinalities), probabilities, perturbed, None
        allowed = ops.where(mask > 0, perturbed, ops.full_like(perturbed, float("-inf")))
        codes = blockwise_argmax(allowed, self.cardinalities)
        return (
            codes,
            probabilities,
            perturbed,
            blockwise_sum(probabilities * mask, self.cardinalities),
        )

    def compute_output_shape(self, input_shape):
        shape = (*input_shape[:-1], self.output_dim)
        return [shape, shape]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "cardinalities": self.cardinalities,
                "temperature": self.initial_temperature,
                "hard": self.hard,
                "seed": self.seed,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
