"""Streaming writers for sampled rows: CSV, JSON Lines, Parquet; atomic when writing a file."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["FORMATS", "write_rows"]

FORMATS = ("csv", "jsonl", "parquet")


@contextmanager
def _target(out: str | None, binary: bool):
    """Yields a writable stream: stdout, or a temp file renamed onto `out` on success."""
    if out is None or out == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    path = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def write_rows(frames: Iterable[pd.DataFrame], fmt: str, out: str | None) -> int:
    """Writes the frames one chunk at a time (bounded memory); returns the number of rows."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and (out is None or out == "-"):
        raise ValueError("Parquet output needs --out PATH (it cannot stream to stdout)")
    rows = 0
    with _target(out, binary=fmt == "parquet") as stream:
        writer = None
        for i, frame in enumerate(frames):
            rows += len(frame)
            if fmt == "csv":
                frame.to_csv(stream, index=False, header=i == 0, lineterminator="\n")
            elif fmt == "jsonl":
                for record in frame.itertuples(index=False, name=None):
                    values = {c: _jsonable(v) for c, v in zip(frame.columns, record)}
                    stream.write(json.dumps(values) + "\n")
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(stream, table.schema)
                writer.write_table(table)
        if writer is not None:
            writer.close()
    return rows
