"""Streaming writers for sampled rows: CSV, JSON Lines, Parquet; atomic when writing a file.

Rows are rendered straight from code chunks by `discrete_gan.formats` (the same rules as the
service), one chunk at a time, so memory stays bounded for any number of rows.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from discrete_gan.draws import Draw
from discrete_gan.formats import ArrowConverter, CsvWriter, NdjsonWriter

__all__ = ["FORMATS", "write_draw"]

FORMATS = ("csv", "jsonl", "parquet")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _target(out: str | None, binary: bool):
    """Yields a writable stream: stdout, or a temp file renamed onto `out` on success.

    The file gets the mode any tool would create it with (0666 less the user's umask), not
    the 0600 of the temporary file it is written as.
    """
    if out is None or out == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    path = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
