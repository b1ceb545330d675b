"""Loading the training table exactly as written: CSV/TSV (or CSV on stdin), Parquet, JSON Lines.

Text files are read as text: every cell is a label exactly as written (`TRUE`, `None`, `007`,
` a ` and `1.0` stay themselves; nothing is trimmed, re-typed or re-spelled). A cell is missing
when it is empty (quoted or not) or equals one of the `na_values` the user names. Parquet and
JSON Lines keep their typed values: a bool column stays bool, an int column int (nullable when
it has gaps), a string "007" stays "007", JSON `null` is missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DataError", "fingerprint", "load_table", "select_columns"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
FORMATS |= {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_BOM = b"\xef\xbb\xbf"


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


def _check_utf8(raw: bytes, name: str) -> bytes:
    """`raw` without a UTF-8 byte-order mark; DataError naming the first invalid byte."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{name} is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}, "
            f"line {line}); re-encode it as UTF-8"
        ) from None
    return raw[len(_BOM) :] if raw.startswith(_BOM) else raw


def _text_column(array) -> pd.Series:
    """An Arrow string column -> object Series of Python str, `None` for missing."""
    values = array.to_numpy(zero_copy_only=False)
    return pd.Series(values, dtype=object)


def _read_text(raw: bytes, name: str, delimiter: str, na_values: Sequence[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pc

    parse = pc.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True)
    header = pc.open_csv(
        io.BytesIO(raw), parse_options=parse, read_options=pc.ReadOptions(block_size=1 << 20)
    ).schema.names
    _check_names(header, name)
    # In a one-column file an empty line is an empty (missing) value, not a blank to skip.
    parse = pc.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=len(header) > 1
    )
    convert = pc.ConvertOptions(
        column_types={c: pa.string() for c in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=["", *na_values],
    )
    table = pc.read_csv(io.BytesIO(raw), parse_options=parse, convert_options=convert)
    return pd.DataFrame({c: _text_column(table.column(c)) for c in header}, columns=header)


def _check_names(names: Sequence[str], source: str) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n == "":
            raise DataError(f"{source}: column {i + 1} has an empty name in the header")
        if n in seen:
            raise DataError(f"{source}: the header names column {n!r} twice")
        seen.add(n)


def _read_parquet(raw: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(raw))
    nullable = {
        pa.bool_(): pd.BooleanDtype(),
        **{t(): pd.Int64Dtype() for t in (pa.int8, pa.int16, pa.int32, pa.int64)},
        **{t(): pd.UInt64Dtype() for t in (pa.uint8, pa.uint16, pa.uint32, pa.uint64)},
    }
    frame = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            frame[field.name] = _text_column(column)
        elif field.type in nullable and column.null_count:
            frame[field.name] = column.to_pandas(types_mapper=nullable.get)
        else:
            frame[field.name] = column.to_pandas()
    return pd.DataFrame(frame, columns=table.schema.names)


def _read_jsonl(text: str, name: str) -> pd.DataFrame:
    rows: list[dict] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"Cannot parse {name} as jsonl: line {number}: {e.msg}") from None
        if not isinstance(row, dict):
            raise DataError(f"Cannot parse {name} as jsonl: line {number} is not an object")
        for key, value in row.items():
            if isinstance(value, dict | list):
                raise DataError(
                    f"{name} line {number}: column {key!r} holds a nested value; "
                    "every value must be a string, number, bool or null"
                )
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    data = {c: pd.Series([row.get(c) for row in rows], dtype=object) for c in columns}
    return pd.DataFrame(data, columns=columns)


def load_table(source: str, fmt: str | None = None, na_values: Sequence[str] = ()) -> pd.DataFrame:
    """Reads a table from a path or "-" (stdin, CSV); the format comes from the suffix.

    CSV/TSV cells come back as Python `str` (object columns), missing as `None`: an empty
    field, or a field equal to one of `na_values`. Parquet and JSON Lines keep their types.
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
    na_values = list(na_values)
    if fmt != "parquet":
        raw = _check_utf8(raw, name)
    try:
        if fmt == "parquet":
            df = _read_parquet(raw)
        elif fmt == "jsonl":
            df = _read_jsonl(raw.decode("utf-8"), name)
        else:
            df = _read_text(raw, name, "\t" if fmt == "tsv" else ",", na_values)
    except DataError:
        raise
    except Exception as e:  # pyarrow raises many types for malformed input
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
