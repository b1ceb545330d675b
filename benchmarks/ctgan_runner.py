"""Optional CTGAN baseline, run in a child process so its stack (torch, BUSL-1.1 licensed
`ctgan`) stays out of ours: used for benchmarking only, nothing of it is read into our code.

Install it in a separate environment (it pins pandas < 3 and pulls torch; pin torch exactly
so pip does not fetch the multi-GB CUDA build):

    python -m venv ~/ctgan-venv && ~/ctgan-venv/bin/pip install torch==2.13.0 ctgan

then pass `--ctgan-python ~/ctgan-venv/bin/python` to `python -m benchmarks`. Or install it into
the current environment, where it is found automatically.

Child side: `python -m benchmarks.ctgan_runner TRAIN.csv OUT.csv REPORT.json --n N --epochs E
--seed S` fits CTGAN on all columns as discrete, samples N rows, and writes them with the
timings. This module's child side imports only the standard library, numpy, pandas, torch and
ctgan, so it runs from the repository root in that other environment.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import best_of  # standard library only

__all__ = ["ctgan_python", "run_ctgan"]


def ctgan_python(explicit: str | None = None) -> str | None:
    """The interpreter to run CTGAN with: `explicit`, else this one if `ctgan` imports here."""
    if explicit:
        return explicit
    return sys.executable if importlib.util.find_spec("ctgan") is not None else None


def run_ctgan(
    train: Any,
    n: int,
    *,
    epochs: int,
    seed: int,
    python: str,
    rate_sizes: tuple[int, ...] = (),
    timeout: float = 3600,
) -> tuple[Any, dict[str, Any]]:
    """Fits CTGAN (default hyper-parameters but `epochs`) on `train` in a child process.

    Returns `(n synthetic rows as a string DataFrame, report)` where the report holds
    `fit_seconds`, `seconds_per_epoch`, `sample_seconds` (best of 3 for `n` rows),
    `sample_seconds_by_n` (best of 3 for each of `rate_sizes`) and versions.
    Raises RuntimeError with the child's last stderr line when it fails.
    """
    import pandas as pd

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="ctgan-bench-") as tmp:
        paths = [Path(tmp) / name for name in ("train.csv", "synthetic.csv", "report.json")]
        train.to_csv(paths[0], index=False)
        cmd = [python, "-m", "benchmarks.ctgan_runner", *map(str, paths)]
        cmd += ["--n", str(n), "--epochs", str(epochs), "--seed", str(seed)]
        cmd += ["--rate-sizes", ",".join(map(str, rate_sizes))]
        proc = subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"CTGAN run failed (exit {proc.returncode}): {last}")
        rows = pd.read_csv(paths[1], dtype=str, keep_default_na=False)
        return rows, json.loads(paths[2].read_text())


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ctgan_runner")
    parser.add_argument("train")
    parser.add_argument("out")
    parser.add_argument("report")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate-sizes", default="")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN
    from ctgan import __version__ as ctgan_version

    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    data = pd.read_csv(args.train, dtype=str, keep_default_na=False)
    model = CTGAN(epochs=args.epochs)
    model.set_random_state(args.seed)
    start = time.perf_counter()
    model.fit(data, discrete_columns=list(data.columns))
    fit_seconds = time.perf_counter() - start
    rows = model.sample(args.n)
    rows.to_csv(args.out, index=False)
    sizes = [int(x) for x in args.rate_sizes.split(",") if x]
    by_n = {str(n): best_of(lambda n=n: model.sample(n)) for n in sorted({args.n, *sizes})}
    report = {
        "fit_seconds": fit_seconds,
        "epochs": args.epochs,
        "seconds_per_epoch": fit_seconds / args.epochs,
        "sample_seconds": by_n[str(args.n)],
        "sample_seconds_by_n": by_n,
        "sample_rows": args.n,
        "versions": {"ctgan": ctgan_version, "torch": torch.__version__},
        "torch_threads": torch.get_num_threads(),
    }
    Path(args.report).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
