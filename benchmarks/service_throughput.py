"""Sampling throughput in-process and over HTTP, and latency under 32 concurrent clients.

    python -m benchmarks.service_throughput [--duration 60] [--clients 32] [--epochs 20]

Trains the demo table (8 columns, 10k rows) into a temporary registry, starts a real uvicorn
server on 127.0.0.1 (loopback only), and prints rows/s for n = 1, 100, 10k, 100k in-process
(`CategoricalGAN.sample`) and over HTTP (JSON, and CSV streaming), then p50/p99 latency of
n = 100 requests from `--clients` concurrent clients for `--duration` seconds, with the error
count. Writes Markdown + JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


def load_test(base: str, clients: int, duration: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker(i: int) -> None:
        with httpx.Client(timeout=30) as client:
            seed = i
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                try:
                    r = client.post(f"{base}/models/demo/sample", json={"n": 100, "seed": seed})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors[0] += not ok
                seed += clients

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "duration_s": duration,
        "requests": len(ordered),
        "errors": errors[0],
        "requests_per_s": round(len(ordered) / duration, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1),
    }


def _serve(registry: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISCRETE_GAN_RESCAN_INTERVAL_S": "0"}
    cmd = [
        sys.executable,
        "-m",
        "discrete_gan_cli",
        "serve",
        "--registry",
        str(registry),
        "--port",
        str(port),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)

    from discrete_gan import CategoricalGAN
    from discrete_gan.registry import Registry
    from training.config import JobConfig
    from training.demo import demo_table
    from training.job import run_training

    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "registry")
        config = JobConfig.from_dict({"epochs": args.epochs})
        ref = run_training(demo_table(), "demo", registry, config, verbose=0, tensorboard=False)
        model = CategoricalGAN.load(ref.path)
        local = in_process(model)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _serve(registry.root, port)
        try:
            _wait_ready(base, proc)
            http = over_http(base)
            load = load_test(base, args.clients, args.duration)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "columns": len(model.schema.names),
        "load_avg_at_end": os.getloadavg(),
    }
    lines = [
        f"# Service throughput ({meta['date']}, {meta['backend']}, {meta['machine']}, "
        f"{meta['columns']} columns)",
        "",
        "| n | in-process rows/s | in-process s | HTTP json s | HTTP csv s | HTTP csv rows/s |",
        "|---|---|---|---|---|---|",
    ]
    for n in SIZES:
        lines.append(
            f"| {n} | {local[n]['rows_per_s']:,} | {local[n]['seconds']} | "
            f"{http[f'{n} json']['seconds']} | {http[f'{n} csv']['seconds']} | "
            f"{http[f'{n} csv']['rows_per_s']:,} |"
        )
    lines += [
        "",
        f"Load: {load['clients']} clients x {load['duration_s']} s, n = 100: "
        f"{load['requests']} requests ({load['requests_per_s']}/s), p50 {load['p50_ms']} ms, "
        f"p99 {load['p99_ms']} ms, errors {load['errors']}",
        "",
    ]
    md = "\n".join(lines)
    print(md)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"service_throughput_{meta['backend']}"
    stem.with_suffix(".md").write_text(md)
    stem.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "in_process": local, "http": http, "load": load}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
