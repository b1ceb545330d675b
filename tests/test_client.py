"""discrete_gan.client against a real uvicorn process, and its retries against broken servers."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest
from test_api import publish, trained_wide
from test_api_e2e import free_port

from discrete_gan.client import Client, ClientError, ConnectionFailed, ServerError
from discrete_gan.registry import Registry

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def uvicorn_server(registry: Path, api_key: str | None = None) -> Iterator[str]:
    """`discrete-gan serve` in a child process; yields its base URL once models are loaded."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCRETE_GAN_")}
    env.update(PYTHONPATH=str(ROOT), DISCRETE_GAN_RESCAN_INTERVAL_S="0")
    if api_key is not None:
        env["DISCRETE_GAN_API_KEY"] = api_key
    cmd = [sys.executable, "-m", "discrete_gan_cli", "serve", "--registry", str(registry)]
    cmd += ["--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            assert time.monotonic() < deadline, "server not ready in 120 s"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def base_url(trained_tiny, tmp_path_factory) -> Iterator[str]:
    reg = Registry(tmp_path_factory.mktemp("clientreg"))
    publish(reg, "tiny", trained_tiny)
    publish(reg, "wide", trained_wide())
    with uvicorn_server(reg.root) as base:
        yield base


@pytest.fixture
def client(base_url) -> Iterator[Client]:
    with Client(base_url, timeout=60) as c:
        yield c


def test_models_and_model(client):
    listing, wide = client.models()
    assert listing["name"] == "tiny" and listing["columns"] == ["colour", "size", "flag"]
    assert wide["name"] == "wide"
    detail = client.model("tiny", version=1)
    colour = detail["schema"][0]
    assert colour["categories"] == ["blue", "green", "red"]
    assert sum(colour["frequencies"]) == pytest.approx(1.0)


def test_sample_json_keeps_labels_as_returned(client, trained_tiny):
    frame = client.sample("tiny", 50, seed=7)
    assert list(frame.columns) == ["colour", "size", "flag"] and len(frame) == 50
    expected = trained_tiny.sample(50, seed=7).astype(object)
    assert frame.values.tolist() == expected.values.tolist()
    assert {type(v) for v in frame["size"]} == {int} and {type(v) for v in frame["flag"]} == {bool}
    red = client.sample("tiny", 30, seed=1, where={"colour": ["red", "blue"], "flag": True})
    assert set(red["colour"]) <= {"red", "blue"} and red["flag"].tolist() == [True] * 30


def test_sample_large_n_streams_csv_as_text(client, trained_tiny):
    frame = client.sample("tiny", 20_001, seed=3)
    assert frame.shape == (20_001, 3)
    assert set(frame["size"]) <= {"1", "2"} and set(frame["flag"]) <= {"True", "False"}
    assert all(pd.api.types.is_string_dtype(frame[c]) for c in frame)
    expected = trained_tiny.sample(20_001, seed=3).astype(str)
    assert frame.values.tolist() == expected.values.tolist()


def test_probabilities_with_given(client):
    probs = client.probabilities("tiny")
    assert set(probs) == {"colour", "size", "flag"}
    assert sum(probs["colour"].values()) == pytest.approx(1.0, abs=1e-4)
    red = client.probabilities("tiny", given={"colour": "red"})
    assert red["colour"]["red"] == pytest.approx(1.0)
    both = client.probabilities("tiny", given={"colour": {"red", "blue"}, "flag": True})
    assert both["colour"]["green"] == 0.0 and both["flag"][True] == pytest.approx(1.0)
    assert probs.other == {} and red.other == {}


def test_large_columns_come_as_top_labels_with_the_rest_in_other(client):
    probs = client.probabilities("wide")
    assert len(probs["code"]) == 50 and len(probs["hundred"]) == 100
    assert set(probs.other) == {"code"} and probs.other["code"]["labels"] == 250
    total = sum(probs["code"].values()) + probs.other["code"]["probability"]
    assert total == pytest.approx(1.0, abs=1e-5)
    top = client.probabilities("wide", given={"colour": "red"}, top=3)
    assert {c: len(v) for c, v in top.items()} == {"code": 3, "hundred": 3, "colour": 3}
    assert top["colour"]["red"] == pytest.approx(1.0) and set(top.other) == {"code", "hundred"}
    assert list(top["code"].values()) == sorted(top["code"].values(), reverse=True)
    frequent = client.probabilities("wide", top=2, by="frequency")
    detail = client.model("wide", top=2)
    assert list(frequent["code"]) == detail["schema"][0]["categories"]
    assert detail["schema"][0]["other"]["labels"] == 298
    assert client.model("wide")["schema"][0]["cardinality"] == 300


@pytest.mark.parametrize(
    "call, status, fragment",
    [
        (lambda c: c.sample("ghost", 5), 404, "No model named 'ghost'"),
        (lambda c: c.sample("tiny", 5, where={"colour": "purple"}), 422, "Unknown label"),
        (lambda c: c.probabilities("tiny", given={"shape": "x"}), 422, "Unknown column"),
        (lambda c: c.sample("tiny", 0), 422, "n: Input should be greater than or equal to 1"),
        (lambda c: c.model("tiny", version=9), 404, "version"),
        (lambda c: c.probabilities("wide", top=0), 422, "top: Input should be greater than or"),
        (lambda c: c.probabilities("wide", by="luck"), 422, "by: Input should be"),
    ],
)
def test_4xx_raise_client_error_with_the_service_message(client, call, status, fragment):
    with pytest.raises(ClientError) as info:
        call(client)
    assert info.value.status == status and fragment in info.value.detail


@contextmanager
def dropping_server() -> Iterator[tuple[str, list]]:
    """A TCP server on 127.0.0.1 that accepts each connection and closes it at once."""
    accepted: list[float] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.backend_agnostic
def test_dropped_connections_are_retried_with_backoff_then_fail():
    with dropping_server() as (url, accepted):
        c = Client(url, retries=3, backoff=0.05)
        with c, pytest.raises(ConnectionFailed) as info:
            c.models()
    assert info.value.attempts == 4 and len(accepted) == 4
    assert "after 4 attempt(s)" in str(info.value)
    gaps = [b - a for a, b in zip(accepted, accepted[1:])]
    assert gaps[0] >= 0.04 and gaps[2] >= 0.18  # 0.05, 0.1, 0.2 s between attempts


@pytest.mark.backend_agnostic
def test_refused_connections_are_retried_then_fail():
    c = Client(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01)
    with c, pytest.raises(ConnectionFailed) as info:
        c.sample("tiny", 5)
    assert info.value.attempts == 3 and "ConnectError" in str(info.value)


@pytest.mark.backend_agnostic
def test_server_errors_are_never_retried():
    requests: list[str] = []

    class Failing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b'{"detail": "boom"}'
            self.send_response(503)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        c = Client(f"http://127.0.0.1:{server.server_port}", retries=3, backoff=0.01)
        with c, pytest.raises(ServerError) as info:
            c.models()
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.status == 503 and info.value.detail == "boom" and requests == ["/models"]
