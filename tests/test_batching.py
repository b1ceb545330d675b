"""Micro-batching: requests merged into shared compiled calls get exactly their own rows."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from test_api import publish
from test_api_e2e import uvicorn_server

from api.batching import MicroBatcher
from discrete_gan.registry import Registry
from discrete_gan.sampling import BLOCK_ROWS

ROOT = Path(__file__).resolve().parents[1]


def test_batched_rows_equal_the_rows_drawn_alone(trained_tiny):
    sampler = trained_tiny.sampler
    batcher = MicroBatcher(sampler, window_s=0.0, idle_s=0.2)
    for n, seed, start in [(1, 0, 0), (100, 7, 0), (256, 3, 0), (257, 3, 0), (50, 9, 250)]:
        expected = sampler.sample_codes(n, seed, start)
        np.testing.assert_array_equal(batcher.codes(n, seed, start), expected)


def test_concurrent_requests_share_calls_and_keep_their_rows(trained_tiny):
    """A burst of requests with distinct seeds and sizes is merged; each gets its own rows."""
    sampler = trained_tiny.sampler
    requests = [(1 + (37 * i) % 700, 1000 + i) for i in range(24)]
    expected = {r: sampler.sample_codes(*r) for r in requests}
    # A long window: on a loaded machine the threads may take a while to all submit.
    batcher = MicroBatcher(sampler, window_s=0.5, max_rows=8192, idle_s=0.5)
    barrier = threading.Barrier(len(requests))

    def one(request):
        barrier.wait()
        return request, batcher.codes(*request, timeout=60)

    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(one, requests))
    for request, codes in results:
        np.testing.assert_array_equal(codes, expected[request])
    assert batcher.requests == len(requests)
    assert batcher.calls < len(requests) / 2  # merged, not one call per request


def test_batches_respect_the_row_cap(trained_tiny):
    batcher = MicroBatcher(trained_tiny.sampler, window_s=0.05, max_rows=4 * BLOCK_ROWS)
    assert batcher.max_request_rows == 4 * BLOCK_ROWS
    assert batcher.accepts(4 * BLOCK_ROWS) and not batcher.accepts(4 * BLOCK_ROWS + 1)
    assert not batcher.accepts(BLOCK_ROWS * 3 + 10, start=BLOCK_ROWS - 5)  # spans 5 blocks
    sizes: list[tuple[int, int]] = []
    batcher.observe = lambda requests, rows: sizes.append((requests, rows))
    futures = [batcher.submit(300, seed) for seed in range(6)]  # 2 blocks each
    for f in futures:
        assert f.result(60).shape == (300, 3)
    assert all(rows <= 4 * BLOCK_ROWS for _, rows in sizes)
    assert sum(requests for requests, _ in sizes) == 6


def test_a_request_over_the_cap_is_refused_clearly(trained_tiny):
    batcher = MicroBatcher(trained_tiny.sampler, max_rows=BLOCK_ROWS)
    with pytest.raises(ValueError, match="at most 256 rows"):
        batcher.submit(BLOCK_ROWS + 1, 0)
    with pytest.raises(ValueError, match="Invalid value for `window_s`"):
        MicroBatcher(trained_tiny.sampler, window_s=-1)


def test_a_failed_call_reaches_every_waiting_request_and_the_worker_survives(trained_tiny):
    batcher = MicroBatcher(trained_tiny.sampler, window_s=0.02)
    real = batcher.sampler
    calls = {"n": 0}

    class Broken:
        max_blocks = real.max_blocks

        def draw_blocks(self, *args):
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("device lost")
            return real.draw_blocks(*args)

    batcher.sampler = Broken()
    futures = [batcher.submit(10, seed) for seed in range(3)]
    for f in futures:
        with pytest.raises(RuntimeError, match="device lost"):
            f.result(60)
    np.testing.assert_array_equal(batcher.codes(10, 5, timeout=60), real.sample_codes(10, 5))


def test_the_worker_thread_ends_when_idle(trained_tiny):
    batcher = MicroBatcher(trained_tiny.sampler, window_s=0.0, idle_s=0.05)
    batcher.codes(5, 1, timeout=60)
    deadline = time.monotonic() + 5
    while batcher._worker is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batcher._worker is None
    np.testing.assert_array_equal(  # and a new request starts a new one
        batcher.codes(5, 1, timeout=60), trained_tiny.sampler.sample_codes(5, 1)
    )


@pytest.mark.slow
def test_service_rows_alone_equal_rows_under_a_burst(trained_tiny, tmp_path):
    """Over real HTTP: (seed, n) gives the same rows alone and amid 32 concurrent requests."""
    reg = Registry(tmp_path / "reg")
    publish(reg, "tiny", trained_tiny)
    with uvicorn_server(reg.root, rescan_interval_s="0", batch_window_ms="20") as base:
        requests = [
            {"n": 1 + (53 * i) % 900, "seed": 500 + i, "format": ("json", "csv", "ndjson")[i % 3]}
            for i in range(32)
        ]
        with httpx.Client(timeout=60) as client:
            alone = [client.post(f"{base}/models/tiny/sample", json=r) for r in requests]
        barrier = threading.Barrier(len(requests))

        def burst(body):
            with httpx.Client(timeout=60) as client:
                barrier.wait()
                return client.post(f"{base}/models/tiny/sample", json=body)

        with ThreadPoolExecutor(len(requests)) as pool:
            together = list(pool.map(burst, requests))
        for a, b in zip(alone, together, strict=True):
            assert a.status_code == b.status_code == 200
            assert a.content == b.content
            assert a.headers["x-seed"] == b.headers["x-seed"]
        metrics = httpx.get(f"{base}/metrics").text
        count = float(metrics.split("discrete_gan_batch_requests_count ")[1].split()[0])
        assert count < 2 * len(requests)  # fewer calls than requests: they were merged
