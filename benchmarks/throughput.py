"""Throughput (issue #5, item 3): in-process sampling rate and training time per epoch, ours
vs CTGAN's, on the same table (10k rows of pgmpy's `child` network, 20 columns).

Sampling: rows/s of `sample(n)` returning a DataFrame with the original labels (best of 3,
after a warm-up call that compiles), for n = 1 (latency), 1k and 100k; for ours also the raw
int codes (`sampler.sample_codes`), which is what a service streams before decoding.
Training: our steady-state epoch time (median over epochs after the first, which includes
tracing/compilation) and first-epoch time; CTGAN's fit time divided by its epochs (includes
its data-transformer set-up, amortised).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.bayesnet import load_network
from benchmarks.bn_likelihood import EpochTimes
from benchmarks.results import best_of
from discrete_gan import CategoricalGAN

__all__ = ["SIZES", "run_throughput"]

SIZES = (1, 1_000, 100_000)


def _ours(train, epochs: int, seed: int) -> dict[str, Any]:
    model = CategoricalGAN(seed=seed)
    times = EpochTimes()
    start = time.perf_counter()
    model.fit(train, epochs=epochs, callbacks=[times])
    out: dict[str, Any] = {"method": "ours (default)", "epochs": epochs}
    out["train_s"] = time.perf_counter() - start
    out.update(times.summary())
    for n in SIZES:
        model.sample(n, seed=seed)
        out[f"rows_per_s_{n}"] = n / best_of(lambda n=n: model.sample(n, seed=seed + 1))
    model.sampler.sample_codes(SIZES[-1], seed=seed)
    seconds = best_of(lambda: model.sampler.sample_codes(SIZES[-1], seed=seed + 1))
    out["codes_rows_per_s_100000"] = SIZES[-1] / seconds
    return out


def _ctgan(train, epochs: int, seed: int, python: str) -> dict[str, Any]:
    from benchmarks.ctgan_runner import run_ctgan

    _, rep = run_ctgan(train, 1, epochs=epochs, seed=seed, python=python, rate_sizes=SIZES)
    out: dict[str, Any] = {"method": "CTGAN", "epochs": epochs, "train_s": rep["fit_seconds"]}
    out["steady_epoch_s"] = rep["seconds_per_epoch"]
    out["versions"] = rep["versions"]
    for n in SIZES:
        out[f"rows_per_s_{n}"] = n / rep["sample_seconds_by_n"][str(n)]
    return out


def run_throughput(
    *,
    rows: int = 10_000,
    epochs: int = 10,
    ctgan: str | None = None,
    ctgan_epochs: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Sampling rates and epoch times of ours (and CTGAN when `ctgan` names its interpreter)."""
    train = load_network("child").sample(rows, seed=1)
    results = [_ours(train, epochs, seed)]
    if ctgan:
        try:
            results.append(_ctgan(train, ctgan_epochs, seed, ctgan))
        except (RuntimeError, OSError) as e:
            results.append({"method": "CTGAN", "error": str(e)})
    ratios = {}
    if len(results) == 2 and "error" not in results[1]:
        ours, theirs = results
        ratios = {
            f"sampling_speedup_{n}": ours[f"rows_per_s_{n}"] / theirs[f"rows_per_s_{n}"]
            for n in SIZES
        }
        ratios["epoch_time_ratio"] = ours["steady_epoch_s"] / theirs["steady_epoch_s"]
    return {"table": {"network": "child", "rows": rows}, "results": results, "ratios": ratios}
