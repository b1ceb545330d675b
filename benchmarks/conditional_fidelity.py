"""Conditional fidelity and rare categories (issue #6).

    python -m benchmarks.conditional_fidelity [--epochs 100] [--quick]

1. Rare categories: a 6-column table whose columns have categories at 0.1% frequency. Reports
   category coverage of 10k sampled rows and the relative error of each rare category's
   learned probability, for the default model and for training-by-sampling (conditional=True).
2. Conditionals on the `child` Bayesian network (pgmpy's bundled BIF, 10k train / 10k held-out):
   for conditions on a common and a rare label of several columns, the mean over the other
   columns of TVD(P_model(col | cond), P_heldout(col | cond)). Compares exact conditional
   sampling (`sample(where=...)`) of the default and the conditional model with unconditional
   sampling + filtering (same row budget), and reports acceptance rates and time.
Prints a Markdown table and writes JSON + Markdown to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from discrete_gan import CategoricalGAN
from discrete_gan.conditional import ConditionError

RESULTS = Path(__file__).parent / "results"


def rare_table(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """Six dependent columns; each has one category at ~0.1% frequency."""
    rng = np.random.default_rng(seed)
    base = rng.choice(["a", "b", "c", "rare"], size=n, p=[0.5, 0.3, 0.199, 0.001])
    cols = {"base": base}
    for j in range(5):
        common = rng.choice(["x", "y", "z"], size=n, p=[0.6, 0.3, 0.1])
        flip = rng.random(n) < 0.5
        shifted = np.where(base == "a", "x", np.where(base == "b", "y", "z"))
        value = np.where(flip, shifted, common)
        value = np.where(rng.random(n) < 0.001, "rare", value)
        cols[f"c{j}"] = value
    return pd.DataFrame(cols)


def bn_rows(name: str, n: int, seed: int) -> pd.DataFrame:
    import warnings

    import pgmpy
    from pgmpy.readwrite import BIFReader
    from pgmpy.sampling import BayesianModelSampling

    path = Path(pgmpy.__file__).parent / "utils" / "example_models" / f"{name}.bif.gz"
    with gzip.open(path, "rt") as f:
        model = BIFReader(string=f.read()).get_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BayesianModelSampling(model).forward_sample(size=n, seed=seed, show_progress=False)


def conditional_tvd(reference: pd.DataFrame, rows: pd.DataFrame, given: dict) -> float:
    """Mean over non-conditioned columns of TVD between the two frames' conditionals."""
    ref = reference
    for col, label in given.items():
        ref = ref[ref[col] == label]
    tvds = []
    for col in reference.columns:
        if col in given:
            continue
        p = ref[col].value_counts(normalize=True)
        q = rows[col].value_counts(normalize=True)
        labels = p.index.union(q.index)
        tvds.append(
            0.5 * np.abs(p.reindex(labels, fill_value=0) - q.reindex(labels, fill_value=0)).sum()
        )
    return float(np.mean(tvds))


def rare_categories(epochs: int) -> list[dict]:
    df = rare_table()
    out = []
    for label, kwargs in [("default", {}), ("conditional=True", {"conditional": True})]:
        model = CategoricalGAN(seed=0, **kwargs)
        start = time.perf_counter()
        model.fit(df, epochs=epochs)
        fit_s = time.perf_counter() - start
        sample = model.sample(10_000, seed=1)
        probs = model.probabilities()
        coverage = np.mean([sample[c].nunique() / df[c].nunique() for c in df.columns])
        rel = [
            abs(probs[c]["rare"] - (df[c] == "rare").mean()) / (df[c] == "rare").mean()
            for c in df.columns
        ]
        out.append(
            {
                "model": label,
                "fit_s": round(fit_s, 1),
                "coverage_10k_rows": round(float(coverage), 4),
                "rare_rel_error_mean": round(float(np.mean(rel)), 3),
                "rare_rel_error_max": round(float(np.max(rel)), 3),
            }
        )
    return out


def conditionals(epochs: int, n_conditions: int) -> list[dict]:
    train, test = bn_rows("child", 10_000, 0), bn_rows("child", 10_000, 1)
    rng = np.random.default_rng(0)
    conditions = []
    for col in rng.choice(train.columns, size=n_conditions, replace=False):
        freq = train[col].value_counts(normalize=True)
        conditions += [{col: freq.index[0]}, {col: freq.index[-1]}]
    models = {}
    for label, kwargs in [("default", {}), ("conditional=True", {"conditional": True})]:
        models[label] = CategoricalGAN(seed=0, **kwargs)
        models[label].fit(train, epochs=epochs)
    out = []
    for given in conditions:
        support = int((test[list(given)[0]] == list(given.values())[0]).sum())
        row = {"condition": json.dumps(given), "heldout_rows": support}
        for label, model in models.items():
            start = time.perf_counter()
            result = model.sample_where(2000, given, seed=2)
            rows = model.schema.decode(result.codes)
            row[f"{label} tvd"] = round(conditional_tvd(test, rows, given), 4)
            row[f"{label} accept"] = round(result.acceptance_rate, 4)
            row[f"{label} s"] = round(time.perf_counter() - start, 2)
        plain = models["default"].sample(20_000, seed=3)
        for col, value in given.items():
            plain = plain[plain[col] == value]
        row["filter 20k rows kept"] = len(plain)
        row["filter tvd"] = round(conditional_tvd(test, plain, given), 4) if len(plain) else None
        out.append(row)
    return out


def to_markdown(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--conditions", type=int, default=4, help="columns to condition on")
    parser.add_argument("--quick", action="store_true", help="5 epochs, 2 columns")
    args = parser.parse_args(argv)
    epochs = 5 if args.quick else args.epochs
    n_cond = 2 if args.quick else args.conditions
    try:
        rare = rare_categories(epochs)
        cond = conditionals(epochs, n_cond)
    except ConditionError as e:
        print(f"error: {e}")
        return 1
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "epochs": epochs,
        "load_avg": os.getloadavg(),
    }
    md = (
        f"# Conditional fidelity ({meta['date']}, {meta['backend']}, {meta['machine']})\n\n"
        f"## Rare categories (0.1% frequency)\n\n{to_markdown(rare)}\n\n"
        f"## Conditionals on child (mean TVD of P(col | cond) vs held-out rows)\n\n"
        f"{to_markdown(cond)}\n"
    )
    print(md)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"conditional_fidelity_{meta['backend']}"
    stem.with_suffix(".md").write_text(md)
    stem.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "rare": rare, "conditionals": cond}, indent=2, default=str)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
