"""The built-in demo: a clinic-visits table sampled from a small Bayesian network (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from discrete_gan.registry import ModelRef, Registry
from training.config import JobConfig

__all__ = ["DEMO_NAME", "demo_table", "ensure_demo"]

DEMO_NAME = "demo"


def _pick(rng: np.random.Generator, labels: list, probs: np.ndarray) -> np.ndarray:
    """One label per row from row-wise probabilities `probs` `(n, len(labels))`."""
    cum = np.cumsum(_normalise(probs), axis=1)
    u = rng.random((len(probs), 1))
    return np.asarray(labels, dtype=object)[np.minimum((u > cum).sum(axis=1), len(labels) - 1)]


def demo_table(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """Eight dependent categorical columns (age -> smoking, exercise -> bmi -> bp, diabetes...)."""
    rng = np.random.default_rng(seed)
    age = rng.choice(["18-34", "35-54", "55-74", "75+"], size=n, p=[0.3, 0.35, 0.25, 0.1])
    old = np.isin(age, ["55-74", "75+"])
    smoker = rng.random(n) < np.where(age == "18-34", 0.25, np.where(old, 0.12, 0.2))
    exercise = _pick(
        rng,
        ["none", "weekly", "daily"],
        np.where(old[:, None], [0.5, 0.35, 0.15], [0.3, 0.45, 0.25]),
    )
    heavy = np.where(exercise == "none", 0.45, np.where(exercise == "weekly", 0.3, 0.15))
    bmi = _pick(
        rng,
        ["under", "normal", "over", "obese"],
        np.stack([np.full(n, 0.05), 0.95 - 1.6 * heavy, heavy, 0.6 * heavy], axis=1),
    )
    high_bp = 0.1 + 0.25 * old + 0.2 * np.isin(bmi, ["over", "obese"]) + 0.1 * smoker
    bp = np.where(rng.random(n) < high_bp, "high", "normal")
    diabetes = rng.random(n) < 0.03 + 0.12 * (bmi == "obese") + 0.06 * old
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.3, 0.3, 0.2, 0.2])
    reason = _pick(
        rng,
        ["checkup", "respiratory", "cardio", "metabolic", "injury"],
        np.stack(
            [
                np.full(n, 0.35),
                0.1 + 0.2 * smoker,
                0.05 + 0.25 * (bp == "high"),
                0.03 + 0.3 * diabetes,
                np.where(age == "18-34", 0.2, 0.08),
            ],
            axis=1,
        ),
    )
    frame = pd.DataFrame(
        {
            "age_band": age,
            "smoker": smoker,
            "exercise": exercise,
            "bmi": bmi,
            "blood_pressure": bp,
            "diabetes": diabetes,
            "region": region,
            "visit_reason": reason,
        }
    )
    for col in ("exercise", "bmi", "visit_reason"):
        frame[col] = frame[col].astype(str)
    return frame


def _normalise(probs: np.ndarray) -> np.ndarray:
    return probs / probs.sum(axis=1, keepdims=True)


def ensure_demo(registry: Registry, epochs: int = 60, verbose: int = 0) -> tuple[ModelRef, bool]:
    """Returns the demo model, training and publishing it first if the registry lacks it."""
    if registry.latest(DEMO_NAME) is not None:
        return registry.resolve(DEMO_NAME), False
    from training.job import run_training

    config = JobConfig.from_dict({"epochs": epochs, "checkpoint_every": 10, "seed": 0})
    ref = run_training(
        demo_table(), DEMO_NAME, registry, config, verbose=verbose, tensorboard=False
    )
    return ref, True
