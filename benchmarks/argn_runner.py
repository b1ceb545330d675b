"""Optional TabularARGN baseline (mostlyai-engine, Apache-2.0), run in a child process so its
stack (torch, transformers, ...) stays out of ours: benchmarking only.

Install it in a separate environment, outside the repository, with torch pinned exactly (so
pip takes the CPU build) and without torchvision / torchaudio, whose wheels do not match that
torch and break `import transformers` (DESIGN.md §7):

    python -m venv ~/argn-venv && ~/argn-venv/bin/pip install torch==2.13.0 mostlyai-engine
    ~/argn-venv/bin/pip uninstall -y torchvision torchaudio

then pass `--argn-python ~/argn-venv/bin/python` to `python -m benchmarks`. Or install it into
the current environment, where it is found automatically.

Child side: `python -m benchmarks.argn_runner TRAIN.csv OUT.csv REPORT.json --n N --epochs E
--seed S` fits `TabularARGN` with its defaults (but `max_epochs`, 100 being its default) on
every column as TABULAR_CATEGORICAL, on the CPU, samples N rows and writes them with the
timings. It imports only the standard library, pandas, torch and mostlyai.engine, so it runs
from the repository root in that other environment.
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

__all__ = ["DEFAULT_EPOCHS", "argn_python", "run_argn"]

DEFAULT_EPOCHS = 100  # TabularARGN's own default max_epochs


def argn_python(explicit: str | None = None) -> str | None:
    """The interpreter to run TabularARGN with: `explicit`, else this one if it has it."""
    if explicit:
        return explicit
    try:
        found = importlib.util.find_spec("mostlyai.engine") is not None
    except ModuleNotFoundError:  # no `mostlyai` namespace at all
        found = False
    return sys.executable if found else None


def run_argn(
    train: Any,
    n: int,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int,
    python: str,
    timeout: float = 7200,
) -> tuple[Any, dict[str, Any]]:
    """Fits TabularARGN on `train` in a child process; returns `(n rows, report)`.

    The rows come back as a string DataFrame (read as text: `dtype=str`,
    `keep_default_na=False`). The report holds `fit_seconds`, `epochs` (the cap),
    `sample_seconds` (best of 3 for `n` rows) and versions. Raises RuntimeError with the
    child's last stderr line when it fails.
    """
    import pandas as pd

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="argn-bench-") as tmp:
        paths = [Path(tmp) / name for name in ("train.csv", "synthetic.csv", "report.json")]
        train.to_csv(paths[0], index=False)
        cmd = [python, "-m", "benchmarks.argn_runner", *map(str, paths)]
        cmd += ["--n", str(n), "--epochs", str(epochs), "--seed", str(seed)]
        proc = subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"TabularARGN run failed (exit {proc.returncode}): {last}")
        rows = pd.read_csv(paths[1], dtype=str, keep_default_na=False)
        return rows, json.loads(paths[2].read_text())


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.argn_runner")
    parser.add_argument("train")
    parser.add_argument("out")
    parser.add_argument("report")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from importlib import metadata

    import pandas as pd
    import torch
    from mostlyai.engine import TabularARGN

    data = pd.read_csv(args.train, dtype=str, keep_default_na=False)
    with tempfile.TemporaryDirectory(prefix="argn-workspace-") as workspace:
        model = TabularARGN(
            max_epochs=args.epochs,
            tgt_encoding_types={c: "TABULAR_CATEGORICAL" for c in data.columns},
            device="cpu",
            workspace_dir=workspace,
            random_state=args.seed,
        )
        start = time.perf_counter()
        model.fit(data)
        fit_seconds = time.perf_counter() - start
        rows = model.sample(n_samples=args.n)
        rows.to_csv(args.out, index=False)
        sample_seconds = best_of(lambda: model.sample(n_samples=args.n))
    report = {
        "fit_seconds": fit_seconds,
        "epochs": args.epochs,
        "sample_seconds": sample_seconds,
        "sample_rows": args.n,
        "versions": {
            "mostlyai-engine": metadata.version("mostlyai-engine"),
            "torch": torch.__version__,
        },
        "torch_threads": torch.get_num_threads(),
    }
    Path(args.report).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
