"""Generation throughput of `discrete-gan generate`: rows/s by model, engine and partitions.

    python -m benchmarks.generate_bench [--rows 10000000] [--partitions 1,2,4]
        [--engines local,ray] [--models demo,alarm] [--format parquet] [--epochs 5]

Trains two models briefly into a temporary registry (the 8-column demo table of
`training.demo` and the 37-column `alarm` network of `benchmarks.bayesnet`, 10k rows each),
then runs `training.generate.generate` for every (model, engine, P) and reports wall time,
rows/s, output bytes and the peak RSS of each worker process (its own `ru_maxrss`), and of
the driver. Ray runs an embedded local cluster (skipped if Ray is not installed). Output files
go to a temporary directory and are deleted after each run. Writes Markdown + JSON to
benchmarks/results/generate_BACKEND.{md,json}.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODELS = ("demo", "alarm")


def _train(registry, name: str, epochs: int) -> None:
    from training.config import JobConfig
    from training.job import run_training

    if name == "demo":
        from training.demo import demo_table

        table = demo_table(10_000, seed=0)
    else:
        from benchmarks.bayesnet import load_network

        table = load_network("alarm").sample(10_000, seed=0)
    config = JobConfig.from_dict({"epochs": epochs, "seed": 0, "checkpoint_every": epochs})
    run_training(table, name, registry, config, verbose=0, tensorboard=False)


def run(
    rows: int,
    partitions: list[int],
    engines: list[str],
    models: list[str],
    fmt: str,
    epochs: int,
) -> list[dict]:
    from discrete_gan.registry import Registry
    from training.generate import generate

    out = []
    with tempfile.TemporaryDirectory(prefix="generate-bench-") as tmp:
        registry = Registry(Path(tmp) / "registry")
        for name in models:
            started = time.monotonic()
            _train(registry, name, epochs)
            print(f"trained {name} in {time.monotonic() - started:.0f} s", flush=True)
            columns = len(registry.metadata(name)["columns"])
            for engine in engines:
                for p in partitions:
                    target = Path(tmp) / "out"
                    shutil.rmtree(target, ignore_errors=True)
                    result = generate(
                        registry, name, rows, target, fmt=fmt, seed=0, partitions=p, engine=engine
                    )
                    size = sum(f.stat().st_size for f in target.iterdir())
                    rss = sorted(result.workers.values())
                    row = {
                        "model": name,
                        "columns": columns,
                        "engine": engine,
                        "partitions": p,
                        "workers": len(rss),
                        "rows": rows,
                        "seconds": round(result.seconds, 2),
                        "rows_per_s": round(rows / result.seconds),
                        "output_mb": round(size / 2**20, 1),
                        "worker_peak_rss_mb": [round(x / 2**20) for x in rss],
                        "driver_peak_rss_mb": round(
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                        ),
                        "loadavg_1": round(os.getloadavg()[0], 2),
                    }
                    print(row, flush=True)
                    out.append(row)
                    shutil.rmtree(target, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.results import markdown_table, write_results

    p = argparse.ArgumentParser(prog="python -m benchmarks.generate_bench", description=__doc__)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--partitions", default="1,2,4")
    p.add_argument("--engines", default="local,ray")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--epochs", type=int, default=5, help="training epochs per model")
    p.add_argument("--out", default=None, help="results directory (default: benchmarks/results)")
    p.add_argument("--note", default=None, help="free text stored with the results")
    args = p.parse_args(argv)
    engines = args.engines.split(",")
    if "ray" in engines and importlib.util.find_spec("ray") is None:
        print("ray is not installed: skipping the ray engine (pip install 'discrete-gan[ray]')")
        engines.remove("ray")
    rows = run(
        args.rows,
        [int(x) for x in args.partitions.split(",")],
        engines,
        args.models.split(","),
        args.format,
        args.epochs,
    )
    table = markdown_table(
        [{**r, "worker_peak_rss_mb": "/".join(map(str, r["worker_peak_rss_mb"]))} for r in rows],
        [
            "model",
            "columns",
            "engine",
            "partitions",
            "workers",
            "rows",
            "seconds",
            "rows_per_s",
            "output_mb",
            "worker_peak_rss_mb",
            "driver_peak_rss_mb",
            "loadavg_1",
        ],
    )
    md, _ = write_results(
        "generate",
        f"discrete-gan generate: {args.rows:,} rows ({args.format})",
        [("Throughput", table)],
        {"rows": rows, "args": vars(args)},
        out_dir=args.out,
        note=args.note,
    )
    print(md.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
