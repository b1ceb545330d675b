"""Bayesian-network likelihood benchmark, as in the CTGAN paper / SDGym 0.2.0 (issue #5).

For each of pgmpy's bundled asia, alarm, child and insurance networks (and, on request, the
wider hailfinder and water): draw 10k training and 10k test rows from the true network (exact
ancestral sampling, seeded), fit each method on the training rows, draw as many synthetic
rows, and score them:
- L_syn = mean log P_true(synthetic row), each row's probability floored at 1e-8;
- L_test = mean log-likelihood of the test rows under a BN with the TRUE structure whose CPDs
  are fitted on the synthetic rows (pseudocount 0.5 per CPT cell, same 1e-8 floor);
  L_test_raw the same without the floor (finite: the pseudocount leaves no empty cell), the
  figure to read on hailfinder, where every real row is below the floor;
- mean per-column TVD and mean pairwise (all pairs) TVD of synthetic vs test rows, and
  mostlyai-qa's accuracy (1 - TVD over 1-, 2- and 3-way marginals, `metrics.accuracy`);
- privacy (`discrete_gan.privacy`): the exact-copy rate of synthetic rows among the training
  rows, the test rows' own rate (the baseline: real rows repeat too), and the DCR share with
  the test rows as the holdout (0.5 = no memorisation; Identity, a pure copier, shows the
  ceiling the 5,000-row cap allows);
- train wall time (with first epoch = tracing/compilation vs steady-state epoch time) and
  sampling rate (rows/s of `sample(n)` returning a DataFrame, best of 3, after a warm-up).
Rows: Identity (the training rows themselves), independent marginals (each training column
shuffled on its own), our GAN (library defaults; tuned), our VAE (`CategoricalVAE`, library
defaults: `CategoricalVAE(seed=...).fit(df)`), ours through the CLI with no flags (what
`discrete-gan train DATA --name N` gives a user), CTGAN and TabularARGN when available.
The goal (DESIGN.md §6): mean L_test over the four networks within 0.18 nats of Identity's;
for the VAE (issue #11): within 0.25 nats (TVAE, published: 0.51) at no more train time than
the GAN's default row of the same run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from benchmarks.argn_runner import DEFAULT_EPOCHS as DEFAULT_ARGN_EPOCHS
from benchmarks.bayesnet import NETWORKS, Network, load_network
from benchmarks.results import best_of
from discrete_gan import CategoricalGAN, CategoricalVAE
from discrete_gan.config import DEFAULT_EPOCHS, default_epochs
from discrete_gan.metrics import accuracy, fidelity_report
from discrete_gan.privacy import dcr_share, exact_copy_rate
from discrete_gan.vae_config import VAEConfig

__all__ = [
    "METHODS",
    "PUBLISHED",
    "VAE_METHODS",
    "EpochTimes",
    "evaluate",
    "fit_argn",
    "fit_cli",
    "run_bn",
    "run_network",
]

ROOT = Path(__file__).resolve().parent.parent

# SDGym 0.2.0 / CTGAN paper (Xu et al. 2019, Table 2), as (L_syn, L_test).
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "Identity": {
        "asia": (-2.23, -2.24),
        "alarm": (-10.3, -10.3),
        "child": (-12.0, -12.0),
        "insurance": (-12.8, -12.9),
    },
    "CTGAN": {
        "asia": (-2.56, -2.31),
        "alarm": (-14.2, -12.6),
        "child": (-13.4, -12.7),
        "insurance": (-16.5, -14.8),
    },
    "TVAE": {
        "asia": (-2.31, -2.27),
        "alarm": (-11.2, -10.7),
        "child": (-12.3, -12.3),
        "insurance": (-14.7, -14.2),
    },
    "PrivBN": {
        "asia": (-2.28, -2.24),
        "alarm": (-11.9, -10.9),
        "child": (-12.3, -12.2),
        "insurance": (-14.7, -13.6),
    },
}
GAP_GOAL = 0.18  # nats of mean L_test below Identity (DESIGN.md §6)

# Our GAN: (GANConfig overrides, epochs). "default" is the library as a user gets it
# (CategoricalGAN().fit(df) trains 50 epochs). "tuned" was chosen on child and insurance
# (see README.md): a wider generator, the WGAN-GP loss with PacGAN pac=4, 300 epochs.
METHODS: dict[str, tuple[dict[str, Any], int]] = {
    "ours (default)": ({}, DEFAULT_EPOCHS),
    "ours (tuned)": ({"generator_units": (256, 256), "loss": "wgan-gp", "pac": 4}, 300),
}
# Our VAE: (VAEConfig overrides, epochs); epochs None is `fit(df)`'s own default (what a user
# gets: `default_epochs`, 100 epochs at 10k rows).
VAE_METHODS: dict[str, tuple[dict[str, Any], int | None]] = {"vae (default)": ({}, None)}
VAE_GAP_GOAL = 0.25  # nats of mean L_test below Identity (issue #11; TVAE published: 0.51)
QUICK = {"rows": 5000, "epoch_scale": 0.2, "ctgan_epochs": 30, "argn_epochs": 10}
CLI_METHOD = "ours (CLI defaults)"


class EpochTimes(keras.callbacks.Callback):
    """Wall-clock time at the end of each epoch, to split compile time from steady state."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.start, self.ends = time.perf_counter(), []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.ends.append(time.perf_counter())

    def summary(self) -> dict[str, float]:
        ends = np.asarray(self.ends)
        steady = np.diff(ends)
        return {
            "first_epoch_s": float(ends[0] - self.start),
            "steady_epoch_s": float(np.median(steady)) if len(steady) else float("nan"),
        }


def evaluate(
    net: Network, synthetic: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame
) -> dict[str, float]:
    """Likelihoods, TVDs and accuracy of `synthetic` against `test`; privacy against `train`.

    Rows are compared as codes of the network's states (a label the network does not know is
    -1, so it never matches a real row).
    """
    text = synthetic.astype(str)
    report = fidelity_report(test, text, max_pairs=None)
    fitted = net.fit(synthetic)
    codes = {name: net.encode(df) for name, df in (("syn", text), ("train", train), ("test", test))}
    return {
        "L_syn": net.mean_log_likelihood(synthetic),
        "L_test": fitted.mean_log_likelihood(test),
        "L_test_raw": fitted.mean_log_likelihood(test, floor=False),
        "col_tvd": report["mean_column_tvd"],
        "pair_tvd": report["mean_pairwise_tvd"],
        "accuracy": accuracy(test, text)["overall"],
        "copy_rate": exact_copy_rate(codes["syn"], codes["train"]),
        "test_copy_rate": exact_copy_rate(codes["test"], codes["train"]),
        "dcr_share": dcr_share(codes["syn"], codes["train"], codes["test"]),
    }


def independent(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column of `train` permuted on its own: exact marginals, no dependencies."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})


def fit_ours(
    train: pd.DataFrame,
    overrides: dict[str, Any],
    epochs: int | None,
    n: int,
    seed: int,
    family: type = CategoricalGAN,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Trains a `family` model (`CategoricalGAN` or `CategoricalVAE`; `epochs` None is fit's
    own default); returns `n` rows and the timings."""
    model = family(seed=seed, **overrides)
    times = EpochTimes()
    start = time.perf_counter()
    model.fit(train, epochs=epochs, callbacks=[times])
    info: dict[str, Any] = {"train_s": time.perf_counter() - start, "epochs": len(times.ends)}
    info.update(times.summary())
    rows = model.sample(n, seed=seed + 1)  # also compiles the sampler
    info["sample_rows_per_s"] = n / best_of(lambda: model.sample(n, seed=seed + 2))
    return rows, info


def fit_ctgan(
    train: pd.DataFrame, n: int, epochs: int, seed: int, python: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from benchmarks.ctgan_runner import run_ctgan

    rows, rep = run_ctgan(train, n, epochs=epochs, seed=seed, python=python)
    info = {
        "train_s": rep["fit_seconds"],
        "epochs": epochs,
        "steady_epoch_s": rep["seconds_per_epoch"],
        "sample_rows_per_s": n / rep["sample_seconds"],
        "versions": rep["versions"],
    }
    return rows, info


def fit_argn(
    train: pd.DataFrame, n: int, epochs: int, seed: int, python: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from benchmarks.argn_runner import run_argn

    rows, rep = run_argn(train, n, epochs=epochs, seed=seed, python=python)
    info = {
        "train_s": rep["fit_seconds"],
        "epochs": epochs,
        "sample_rows_per_s": n / rep["sample_seconds"],
        "versions": rep["versions"],
    }
    return rows, info


def _run(cmd: list[str], timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    """Runs the CLI from the repository root (so this checkout's code is what runs)."""
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"`{' '.join(cmd[2:4])}` failed (exit {proc.returncode}): {last}")
    return proc, seconds


def fit_cli(
    train: pd.DataFrame,
    n: int,
    seed: int,
    extra_args: Sequence[str] = (),
    timeout: float = 7200,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Ours as a user gets it: `discrete-gan train CSV --name bn` with no other flags.

    The training rows go to a CSV in a temporary folder; `python -m discrete_gan_cli train`
    runs with only `--registry`, `--quiet` and `--no-tensorboard` (`extra_args` exists for
    tests, which need a tiny model; the benchmark passes none), then `sample -n N --seed` writes
    `n` rows to CSV, read back as text. `train_s` is the wall time of the train command
    (start-up, holding out, training, model card); the training seed is fresh, as a user's
    would be, and recorded. `sample_rows_per_s` is measured in-process on the published
    model, as for the library rows; `sample_cli_s` is the sample command's wall time.
    """
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        data, registry, out = Path(tmp) / "train.csv", Path(tmp) / "registry", Path(tmp) / "s.csv"
        train.to_csv(data, index=False)
        cli = [sys.executable, "-m", "discrete_gan_cli"]
        flags = ["--registry", str(registry), "--quiet", "--no-tensorboard", *extra_args]
        proc, train_s = _run([*cli, "train", str(data), "--name", "bn", *flags], timeout)
        _, sample_s = _run(
            [*cli, "sample", "bn", "-n", str(n), "--registry", str(registry), "--seed", str(seed)]
            + ["--out", str(out)],
            timeout,
        )
        rows = pd.read_csv(out, dtype=str, keep_default_na=False)
        version = registry / "bn" / (registry / "bn" / "latest").read_text().strip()
        meta = json.loads((version / "metadata.json").read_text())
        model = CategoricalGAN.load(version)
        model.sample(n, seed=seed + 1)  # compiles the sampler
        rate = n / best_of(lambda: model.sample(n, seed=seed + 2))
    found = re.search(r"^seed: (\d+)$", proc.stderr, re.MULTILINE)
    info: dict[str, Any] = {
        "train_s": train_s,
        "epochs": meta.get("epochs"),
        "fit_s": meta.get("train_seconds"),
        "train_rows": meta.get("train_rows", meta.get("rows")),
        "sample_rows_per_s": rate,
        "sample_cli_s": sample_s,
        "train_seed": int(found.group(1)) if found else None,
        "card_privacy": meta.get("fidelity", {}).get("privacy"),
        "job": meta.get("job"),
    }
    return rows, info


def _attempt(method: str, fit, net: Network, train, test) -> dict[str, Any]:
    """One external method's row, or its error (a missing tool must not sink the run)."""
    try:
        synthetic, info = fit()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return {"method": method, "error": str(e)}
    return {"method": method, **evaluate(net, synthetic, test, train), **info}


def run_network(
    name: str,
    *,
    rows: int = 10_000,
    seed: int = 0,
    epoch_scale: float = 1.0,
    methods: dict[str, tuple[dict[str, Any], int]] | None = None,
    vae_methods: dict[str, tuple[dict[str, Any], int | None]] | None = None,
    ctgan: str | None = None,
    ctgan_epochs: int = 300,
    cli: bool = False,
    cli_args: Sequence[str] = (),
    argn: str | None = None,
    argn_epochs: int = 100,
) -> list[dict[str, Any]]:
    """All methods on one network; one result dict per method.

    `methods` / `vae_methods`: our GAN / VAE rows (None: `METHODS` / `VAE_METHODS`; `{}`:
    none); `epoch_scale` scales their epochs (a VAE row's default epochs too). `ctgan` /
    `argn`: interpreters to run CTGAN / TabularARGN with (None: skip them); `cli` adds the
    no-flags CLI row (`fit_cli`; `cli_args` only for tests).
    """
    net = load_network(name)
    train, test = net.sample(rows, seed=2 * seed + 1), net.sample(rows, seed=2 * seed + 2)
    out = [
        {"method": "Identity", **evaluate(net, train, test, train)},
        {
            "method": "Independent marginals",
            **evaluate(net, independent(train, seed), test, train),
        },
    ]
    for method, (overrides, epochs) in (METHODS if methods is None else methods).items():
        scaled = max(1, round(epochs * epoch_scale))
        synthetic, info = fit_ours(train, overrides, scaled, rows, seed)
        out.append({"method": method, **evaluate(net, synthetic, test, train), **info})
    vaes = VAE_METHODS if vae_methods is None else vae_methods
    for method, (overrides, epochs) in vaes.items():
        if epoch_scale != 1.0:
            steps = -(-len(train) // VAEConfig(**overrides).batch_size)
            epochs = max(1, round((epochs or default_epochs(steps)) * epoch_scale))
        synthetic, info = fit_ours(train, overrides, epochs, rows, seed, family=CategoricalVAE)
        out.append({"method": method, **evaluate(net, synthetic, test, train), **info})
    if cli:
        fit = lambda: fit_cli(train, rows, seed, cli_args)  # noqa: E731
        out.append(_attempt(CLI_METHOD, fit, net, train, test))
    if ctgan:
        fit = lambda: fit_ctgan(train, rows, ctgan_epochs, seed, ctgan)  # noqa: E731
        out.append(_attempt("CTGAN", fit, net, train, test))
    if argn:
        fit = lambda: fit_argn(train, rows, argn_epochs, seed, argn)  # noqa: E731
        out.append(_attempt("TabularARGN", fit, net, train, test))
    for row in out:
        row["network"] = name
    return out


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: means over the networks it ran on, and its gaps to the same run's Identity
    over those networks (L_test, unfloored L_test, L_syn; lower is better)."""
    frame = pd.DataFrame([r for r in results if "L_test" in r])
    identity = frame[frame.method == "Identity"].set_index("network")
    out = []
    for method, group in frame.groupby("method", sort=False):
        nets = list(group.network)
        gap = float(identity.L_test[nets].mean() - group.L_test.mean())
        out.append(
            {
                "method": method,
                "networks": len(nets),
                "mean_L_syn": float(group.L_syn.mean()),
                "mean_L_test": float(group.L_test.mean()),
                "gap_to_identity": gap,
                "L_syn_gap": float(identity.L_syn[nets].mean() - group.L_syn.mean()),
                "L_test_raw_gap": float(identity.L_test_raw[nets].mean() - group.L_test_raw.mean()),
                "meets_gap_goal": _meets(method, gap),
                "mean_col_tvd": float(group.col_tvd.mean()),
                "mean_pair_tvd": float(group.pair_tvd.mean()),
                "mean_accuracy": float(group.accuracy.mean()),
                "mean_copy_rate": float(group.copy_rate.mean()),
                "mean_test_copy_rate": float(group.test_copy_rate.mean()),
                "mean_dcr_share": float(group.dcr_share.mean()),
                "total_train_s": float(group.train_s.sum()) if "train_s" in group else None,
            }
        )
    return out


def _meets(method: str, gap: float) -> bool | None:
    """The method's goal: VAE rows `VAE_GAP_GOAL`, the others `GAP_GOAL` (Identity: none)."""
    if method == "Identity":
        return None
    return gap <= (VAE_GAP_GOAL if method.startswith("vae") else GAP_GOAL)


def run_bn(
    networks: tuple[str, ...] = NETWORKS,
    *,
    quick: bool = False,
    seed: int = 0,
    ctgan: str | None = None,
    ctgan_epochs: int | None = None,
    methods: dict[str, tuple[dict[str, Any], int]] | None = None,
    vae_methods: dict[str, tuple[dict[str, Any], int | None]] | None = None,
    rows: int | None = None,
    cli: bool = False,
    cli_args: Sequence[str] = (),
    argn: str | None = None,
    argn_epochs: int | None = None,
) -> dict[str, Any]:
    """The whole benchmark; `quick` uses 5k rows, 1/5 of the epochs of our library rows, 30
    CTGAN epochs and 10 TabularARGN epochs (the CLI row always runs with no flags)."""
    settings = {
        "rows": rows or (QUICK["rows"] if quick else 10_000),
        "epoch_scale": QUICK["epoch_scale"] if quick else 1.0,
        "ctgan_epochs": ctgan_epochs or (QUICK["ctgan_epochs"] if quick else 300),
        "argn_epochs": argn_epochs or (QUICK["argn_epochs"] if quick else DEFAULT_ARGN_EPOCHS),
    }
    results = []
    for name in networks:
        results += run_network(
            name,
            seed=seed,
            methods=methods,
            vae_methods=vae_methods,
            ctgan=ctgan,
            cli=cli,
            cli_args=cli_args,
            argn=argn,
            **settings,
        )
    return {
        "settings": {
            **settings,
            "quick": quick,
            "seed": seed,
            "networks": list(networks),
            "cli": cli,
            "cli_args": list(cli_args),
            "ctgan": ctgan is not None,
            "argn": argn is not None,
        },
        "methods": {
            m: {"overrides": o, "epochs": e}
            for m, (o, e) in (METHODS if methods is None else methods).items()
        },
        "vae_methods": {
            m: {"overrides": o, "epochs": e}
            for m, (o, e) in (VAE_METHODS if vae_methods is None else vae_methods).items()
        },
        "results": results,
        "summary": summarize(results),
        "published": PUBLISHED,
    }
