"""`AutoregressiveGumbelSoftmaxHeads`: each column's sample feeds the heads of later columns."""

from __future__ import annotations

import keras
from keras import ops

from discrete_gan.distributions import sample_gumbel, straight_through
from discrete_gan.layers import GumbelSoftmaxHeads

__all__ = ["AutoregressiveGumbelSoftmaxHeads"]


@keras.saving.register_keras_serializable(package="discrete_gan")
class AutoregressiveGumbelSoftmaxHeads(GumbelSoftmaxHeads):
    """Gumbel-Softmax heads whose columns are drawn in order, each given the ones before it.

    With independent heads a generator can only express dependencies between columns through
    its noise `z`; a table with 37 columns and chains of dependencies needs a very good trunk
    for that. Here the generator factorises `p(x | z) = prod_j p(x_j | x_1..x_{j-1}, z)`:

        state_1 = h
        logits_j = relu(state_j) W_j + b_j
        x_j ~ GumbelSoftmax(logits_j, temperature)     (straight-through when `hard`)
        state_{j+1} = state_j + x_j E_j

    where `h` `(batch, features)` is the trunk output, `W_j`, `b_j` are column j's slice of
    the projection (as in `GumbelSoftmaxHeads`) and `E_j` `(k_j, features)` embeds column j's
    sample into the running state. Backpropagating through that chain of relaxed discrete
    samples is what the Gumbel-Softmax relaxation is for (Jang et al. 2017; Maddison et al.
    2017): the discriminator's gradient reaches every column's parameters through the columns
    drawn after it. The embeddings start at zero, so a new model starts as the independent one.

    A row still costs one pass of the trunk; the heads add one `(batch, features) x
    (features, k_j)` and one `(batch, k_j) x (k_j, features)` product per column, sequential
    in the column order.

    Args: as `GumbelSoftmaxHeads`, plus `embedding_initializer` for `E`.

    Input shape: `(batch, features)`. Output: `[samples, probabilities]`, both
    `(batch, sum(cardinalities))`; `probabilities` are each column's categorical
    probabilities given the row's earlier columns, so their batch mean estimates the marginals.
    """

    autoregressive = True

    def __init__(self, *args, embedding_initializer="zeros", **kwargs):
        super().__init__(*args, **kwargs)
        self.embedding_initializer = keras.initializers.get(embedding_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        self.embeddings = self.add_weight(
            shape=(self.output_dim, input_shape[-1]),
            initializer=self.embedding_initializer,
            name="embeddings",
        )

    def _column_logits(self, state, start: int, k: int):
        return (
            ops.matmul(ops.relu(state), self.kernel[:, start : start + k])
            + self.bias[start : start + k]
        )

    def relax_chain(self, hidden, noise=None):
        """Relaxed (or straight-through) samples and probabilities `(batch, sum(k))` each.

        `noise`: `(batch, sum(k))` Gumbel noise, drawn from the layer's seed when None.
        """
        if noise is None:
            noise = sample_gumbel(
                (ops.shape(hidden)[0], self.output_dim),
                seed=self.seed_generator,
                dtype=hidden.dtype,
            )
        tau = ops.cast(self.temperature, hidden.dtype)
        state, samples, probabilities, start = hidden, [], [], 0
        for k in self.cardinalities:
            logits = self._column_logits(state, start, k)
            if k == 1:
                y = p = ops.ones_like(logits)
            else:
                p = ops.softmax(logits, axis=-1)
                y = ops.softmax((logits + noise[:, start : start + k]) / tau, axis=-1)
                y = straight_through(y) if self.hard else y
            samples.append(y)
            probabilities.append(p)
            state = state + ops.matmul(y, self.embeddings[start : start + k])
            start += k
        return _concat(samples), _concat(probabilities)

    def gumbel_max(self, hidden, gumbel, mask=None):
        """Exact draws along the chain; same contract as `GumbelSoftmaxHeads.gumbel_max`.

        Column j's label is `argmax(logits_j + gumbel_j)` over its allowed labels, and the next
        columns see that label. `probabilities` are each column's probabilities given the
        row's earlier labels; `mass` is the probability of the allowed labels at each step, so
        `prod_j mass_j` is the likelihood ratio that makes masked draws exact under rejection
        (see `discrete_gan.conditional`).
        """
        state, codes, probabilities, perturbed, masses, start = hidden, [], [], [], [], 0
        for k in self.cardinalities:
            logits = self._column_logits(state, start, k)
            noisy = logits + gumbel[:, start : start + k]
            p = ops.softmax(logits, axis=-1) if k > 1 else ops.ones_like(logits)
            choose = noisy
            if mask is not None:
                allowed = mask[:, start : start + k]
                choose = ops.where(allowed > 0, noisy, ops.full_like(noisy, float("-inf")))
                masses.append(ops.sum(p * allowed, axis=-1))
            code = ops.argmax(choose, axis=-1)
            codes.append(code)
            probabilities.append(p)
            perturbed.append(noisy)
            state = state + ops.take(self.embeddings[start : start + k], code, axis=0)
            start += k
        codes = ops.cast(ops.stack(codes, axis=-1), "int32")
        mass = ops.stack(masses, axis=-1) if masses else None
        return codes, _concat(probabilities), _concat(perturbed), mass

    def log_likelihood(self, hidden, rows):
        """`log p(x | h) = sum_j log p_j(x_j | x_<j, h)` per row `(batch,)`, teacher-forced.

        `rows` `(batch, sum(k))` are one-hot (real) rows: each column sees the real labels
        before it, as the chain would have drawn them.
        """
        state, total, start = hidden, 0.0, 0
        for k in self.cardinalities:
            x = rows[:, start : start + k]
            if k > 1:
                logits = self._column_logits(state, start, k)
                total = total + ops.sum(x * ops.log_softmax(logits, axis=-1), axis=-1)
            state = state + ops.matmul(x, self.embeddings[start : start + k])
            start += k
        return total

    def compute_logits(self, hidden):
        raise NotImplementedError(
            "An autoregressive head's logits depend on the labels drawn before each column: "
            "use gumbel_max() or relax_chain()."
        )

    def call(self, hidden, training=None):
        """Returns `[samples, probabilities]`, each `(batch, sum(cardinalities))`."""
        samples, probabilities = self.relax_chain(hidden)
        return [samples, probabilities]

    def get_config(self) -> dict:
        config = super().get_config()
        config["embedding_initializer"] = keras.initializers.serialize(self.embedding_initializer)
        return config


def _concat(blocks):
    return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]
