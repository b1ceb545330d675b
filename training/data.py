"""Loading the training table exactly as written: CSV/TSV (or CSV on stdin), Parquet, JSON Lines.

`load_table` returns a DataFrame; `encode_table` streams the same table into an `EncodedTable`
(int codes plus the schema `CategoricalGAN.encode` would infer) without ever holding every
cell's label, which is how `discrete-gan train` reads CSV, TSV and Parquet (tables larger
than memory: only the codes, one byte per cell for up to 256 labels, are kept).

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
    import pyarrow.parquet as pq

    return _arrow_frame(pq.read_table(io.BytesIO(raw)))


def _arrow_frame(table) -> pd.DataFrame:
    """A Parquet table's columns as pandas columns that keep their types (see module doc)."""
    import pyarrow as pa

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
    """sha256 of the encoded table (shape + int32 codes): identifies the training data.

    Hashed in slices of rows, so the int32 bytes are never all in memory at once (at 10M
    rows x 20 columns they would be 800 MB, next to the codes themselves).
    """
    h = hashlib.sha256(str(codes.shape).encode())
    step = max(1, (4 << 20) // (4 * max(1, codes.shape[1])))  # rows in 4 MiB of int32
    for start in range(0, len(codes), step):
        h.update(np.ascontiguousarray(codes[start : start + step], dtype="int32"))
    return "sha256:" + h.hexdigest()


# ------------------------------------------------------------ streaming, encoded
BLOCK_BYTES = 4 << 20


class _Utf8Source(io.RawIOBase):
    """A binary stream as pyarrow reads it: UTF-8 checked on the way through, BOM dropped.

    Bytes are validated as they are read (never the whole file in memory); the first invalid
    byte raises the same DataError as the in-memory path (offset from the start of the file,
    line number). `record()` ... `replay()` hands the bytes read in between out again, so the
    header can be read by one CSV reader and the rows by another, even from stdin.
    """

    def __init__(self, raw, name: str):
        super().__init__()
        self.raw, self.name = raw, name
        self.offset, self.lines = 0, 1  # bytes validated so far; line of the next byte
        self.carry = b""  # an incomplete UTF-8 sequence at the end of the last read
        self.started, self.error = False, None
        self.pending, self.recording = bytearray(), None

    def readable(self) -> bool:
        return True

    def _fresh(self, size: int) -> bytes:
        """Up to about `size` validated bytes from `raw` (b"" at the end of it)."""
        while True:
            chunk = self.raw.read(max(size, 1 << 16))
            if not self.started:
                while chunk and len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                    more = self.raw.read(1 << 16)
                    if not more:
                        break
                    chunk += more
                self.started = True
                if chunk.startswith(_BOM):
                    self.offset += len(_BOM)
                    chunk = chunk[len(_BOM) :]
                    if not chunk:
                        continue
            data = self.carry + chunk
            if not chunk:
                if self.carry:
                    self._fail(data, 0)
                return b""
            try:
                data.decode("utf-8")
                good, self.carry = data, b""
            except UnicodeDecodeError as e:
                if e.reason != "unexpected end of data" or e.end != len(data):
                    self._fail(data, e.start)
                good, self.carry = data[: e.start], data[e.start :]
            self.offset += len(good)
            self.lines += good.count(b"\n")
            if good:
                return good

    def _fail(self, data: bytes, start: int) -> None:
        offset = self.offset + start
        line = self.lines + data[:start].count(b"\n")
        self.error = DataError(
            f"{self.name} is not valid UTF-8 (byte 0x{data[start]:02x} at offset {offset}, "
            f"line {line}); re-encode it as UTF-8"
        )
        raise self.error

    def readinto(self, buffer) -> int:
        size = len(buffer)
        if self.pending:
            data = bytes(self.pending[:size])
            del self.pending[:size]
        else:
            data = self._fresh(size)
            if len(data) > size:
                self.pending += data[size:]
                data = data[:size]
        if self.recording is not None:
            self.recording += data
        buffer[: len(data)] = data
        return len(data)

    def skip_blank(self) -> bool:
        """Reads past ASCII whitespace, keeping it to be read again; False if that is all."""
        while True:
            data = self._fresh(1 << 16)
            self.pending += data
            if not data:
                return False
            if data.strip():
                return True

    def record(self) -> None:
        self.recording = bytearray()

    def replay(self) -> None:
        self.pending[:0] = self.recording
        self.recording = None


class _Encoder:
    """One column's labels in order of first appearance, their counts, and the codes so far.

    Codes are kept in the narrowest unsigned int type that holds the labels seen when the
    batch came; missing (None) is a label of its own here, placed by the schema at the end.
    """

    def __init__(self, name: str):
        self.name = name
        self.ids: dict = {}
        self.labels: list = []
        self.counts = np.zeros(0, dtype=np.int64)
        self.chunks: list[np.ndarray] = []

    def _id(self, label) -> int:
        found = self.ids.get(label)
        if found is None:
            found = self.ids[label] = len(self.labels)
            self.labels.append(label)
        return found

    def add(self, array) -> None:
        """Appends the codes of one batch's dictionary-encoded column (nulls are missing)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(array.type):
            array = pc.dictionary_encode(array)
        lookup = [self._id(x) for x in array.dictionary.to_pylist()]
        indices = array.indices
        if array.null_count:
            lookup.append(self._id(None))
            indices = indices.fill_null(len(lookup) - 1)
        dtype = np.min_scalar_type(max(len(self.labels) - 1, 0))
        codes = np.asarray(lookup, dtype=dtype)[indices.to_numpy(zero_copy_only=False)]
        counts = np.bincount(codes, minlength=len(self.labels))
        counts[: len(self.counts)] += self.counts
        self.counts = counts
        self.chunks.append(codes)

    @property
    def distinct(self) -> int:
        """Labels seen, missing excluded."""
        return len(self.labels) - (None in self.ids)


def _column(enc: _Encoder, missing: str, max_categories: int | None) -> tuple:
    """The schema `Column` that `TableSchema.from_dataframe` infers for these text labels,
    with the map from first-appearance ids to its codes (and the id of missing, or None)."""
    from discrete_gan.schema import Column

    counts = dict(zip(enc.labels, enc.counts.tolist(), strict=True))
    n_missing = counts.pop(None, 0)
    if missing == "error" and n_missing:
        raise DataError(
            f"Column '{enc.name}' has {n_missing} missing value(s) and missing='error'. "
            "Use missing='category' or missing='drop', or fill them first."
        )
    cats = sorted(counts)
    cnts = [counts[x] for x in cats]
    if missing == "category" and n_missing:
        cats, cnts = [*cats, None], [*cnts, n_missing]
    if max_categories is not None and len(cats) > max_categories:
        raise DataError(
            f"Column '{enc.name}' has {len(cats)} categories, more than "
            f"max_categories={max_categories}"
        )
    code = {x: i for i, x in enumerate(cats)}
    remap = np.array([code.get(x, len(cats)) for x in enc.labels], dtype=np.int64)
    column = Column(enc.name, tuple(cats), "object", tuple(c / sum(cnts) for c in cnts))
    return column, remap, enc.ids.get(None)


def _named_empty(named: Sequence[str] | None, usable: list[str]) -> None:
    """`CategoricalGAN.encode(df, columns)` after `select_columns` dropped an empty column."""
    dropped = [c for c in named or () if c not in usable]
    if dropped:
        raise DataError(f"Unknown column(s) {dropped}. Known columns: {usable}")


def _assemble(encoders, rows: int, missing: str, max_categories: int | None, source: str, named):
    """Builds the `EncodedTable` of the streamed columns: the checks of `select_columns`,
    the schema of `TableSchema.from_dataframe`, the codes of `TableSchema.encode`."""
    from discrete_gan.schema import EncodedTable, TableSchema

    if rows == 0:
        raise DataError(f"{source} has a header but no rows")
    usable = [e for e in encoders if e.distinct]
    if not usable:
        raise DataError("No usable columns: every selected column is empty")
    if rows < 2:
        raise DataError(f"Need at least 2 rows to train; the data has {rows}")
    _named_empty(named, [e.name for e in usable])
    built = [_column(e, missing, max_categories) for e in usable]
    top = max(c.cardinality for c, _, _ in built)
    codes = np.empty((rows, len(usable)), dtype=np.min_scalar_type(top))  # top: drop's marker
    keep = np.ones(rows, dtype=bool) if missing == "drop" else None
    for j, (enc, (_, remap, missing_id)) in enumerate(zip(usable, built, strict=True)):
        ids = np.concatenate(enc.chunks)
        enc.chunks = []
        codes[:, j] = remap.astype(codes.dtype)[ids]
        if keep is not None and missing_id is not None:
            keep &= ids != missing_id
    schema = TableSchema([c for c, _, _ in built], missing=missing)
    return EncodedTable(codes if keep is None or keep.all() else codes[keep], schema)


def _check_columns(names: Sequence[str], columns: Sequence[str] | None) -> list[str]:
    if not columns:
        return list(names)
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise DataError(f"Unknown column(s) {unknown}; the data has: {[str(c) for c in names]}")
    return list(columns)


def _cap_exceeded(encoders, rows: int, max_categories: int | None) -> None:
    for e in encoders:
        if max_categories is not None and e.distinct > max_categories:
            raise DataError(
                f"Column '{e.name}' has more than max_categories={max_categories} categories "
                f"({e.distinct} in its first {rows} rows)"
            )


def _stream_text(
    raw, name: str, delimiter: str, na_values: Sequence[str], columns, missing, max_categories
):
    import pyarrow as pa
    import pyarrow.csv as pc

    source = _Utf8Source(raw, name)
    try:
        if not source.skip_blank():
            raise DataError(f"{name} is empty")
        parse = pc.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True
        )
        source.record()
        header = pc.open_csv(
            source,
            parse_options=parse,
            read_options=pc.ReadOptions(block_size=1 << 20, use_threads=False),
        ).schema.names
        source.replay()
        _check_names(header, name)
        selected = _check_columns(header, columns)
        # In a one-column file an empty line is an empty (missing) value, not a blank to skip.
        parse = pc.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=len(header) > 1
        )
        convert = pc.ConvertOptions(
            column_types={c: pa.dictionary(pa.int32(), pa.string()) for c in header},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=["", *na_values],
            include_columns=selected,
        )
        reader = pc.open_csv(
            source,
            parse_options=parse,
            convert_options=convert,
            read_options=pc.ReadOptions(block_size=BLOCK_BYTES),
        )
        encoders = [_Encoder(c) for c in selected]
        rows, batches = 0, iter(reader)
        batch = next(batches, None)
        while batch is not None:
            for enc, c in zip(encoders, selected, strict=True):
                enc.add(batch.column(c))
            rows += batch.num_rows
            batch = next(batches, None)
            if batch is not None:  # fail fast on an ID-like column, before reading it all
                _cap_exceeded(encoders, rows, max_categories)
    except DataError:
        raise
    except Exception as e:  # pyarrow raises many types for malformed input
        if source.error is not None:
            raise source.error from None
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        fmt = "tsv" if delimiter == "\t" else "csv"
        raise DataError(f"Cannot parse {name} as {fmt}: {message}") from None
    _release_freed_memory()  # before the codes matrix is allocated beside the batches' codes
    return _assemble(encoders, rows, missing, max_categories, name, columns)


def _stream_parquet(path: str, name: str, columns, missing, max_categories):
    """Parquet, one column at a time: each column converted and inferred exactly as the
    in-memory path does (its types kept), so memory holds one column's labels at most."""
    import pyarrow.parquet as pq

    from discrete_gan.schema import Column, EncodedTable, TableSchema

    try:
        handle = sys.stdin.buffer.read() if path == "-" else path
        if path == "-" and not handle.strip():
            raise DataError(f"{name} is empty")
        parquet = pq.ParquetFile(io.BytesIO(handle) if path == "-" else handle)
    except DataError:
        raise
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"Cannot parse {name} as parquet: {message}") from None
    rows = parquet.metadata.num_rows
    selected = _check_columns(parquet.schema_arrow.names, columns)
    if rows == 0:
        raise DataError(f"{name} has a header but no rows")
    frames = []  # (column, codes, id of missing or None)
    for c in selected:
        frame = _arrow_frame(parquet.read(columns=[c]))
        series = frame[c]
        if not series.notna().any():
            continue
        if rows < 2:
            raise DataError(f"Need at least 2 rows to train; the data has {rows}")
        try:
            (column,) = TableSchema.from_dataframe(
                frame, missing=missing, max_categories=max_categories
            ).columns
            cats = column.categories
            marker = None
            if series.isna().any() and None not in cats:
                cats, marker = (*cats, None), len(cats)  # missing='drop': marks rows to drop
            encoder = TableSchema([Column(c, cats, column.dtype)], missing="category")
            codes = encoder.encode(frame)[:, 0]
        except (ValueError, TypeError) as e:
            raise DataError(str(e)) from None
        dtype = np.min_scalar_type(max(len(cats) - 1, 0))
        frames.append((column, codes.astype(dtype), marker))
        del frame, series
    if not frames:
        raise DataError("No usable columns: every selected column is empty")
    _named_empty(columns, [c.name for c, _, _ in frames])
    top = max(len(c.categories) for c, _, _ in frames)
    out = np.empty((rows, len(frames)), dtype=np.min_scalar_type(top))
    keep = np.ones(rows, dtype=bool)
    for j, (_, codes, marker) in enumerate(frames):
        out[:, j] = codes
        if marker is not None:
            keep &= codes != marker
    schema = TableSchema([c for c, _, _ in frames], missing=missing)
    return EncodedTable(out if keep.all() else out[keep], schema)


def encode_table(
    source: str,
    fmt: str | None = None,
    na_values: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    *,
    missing: str = "category",
    max_categories: int | None = None,
):
    """Streams a CSV/TSV/Parquet table into an `EncodedTable`, never holding its labels.

    The result is what `load_table` + `select_columns` + `CategoricalGAN.encode` give (same
    schema: categories, their order, frequencies, dtypes; same codes), built in bounded memory:
    CSV/TSV is read by pyarrow in blocks of 4 MiB, each column dictionary-encoded as it
    arrives, and only int codes `(rows, columns)` of the narrowest unsigned type that fits
    are kept, with each column's labels and counts; Parquet is read one column at a time.
    A column with more than `max_categories` labels stops the read early.

    Raises DataError as `load_table` does (missing, empty, non-UTF-8, unparsable files) and
    for the schema errors `CategoricalGAN.encode` raises (missing='error', too many labels).
    """
    try:
        return _encode(source, fmt, list(na_values), columns, missing, max_categories)
    finally:
        _release_freed_memory()


def _release_freed_memory() -> None:
    """Hands the pages the read freed back to the OS.

    The readers' buffers and the per-batch codes are freed, but the allocators keep their
    pages for reuse that training never makes: mimalloc (Arrow's pool) about 100 MiB after a
    2M-row CSV, glibc's heap about 400 MiB after a 10M-row, 20-column one (the batches' codes
    are small blocks interleaved with temporaries, so the heap cannot shrink by itself).
    """
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's (musl has none)
        if trim is not None:
            trim(0)


def _encode(source: str, fmt, na_values: list[str], columns, missing, max_categories):
    fmt = fmt or ("csv" if source == "-" else FORMATS.get(Path(source).suffix.lower()))
    if source != "-":
        path = Path(source)
        if not path.exists():
            raise DataError(f"Data file not found: {source}")
        if path.is_dir():
            raise DataError(f"Data path is a directory, not a file: {source}")
    if fmt is None or fmt == "jsonl":
        raise DataError(
            f"Unknown data format for {source!r}: use a .csv, .tsv or .parquet file (or --format)"
        )
    name = "<stdin>" if source == "-" else str(Path(source))
    if fmt == "parquet":
        if source != "-" and Path(source).stat().st_size == 0:
            raise DataError(f"{name} is empty")
        return _stream_parquet(source, name, columns, missing, max_categories)
    delimiter = "\t" if fmt == "tsv" else ","
    if source == "-":
        return _stream_text(
            sys.stdin.buffer, name, delimiter, na_values, columns, missing, max_categories
        )
    try:
        raw = open(source, "rb")  # noqa: SIM115 (closed below)
    except OSError as e:
        raise DataError(f"Cannot read {source}: {e.strerror or e}") from None
    with raw:
        return _stream_text(raw, name, delimiter, na_values, columns, missing, max_categories)


def load_training_data(
    source: str,
    fmt: str | None,
    na_values: Sequence[str],
    columns: Sequence[str] | None,
    *,
    missing: str = "category",
    max_categories: int | None = None,
):
    """What `discrete-gan train` trains on: an `EncodedTable` streamed from CSV/TSV/Parquet
    (see `encode_table`), or for JSON Lines the DataFrame of `load_table` + `select_columns`."""
    fmt = fmt or ("csv" if source == "-" else FORMATS.get(Path(source).suffix.lower()))
    if fmt == "jsonl" or fmt is None:
        return select_columns(load_table(source, fmt, na_values), columns)
    return encode_table(
        source, fmt, na_values, columns, missing=missing, max_categories=max_categories
    )
