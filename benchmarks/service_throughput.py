"""Sampling throughput in-process and over HTTP, and latency under concurrent clients.

    python -m benchmarks.service_throughput [--duration 60] [--clients 32] [--epochs 20]
        [--workers 1] [--load-sizes 1,100,10000] [--modes on,off] [--wide-epochs 5]

Trains the demo table (8 columns, 10k rows) into a temporary registry, starts a real uvicorn
server on 127.0.0.1 (loopback only), and prints rows/s for n = 1, 100, 10k, 100k in-process
(`CategoricalGAN.sample`) and over HTTP (JSON, and CSV streaming). Then, for micro-batching on
and off (a fresh server each), `--clients` concurrent keep-alive clients ask for n rows for
`--duration` seconds per load size: requests/s, p50/p99/max latency, errors, and the cores the
load generator and the whole machine used. Also 100k rows of a 37-column model (the alarm
network, `--wide-epochs` epochs) as CSV end to end. Writes Markdown + JSON to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import keras

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
SIZES = (1, 100, 10_000, 100_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def in_process(model) -> dict:
    out = {}
    for n in SIZES:
        model.sample(n, seed=0)  # compile this chunk shape
        seconds = _best(lambda n=n: model.sample(n, seed=1), 5 if n < 100_000 else 3)
        out[n] = {"seconds": round(seconds, 5), "rows_per_s": round(n / seconds)}
    return out


def over_http(base: str) -> dict:
    out = {}
    with httpx.Client(timeout=120) as client:
        for n in SIZES:
            for fmt in ("json", "csv"):
                body = {"n": n, "seed": 1, "format": fmt}
                client.post(f"{base}/models/demo/sample", json=body).raise_for_status()
                seconds = _best(
                    lambda b=body: client.post(
                        f"{base}/models/demo/sample", json=b
                    ).raise_for_status(),
                    5 if n < 100_000 else 3,
                )
                out[f"{n} {fmt}"] = {"seconds": round(seconds, 4), "rows_per_s": round(n / seconds)}
    return out


def load_test(base: str, clients: int, duration: float, n: int) -> dict:
    """`clients` concurrent keep-alive connections for `duration` s, in a separate process.

    The generator (`benchmarks.loadgen`, one asyncio loop) reports its own CPU use, so the
    figures say how much of this small machine the load took from the server.
    """
    cmd = [sys.executable, "-m", "benchmarks.loadgen", f"{base}/models/demo/sample"]
    cmd += ["--clients", str(clients), "--duration", str(duration), "--n", str(n)]
    busy0 = _busy()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    result["machine_cores_busy"] = round(_busy() - busy0, 2) / max(result["duration_s"], 1e-9)
    result["machine_cores_busy"] = round(result["machine_cores_busy"], 2)
    return result


def _busy() -> float:
    """Seconds of CPU the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wide_csv(registry, epochs: int) -> dict:
    """100k rows of a 37-column model (the alarm network) as CSV over HTTP, end to end."""
    from benchmarks.bayesnet import load_network
    from training.config import JobConfig
    from training.job import run_training

    table = load_network("alarm").sample(10_000, seed=0)
    config = JobConfig.from_dict({"epochs": epochs})
    run_training(table, "alarm", registry, config, verbose=0, tensorboard=False)
    return {"columns": table.shape[1], "epochs": epochs}


def _serve(registry: Path, port: int, batching: bool = True, workers: int = 1) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DISCRETE_GAN_RESCAN_INTERVAL_S": "0",
        "DISCRETE_GAN_BATCHING": "true" if batching else "false",
    }
    cmd = [
        sys.executable,
        "-m",
        "discrete_gan_cli",
        "serve",
        "--registry",
        str(registry),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


def _wait_ready(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server not ready in 180 s")


def _time_post(base: str, path: str, body: dict, repeats: int) -> float:
    with httpx.Client(timeout=300) as client:
        client.post(f"{base}{path}", json=body).raise_for_status()
        return _best(lambda: client.post(f"{base}{path}", json=body).raise_for_status(), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--load-sizes", default="1,100,10000", help="n of the load tests")
    parser.add_argument("--modes", default="on,off", help="batching modes to compare")
    parser.add_argument("--wide-epochs", type=int, default=5, help="0: skip the 37-column test")
    args = parser.parse_args(argv)
    load_sizes = [int(x) for x in args.load_sizes.split(",") if x]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    from discrete_gan import CategoricalGAN
    from discrete_gan.registry import Registry
    from training.config import JobConfig
    from training.demo import demo_table
    from training.job import run_training

    http: dict[str, dict] = {}
    load: dict[str, list[dict]] = {}
    wide: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "registry")
        config = JobConfig.from_dict({"epochs": args.epochs})
        ref = run_training(demo_table(), "demo", registry, config, verbose=0, tensorboard=False)
        model = CategoricalGAN.load(ref.path)
        local = in_process(model)
        if args.wide_epochs:
            wide = wide_csv(registry, args.wide_epochs)
        for mode in modes:
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            proc = _serve(registry.root, port, batching=mode == "on", workers=args.workers)
            try:
                _wait_ready(base, proc)
                http[mode] = over_http(base)
                load[mode] = [load_test(base, args.clients, args.duration, n) for n in load_sizes]
                if wide and mode == modes[0]:
                    body = {"n": 100_000, "seed": 1, "format": "csv"}
                    wide["csv_100k_s"] = round(_time_post(base, "/models/alarm/sample", body, 3), 3)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "columns": len(model.schema.names),
        "workers": args.workers,
        "load_avg_at_end": os.getloadavg(),
    }
    md = _markdown(meta, local, http, load, wide, modes)
    print(md)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"service_throughput_{meta['backend']}"
    stem.with_suffix(".md").write_text(md)
    stem.with_suffix(".json").write_text(
        json.dumps(
            {"meta": meta, "in_process": local, "http": http, "load": load, "wide": wide},
            indent=2,
        )
    )
    return 0


def _markdown(meta, local, http, load, wide, modes) -> str:
    first = modes[0]
    lines = [
        f"# Service throughput ({meta['date']}, {meta['backend']}, {meta['machine']}, "
        f"{meta['columns']} columns, {meta['workers']} worker(s))",
        "",
        f"Single requests (batching {first}):",
        "",
        "| n | in-process rows/s | in-process s | HTTP json s | HTTP csv s | HTTP csv rows/s |",
        "|---|---|---|---|---|---|",
    ]
    for n in SIZES:
        h = http[first]
        lines.append(
            f"| {n} | {local[n]['rows_per_s']:,} | {local[n]['seconds']} | "
            f"{h[f'{n} json']['seconds']} | {h[f'{n} csv']['seconds']} | "
            f"{h[f'{n} csv']['rows_per_s']:,} |"
        )
    lines += [
        "",
        "Under load (JSON; the load generator is one asyncio process on the same machine):",
        "",
        "| batching | clients | n | requests/s | p50 ms | p99 ms | max ms | errors "
        "| load generator cores | machine cores busy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        for r in load[mode]:
            lines.append(
                f"| {mode} | {r['clients']} | {r['n']} | {r['requests_per_s']} | {r['p50_ms']} | "
                f"{r['p99_ms']} | {r['max_ms']} | {r['errors']} | {r['loadgen_cores']} | "
                f"{r['machine_cores_busy']} |"
            )
    if wide:
        lines += [
            "",
            f"100k rows x {wide['columns']} columns (alarm, {wide['epochs']} epochs) as CSV "
            f"over HTTP, end to end: {wide['csv_100k_s']} s (best of 3)",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
