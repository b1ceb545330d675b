"""Streaming writers for sampled rows: CSV, JSON Lines, Parquet; atomic when writing a file.

Rows are rendered straight from code chunks by `discrete_gan.formats` (the same rules as the
service), one chunk at a time, so memory stays bounded for any number of rows.
"""

from __future__ import annotations

import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

from discrete_gan.draws import Draw
from discrete_gan.formats import ArrowConverter, CsvWriter, NdjsonWriter

__all__ = ["FORMATS", "create_temporary", "write_draw"]

FORMATS = ("csv", "jsonl", "parquet")


def create_temporary(path: Path) -> tuple[int, Path]:
    """Creates a new hidden file next to `path` and returns `(fd, its path)`.

    Opened with mode 0666 like any tool's output, so the file gets the user's umask (0644
    under umask 022); `tempfile.mkstemp` would make it 0600. Nothing reads or changes the
    process's umask (which would race with other threads creating files).
    """
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"Cannot create a temporary file next to {path}")


@contextmanager
def _target(out: str | None, binary: bool):
    """Yields a writable stream: stdout, or a temporary file renamed onto `out` on success
    (atomic: `out` is the old file or the complete new one, never a partial one)."""
    if out is None or out == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    fd, tmp = create_temporary(Path(out))
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            yield f
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_draw(draw: Draw, fmt: str, out: str | None) -> int:
    """Writes the draw chunk by chunk to `out` (stdout when None); returns the rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and (out is None or out == "-"):
        raise ValueError("Parquet output needs --out PATH (it cannot stream to stdout)")
    rows = 0
    with _target(out, binary=fmt == "parquet") as stream:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            converter, writer = ArrowConverter(draw.schema), None
            for codes in draw:
                table = converter.table(codes)
                writer = writer or pq.ParquetWriter(stream, table.schema)
                writer.write_table(table)
                rows += len(codes)
            if writer is None:
                writer = pq.ParquetWriter(stream, converter.table(draw.codes()[:0]).schema)
            writer.close()
        elif fmt == "csv":
            csv = CsvWriter(draw.schema)
            stream.write(csv.header())
            for codes in draw:
                stream.write(csv.rows(codes))
                rows += len(codes)
        else:
            ndjson = NdjsonWriter(draw.schema)
            for codes in draw:
                stream.write(ndjson.rows(codes))
                rows += len(codes)
    return rows
