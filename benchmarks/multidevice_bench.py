"""Data-parallel training on simulated CPU devices: steps/s and fidelity for 1, 2 and 4 devices.

    python -m benchmarks.multidevice_bench [--devices 1,2,4] [--steps 200] [--warmup 20]
        [--epochs 10]

Each device count runs in a fresh JAX process (the simulated device count is fixed when JAX
starts: `XLA_FLAGS=--xla_force_host_platform_device_count=4`), which trains the default
`CategoricalGAN` on the 8-column demo table (10k rows, `training.demo`) inside
`training.distribute.data_parallel(N, batch_size)`, as `discrete-gan train --devices N` does:

1. speed: one epoch of `--steps` steps; steps/s is timed between the end of step `--warmup`
   (compilation done) and the last step, so it is the steady rate of one global batch per step;
2. convergence: then `--epochs` full epochs; the figures are the learned marginals' mean
   column TVD and the sampled rows' mean pairwise TVD against the data (200k rows each way at
   most, as the model card compares them).

On one host the simulated devices share its cores, so no speed-up is expected here (the point
is that training runs and converges the same); on a GPU host each device is a chip. Writes
Markdown + JSON to benchmarks/results/multidevice_jax.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import keras
    from discrete_gan import CategoricalGAN
    from discrete_gan.metrics import fidelity_report
    from training.demo import demo_table
    from training.distribute import data_parallel

    devices, steps, warmup, epochs = (int(x) for x in sys.argv[1:5])

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

    table = demo_table(10_000, seed=0)
    model = CategoricalGAN(seed=0)
    with data_parallel(devices, model.config.batch_size) as count:
        clock = Clock()
        started = time.perf_counter()
        model.fit(table, epochs=1, steps_per_epoch=steps, callbacks=[clock], verbose=0)
        first = clock.ends[warmup - 1] - started
        rate = (steps - warmup) / (clock.ends[-1] - clock.ends[warmup - 1])
        trained = time.perf_counter()
        model.fit(table, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - trained
    sample = model.sample(len(table), seed=1)
    rows = fidelity_report(table, sample)
    learned = fidelity_report(table, model.probabilities())
    print(json.dumps({
        "devices": count,
        "visible_devices": len(keras.distribution.list_devices()),
        "batch_size": model.config.batch_size,
        "first_steps_s": round(first, 2),
        "steps_per_s": round(rate, 2),
        "epochs": epochs,
        "epochs_s": round(seconds, 1),
        "learned_mean_column_tvd": round(learned["mean_column_tvd"], 4),
        "sampled_mean_pairwise_tvd": round(rows["mean_pairwise_tvd"], 4),
    }))
    """
)


def run_one(devices: int, steps: int, warmup: int, epochs: int, simulated: int) -> dict:
    """One device count, in a fresh JAX process with `simulated` CPU devices."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={simulated}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    argv = [sys.executable, "-c", CHILD, str(devices), str(steps), str(warmup), str(epochs)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{devices} device(s) failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from benchmarks.results import markdown_table, write_results

    p = argparse.ArgumentParser(prog="python -m benchmarks.multidevice_bench", description=__doc__)
    p.add_argument("--devices", default="1,2,4", help="device counts to compare")
    p.add_argument("--steps", type=int, default=200, help="steps of the timed epoch")
    p.add_argument("--warmup", type=int, default=20, help="steps before the clock starts")
    p.add_argument("--epochs", type=int, default=10, help="full epochs for the fidelity figures")
    p.add_argument("--out", default=None, help="results directory (default: benchmarks/results)")
    p.add_argument("--note", default=None, help="free text stored with the results")
    args = p.parse_args(argv)
    if not 0 < args.warmup < args.steps:
        p.error("--warmup must be between 1 and --steps - 1")
    counts = [int(x) for x in args.devices.split(",")]
    simulated = max(counts)
    rows = []
    for n in counts:
        rows.append(run_one(n, args.steps, args.warmup, args.epochs, simulated))
        print(rows[-1], flush=True)
    columns = ["devices", "visible_devices", "batch_size", "first_steps_s", "steps_per_s"]
    columns += ["epochs", "epochs_s", "learned_mean_column_tvd", "sampled_mean_pairwise_tvd"]
    md, _ = write_results(
        "multidevice",
        f"Data-parallel training on {simulated} simulated CPU devices (demo table, default GAN)",
        [("Steps/s and fidelity per device count", markdown_table(rows, columns))],
        {"rows": rows, "args": vars(args)},
        out_dir=args.out,
        note=args.note,
    )
    print(md.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
