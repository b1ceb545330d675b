"""Rendering sampled codes as CSV, NDJSON, JSON rows or Arrow tables, labels byte for byte.

Every category's rendering is computed once per column (a column has a fixed set of labels),
then rows are assembled by indexing those arrays with the codes: no DataFrame, no per-cell
type dispatch, and one rule for every writer (the CLI and the service share this module):

- CSV: a label is written as its `text_form` (a text label is itself, exactly); it is quoted
  when it holds the delimiter, a quote, `\\r` or `\\n` (quotes doubled), and a missing value is
  the empty field. Reading the file back as text (as `discrete-gan train` does) returns every
  label unchanged.
- JSON / NDJSON: text labels are JSON strings, bools and numbers JSON bools and numbers,
  missing is `null`. JSON has no infinities, so a float label `inf` / `-inf` is sent as the
  string `"inf"` / `"-inf"` (its `text_form`), never as the non-JSON token `Infinity`.
- Arrow (Parquet): a column of one label type keeps it (string, bool, int64, float64, nulls
  for missing); a column mixing types (`1` and `2.5`, `1` and `"a"`) is written as the
  labels' text forms, since a Parquet column has one type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from discrete_gan.schema import TableSchema, text_form

__all__ = [
    "ArrowConverter",
    "CsvWriter",
    "JsonRowsWriter",
    "NdjsonWriter",
    "arrow_table",
    "json_label",
    "json_rows",
]


def json_label(label: Any) -> Any:
    """A label as a JSON-safe value: non-finite floats become their text form."""
    if type(label) is float and not math.isfinite(label):
        return text_form(label)
    return label


def _csv_field(label: Any, delimiter: str) -> str:
    text = text_form(label)
    if any(c in text for c in (delimiter, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _column_array(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class CsvWriter:
    """Renders code chunks `(m, n_columns)` of `schema` as CSV text (header first)."""

    def __init__(self, schema: TableSchema, delimiter: str = ","):
        if delimiter not in (",", "\t", ";", "|"):
            raise ValueError(
                "Invalid value for `delimiter`. Expected one of ',', '\\t', ';', '|'. "
                f"Received: delimiter={delimiter!r}"
            )
        self.schema, self.delimiter = schema, delimiter
        self._fields = [
            _column_array([_csv_field(label, delimiter) for label in c.categories])
            for c in schema.columns
        ]

    def header(self) -> str:
        return self.delimiter.join(_csv_field(n, self.delimiter) for n in self.schema.names) + "\n"

    def rows(self, codes: np.ndarray) -> str:
        """CSV lines for `codes`, each ending in `\\n` ("" for no rows)."""
        if len(codes) == 0:
            return ""
        columns = [fields[codes[:, j]] for j, fields in enumerate(self._fields)]
        return "".join(self.delimiter.join(row) + "\n" for row in zip(*columns))

    def iter_text(self, chunks: Iterable[np.ndarray], header: bool = True) -> Iterator[str]:
        if header:
            yield self.header()
        for codes in chunks:
            yield self.rows(codes)


class NdjsonWriter:
    """Renders code chunks as newline-delimited JSON objects `{"column": label, ...}`."""

    def __init__(self, schema: TableSchema):
        self.schema = schema
        self._parts = []
        for c in schema.columns:
            key = json.dumps(c.name, ensure_ascii=False)
            self._parts.append(
                _column_array(
                    [
                        f"{key}: {json.dumps(json_label(x), ensure_ascii=False, allow_nan=False)}"
                        for x in c.categories
                    ]
                )
            )

    def rows(self, codes: np.ndarray, extra: list[str] | None = None) -> str:
        """One JSON object per row; `extra[i]` (pre-rendered `"key": value`) is appended."""
        if len(codes) == 0:
            return ""
        columns = [parts[codes[:, j]] for j, parts in enumerate(self._parts)]
        if extra is not None:
            columns.append(extra)
        return "".join("{" + ", ".join(row) + "}\n" for row in zip(*columns))


class JsonRowsWriter:
    """Renders code chunks as the text of a JSON array of rows, `[[label, ...], ...]`.

    The same values as `json_rows`, without building Python lists for `json.dumps` to walk:
    each label's JSON text is computed once per column and rows are joined from it.
    """

    def __init__(self, schema: TableSchema):
        self.schema = schema
        self._parts = [
            _column_array(
                [
                    json.dumps(json_label(x), ensure_ascii=False, allow_nan=False)
                    for x in c.categories
                ]
            )
            for c in schema.columns
        ]

    def rows(self, codes: np.ndarray) -> str:
        """`[[...], ...]` for `codes` (`(m, n_columns)`); `[]` for no rows."""
        if len(codes) == 0:
            return "[]"
        columns = [parts[codes[:, j]] for j, parts in enumerate(self._parts)]
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in zip(*columns)) + "]"


def json_rows(schema: TableSchema, codes: np.ndarray) -> list[list[Any]]:
    """Rows as lists of JSON-safe labels (`json.dumps(..., allow_nan=False)` accepts them)."""
    if len(codes) == 0:
        return []
    columns = [
        _column_array([json_label(x) for x in c.categories])[codes[:, j]]
        for j, c in enumerate(schema.columns)
    ]
    return [list(row) for row in zip(*columns)]


def _arrow_dictionary(categories: tuple):
    import pyarrow as pa

    kinds = {type(x) for x in categories if x is not None}
    if kinds == {bool}:
        return pa.array(categories, pa.bool_())
    if kinds == {int}:
        return pa.array(categories, pa.int64())
    if kinds == {float}:
        return pa.array(categories, pa.float64())
    if kinds <= {str}:
        return pa.array(categories, pa.string())
    return pa.array([None if x is None else text_form(x) for x in categories], pa.string())


class ArrowConverter:
    """Builds Arrow tables from code chunks: each column is its dictionary `take`n by codes."""

    def __init__(self, schema: TableSchema):
        self.schema = schema
        self._dictionaries = [_arrow_dictionary(c.categories) for c in schema.columns]

    def table(self, codes: np.ndarray):
        import pyarrow as pa

        arrays = [d.take(pa.array(codes[:, j])) for j, d in enumerate(self._dictionaries)]
        return pa.table(arrays, names=[str(n) for n in self.schema.names])


def arrow_table(schema: TableSchema, codes: np.ndarray):
    """A `pyarrow.Table` of the rows `codes` (`(m, n_columns)`), labels typed as above."""
    return ArrowConverter(schema).table(codes)
