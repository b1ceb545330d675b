"""`FidelityMonitor`: puts a fidelity figure into the epoch logs so Keras callbacks can use it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

if TYPE_CHECKING:
    from discrete_gan.base import CategoricalSynthesizer

__all__ = ["FidelityMonitor"]


class FidelityMonitor(keras.callbacks.Callback):
    """Adds `tvd` (mean over columns of TVD(learned marginals, data marginals)) to the logs.

    The learned marginals are the generator's exact Monte-Carlo probabilities (see
    `CategoricalSynthesizer.probabilities`; the VAE's generator is its decoder), so the
    figure is not clouded by sampling noise. Put this callback BEFORE
    `EarlyStopping(monitor="tvd", mode="min")`, `ModelCheckpoint` or `CSVLogger` in the
    callbacks list so they see the value.

    Args:
        model: the model being trained, of either family (a `CategoricalSynthesizer`: its
            schema holds the data marginals, its sampler the generator's).
        every: compute every `every` epochs (other epochs repeat the last value).
        n_samples: noise draws per estimate.
        seed: noise seed, fixed so successive epochs are compared on the same noise.

    Attributes:
        history: list of `(epoch, flat learned marginals (sum(k),))`, for error heat-maps.
    """

    def __init__(
        self, model: CategoricalSynthesizer, every: int = 1, n_samples: int = 8192, seed: int = 0
    ):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"Invalid value for `every`. Expected an int >= 1. Received: {every}")
        self.synth = model
        self.every = every
        self.n_samples = n_samples
        self.seed = seed
        self.history: list[tuple[int, np.ndarray]] = []
        self._last: float | None = None

    def _target(self) -> np.ndarray:
        return np.concatenate([np.asarray(c.frequencies) for c in self.synth.schema.columns])

    def learned_tvd(self) -> tuple[float, np.ndarray]:
        """(mean column TVD, flat learned marginals) for the generator's current weights."""
        flat = self.synth.sampler.mean_probabilities(self.n_samples, seed=self.seed)
        diff = np.abs(flat - self._target())
        tvds, start = [], 0
        for k in self.synth.schema.cardinalities:
            tvds.append(0.5 * diff[start : start + k].sum())
            start += k
        return float(np.mean(tvds)), flat

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        if epoch % self.every == 0 or self._last is None:
            _ = self.model  # under JAX, syncs the trained values back into the variables
            self._last, flat = self.learned_tvd()
            self.history.append((epoch, flat))
        logs["tvd"] = self._last
