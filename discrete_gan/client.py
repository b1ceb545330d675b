"""A Python client for the discrete-gan HTTP service (`pip install 'discrete-gan[client]'`).

    from discrete_gan.client import Client

    with Client("http://127.0.0.1:8000", api_key=None) as c:
        c.models()                                       # [{"name": ..., "version": ...}, ...]
        c.sample("demo", 1000, seed=1, where={"region": "north"})   # DataFrame
        c.probabilities("demo", given={"smoker": True})["bmi"]      # {"normal": 0.41, ...}
        c.probabilities("demo", top=5).other["postcode"]  # {"labels": 28408, "probability": 0.8}
        c.score("survey", frame)                          # VAE only: per-row ELBO, nats

Only failures to reach the service are retried (refused or timed-out connects, a connection
dropped before any response), with exponential backoff: the request never reached a handler,
so repeating it is safe. HTTP errors are never retried: a 4xx raises `ClientError` with the
service's message, a 5xx `ServerError`, and running out of retries `ConnectionFailed`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

try:
    import httpx
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("discrete_gan.client needs httpx: pip install 'discrete-gan[client]'") from e

__all__ = [
    "APIError",
    "Client",
    "ClientError",
    "ConnectionFailed",
    "Probabilities",
    "ServerError",
]

# Failures before any response: the service never handled the request.
_RETRIABLE = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class APIError(Exception):
    """Base class of the client's errors."""


class ClientError(APIError):
    """The service rejected the request (4xx): unknown model, bad condition, missing key..."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


class ServerError(APIError):
    """The service failed (5xx), or answered with a status the client does not understand."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


class ConnectionFailed(APIError):
    """No usable response: the service could not be reached after `attempts` tries, or the
    connection broke after the response had started (not retried: rows may be half read)."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


class Probabilities(dict):
    """`{column: {label: probability}}`, with `other`: for each column the service cut to its
    top labels, `{"labels": how many are not listed, "probability": their total}`."""

    def __init__(self, listed: dict, other: dict):
        super().__init__(listed)
        self.other: dict[str, dict[str, Any]] = other

    def __repr__(self) -> str:
        return f"Probabilities({dict.__repr__(self)}, other={self.other!r})"


class Client:
    """Talks to one discrete-gan service.

    Args:
        url: the service's base URL, e.g. "http://127.0.0.1:8000".
        api_key: sent as X-API-Key when the service requires one.
        timeout: seconds to connect, and to wait for each read or write.
        retries: extra attempts after a connection failure (so at most `retries + 1` tries).
        backoff: the first pause between attempts in seconds; it doubles after each one.
        stream_threshold: `sample` fetches more rows than this as a streamed CSV.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        *,
        backoff: float = 0.25,
        stream_threshold: int = 10_000,
    ):
        if retries < 0:
            raise ValueError(f"Invalid value for `retries`: expected >= 0, got {retries}")
        self.url = url.rstrip("/")
        self.retries, self.backoff, self.stream_threshold = retries, backoff, stream_threshold
        headers = {"X-API-Key": api_key} if api_key is not None else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # ------------------------------------------------------------------ endpoints
    def models(self) -> list[dict]:
        """The loaded models (latest versions) with columns, rows and fidelity."""
        return self._json("GET", "/models")["models"]

    def model(self, name: str, version: str | int | None = None, *, top: int | None = None) -> dict:
        """One model's schema, metadata and versions: per column its cardinality, labels and
        training frequencies (all of them for a column with at most 100 labels, else the top
        50 and `other`: `{"labels": how many more, "frequency": their total}`; `top=N`: at
        most N labels of every column)."""
        params = _version(version)
        if top is not None:
            params["top"] = top
        return self._json("GET", _model_path(name), params=params)

    def sample(
        self,
        name: str,
        n: int,
        seed: int | None = None,
        where: Mapping[str, Any] | None = None,
        version: str | int | None = None,
    ) -> pd.DataFrame:
        """`n` sampled rows; `where={"column": label or [labels]}` keeps only matching rows.

        Up to `stream_threshold` rows come as JSON and keep the labels' JSON types (str, int,
        bool, None) in object columns. More rows are streamed as CSV and every label is read
        as text (never re-typed: "007" stays "007"), with empty fields as missing.
        """
        body: dict[str, Any] = {"n": n}
        if seed is not None:
            body["seed"] = seed
        if where:
            body["conditions"] = {k: list(v) if _is_set(v) else v for k, v in where.items()}
        if version is not None:
            body["version"] = str(version)
        path = f"{_model_path(name)}/sample"
        if n <= self.stream_threshold:
            result = self._json("POST", path, json=body)
            return pd.DataFrame(result["rows"], columns=result["columns"], dtype=object)
        with self._stream("POST", path, json={**body, "format": "csv"}) as response:
            try:
                frame = pd.read_csv(
                    io.BufferedReader(_ChunkReader(response.iter_bytes())),
                    dtype=str,
                    keep_default_na=False,
                )
            except httpx.TransportError as e:
                raise ConnectionFailed(
                    f"Connection to {self.url} broke while streaming rows: {e}", attempts=1
                ) from e
        return frame.mask(frame == "")

    def probabilities(
        self,
        name: str,
        given: Mapping[str, Any] | None = None,
        version: str | int | None = None,
        *,
        top: int | None = None,
        by: str | None = None,
    ) -> Probabilities:
        """Learned `{column: {label: probability}}`, optionally given `{column: label(s)}`.

        A column with more than 100 labels comes as its 50 most probable labels, and
        `top=N` cuts every column to its N most probable (`by="frequency"`: the N most frequent
        in training instead); what a cut column leaves out is in the result's `.other`:
        `{column: {"labels": how many, "probability": their total}}`.
        """
        params = _version(version)
        params["given"] = [_given(column, labels) for column, labels in (given or {}).items()]
        if top is not None:
            params["top"] = top
        if by is not None:
            params["by"] = by
        body = self._json("GET", f"{_model_path(name)}/probabilities", params=params)
        listed = {
            column: {e["label"]: e["probability"] for e in entries}
            for column, entries in body["probabilities"].items()
        }
        return Probabilities(listed, body.get("other", {}))

    def score(
        self,
        name: str,
        rows: pd.DataFrame | list[Mapping[str, Any]],
        n_samples: int | None = None,
        seed: int = 0,
        version: str | int | None = None,
        *,
        batch_size: int = 5_000,
    ) -> np.ndarray:
        """Each row's ELBO under a VAE-family model, `(n_rows,)` float64 nats (<= 0), a lower
        bound on `log p(row)`; a GAN-family model raises `ClientError` (409).

        `rows` is a DataFrame (one column per model column) or a list of `{column: label}`;
        labels match as in `sample(where=...)` (text names a label whose text form it is, so
        a frame read from CSV as text scores as it is); missing values (None/NaN) are the
        missing label. Rows go in requests of at most `batch_size` (a row's score does not
        depend on the others); every request after the first asks for the version the first
        one was scored with, so a new version published meanwhile never mixes in.
        """
        if batch_size < 1:
            raise ValueError(f"Invalid value for `batch_size`: expected >= 1, got {batch_size}")
        records = _records(rows)
        if not records:
            raise ValueError("No rows to score")
        path = f"{_model_path(name)}/score"
        scores: list[float] = []
        pinned = None if version is None else str(version)
        for start in range(0, len(records), batch_size):
            body: dict[str, Any] = {"rows": records[start : start + batch_size], "seed": seed}
            if n_samples is not None:
                body["n_samples"] = n_samples
            if pinned is not None:
                body["version"] = pinned
            result = self._json("POST", path, json=body)
            pinned = result["version"]
            scores.extend(result["scores"])
        return np.asarray(scores, dtype=np.float64)

    # ------------------------------------------------------------------ transport
    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._stream(method, path, **kwargs) as response:
            try:
                response.read()
            except httpx.TransportError as e:
                raise ConnectionFailed(
                    f"Connection to {self.url} broke while reading the response: {e}", attempts=1
                ) from e
        try:
            return response.json()
        except ValueError:
            raise ServerError(response.status_code, "The response is not JSON") from None

    @contextmanager
    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """The open response (status checked, body not read yet), retrying connect failures."""
        request = self._http.build_request(method, path, **kwargs)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.send(request, stream=True)
                break
            except _RETRIABLE as e:
                if attempt > self.retries:
                    raise ConnectionFailed(
                        f"Cannot reach {self.url} ({method} {path}) after {attempt} attempt(s): "
                        f"{type(e).__name__}: {e}",
                        attempts=attempt,
                    ) from e
                time.sleep(self.backoff * 2 ** (attempt - 1))
            except httpx.TimeoutException as e:
                raise ConnectionFailed(
                    f"No response from {self.url} ({method} {path}) in time: {e}", attempts=attempt
                ) from e
        try:
            if response.status_code >= 300:
                response.read()
                detail = _detail(response)
                if 400 <= response.status_code < 500:
                    raise ClientError(response.status_code, detail)
                raise ServerError(response.status_code, detail)
            yield response
        finally:
            response.close()


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks, so pandas parses as bytes arrive."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._pending = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _json_label(value: Any) -> Any:
    """A label as JSON sends it: numpy scalars as Python ones, NaN/None/NA as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if value is pd.NaT:
        return None
    return value


def _records(rows: pd.DataFrame | list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(rows, pd.DataFrame):
        columns = [str(c) for c in rows.columns]
        return [
            {c: _json_label(v) for c, v in zip(columns, row, strict=True)}
            for row in rows.itertuples(index=False, name=None)
        ]
    return [{str(c): _json_label(v) for c, v in dict(row).items()} for row in rows]


def _model_path(name: str) -> str:
    return f"/models/{quote(str(name), safe='')}"


def _version(version: str | int | None) -> dict[str, Any]:
    return {} if version is None else {"version": str(version)}


def _is_set(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _label_text(label: Any) -> str:
    if label is None:
        raise ValueError("A missing label cannot be given in a query; use sample(where=...)")
    text = str(label)
    if "|" in text:
        raise ValueError(f"Label {text!r} contains '|', which separates labels in `given`")
    return text


def _given(column: str, labels: Any) -> str:
    if ":" in str(column):
        raise ValueError(f"Column {column!r} contains ':', which `given` cannot express")
    values = sorted(labels, key=str) if isinstance(labels, set | frozenset) else labels
    parts = [_label_text(v) for v in values] if _is_set(labels) else [_label_text(labels)]
    if not parts:
        raise ValueError(f"Empty list of labels for column {column!r}")
    return f"{column}:{'|'.join(parts)}"


def _detail(response: httpx.Response) -> str:
    """The service's `detail` message (FastAPI's validation errors joined into one line)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg')}"
            if isinstance(d, dict)
            else str(d)
            for d in detail
        )
    return str(detail) if detail is not None else response.reason_phrase
