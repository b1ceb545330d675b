"""A real uvicorn process over HTTP, and hot-swapping a new version under concurrent load."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import TINY, dependent_frame
from fastapi.testclient import TestClient
from test_api import publish

from api.main import create_app
from api.settings import Settings
from discrete_gan import CategoricalGAN
from discrete_gan.registry import Registry

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def uvicorn_server(registry: Path, **settings: str) -> Iterator[str]:
    """A real `discrete-gan serve` process on a free loopback port, ready; yields its URL.

    `settings` become `DISCRETE_GAN_*` environment variables (e.g. RESCAN_INTERVAL_S="0").
    """
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update({f"DISCRETE_GAN_{k.upper()}": v for k, v in settings.items()})
    cmd = [sys.executable, "-m", "discrete_gan_cli", "serve", "--registry", str(registry)]
    cmd += ["--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            time.sleep(0.3)
        else:
            pytest.fail("server not ready in 120 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_real_uvicorn_server_serves_and_picks_up_new_versions(trained_tiny, tmp_path):
    reg = Registry(tmp_path / "reg")
    publish(reg, "tiny", trained_tiny)
    with uvicorn_server(reg.root, rescan_interval_s="0.5") as base:
        r = httpx.post(f"{base}/models/tiny/sample", json={"n": 1000, "seed": 3}, timeout=30)
        assert r.status_code == 200 and len(r.json()["rows"]) == 1000
        r = httpx.post(f"{base}/models/tiny/sample", json={"n": 50000, "format": "csv"}, timeout=60)
        assert r.status_code == 200 and r.text.count("\n") == 50001
        publish(reg, "tiny", trained_tiny)
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/models/tiny", timeout=5).json()["version"] != "2":
            assert time.monotonic() < deadline, "version 2 not picked up"
            time.sleep(0.3)


def test_hot_swap_under_concurrent_requests(trained_tiny, tmp_path):
    reg = Registry(tmp_path / "reg")
    first = trained_tiny  # any model: the session's, rather than one more trained here
    publish(reg, "m", first)
    second = CategoricalGAN(seed=1, **TINY)
    second.fit(dependent_frame(600, seed=1), epochs=1)
    app = create_app(Settings(registry=str(reg.root), rescan_interval_s=0))
    statuses, versions, stop = [], [], threading.Event()

    def hammer(client):
        while not stop.is_set():
            r = client.post("/models/m/sample", json={"n": 200, "seed": 1})
            statuses.append(r.status_code)
            if r.status_code == 200:
                versions.append(r.json()["version"])

    with TestClient(app) as client:
        threads = [threading.Thread(target=hammer, args=(client,)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        publish(reg, "m", second)
        assert client.post("/admin/reload").json()["models"] == {"m": "2"}
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        after = client.post("/models/m/sample", json={"n": 200, "seed": 1}).json()
    assert statuses and set(statuses) == {200}
    assert versions[0] == "1" and versions[-1] == "2" and after["version"] == "2"
    # a request asking for the old version still gets it, reproducibly
    with TestClient(app) as client:
        old = client.post("/models/m/sample", json={"n": 20, "seed": 4, "version": "1"}).json()
        assert old["version"] == "1"
        assert old["rows"] == first.sample(20, seed=4).astype(object).values.tolist()
