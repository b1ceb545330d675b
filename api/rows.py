"""Rows sent to the service (to be scored) -> the model's int codes, labels matched exactly.

Rows come as JSON objects (`{"column": label, ...}`, labels typed as JSON types them) or as
CSV text. CSV is read the way `discrete-gan train` reads a CSV (`training/data.py`, which this
package may not import): pyarrow with every column typed as text, so every field is a label
exactly as written (`007`, `TRUE`, ` a ` stay themselves; nothing is trimmed or re-typed) and
only an empty field (quoted or not) is missing.

A label names a category as a sampling condition's label does (`Column.code_of`): a label of
the category's own type and value, a JSON number an equal number, and text the category whose
text form it is exactly (`"7"` names the int label 7, `"1"` the float 1.0, `"true"` the bool
True; `"007"` names only `"007"`). So a CSV written by the service's own sample endpoint (or
the CLI) scores the very rows it holds. `LabelIndex` answers that match for a whole column at
once: text lookups go through a dictionary of every category's text forms, built once per
column, instead of `code_of`'s scan over every label of the column per miss.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from discrete_gan.schema import Column, TableSchema

__all__ = ["LabelIndex", "RowsError", "columns_of_records", "read_csv"]

_BOM = b"\xef\xbb\xbf"
_SHOWN = 5  # unknown labels named per error


class RowsError(ValueError):
    """The rows cannot be read or matched to the model's columns; the message says why."""


def _text_forms(category: Any) -> list[str]:
    """The texts that name `category` besides itself (see `discrete_gan.schema.label_matches`).

    Only non-text categories have such forms: `True` is named by "True" and "true", a float
    by its repr and, when integral, by the int's digits ("1" names 1.0), an int by its digits;
    the missing label by no text at all (an empty CSV field is missing, not text).
    """
    kind = type(category)
    if category is None or kind is str:
        return []
    if kind is bool:
        return [str(category), str(category).lower()]
    if kind is float:
        forms = [repr(category)]
        if category.is_integer():
            forms.append(str(int(category)))
        return forms
    return [str(category)]


class _ColumnLabels:
    """One column's text lookups: its text labels, then the text forms of the others."""

    def __init__(self, column: Column):
        self.strings: dict[str, int] = {}
        self.texts: dict[str, int] = {}
        for code, category in enumerate(column.categories):
            if type(category) is str:
                self.strings.setdefault(category, code)
            for text in _text_forms(category):
                self.texts.setdefault(text, code)  # the first category in code order wins

    def code(self, label: str) -> int | None:
        code = self.strings.get(label)
        return self.texts.get(label) if code is None else code


class LabelIndex:
    """Labels -> codes for one schema, matching as `Column.code_of` does (built lazily, per
    column; safe to share between threads: two first users may both build a column's table,
    to the same result)."""

    def __init__(self, schema: TableSchema):
        self.schema = schema
        self._columns: dict[int, _ColumnLabels] = {}
        self._lock = threading.Lock()
        self._position = {}
        for j, name in enumerate(schema.names):
            self._position.setdefault(str(name), j)

    @property
    def names(self) -> list[str]:
        """The model's column names as they appear in JSON keys and CSV headers."""
        return [str(n) for n in self.schema.names]

    def _text(self, j: int) -> _ColumnLabels:
        table = self._columns.get(j)
        if table is None:
            table = _ColumnLabels(self.schema.columns[j])
            with self._lock:
                table = self._columns.setdefault(j, table)
        return table

    def code(self, j: int, label: Any) -> int | None:
        """The code of column `j`'s category that `label` names, or None."""
        if type(label) is str:
            return self._text(j).code(label)
        return self.schema.columns[j].code_of(label)

    def encode(self, columns: Mapping[str, Sequence[Any]], hint: str = "") -> np.ndarray:
        """`{column name: labels}` (every column of the model, none other, equally long) ->
        int32 codes `(n_rows, n_columns)` in schema order.

        Raises `RowsError` naming unknown and missing columns, or the column, the first
        unknown labels (with their row numbers, from 0) and the labels the column knows;
        `hint` is appended to an unknown-label message.
        """
        names = self.names
        unknown = [c for c in columns if c not in self._position]
        if unknown:
            raise RowsError(f"Unknown column(s) {unknown}: this model's columns are {names}")
        missing = [n for n in names if n not in columns]
        if missing:
            raise RowsError(f"The rows lack column(s) {missing}: every row needs {names}")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise RowsError("The columns hold different numbers of rows")
        n = lengths.pop()
        out = np.empty((n, len(names)), np.int32)
        for name, labels in columns.items():
            j = self._position[name]
            out[:, j] = self._encode_column(j, name, labels, hint)
        return out

    def _encode_column(self, j: int, name: str, labels: Sequence[Any], hint: str) -> np.ndarray:
        codes = np.empty(len(labels), np.int32)
        seen: dict[tuple[type, Any], int | None] = {}
        bad: list[tuple[int, Any]] = []
        for i, label in enumerate(labels):
            key = (type(label), label)  # 1, 1.0 and True are distinct labels
            code = seen[key] if key in seen else seen.setdefault(key, self.code(j, label))
            if code is None:
                if len(bad) < _SHOWN:
                    bad.append((i, label))
                codes[i] = -1
            else:
                codes[i] = code
        if bad:
            column = self.schema.columns[j]
            count = int((codes < 0).sum())
            shown = ", ".join(f"{_shown(label)} (row {i})" for i, label in bad)
            more = f" and {count - len(bad)} more" if count > len(bad) else ""
            known = ", ".join(map(repr, column.categories[:20]))
            known += f" (and {column.cardinality - 20} more)" if column.cardinality > 20 else ""
            raise RowsError(
                f"Unknown label(s) for column {name!r}: {shown}{more}. Known labels: {known}{hint}"
            )
        return codes


def _shown(label: Any) -> str:
    return "a missing value (null / empty field)" if label is None else repr(label)


def columns_of_records(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict:
    """JSON rows `[{"column": label}, ...]` -> `{column: [labels]}`; every row must name the
    model's columns `names`, no more and no fewer (RowsError naming the first row that does
    not)."""
    expected = set(names)
    for i, record in enumerate(records):
        if record.keys() != expected:
            unknown = [c for c in record if c not in expected]
            missing = [c for c in names if c not in record]
            parts = []
            if unknown:
                parts.append(f"unknown column(s) {unknown}")
            if missing:
                parts.append(f"lacks column(s) {missing}")
            raise RowsError(f"Row {i} {' and '.join(parts)}: every row needs exactly {list(names)}")
    return {c: [record[c] for record in records] for c in names}


def _check_header(header: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(header):
        if name == "":
            raise RowsError(f"CSV column {i + 1} has an empty name in the header")
        if name in seen:
            raise RowsError(f"The CSV header names column {name!r} twice")
        seen.add(name)


def read_csv(raw: bytes) -> dict[str, list[str | None]]:
    """CSV text with a header row -> `{column: [label text, or None for an empty field]}`.

    Read as `discrete-gan train` reads training CSV: UTF-8 (a byte-order mark dropped), every
    field text byte for byte, an empty field (quoted or not) missing; in a one-column file an
    empty line is an empty field. RowsError for anything malformed, saying where.
    """
    import pyarrow as pa
    import pyarrow.csv as pc

    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise RowsError(
            f"The CSV is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}, "
            f"line {line})"
        ) from None
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if not raw.strip(b"\r\n"):
        raise RowsError("The CSV is empty: send a header row and at least one row")
    try:
        parse = pc.ParseOptions(newlines_in_values=True, ignore_empty_lines=True)
        header = pc.open_csv(io.BytesIO(raw), parse_options=parse).schema.names
        _check_header(header)
        parse = pc.ParseOptions(newlines_in_values=True, ignore_empty_lines=len(header) > 1)
        convert = pc.ConvertOptions(
            column_types={c: pa.string() for c in header},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )
        table = pc.read_csv(io.BytesIO(raw), parse_options=parse, convert_options=convert)
    except RowsError:
        raise
    except Exception as e:  # pyarrow raises several types for malformed input
        raise RowsError(f"Malformed CSV: {e}") from None
    return {c: table.column(c).to_pylist() for c in header}
