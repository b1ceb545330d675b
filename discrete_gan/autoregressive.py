"""`AutoregressiveGumbelSoftmaxHeads`: each column's sample feeds the heads of later columns."""

from __future__ import annotations

import keras
from keras import ops

from discrete_gan.distributions import sample_gumbel, straight_through
from discrete_gan.layers import GumbelSoftmaxHeads
from discrete_gan.validation import check_int

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

    Nested columns (`nested`, see `discrete_gan.layout`): a column with many labels is given
    as two columns, its bucket `b` (j - 1) and its position in the bucket `s` (j), the member
    column. Column j's logits then also depend on the drawn bucket, and its sample feeds the
    state through the embedding of the label `(b, s)` itself, low-rank:

        logits_j = relu(state_j) W_j + b_j + M_j[b] + mask_j[b]      M_j: (B, S) per-label biases
        state_{j+1} = state_j + (sum_s x_js L_j[b, s]) P_j           L_j: (B, S, d), P_j: (d, F)

    (`mask_j[b]` is -1e9 at the empty positions of the last bucket). Per row this costs
    `O(S d + F S)` instead of `O(F K)` for a K = B S label column: a 100,000-label column is
    two ~317-wide ones. Training with hard samples looks up the drawn bucket's rows only.

    Args: as `GumbelSoftmaxHeads`, plus `embedding_initializer` for `E`, `nested`
    (`[[member column j, labels K_j], ...]`, each j > 0 following its bucket column) and
    `label_embedding_dim` (d).

    Input shape: `(batch, features)`. Output: `[samples, probabilities]`, both
    `(batch, sum(cardinalities))`; `probabilities` are each column's categorical
    probabilities given the row's earlier columns, so their batch mean estimates the marginals.
    """

    autoregressive = True

    def __init__(
        self,
        *args,
        embedding_initializer="zeros",
        nested=(),
        label_embedding_dim: int = 32,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.embedding_initializer = keras.initializers.get(embedding_initializer)
        self.label_embedding_dim = check_int("label_embedding_dim", label_embedding_dim, 1)
        self.nested = _check_nested(nested, self.cardinalities)
        self._nested = {j: k for j, k in self.nested}

    def build(self, input_shape):
        super().build(input_shape)
        features = input_shape[-1]
        self.embeddings = self.add_weight(
            shape=(self.output_dim, features),
            initializer=self.embedding_initializer,
            name="embeddings",
        )
        self.member_bias, self.label_embedding, self.label_projection = {}, {}, {}
        for j, _ in self.nested:
            buckets, size = self.cardinalities[j - 1], self.cardinalities[j]
            self.member_bias[j] = self.add_weight(
                shape=(buckets, size), initializer="zeros", name=f"member_bias_{j}"
            )
            self.label_embedding[j] = self.add_weight(
                shape=(buckets, size, self.label_embedding_dim),
                initializer=self.embedding_initializer,
                name=f"label_embedding_{j}",
            )
            self.label_projection[j] = self.add_weight(
                shape=(self.label_embedding_dim, features),
                initializer="glorot_uniform",
                name=f"label_projection_{j}",
            )

    def _member_logits(self, j: int, bucket):
        """Column j's extra logits `(batch, S)` given the rows' bucket codes `(batch,)` int:
        its per-label biases, and -1e9 at the empty positions of the last bucket."""
        size, labels = self.cardinalities[j], self._nested[j]
        extra = ops.take(self.member_bias[j], bucket, axis=0)
        ranks = ops.expand_dims(bucket * size, -1) + ops.expand_dims(ops.arange(size), 0)
        return ops.where(ranks < labels, extra, ops.full_like(extra, -1e9))

    def _label_state(self, j: int, bucket, member):
        """The state update of the labels `(bucket, member)` (int `(batch,)` each)."""
        size = self.cardinalities[j]
        table = ops.reshape(self.label_embedding[j], (-1, self.label_embedding_dim))
        picked = ops.take(table, bucket * size + member, axis=0)
        return ops.matmul(picked, self.label_projection[j])

    def _state_update(self, j: int, start: int, k: int, y, bucket):
        """The embedding of column j's relaxed sample `y` `(batch, k)`.

        For a member column it mixes the drawn bucket's label embeddings `(batch, S, d)` by
        `y`, so the soft gradient reaches every position of that bucket.
        """
        if j not in self._nested:
            return ops.matmul(y, self.embeddings[start : start + k])
        rows = ops.take(self.label_embedding[j], bucket, axis=0)
        mixed = ops.sum(ops.expand_dims(y, -1) * rows, axis=1)
        return ops.matmul(mixed, self.label_projection[j])

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
        state, samples, probabilities, start, code = hidden, [], [], 0, None
        for j, k in enumerate(self.cardinalities):
            logits = self._column_logits(state, start, k)
            bucket = code
            if j in self._nested:
                logits = logits + self._member_logits(j, bucket)
            if k == 1:
                y = p = ops.ones_like(logits)
            else:
                p = ops.softmax(logits, axis=-1)
                y = ops.softmax((logits + noise[:, start : start + k]) / tau, axis=-1)
                y = straight_through(y) if self.hard else y
            samples.append(y)
            probabilities.append(p)
            code = ops.cast(ops.argmax(y, axis=-1), "int32")
            state = state + self._state_update(j, start, k, y, bucket)
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
        for j, k in enumerate(self.cardinalities):
            logits = self._column_logits(state, start, k)
            if j in self._nested:
                logits = logits + self._member_logits(j, codes[-1])
            noisy = logits + gumbel[:, start : start + k]
            p = ops.softmax(logits, axis=-1) if k > 1 else ops.ones_like(logits)
            choose = noisy
            if mask is not None:
                allowed = mask[:, start : start + k]
                choose = ops.where(allowed > 0, noisy, ops.full_like(noisy, float("-inf")))
                masses.append(ops.sum(p * allowed, axis=-1))
            code = ops.cast(ops.argmax(choose, axis=-1), "int32")
            codes.append(code)
            probabilities.append(p)
            perturbed.append(noisy)
            if j in self._nested:
                state = state + self._label_state(j, codes[-2], code)
            else:
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
        state, total, start, code = hidden, 0.0, 0, None
        for j, k in enumerate(self.cardinalities):
            x = rows[:, start : start + k]
            bucket = code
            if k > 1:
                logits = self._column_logits(state, start, k)
                if j in self._nested:
                    logits = logits + self._member_logits(j, bucket)
                total = total + ops.sum(x * ops.log_softmax(logits, axis=-1), axis=-1)
            code = ops.cast(ops.argmax(x, axis=-1), "int32")
            if j in self._nested:  # a real row is exactly one-hot: look its label up
                state = state + self._label_state(j, bucket, code)
            else:
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
        config["nested"] = [list(x) for x in self.nested]
        config["label_embedding_dim"] = self.label_embedding_dim
        return config

    def initialize_frequencies(self, marginals, member_log_frequencies: dict) -> None:
        """Starts the biases at the data's log-frequencies (nested columns only).

        `marginals` `(sum(k),)` are the model columns' training frequencies and
        `member_log_frequencies[j]` `(B, S)` the within-bucket log-frequencies of member j.
        With 10^5 labels the logits cannot be learned from scratch in a few epochs; started
        at the log-frequencies, a fresh generator already draws each label about as often as
        the data (TabularARGN does the same for its softmax heads).
        """
        import numpy as np

        bias = np.array(ops.convert_to_numpy(self.bias))
        marginals = np.asarray(marginals, "float64")
        for j, _ in self.nested:
            start = sum(self.cardinalities[: j - 1])
            block = slice(start, start + self.cardinalities[j - 1])
            bias[block] = np.log(np.maximum(marginals[block], 1e-12))
            self.member_bias[j].assign(np.asarray(member_log_frequencies[j], "float32"))
        self.bias.assign(bias.astype("float32"))


def _check_nested(nested, cardinalities) -> list[list[int]]:
    out = []
    for entry in nested or ():
        j, labels = (int(x) for x in entry)
        buckets = cardinalities[j - 1] if 0 < j < len(cardinalities) else 0
        size = cardinalities[j] if 0 < j < len(cardinalities) else 0
        if not buckets or not (buckets - 1) * size < labels <= buckets * size:
            raise ValueError(
                "Invalid value for `nested`. Expected [member column, labels] pairs whose "
                "bucket column (the one before) and member column fit the labels. "
                f"Received: nested={nested}, cardinalities={cardinalities}"
            )
        out.append([j, labels])
    return out


def _concat(blocks):
    return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]
