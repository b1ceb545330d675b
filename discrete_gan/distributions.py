"""Gumbel noise, Gumbel-max sampling and the Gumbel-Softmax (Concrete) distribution.

References:
    Jang, Gu, Poole. "Categorical Reparameterization with Gumbel-Softmax". ICLR 2017.
    Maddison, Mnih, Teh. "The Concrete Distribution". ICLR 2017.

Everything here is written in `keras.ops`, so it runs unchanged under the TensorFlow, JAX and
PyTorch backends. The maths follows TFP's `relaxed_onehot_categorical.py`.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from discrete_gan.validation import check_temperature

__all__ = [
    "RelaxedOneHotCategorical",
    "gumbel_max_sample",
    "gumbel_softmax",
    "sample_gumbel",
    "straight_through",
]

SeedLike = int | keras.random.SeedGenerator | Any | None


def _check_temperature(temperature: Any) -> None:
    """Checks a Python-number temperature (tensors are the caller's business)."""
    if isinstance(temperature, int | float | np.number):
        check_temperature(temperature)


def sample_gumbel(shape: tuple[int, ...], seed: SeedLike = None, dtype: str = "float32"):
    """Draws standard Gumbel(0, 1) noise of `shape` by inverse transform.

    `g = -log(-log(u))` with `u ~ Uniform[tiny, 1)`: `keras.random.uniform` samples the half-open
    interval `[minval, maxval)`, so starting at the smallest normal float keeps both logarithms
    finite without the `+ eps` fudge that biases the tails. `u` near 1 gives large negative `g`,
    `u = tiny` gives `g = -log(-log(tiny))` (about -4.47 in float32), so no value is inf or NaN.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    tiny = float(np.finfo(dtype).tiny)
    u = keras.random.uniform(shape, minval=tiny, maxval=1.0, dtype=dtype, seed=seed)
    return -ops.log(-ops.log(u))


def gumbel_max_sample(logits, seed: SeedLike = None):
    """Exact categorical samples as one-hot vectors: `one_hot(argmax(logits + g))`.

    Args:
        logits: float tensor of shape `(..., k)`, unnormalised log-probabilities.
        seed: an int, a `keras.random.SeedGenerator`, or None.

    Returns:
        A float tensor of shape `(..., k)` holding one-hot rows, distributed as
        `Categorical(softmax(logits))`.
    """
    logits = ops.convert_to_tensor(logits)
    noise = sample_gumbel(ops.shape(logits), seed=seed, dtype=logits.dtype)
    k = ops.shape(logits)[-1]
    return ops.one_hot(ops.argmax(logits + noise, axis=-1), k, dtype=logits.dtype)


def straight_through(y):
    """Straight-through estimator: one-hot of `argmax(y)` forward, the gradient of `y` backward.

    `stop_gradient(y_hard - y) + y` equals `y_hard` in value, while its derivative is that of
    `y`. Args: `y`, shape `(..., k)`. Returns a tensor of the same shape and dtype.
    """
    k = ops.shape(y)[-1]
    y_hard = ops.one_hot(ops.argmax(y, axis=-1), k, dtype=y.dtype)
    return ops.stop_gradient(y_hard - y) + y


def gumbel_softmax(logits, temperature, seed: SeedLike = None, hard: bool = False):
    """A Gumbel-Softmax sample `softmax((logits + g) / temperature)`, optionally straight-through.

    Args:
        logits: float tensor `(..., k)`.
        temperature: positive float or scalar tensor (a variable keeps tracing stable).
        seed: an int, a `keras.random.SeedGenerator`, or None.
        hard: if True, return the straight-through one-hot sample (same argmax as the soft one).

    Returns:
        A float tensor `(..., k)` on the probability simplex (one-hot if `hard`).
    """
    _check_temperature(temperature)
    logits = ops.convert_to_tensor(logits)
    noise = sample_gumbel(ops.shape(logits), seed=seed, dtype=logits.dtype)
    temperature = ops.cast(temperature, logits.dtype)
    y = ops.softmax((logits + noise) / temperature, axis=-1)
    return straight_through(y) if hard else y


class RelaxedOneHotCategorical:
    """The Concrete / Gumbel-Softmax distribution over the open probability simplex.

    A sample is `y = softmax((logits + g) / temperature)` with i.i.d. Gumbel noise `g`. As the
    temperature goes to 0 samples become one-hot draws of `Categorical(softmax(logits))`; as it
    goes to infinity they approach the uniform vector `1/k`.

    Args:
        temperature: float > 0 (or a scalar tensor).
        logits: float tensor `(..., k)`. Exactly one of `logits` and `probs` must be given.
        probs: float tensor `(..., k)` of non-negative weights summing to 1 on the last axis.

    Example:
        >>> dist = RelaxedOneHotCategorical(0.5, probs=[0.1, 0.2, 0.7])
        >>> y = dist.sample(4, seed=0)          # shape (4, 3)
        >>> dist.log_prob(y)                     # shape (4,)
    """

    def __init__(self, temperature, logits=None, probs=None):
        _check_temperature(temperature)
        if (logits is None) == (probs is None):
            raise ValueError(
                "Exactly one of `logits` and `probs` must be given. "
                f"Received: logits={logits}, probs={probs}"
            )
        if probs is not None:
            probs_np = np.asarray(keras.ops.convert_to_numpy(probs), dtype="float64")
            if probs_np.ndim == 0 or probs_np.shape[-1] < 1:
                raise ValueError(
                    "Invalid value for `probs`. Expected a tensor of shape (..., k) with k >= 1. "
                    f"Received: shape={probs_np.shape}"
                )
            if np.any(probs_np < 0) or not np.allclose(probs_np.sum(-1), 1.0, atol=1e-4):
                raise ValueError(
                    "Invalid value for `probs`. Expected non-negative values that sum to 1 on "
                    f"the last axis. Received: probs={probs_np.tolist()}"
                )
            with np.errstate(divide="ignore"):
                logits = np.log(probs_np).astype("float32")
        logits = ops.convert_to_tensor(logits, dtype="float32")
        if len(ops.shape(logits)) == 0:
            raise ValueError(
                "Invalid value for `logits`. Expected a tensor of shape (..., k). "
                "Received a scalar."
            )
        self._logits = logits
        self._temperature = temperature

    @property
    def logits(self):
        """Unnormalised log-probabilities, shape `(..., k)`."""
        return self._logits

    @property
    def probs(self):
        """Class probabilities `softmax(logits)`, shape `(..., k)`."""
        return ops.softmax(self._logits, axis=-1)

    @property
    def temperature(self):
        return self._temperature

    @property
    def event_size(self) -> int:
        return int(ops.shape(self._logits)[-1])

    def sample(self, n: int, seed: SeedLike = None, hard: bool = False):
        """Draws `n` relaxed one-hot samples, shape `(n, *batch_shape, k)`.

        With `hard=True`, returns straight-through one-hot samples instead.
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"Invalid value for `n`. Expected an int >= 1. Received: n={n}")
        logits = ops.broadcast_to(self._logits, (n, *ops.shape(self._logits)))
        return gumbel_softmax(logits, self._temperature, seed=seed, hard=hard)

    def log_prob(self, y):
        """Log-density of points `y` on the simplex, shape `(..., k)` -> `(...)`.

        Computed as in TFP: in log space `x = log y` the ExpConcrete density is
        `lgamma(k) + (k - 1) log t + sum_i log_softmax(logits - t x)_i`, then the change of
        variables `y = exp(x)` adds the log-Jacobian `-sum_i x_i`.
        """
        y = ops.convert_to_tensor(y, dtype=self._logits.dtype)
        k = self.event_size
        if ops.shape(y)[-1] != k:
            raise ValueError(
                f"Invalid shape for `y`. Expected last dimension {k}. "
                f"Received: shape={tuple(ops.shape(y))}"
            )
        t = ops.cast(self._temperature, y.dtype)
        x = ops.log(y)
        log_norm = math.lgamma(k) + (k - 1) * ops.log(t)
        log_softmax = ops.log_softmax(self._logits - t * x, axis=-1)
        return log_norm + ops.sum(log_softmax, axis=-1) - ops.sum(x, axis=-1)
