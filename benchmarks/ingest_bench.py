"""Training input at scale: peak RSS of `discrete-gan train` on a large CSV, and ingest rows/s.

    python -m benchmarks.ingest_bench [--rows 10000000] [--columns 20] [--steps-per-epoch 5]
        [--dataframe]

Writes a seeded CSV of `--rows` rows and `--columns` categorical columns (2 to 900 labels
per column, some cells empty; about 1 GB at 10M x 20) into a temporary directory, then:

1. ingest: `training.data.encode_table` on it in this process (wall time -> rows/s, and the
   growth of this process's peak RSS); with `--dataframe` also the in-memory DataFrame path
   (`load_table` + `select_columns` + `CategoricalGAN.encode`) for comparison (small sizes
   only: it holds every label as a Python string);
2. train: `python -m training train FILE --epochs 1 --steps-per-epoch S` in a child process,
   whose peak RSS is its own high-water mark (`VmHWM`, see `training_peak_rss`). Goal:
   <= 2 GiB at 10M x 20.

Writes Markdown + JSON to benchmarks/results/ingest_BACKEND.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
CARDINALITIES = (2, 3, 5, 8, 12, 20, 30, 50, 80, 120, 200, 300, 500, 900)
GOAL_BYTES = 2 * 2**30


def write_csv(path: Path, rows: int, columns: int, seed: int = 0, chunk: int = 500_000) -> int:
    """A seeded CSV of short labels (`a`..., `k7`, ...), ~1% empty cells in odd columns;
    written by pyarrow in chunks, so this process never holds the table. Returns its bytes."""
    import pyarrow as pa
    import pyarrow.csv as pc

    rng = np.random.default_rng(seed)
    cards = [CARDINALITIES[j % len(CARDINALITIES)] for j in range(columns)]
    labels = [pa.array([f"{chr(97 + j % 26)}{i}" for i in range(k)]) for j, k in enumerate(cards)]
    names = [f"col{j:02d}" for j in range(columns)]
    schema = pa.schema([(n, pa.string()) for n in names])
    options = pc.WriteOptions(quoting_style="needed")
    with pc.CSVWriter(str(path), schema, write_options=options) as writer:
        for start in range(0, rows, chunk):
            m = min(chunk, rows - start)
            arrays = []
            for j, k in enumerate(cards):
                # skewed label frequencies, as real columns have
                codes = np.minimum(rng.zipf(1.3, m) - 1, k - 1)
                column = labels[j].take(pa.array(codes))
                if j % 2:
                    column = pa.compute.if_else(pa.array(rng.random(m) < 0.01), "", column)
                arrays.append(column)
            writer.write_table(pa.table(arrays, schema=schema))
    return path.stat().st_size


def ingest(path: Path, dataframe: bool) -> dict:
    from training.data import encode_table

    out = {}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    table = encode_table(str(path))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["stream"] = {
        "seconds": round(seconds, 2),
        "rows_per_s": round(len(table) / seconds),
        "codes_mb": round(table.codes.nbytes / 2**20, 1),
        "codes_dtype": str(table.codes.dtype),
        "peak_rss_growth_mb": round((peak - before) / 2**20),
    }
    if dataframe:
        from discrete_gan import CategoricalGAN
        from training.data import load_table, select_columns

        del table
        started = time.perf_counter()
        frame = select_columns(load_table(str(path)), None)
        encoded = CategoricalGAN().encode(frame)
        seconds = time.perf_counter() - started
        out["dataframe"] = {
            "seconds": round(seconds, 2),
            "rows_per_s": round(len(encoded) / seconds),
            "peak_rss_growth_mb": round(
                (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak) / 2**20
            ),
        }
    return out


# `python -m training ...` that reports its own peak RSS as the last line of its stderr.
_MEASURED = """
import runpy, sys
try:
    runpy.run_module("training", run_name="__main__", alter_sys=True)
finally:
    from training.generate import peak_rss
    print(f"peak_rss_bytes={peak_rss()}", file=sys.stderr)
"""


def training_peak_rss(argv: list[str], env: dict, timeout: float = 3600) -> tuple[int, str, int]:
    """Runs `python -m training *argv` in a child process (Linux).

    Returns `(exit code, its stderr, its peak RSS in bytes)`. The peak is the child's own
    high-water mark (`training.generate.peak_rss`: VmHWM), read as it exits. Not
    `ru_maxrss` (from `wait4`, `RUSAGE_CHILDREN` or `/usr/bin/time -v`): a child started by
    `vfork` + `exec`, as `subprocess` starts it, inherits its parent's high-water mark in
    that figure, so a test run from a 2 GB pytest process would read 2 GB whatever the job
    used.
    """
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = done.stderr.rstrip().splitlines()
    if not lines or not lines[-1].startswith("peak_rss_bytes="):
        raise RuntimeError(f"no peak reported (exit {done.returncode}): {done.stderr[-2000:]}")
    return done.returncode, "\n".join(lines[:-1]), int(lines[-1].split("=")[1])


def train(path: Path, registry: Path, steps: int) -> dict:
    argv = ["train", str(path), "--name", "ingest", "--registry", str(registry)]
    argv += ["--epochs", "1", "--steps-per-epoch", str(steps)]
    argv += ["--seed", "0", "--quiet", "--no-tensorboard"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.perf_counter()
    code, stderr, peak = training_peak_rss(argv, env)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"train failed: {stderr[-2000:]}")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak / 2**20),
        "goal_mb": GOAL_BYTES // 2**20,
        "within_goal": peak <= GOAL_BYTES,
    }


def main(argv: list[str] | None = None) -> int:
    from benchmarks.results import markdown_table, write_results

    p = argparse.ArgumentParser(prog="python -m benchmarks.ingest_bench", description=__doc__)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--columns", type=int, default=20)
    p.add_argument("--steps-per-epoch", type=int, default=5)
    p.add_argument("--dataframe", action="store_true", help="also time the DataFrame path")
    p.add_argument("--out", default=None, help="results directory (default: benchmarks/results)")
    p.add_argument("--note", default=None, help="free text stored with the results")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        path = Path(tmp) / "table.csv"
        started = time.perf_counter()
        size = write_csv(path, args.rows, args.columns)
        print(f"wrote {size / 2**20:.0f} MiB in {time.perf_counter() - started:.0f} s", flush=True)
        result = {"rows": args.rows, "columns": args.columns, "csv_mb": round(size / 2**20)}
        result["train"] = train(path, Path(tmp) / "registry", args.steps_per_epoch)
        print(result, flush=True)
        result["ingest"] = ingest(path, args.dataframe)
        print(result, flush=True)
    rows = [{"path": name, **values} for name, values in result["ingest"].items()]
    sections = [
        (
            "discrete-gan train (1 epoch, child process)",
            markdown_table(
                [{**result["train"], "rows": args.rows, "csv_mb": result["csv_mb"]}],
                ["rows", "csv_mb", "seconds", "peak_rss_mb", "goal_mb", "within_goal"],
            ),
        ),
        (
            "Ingest in this process",
            markdown_table(
                rows,
                ["path", "seconds", "rows_per_s", "codes_mb", "codes_dtype", "peak_rss_growth_mb"],
            ),
        ),
    ]
    md, _ = write_results(
        "ingest",
        f"Training input: {args.rows:,} rows x {args.columns} columns of CSV",
        sections,
        {**result, "args": vars(args)},
        out_dir=args.out,
        note=args.note,
    )
    print(md.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
