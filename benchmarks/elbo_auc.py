"""ELBO ranking (issue #11): does `CategoricalVAE.score` rank real rows above shuffled ones?

For each table: fit a `CategoricalVAE` with the library defaults on the training rows, then
score (per-row ELBO, nats) the held-out real rows and the same rows with every column
permuted on its own across rows ("shuffled": every marginal kept, every dependency broken).
A score that knows the joint puts the real rows higher. The figure is the AUC, the
Mann-Whitney probability that a random real row outscores a random shuffled one (ties 1/2):
0.5 is chance, 1 perfect. For a Bayesian network, `oracle_auc` is the same AUC of the TRUE
log-probability (unfloored; a shuffled row the network cannot produce scores -inf, tied with
the others) and `oracle_auc_floored` that of `bn`'s 1e-8-floored one, whose floor ties many
shuffled rows with each other and with the rarest real rows. They are references, not
bounds: the best test of real vs shuffled ranks by p(row) / prod_j p(row_j), so a model's
ELBO, which also falls where a row's labels are individually rare, can beat them.

Tables: `digits` (scikit-learn's 8x8 digits as 64 categorical pixel columns, the split of
`benchmarks.digits`) and pgmpy's networks (10k training and 10k test rows, the seeds of
`bn`). `python -m benchmarks elbo_auc [--tables digits,child] [--quick]`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from discrete_gan import CategoricalVAE

__all__ = ["TABLES", "auc", "known_rows", "rank_scores", "run_elbo_auc", "shuffled"]

TABLES = ("digits", "child")


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Mann-Whitney AUC: P(a positive score > a negative one) + P(tie) / 2.

    From the rank sum of the positives in the pooled scores (average ranks for ties), so
    `O((n + m) log(n + m))`; equals scipy's `mannwhitneyu(positive, negative).statistic / (n m)`.
    """
    from scipy.stats import rankdata

    positive, negative = np.asarray(positive, float), np.asarray(negative, float)
    if not len(positive) or not len(negative):
        raise ValueError("auc() needs at least one score on each side.")
    ranks = rankdata(np.concatenate([positive, negative]))
    n, m = len(positive), len(negative)
    u = ranks[:n].sum() - n * (n + 1) / 2
    return float(u / (n * m))


def shuffled(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column of `rows` permuted on its own (seeded): the marginals, no dependencies."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {c: rng.permutation(rows[c].to_numpy()) for c in rows.columns}, index=rows.index
    )


def known_rows(rows: pd.DataFrame, train: pd.DataFrame) -> pd.Series:
    """Mask of the rows whose every cell is a label the training rows hold in that column.

    Only those can be scored (labels rare in training map to the model's placeholder; a label
    training never saw, in a column that lost no label, is a `ScoreError`).
    """
    mask = pd.Series(True, index=rows.index)
    for c in rows.columns:
        mask &= rows[c].isin(set(train[c].unique()))
    return mask


def rank_scores(
    model: CategoricalVAE, train: pd.DataFrame, held: pd.DataFrame, seed: int = 0
) -> dict[str, Any]:
    """ELBOs of the held-out rows that can be scored vs their shuffled copy; the AUC.

    Returns `auc`, the mean ELBOs, the rows scored and dropped (a label unseen in training),
    and the scoring time.
    """
    mask = known_rows(held, train)
    real = held[mask].reset_index(drop=True)
    fake = shuffled(real, seed)
    start = time.perf_counter()
    s_real = model.score(model.encode(real))
    s_fake = model.score(model.encode(fake))
    seconds = time.perf_counter() - start
    return {
        "auc": auc(s_real, s_fake),
        "mean_elbo_real": float(s_real.mean()),
        "mean_elbo_shuffled": float(s_fake.mean()),
        "rows_scored": len(real),
        "rows_dropped": int((~mask).sum()),
        "score_s": seconds,
        "score_rows_per_s": 2 * len(real) / seconds,
    }


def _table(name: str, quick: bool, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    if name == "digits":
        from benchmarks.digits import load_table, split

        train, held = split(load_table(), seed=seed)
        return train, held, None
    from benchmarks.bayesnet import load_network

    net = load_network(name)
    rows = 2000 if quick else 10_000
    return net.sample(rows, seed=2 * seed + 1), net.sample(rows, seed=2 * seed + 2), net


def run_elbo_auc(
    tables: Sequence[str] = TABLES,
    *,
    quick: bool = False,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """The AUC on each table, for a `CategoricalVAE(seed=seed, **overrides)` fitted with
    `epochs` (None: fit's default; `quick`: 10)."""
    epochs = epochs or (10 if quick else None)
    results = []
    for name in tables:
        train, held, net = _table(name, quick, seed)
        model = CategoricalVAE(seed=seed, **(overrides or {}))
        start = time.perf_counter()
        model.fit(train, epochs=epochs)
        row: dict[str, Any] = {
            "table": name,
            "columns": train.shape[1],
            "train_rows": len(train),
            "epochs": model.metadata["epochs"],
            "train_s": time.perf_counter() - start,
            **rank_scores(model, train, held, seed=seed),
        }
        if net is not None:
            real = held[known_rows(held, train)].reset_index(drop=True)
            fake = shuffled(real, seed)
            codes = net.encode(real), net.encode(fake)
            row["oracle_auc"] = auc(*(net.log_prob(c, floor=False) for c in codes))
            row["oracle_auc_floored"] = auc(*(net.log_prob(c) for c in codes))
        results.append(row)
    return {
        "settings": {
            "tables": list(tables),
            "quick": quick,
            "seed": seed,
            "overrides": overrides or {},
            "epochs": epochs,
        },
        "results": results,
    }
