"""A light HTTP/1.1 load generator: keep-alive connections on one asyncio loop, in its own process.

    python -m benchmarks.loadgen URL --clients 32 --duration 60 --n 100

Each of `--clients` connections sends `POST URL` with `{"n": N, "seed": S, "format": F}` (a
distinct seed per request) and waits for the whole response before the next one, for
`--duration` seconds. Prints one JSON object: requests, errors, requests/s, p50/p90/p99/max
latency, and the CPU the generator itself used (in cores), so a benchmark on a small machine
can say how much of it the load took. Loopback addresses only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from urllib.parse import urlsplit

__all__ = ["main", "run"]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _client(i, host, port, path, args, stop_at, latencies, errors) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    seed = i
    try:
        while time.monotonic() < stop_at:
            body = json.dumps({"n": args.n, "seed": seed, "format": args.format}).encode()
            request = (
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            start = time.perf_counter()
            try:
                writer.write(request)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors[0] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(time.perf_counter() - start)
            errors[0] += status != 200
            seed += args.clients
    finally:
        writer.close()


async def _run(args) -> dict:
    url = urlsplit(args.url)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("error: the load generator only targets loopback addresses")
    latencies: list[float] = []
    errors = [0]
    started = time.monotonic()
    stop_at = started + args.duration
    await asyncio.gather(
        *(
            _client(i, url.hostname, url.port, url.path, args, stop_at, latencies, errors)
            for i in range(args.clients)
        )
    )
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ordered = sorted(latencies) or [float("nan")]

    def pct(q: float) -> float:
        return round(1000 * ordered[int(q * (len(ordered) - 1))], 1)

    return {
        "clients": args.clients,
        "n": args.n,
        "format": args.format,
        "duration_s": round(elapsed, 1),
        "requests": len(latencies),
        "errors": errors[0],
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * ordered[-1], 1),
        "loadgen_cores": round((usage.ru_utime + usage.ru_stime) / elapsed, 2),
    }


def run(url: str, clients: int, duration: float, n: int, fmt: str = "json") -> dict:
    """Runs the load in this process and returns the figures (see the module docstring)."""
    args = argparse.Namespace(url=url, clients=clients, duration=duration, n=n, format=fmt)
    return asyncio.run(_run(args))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--format", default="json", choices=["json", "csv", "ndjson"])
    args = p.parse_args(argv)
    print(json.dumps(run(args.url, args.clients, args.duration, args.n, args.format)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
