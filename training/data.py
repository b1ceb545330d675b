"""Loading the training table: CSV, Parquet, JSON Lines, or CSV on stdin, with clear errors."""

from __future__ import annotations

import hashlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DataError", "fingerprint", "load_table", "select_columns"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
FORMATS |= {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class DataError(ValueError):
    """The training data cannot be used; the message says why in one line."""


def _read_bytes(source: str) -> tuple[bytes, str]:
    if source == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(source)
    if not path.exists():
        raise DataError(f"Data file not found: {source}")
    if path.is_dir():
        raise DataError(f"Data path is a directory, not a file: {source}")
    try:
        return path.read_bytes(), str(path)
    except OSError as e:
        raise DataError(f"Cannot read {source}: {e.strerror or e}") from None


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{name} is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}, "
            f"line {line}); re-encode it as UTF-8"
        ) from None


def load_table(source: str, fmt: str | None = None) -> pd.DataFrame:
    """Reads a table from a path or "-" (stdin, CSV). The format comes from the suffix.

    Raises DataError for a missing/unreadable/empty file, bad bytes or unparsable content.
    """
    raw, name = _read_bytes(source)
    fmt = fmt or ("csv" if source == "-" else FORMATS.get(Path(source).suffix.lower()))
    if fmt is None:
        raise DataError(
            f"Unknown data format for {source!r}: use a .csv, .tsv, .parquet or .jsonl file "
            "(or --format)"
        )
    if not raw.strip():
        raise DataError(f"{name} is empty")
    try:
        if fmt == "parquet":
            df = pd.read_parquet(io.BytesIO(raw))
        elif fmt == "jsonl":
            df = pd.read_json(io.StringIO(_decode(raw, name)), lines=True)
        else:
            sep = "\t" if fmt == "tsv" else ","
            df = pd.read_csv(io.StringIO(_decode(raw, name)), sep=sep)
    except DataError:
        raise
    except Exception as e:  # pandas/pyarrow raise many types for malformed input
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"Cannot parse {name} as {fmt}: {message}") from None
    if len(df) == 0:
        raise DataError(f"{name} has a header but no rows")
    return df


def select_columns(df: pd.DataFrame, columns: Sequence[str] | None) -> pd.DataFrame:
    """Keeps `columns` (all by default) and drops columns with no values at all."""
    if columns:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise DataError(
                f"Unknown column(s) {missing}; the data has: {[str(c) for c in df.columns]}"
            )
        df = df[list(columns)]
    usable = [c for c in df.columns if df[c].notna().any()]
    if not usable:
        raise DataError("No usable columns: every selected column is empty")
    df = df[usable]
    if len(df) < 2:
        raise DataError(f"Need at least 2 rows to train; the data has {len(df)}")
    return df


def fingerprint(codes: np.ndarray) -> str:
    """sha256 of the encoded table (shape + int32 codes): identifies the training data."""
    h = hashlib.sha256(str(codes.shape).encode())
    h.update(np.ascontiguousarray(codes, dtype="int32").tobytes())
    return "sha256:" + h.hexdigest()
