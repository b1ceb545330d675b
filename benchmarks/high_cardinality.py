"""High-cardinality benchmark (issue #15): an ID-like `sku` column beside TabularARGN and CTGAN.

`python -m benchmarks.high_cardinality` (or `python -m benchmarks hc`) generates a seeded shop
table (`make_table`), splits it 70/30 into training and held-out rows, and runs each method in
a child process with a wall-clock limit:

- `ours`: the real CLI with its defaults, `discrete-gan train TRAIN.csv --name hc --registry
  DIR --quiet --no-tensorboard` (no progress bar, no TensorBoard files; no tuning flag, so it
  follows the CLI's defaults, including its 10% holdout), then `discrete-gan sample hc -n N
  --seed 0 --out S.csv`. A third child times the library: the published model's sampling rate
  (best of 3 in-process, as for the peers) and the training step time (ms/step, median over
  `--step-steps` steps after `--step-warmup`, library defaults = the CLI's model defaults) on
  the training table and on the same table with `sku` capped at `--sku-cap` labels.
- `argn`: TabularARGN through `benchmarks.argn_runner` (its defaults: value protection on,
  max_epochs 100, every column TABULAR_CATEGORICAL).
- `ctgan`: CTGAN through `benchmarks.ctgan_runner` (its defaults: 300 epochs), where installed.
- `identity`: a seeded sample of the training rows themselves (the floor of every figure).

Peak RSS is the largest sum of the resident memory of the child and its descendants, polled
every 0.2 s with psutil. Figures against the held-out rows: see `evaluate`. With
`--subsample N`, every method also runs on a seeded N-row subsample of the same table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("ours", "argn", "ctgan", "identity")
COLUMNS = (
    "sku",
    "category",
    "brand",
    "store",
    "channel",
    "segment",
    "price_band",
    "discount",
    "payment",
    "quantity",
)
HIGH = ("sku", "category", "brand", "store")  # the many-label columns
REFERENCE = "held-out rows (reference)"
DETERMINED = (("sku", "category"), ("sku", "brand"))
PLACEHOLDERS = ("_RARE_",)  # ours' and TabularARGN's value-protection placeholder
SKU_EXPONENT = 1.1  # Zipf exponent of sku (ranks 1..K, p ∝ r^-1.1)
STORE_EXPONENT = 1.0  # Zipf exponent of store
ORDINARY = {
    "channel": ["web", "shop", "app"],
    "segment": ["budget", "mainstream", "premium", "luxury"],
    "price_band": [f"p{i}" for i in range(1, 9)],
    "discount": ["0%", "5%", "10%", "20%", "50%"],
    "payment": ["card", "cash", "paypal", "voucher", "transfer", "invoice"],
    "quantity": [str(i) for i in range(1, 13)],
}

__all__ = ["cap_ranks", "evaluate", "main", "make_table", "run_child", "split"]


# ------------------------------------------------------------------ the table
def _zipf(rng: np.random.Generator, labels: int, exponent: float, size: int) -> np.ndarray:
    """`size` ranks in 0 .. labels - 1 with P(rank r) ∝ (r + 1) ** -exponent (truncated Zipf)."""
    weights = np.arange(1, labels + 1, dtype=np.float64) ** -exponent
    return rng.choice(labels, size=size, p=weights / weights.sum())


def _cpt(rng: np.random.Generator, parents: int, labels: int) -> np.ndarray:
    """A conditional table `(parents, labels)`, rows from Dirichlet(0.5): peaked, so the child
    column depends visibly on its parents."""
    return rng.dirichlet(np.full(labels, 0.5), size=parents)


def _draw(rng: np.random.Generator, cpt: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """One label per row from row `parent[i]` of `cpt`, by inverse CDF on the flattened
    cumulative table (each row shifted by its index, so one searchsorted serves all rows)."""
    k = cpt.shape[1]
    cum = np.cumsum(cpt, axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(len(cpt))[:, None]).ravel()
    u = rng.random(len(parent))
    return np.searchsorted(flat, parent + u, side="right") - parent * k


def cap_ranks(ranks: np.ndarray, cap: int | None) -> np.ndarray:
    """sku ranks with every rank >= `cap` mapped to `rank % cap` (one of the top `cap`)."""
    return ranks if cap is None else np.where(ranks < cap, ranks, ranks % cap)


def make_table(
    rows: int,
    *,
    sku_labels: int = 100_000,
    category_labels: int = 500,
    brand_labels: int = 5000,
    store_labels: int = 2000,
    seed: int = 0,
    sku_cap: int | None = None,
) -> pd.DataFrame:
    """The shop table of issue #15, a pure function of its arguments (all labels strings).

    - `sku`: truncated Zipf over `sku_labels` ranks, exponent 1.1: a long tail, as in a real
      catalogue (at 100k labels the top sku is 13% of the rows, and about a third of the
      labels do not occur in 1M rows). Label names are a seeded permutation of the ranks.
    - `category` (`category_labels`) and `brand` (`brand_labels`): fixed per sku (each sku
      gets a uniform category and brand once): sku -> category and sku -> brand hold exactly.
    - `store`: truncated Zipf over `store_labels`, exponent 1.0, independent of sku.
    - Six ordinary columns, a small Bayesian network with Dirichlet(0.5) tables: channel (3) |
      store; segment (4) | category; price_band (8) | segment; discount (5) | price_band,
      channel; payment (6) | channel; quantity (12) | discount, segment.

    `sku_cap`: the same rows with every sku rank >= cap mapped to one of the top `cap`
    (`cap_ranks`), and category, brand and the columns below them derived from the capped
    sku (the determinations still hold; the random draws are the same).
    """
    catalogue, draws = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    sku_names = np.array([f"sku{i:06d}" for i in catalogue.permutation(sku_labels)], dtype=object)
    store_names = np.array([f"store{i:04d}" for i in catalogue.permutation(store_labels)], object)
    category_of = catalogue.integers(0, category_labels, sku_labels)
    brand_of = catalogue.integers(0, brand_labels, sku_labels)
    k = {name: len(labels) for name, labels in ORDINARY.items()}
    cpts = {
        "channel": _cpt(catalogue, store_labels, k["channel"]),
        "segment": _cpt(catalogue, category_labels, k["segment"]),
        "price_band": _cpt(catalogue, k["segment"], k["price_band"]),
        "discount": _cpt(catalogue, k["price_band"] * k["channel"], k["discount"]),
        "payment": _cpt(catalogue, k["channel"], k["payment"]),
        "quantity": _cpt(catalogue, k["discount"] * k["segment"], k["quantity"]),
    }
    sku = cap_ranks(_zipf(draws, sku_labels, SKU_EXPONENT, rows), sku_cap)
    store = _zipf(draws, store_labels, STORE_EXPONENT, rows)
    category, brand = category_of[sku], brand_of[sku]
    channel = _draw(draws, cpts["channel"], store)
    segment = _draw(draws, cpts["segment"], category)
    price_band = _draw(draws, cpts["price_band"], segment)
    discount = _draw(draws, cpts["discount"], price_band * k["channel"] + channel)
    payment = _draw(draws, cpts["payment"], channel)
    quantity = _draw(draws, cpts["quantity"], discount * k["segment"] + segment)
    codes = {
        "channel": channel,
        "segment": segment,
        "price_band": price_band,
        "discount": discount,
        "payment": payment,
        "quantity": quantity,
    }
    out = {
        "sku": sku_names[sku],
        "category": np.array([f"cat{i:03d}" for i in range(category_labels)], object)[category],
        "brand": np.array([f"brand{i:04d}" for i in range(brand_labels)], object)[brand],
        "store": store_names[store],
    }
    out.update({c: np.array(ORDINARY[c], dtype=object)[codes[c]] for c in ORDINARY})
    return pd.DataFrame(out, columns=list(COLUMNS))


def split(df: pd.DataFrame, seed: int, holdout: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded split into (training rows, held-out rows), `holdout` of them held out."""
    held = np.zeros(len(df), dtype=bool)
    held[np.random.default_rng(seed).permutation(len(df))[: round(len(df) * holdout)]] = True
    return df[~held].reset_index(drop=True), df[held].reset_index(drop=True)


# ------------------------------------------------------------------ child processes
@dataclass
class ChildRun:
    """A finished (or killed) child: exit code, wall time, peak RSS of its process tree."""

    returncode: int | None
    seconds: float
    peak_rss_mb: float | None
    timed_out: bool
    stderr_tail: str
    marks: list[float] = field(default_factory=list)  # seconds at which `watch` grew

    def error(self) -> str | None:
        """None when it finished with exit code 0, else what to report."""
        if self.timed_out:
            return f"did not finish in {self.seconds / 60:.0f} min (killed)"
        if self.returncode != 0:
            lines = [x for x in self.stderr_tail.strip().splitlines() if x.strip()]
            return f"exit {self.returncode}: {lines[-1] if lines else 'no output'}"
        return None


def _tree_rss(proc: Any) -> int:
    import psutil

    gone = (psutil.NoSuchProcess, psutil.AccessDenied)
    total = 0
    with contextlib.suppress(*gone):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(*gone):  # a process may end between the two calls
                total += p.memory_info().rss
    return total


def run_child(
    cmd: Sequence[str],
    timeout: float,
    *,
    watch: Callable[[], int] | None = None,
    poll: float = 0.2,
) -> ChildRun:
    """Runs `cmd` from the repository root (this checkout first on PYTHONPATH), polling the
    RSS of its process tree (psutil; None without it) every `poll` s, and kills its process
    group after `timeout` s. `watch`, if given, is called at each poll; the times at which
    its value grows are returned as `marks` (used to time the CLI's epochs from its log)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with the dev environment
        psutil = None
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            list(cmd),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its own process group: a timeout kills all of it
        )
        handle = psutil.Process(proc.pid) if psutil is not None else None
        peak, seen, marks, timed_out = 0, 0, [], False
        while proc.poll() is None:
            if handle is not None:
                peak = max(peak, _tree_rss(handle))
            if watch is not None and (now := watch()) > seen:
                seen = now
                marks.append(time.monotonic() - start)
            if time.monotonic() - start > timeout:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):  # it may have just ended
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(poll)
        seconds = time.monotonic() - start
        if watch is not None and (now := watch()) > seen:
            marks.append(seconds)
        err.seek(0)
        tail = err.read()[-4000:].decode(errors="replace")
    return ChildRun(
        returncode=proc.returncode,
        seconds=seconds,
        peak_rss_mb=round(peak / 2**20, 1) if handle is not None else None,
        timed_out=timed_out,
        stderr_tail=tail,
        marks=marks,
    )


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _lines(path: Path) -> Callable[[], int]:
    def count() -> int:
        try:
            with open(path, "rb") as f:
                return max(0, f.read().count(b"\n") - 1)  # less the header
        except OSError:
            return 0

    return count


# ------------------------------------------------------------------ the methods
def _ours(
    paths: dict[str, Path], train_rows: int, n: int, args: argparse.Namespace, tmp: Path
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    registry, out = tmp / "registry", tmp / "ours.csv"
    cli = [sys.executable, "-m", "discrete_gan_cli"]
    flags = ["--registry", str(registry), "--quiet", "--no-tensorboard"]
    if args.epochs is not None:
        flags += ["--epochs", str(args.epochs)]
    log = registry / "hc" / ".logs" / "training_log.csv"
    train = run_child(
        [*cli, "train", str(paths["train"]), "--name", "hc", *flags],
        args.ours_timeout_min * 60,
        watch=_lines(log),
    )
    info: dict[str, Any] = {
        "train_s": train.seconds,
        "peak_rss_mb": train.peak_rss_mb,
        "epochs": len(train.marks),
    }
    info.update(_cli_epoch_time(train.marks, train_rows))
    problem = train.error()
    rows = None
    model_dir = None
    if problem is None:
        version = (registry / "hc" / "latest").read_text().strip()
        model_dir = registry / "hc" / version
        meta = json.loads((model_dir / "metadata.json").read_text())
        info.update(epochs=meta.get("epochs"), train_rows=meta.get("train_rows"))
        sample = run_child(
            [*cli, "sample", "hc", "-n", str(n), "--registry", str(registry), "--seed", "0"]
            + ["--out", str(out)],
            args.sample_timeout_min * 60,
        )
        info["cli_sample_s"] = sample.seconds
        problem = sample.error()
        if problem is None:
            rows = _read(out)
            info["cli_sample_rows_per_s"] = n / sample.seconds
    info["status"] = "ok" if problem is None else problem
    extras = _ours_extras(paths, n, model_dir, args, tmp)
    info.update(extras)
    return rows, info


def _cli_epoch_time(marks: list[float], rows: int) -> dict[str, Any]:
    """ms/step of the CLI run from the times its CSV log gained a line (one per epoch end):
    the median gap between consecutive epoch ends over the steps per epoch. It includes what
    the job does each epoch besides the steps (fidelity monitor, checkpoints)."""
    if len(marks) < 2:
        return {"cli_epoch_s": None, "cli_ms_per_step": None}
    from training.config import JobConfig

    job = JobConfig()
    steps = math.ceil((rows - round(rows * job.holdout)) / job.model.batch_size)
    epoch = statistics.median(np.diff(marks).tolist())
    return {"cli_epoch_s": epoch, "cli_ms_per_step": 1000 * epoch / steps, "steps_per_epoch": steps}


def _ours_extras(
    paths: dict[str, Path],
    n: int,
    model_dir: Path | None,
    args: argparse.Namespace,
    tmp: Path,
) -> dict[str, Any]:
    """Step times (library, both tables) and the published model's in-process sampling rate."""
    report = tmp / "extras.json"
    cmd = [sys.executable, "-m", "benchmarks.high_cardinality", "_extras", str(report)]
    for csv in dict.fromkeys([paths["train"], paths["capped"]]):  # once if the same
        cmd += ["--step-csv", str(csv)]
    cmd += ["--steps", str(args.step_steps), "--warmup", str(args.step_warmup)]
    if model_dir is not None:
        cmd += ["--model", str(model_dir), "--n", str(n)]
    run = run_child(cmd, 3 * args.sample_timeout_min * 60)  # two step timings, one sampling
    data = json.loads(report.read_text()) if report.exists() else {}
    steps = data.get("steps", {})
    full = steps.get(str(paths["train"]), {})
    capped = steps.get(str(paths["capped"]), {})
    out = {
        "ms_per_step": full.get("ms_per_step"),
        "ms_per_step_capped": capped.get("ms_per_step"),
        "step_error": full.get("error") or capped.get("error") or run.error(),
        "generator_params": full.get("generator_params"),
        "generator_params_capped": capped.get("generator_params"),
        "sample_rows_per_s": data.get("sample_rows_per_s"),
    }
    if out["ms_per_step"] and out["ms_per_step_capped"]:
        out["step_ratio"] = out["ms_per_step"] / out["ms_per_step_capped"]
    return out


def _extras_child(argv: list[str]) -> int:
    """`_extras REPORT.json --step-csv CSV ... --steps S --warmup W [--model DIR --n N]`."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.high_cardinality _extras")
    p.add_argument("report", type=Path)
    p.add_argument("--step-csv", action="append", default=[])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--model", default=None)
    p.add_argument("--n", type=int, default=0)
    args = p.parse_args(argv)

    import keras

    from benchmarks.results import best_of
    from discrete_gan import CategoricalGAN, GANConfig

    result: dict[str, Any] = {"steps": {}}

    def save() -> None:
        args.report.write_text(json.dumps(result))

    class Clock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.ends.append(time.perf_counter())

    for csv in args.step_csv:
        try:
            model = CategoricalGAN(GANConfig(), seed=0)  # the CLI's model defaults, no cap
            table = model.encode(_read(Path(csv)))
            clock = Clock()
            model.fit(table, epochs=1, steps_per_epoch=args.warmup + args.steps, callbacks=[clock])
            gaps = np.diff(clock.ends)[args.warmup - 1 :] if args.warmup else np.diff(clock.ends)
            result["steps"][csv] = {
                "ms_per_step": 1000 * float(np.median(gaps)),
                "steps_timed": len(gaps),
                "labels": dict(zip(model.schema.names, model.schema.cardinalities)),
                "generator_params": int(model.generator.count_params()),
            }
        except Exception as e:  # noqa: BLE001 - reported, e.g. out of memory at 100k labels
            result["steps"][csv] = {"error": f"{type(e).__name__}: {e}"[:500]}
        save()
    if args.model:
        model = CategoricalGAN.load(args.model)
        model.sample(args.n, seed=1)  # compiles the sampler
        result["sample_rows_per_s"] = args.n / best_of(lambda: model.sample(args.n, seed=2))
        save()
    return 0


def _peer(
    name: str,
    python: str,
    paths: dict[str, Path],
    n: int,
    epochs: int | None,
    args: argparse.Namespace,
    tmp: Path,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """TabularARGN or CTGAN through its runner's child side, timed and memory-polled."""
    out, report = tmp / f"{name}.csv", tmp / f"{name}.json"
    cmd = [python, "-m", f"benchmarks.{name}_runner", str(paths["train"]), str(out), str(report)]
    cmd += ["--n", str(n), "--seed", "0"]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    run = run_child(cmd, (args.timeout_min + args.sample_timeout_min) * 60)
    info: dict[str, Any] = {"peak_rss_mb": run.peak_rss_mb, "child_s": run.seconds}
    problem = run.error()
    if run.timed_out:
        problem = (
            f"did not finish in {args.timeout_min} min (+{args.sample_timeout_min} min for "
            "sampling; killed)"
        )
    info["status"] = "ok" if problem is None else problem
    if problem is not None:
        return None, info
    rep = json.loads(report.read_text())
    info.update(
        train_s=rep["fit_seconds"],
        epochs=rep.get("epochs"),
        sample_rows_per_s=n / rep["sample_seconds"],
        versions=rep.get("versions"),
    )
    return _read(out), info


# ------------------------------------------------------------------ the figures
def _codes(frames: Sequence[pd.DataFrame]) -> list[np.ndarray]:
    """Shared int codes per column across `frames` (first frame's labels first)."""
    stacked = pd.concat([f[list(COLUMNS)] for f in frames], ignore_index=True)
    codes = np.stack([pd.factorize(stacked[c])[0] for c in COLUMNS], axis=1)
    bounds = np.cumsum([0, *(len(f) for f in frames)])
    return [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def evaluate(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, tvd: bool = True
) -> dict[str, Any]:
    """Figures of `synthetic` (same columns) against the held-out and the training rows.

    - `col_tvd` / `pair_tvd`: mean TVD over columns / over all 45 column pairs against the
      held-out rows; `col_tvd_sku` sku's own; `pair_tvd_low`: mean over the 15 pairs of the
      six ordinary columns (whose sampling noise is small); `pair_tvd_dep`: the two pairs
      store-channel and category-segment (the dependencies that cross into them).
    - `top100_sku`: share of the training rows' 100 most frequent skus present.
    - `det_sku_category`, `det_sku_brand`: determination consistency (threshold 0.99) against
      the training rows; `det_evaluable`: share of synthetic rows whose sku qualifies (the
      sku -> category figure's coverage; sku -> brand's is the same on this table).
    - `rare5`: share of emitted cells (all columns) whose label occurs < 5 times in training;
      `rare5_sku` for sku alone; `unseen_sku`: share of sku cells absent from training.
    - `copy_rate`: share of rows found verbatim among the training rows.

    `tvd=False` leaves the TVDs out (for the held-out rows themselves).
    """
    from discrete_gan.metrics import (
        column_tvd,
        determination_consistency,
        pairwise_tvd,
        rare_label_share,
        top_label_coverage,
    )
    from discrete_gan.privacy import exact_copy_rate

    cols = list(COLUMNS)
    synthetic = synthetic[cols]
    det = determination_consistency(train, synthetic, pairs=DETERMINED)
    rare = rare_label_share(train, synthetic, min_count=5, columns=cols)
    # the placeholder is none of the data's labels (unless training holds it), so `rare` counts it
    held = {
        c: float((synthetic[c].isin(PLACEHOLDERS) & ~train[c].isin(PLACEHOLDERS).any()).mean())
        for c in cols
    }
    syn_codes, train_codes = _codes([synthetic, train])
    out: dict[str, Any] = {}
    if tvd:
        col = column_tvd(holdout, synthetic, cols)
        pairs = pairwise_tvd(holdout, synthetic, cols)
        ordinary = list(ORDINARY)
        low = [v for (a, b), v in pairs.items() if a in ordinary and b in ordinary]
        dep = [pairs[("store", "channel")], pairs[("category", "segment")]]
        out = {
            "col_tvd": float(np.mean(list(col.values()))),
            "col_tvd_sku": col["sku"],
            "pair_tvd": float(np.mean(list(pairs.values()))),
            "pair_tvd_low": float(np.mean(low)),
            "pair_tvd_dep": float(np.mean(dep)),
            "column_tvd": col,
        }
    return {
        **out,
        "top100_sku": top_label_coverage(train, synthetic, "sku", top=100),
        "det_sku_category": det[("sku", "category")]["consistency"],
        "det_sku_brand": det[("sku", "brand")]["consistency"],
        "det_evaluable": det[("sku", "category")]["coverage"],
        "rare5": float(np.mean(list(rare.values()))),
        "rare5_sku": rare["sku"],
        "rare5_labels": float(np.mean([rare[c] - held[c] for c in cols])),
        "placeholder": float(np.mean(list(held.values()))),
        "unseen_sku": rare_label_share(train, synthetic, min_count=1, columns=["sku"])["sku"],
        "copy_rate": exact_copy_rate(syn_codes, train_codes),
        "determination": {f"{a}->{b}": v for (a, b), v in det.items()},
    }


# ------------------------------------------------------------------ one table
def run_table(
    table: pd.DataFrame,
    capped: pd.DataFrame,
    args: argparse.Namespace,
    label: str,
) -> dict[str, Any]:
    """Every chosen method on one table; returns the rows of the results tables."""
    from discrete_gan.metrics import determined_pairs

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    train, holdout = split(table, args.seed)
    capped_train, _ = split(capped, args.seed)
    n = args.sample_rows or len(holdout)
    reference = {
        "method": REFERENCE,
        "status": "ok",
        **evaluate(train, holdout, holdout, tvd=False),
    }
    results: list[dict[str, Any]] = [reference]
    with tempfile.TemporaryDirectory(prefix="hc-bench-") as tmpdir:
        tmp = Path(tmpdir)
        paths = {"train": tmp / "train.csv", "capped": tmp / "train_capped.csv"}
        train.to_csv(paths["train"], index=False)
        if capped_train.equals(train):  # sku has no more labels than the cap: time it once
            paths["capped"] = paths["train"]
        else:
            capped_train.to_csv(paths["capped"], index=False)
        for method in methods:
            print(f"[{label}] {method} ...", file=sys.stderr, flush=True)
            rows, info = _method(method, paths, train, n, args, tmp)
            row = {"method": method, **info}
            if rows is not None:
                try:
                    row.update(evaluate(train, holdout, rows))
                except (KeyError, ValueError) as e:
                    row["status"] = f"evaluation failed: {e}"
            results.append(row)
    return {
        "label": label,
        "rows": len(table),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "synthetic_rows": n,
        "labels": {c: int(table[c].nunique()) for c in COLUMNS},
        "train_labels": {c: int(train[c].nunique()) for c in HIGH},
        "capped_sku_labels": int(capped["sku"].nunique()),
        "determined_pairs": [f"{a}->{b}" for a, b in determined_pairs(train)],
        "holdout_copy_rate": reference["copy_rate"],
        "results": results,
    }


def _method(
    method: str,
    paths: dict[str, Path],
    train: pd.DataFrame,
    n: int,
    args: argparse.Namespace,
    tmp: Path,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    if method == "identity":
        rows = train.sample(n=min(n, len(train)), random_state=args.seed, replace=n > len(train))
        return rows.reset_index(drop=True), {"status": "ok"}
    if method == "ours":
        return _ours(paths, len(train), n, args, tmp)
    from benchmarks.argn_runner import argn_python
    from benchmarks.ctgan_runner import ctgan_python

    if method == "argn":
        python, epochs, flag = argn_python(args.argn_python), args.argn_epochs, "--argn-python"
    else:
        python, epochs, flag = ctgan_python(args.ctgan_python), args.ctgan_epochs, "--ctgan-python"
    if python is None:
        return None, {"status": f"not installed (pass {flag} PATH)"}
    return _peer(method, python, paths, n, epochs, args, tmp)


# ------------------------------------------------------------------ report
COST = [
    "method",
    "status",
    "train_s",
    "epochs",
    "peak_rss_mb",
    "ms_per_step",
    "ms_per_step_capped",
    "step_ratio",
    "cli_ms_per_step",
    "sample_rows_per_s",
    "cli_sample_rows_per_s",
]
FIDELITY = [
    "method",
    "col_tvd",
    "col_tvd_sku",
    "pair_tvd",
    "pair_tvd_low",
    "pair_tvd_dep",
    "top100_sku",
    "det_sku_category",
    "det_sku_brand",
    "det_evaluable",
    "rare5",
    "rare5_sku",
    "rare5_labels",
    "placeholder",
    "unseen_sku",
    "copy_rate",
]


def sections(runs: Sequence[dict[str, Any]], args: argparse.Namespace) -> list[tuple[str, str]]:
    from benchmarks.results import markdown_table

    out = []
    for run in runs:
        head = (
            f"{run['rows']:,} rows ({run['train_rows']:,} training, {run['holdout_rows']:,} "
            f"held out; {run['synthetic_rows']:,} synthetic rows per method); labels "
            + ", ".join(f"{c} {k:,}" for c, k in run["labels"].items())
            + f". Step time also on sku capped at {args.sku_cap:,} labels "
            f"({run['capped_sku_labels']:,} present). "
            f"Determined pairs found in training: {', '.join(run['determined_pairs']) or 'none'}."
        )
        errors = [
            f"- {r['method']}: step time: {r['step_error']}"
            for r in run["results"]
            if r.get("step_error")
        ]
        trained = [r for r in run["results"] if r["method"] not in ("identity", REFERENCE)]
        cost = markdown_table(trained, COST)
        fid = markdown_table(run["results"], FIDELITY)
        text = f"{head}\n\n{cost}\n\n{fid}"
        if errors:
            text += "\n\n" + "\n".join(errors)
        out.append((run["label"], text))
    out.append(("How to read it", _READING.format(timeout=args.timeout_min)))
    return out


_READING = """\
- `train_s`: wall time of training (ours: the whole `train` command, start-up and model card
  included; peers: their `fit`). `peak_rss_mb`: the largest resident memory of the training
  child's process tree (peers: fit and sampling in one child). A method that runs past its
  limit ({timeout:g} min for training) is killed and reported as such.
- `ms_per_step` / `ms_per_step_capped`: our training step (library, CLI's model defaults,
  batch 512; median over timed steps) on this table and on the same table with sku capped;
  `step_ratio` = their ratio. `cli_ms_per_step`: the CLI run's median epoch (from its log)
  over its steps per epoch, per-epoch work included.
- `sample_rows_per_s`: in-process sampling rate (best of 3) of the synthetic row count;
  `cli_sample_rows_per_s`: the `discrete-gan sample` command end to end (start-up, CSV).
- TVDs against the held-out rows: `col_tvd` mean over the 10 columns, `col_tvd_sku` sku's;
  `pair_tvd` mean over the 45 pairs, `pair_tvd_low` over the 15 pairs of ordinary columns,
  `pair_tvd_dep` store-channel and category-segment. Identity is the sampling-noise floor.
- `top100_sku`: share of the 100 most frequent training skus that the rows contain.
- `det_sku_category` / `det_sku_brand`: over the rows whose sku qualifies (in training, its
  most frequent category / brand covers >= 99% of its rows; every sku here), the share whose
  category / brand is that one; `det_evaluable`: the share of rows whose sku qualifies.
- `rare5`: share of emitted cells whose label occurs fewer than 5 times in training (labels
  absent from training included; e.g. a value-protection placeholder), `rare5_sku` for sku;
  `rare5_labels`: the same with the placeholder (`_RARE_`, ours and TabularARGN's) left out,
  i.e. real labels seen fewer than 5 times; `placeholder`: share of cells that are it;
  `unseen_sku`: sku labels absent from training. `copy_rate`: rows found verbatim among the
  training rows; the held-out row gives the held-out rows' own rate, the level to compare.
"""


# ------------------------------------------------------------------ command line
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.high_cardinality", description=__doc__.splitlines()[0]
    )
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--sku-labels", type=int, default=100_000)
    p.add_argument("--category-labels", type=int, default=500)
    p.add_argument("--brand-labels", type=int, default=5000)
    p.add_argument("--store-labels", type=int, default=2000)
    p.add_argument("--sku-cap", type=int, default=1000, help="sku labels of the step-time table")
    p.add_argument(
        "--subsample",
        type=int,
        default=200_000,
        help="also run every method on a seeded subsample of this many rows (0: off)",
    )
    p.add_argument("--methods", default=",".join(METHODS), help="default: %(default)s")
    p.add_argument("--seed", type=int, default=0, help="table, split and sampling seed")
    p.add_argument(
        "--sample-rows", type=int, default=None, help="synthetic rows (default: held-out rows)"
    )
    p.add_argument("--epochs", type=int, default=None, help="ours (default: the CLI's)")
    p.add_argument("--argn-python", default=None)
    p.add_argument("--argn-epochs", type=int, default=None, help="default: TabularARGN's 100")
    p.add_argument("--ctgan-python", default=None)
    p.add_argument("--ctgan-epochs", type=int, default=None, help="default: CTGAN's 300")
    p.add_argument("--timeout-min", type=float, default=30, help="training limit per method")
    p.add_argument(
        "--ours-timeout-min", type=float, default=None, help="ours (default: --timeout-min)"
    )
    p.add_argument(
        "--sample-timeout-min", type=float, default=10, help="added for sampling (default 10)"
    )
    p.add_argument("--step-steps", type=int, default=50, help="timed training steps")
    p.add_argument("--step-warmup", type=int, default=5, help="steps before timing")
    p.add_argument("--tag", default="", help="suffix for the results file names")
    p.add_argument("--note", default=None, help="free text stored with the results")
    p.add_argument("--out", type=Path, default=None, help="results folder")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_extras"]:
        return _extras_child(argv[1:])
    args = _parser().parse_args(argv)
    chosen = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(METHODS))
    if unknown or not chosen:
        print(
            f"error: Invalid value for `--methods`. Expected a comma-separated subset of "
            f"{','.join(METHODS)}. Received: {args.methods!r}",
            file=sys.stderr,
        )
        return 1
    if args.ours_timeout_min is None:
        args.ours_timeout_min = args.timeout_min
    from benchmarks.results import write_results

    spec = {
        "sku_labels": args.sku_labels,
        "category_labels": args.category_labels,
        "brand_labels": args.brand_labels,
        "store_labels": args.store_labels,
        "seed": args.seed,
    }
    table = make_table(args.rows, **spec)
    capped = make_table(args.rows, **spec, sku_cap=args.sku_cap)
    runs = [run_table(table, capped, args, f"{args.rows:,} rows")]
    if 0 < args.subsample < args.rows:
        pick = np.sort(np.random.default_rng(args.seed).choice(args.rows, args.subsample, False))
        runs.append(
            run_table(
                table.iloc[pick].reset_index(drop=True),
                capped.iloc[pick].reset_index(drop=True),
                args,
                f"{args.subsample:,}-row subsample",
            )
        )
    data = {
        "table": {**spec, "rows": args.rows, "sku_cap": args.sku_cap, "subsample": args.subsample},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "runs": runs,
    }
    md, _ = write_results(
        "high_cardinality" + args.tag,
        "High-cardinality columns (issue #15)",
        sections(runs, args),
        data,
        out_dir=args.out,
        note=args.note,
    )
    print(md.read_text())
    print(f"written: {md}, {md.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
