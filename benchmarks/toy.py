"""The seed toy (issue #2's first quality bar): one column a-e with p = [.1, .2, .2, .2, .3].

For each seed, 10,000 rows are drawn with a seeded numpy rng; a `CategoricalGAN` trains for a
fixed number of steps and we report TVD(learned probabilities, data frequencies), where the
learned probabilities are `CategoricalGAN.probabilities()` (Monte-Carlo over the noise, so
free of sampling noise). Two configurations: with the marginal-matching term (the default,
`marginal_weight=5`) and without it (`marginal_weight=0`, the pure adversarial game).
Bar: median TVD <= 0.005 and worst <= 0.01 over 5 seeds, in <= 3 s of training.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
import pandas as pd

from discrete_gan import CategoricalGAN

__all__ = ["TOY_CONFIGS", "TVDTrace", "run_toy", "toy_frame", "toy_tvd"]

P_TRUE = np.array([0.1, 0.2, 0.2, 0.2, 0.3])
LETTERS = list("abcde")
# 500 optimizer steps of batch 512 (steps_per_epoch x epochs) with one hidden layer of 64 units
# in each network (the defaults (128, 128) / (256, 256) are sized for wide tables and take ~3x
# longer per step here); the rest are library defaults (lr 5e-4, EMA 0.99, straight-through).
TOY_FIT = {"steps_per_epoch": 25, "epochs": 20}
TOY_NETS = {"generator_units": (64,), "discriminator_units": (64,)}
TOY_CONFIGS: dict[str, dict[str, Any]] = {
    "ours (marginal term, weight 5)": {**TOY_NETS, "marginal_weight": 5.0},
    "ours (pure adversarial, weight 0)": {**TOY_NETS, "marginal_weight": 0.0},
}
BAR = {"median": 0.005, "worst": 0.01, "seconds": 3.0}


def toy_frame(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """`n` rows of the one-column toy, drawn with `numpy.random.default_rng(seed)`."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"letter": rng.choice(LETTERS, size=n, p=P_TRUE)})


def toy_tvd(model: CategoricalGAN, data: pd.DataFrame, n_samples: int = 32768) -> float:
    """TVD between the model's learned probabilities and the data's frequencies."""
    learned = model.probabilities(n_samples=n_samples, seed=0)["letter"]
    freq = data["letter"].value_counts(normalize=True)
    return float(0.5 * sum(abs(learned.get(c, 0.0) - freq.get(c, 0.0)) for c in LETTERS))


class TVDTrace(keras.callbacks.Callback):
    """Records `(training seconds, TVD)` after each epoch; its own time is excluded from the
    clock, so the trace shows the time spent training only. The TVD is that of the live
    generator weights (the EMA average is copied in only when `fit` ends)."""

    def __init__(self, model: CategoricalGAN, data: pd.DataFrame, n_samples: int = 8192):
        super().__init__()
        self.synth, self.data, self.n_samples = model, data, n_samples
        self.trace: list[tuple[float, float]] = []
        self.overhead = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        _ = self.model  # under JAX, syncs the trained values back into the variables
        tvd = toy_tvd(self.synth, self.data, self.n_samples)
        self.trace.append((now - self._start - self.overhead, tvd))
        self.overhead += time.perf_counter() - now


def run_one(seed: int, overrides: dict[str, Any], fit: dict[str, Any]) -> dict[str, Any]:
    """Trains one toy model; returns its final TVD, fit wall time and TVD-over-time trace.

    `fit_seconds` is the wall time of `fit` minus the trace callback's own time; it includes
    graph tracing / compilation (the first epoch) and the final EMA weight copy.
    """
    data = toy_frame(seed=seed)
    model = CategoricalGAN(seed=seed, **overrides)
    trace = TVDTrace(model, data)
    start = time.perf_counter()
    history = model.fit(data, callbacks=[trace], **fit)
    fit_seconds = time.perf_counter() - start - trace.overhead
    first = trace.trace[0][0] if trace.trace else float("nan")
    return {
        "seed": seed,
        "tvd": toy_tvd(model, data),
        "fit_seconds": fit_seconds,
        "first_epoch_seconds": first,
        "steps": fit["epochs"] * fit["steps_per_epoch"],
        "learned": model.probabilities(seed=0)["letter"],
        "trace": trace.trace,
        "final_d_loss": float(history.history["d_loss"][-1]),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    tvd = np.array([r["tvd"] for r in runs])
    secs = np.array([r["fit_seconds"] for r in runs])
    return {
        "tvd_median": float(np.median(tvd)),
        "tvd_worst": float(tvd.max()),
        "tvd_all": tvd.round(5).tolist(),
        "fit_seconds_median": float(np.median(secs)),
        "fit_seconds_max": float(secs.max()),
        "first_epoch_seconds_median": float(np.median([r["first_epoch_seconds"] for r in runs])),
        "meets_bar": bool(
            np.median(tvd) <= BAR["median"]
            and tvd.max() <= BAR["worst"]
            and np.median(secs) <= BAR["seconds"]
        ),
    }


def run_toy(
    seeds: int = 5, fit: dict[str, Any] | None = None, configs: dict | None = None
) -> dict[str, Any]:
    """All toy configurations over `seeds` seeds: `{name: {"runs": [...], "summary": {...}}}`."""
    fit = dict(fit or TOY_FIT)
    out = {}
    for name, overrides in (configs or TOY_CONFIGS).items():
        runs = [run_one(seed, overrides, fit) for seed in range(seeds)]
        out[name] = {"overrides": overrides, "fit": fit, "runs": runs, "summary": summarize(runs)}
    return out
