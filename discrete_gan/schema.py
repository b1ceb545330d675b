"""Table schema: the categorical columns a model learns, their labels, and label <-> code maps.

A `Column` lists its labels in code order (code `i` is `categories[i]`; `None` is the missing
label). `TableSchema.encode` turns a DataFrame into int32 codes `(n_rows, n_columns)`, `one_hot`
turns codes into float32 `(n_rows, total_dim)`, and `decode` restores labels and original dtypes.
It serialises to JSON (never pickle) keeping label types exact: `1`, `"1"`, `1.0`, `True` differ.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Column", "EncodedTable", "TableSchema", "label_matches", "text_form"]

FORMAT_VERSION = 1
_MISSING_POLICIES = ("category", "error", "drop")
_LABEL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", type(None): "none"}


def _check_missing(missing: Any) -> None:
    if missing not in _MISSING_POLICIES:
        raise ValueError(
            "Invalid value for `missing`. Expected one of 'category', 'error', 'drop'. "
            f"Received: missing={missing!r}"
        )


def _normalize_label(value: Any) -> Any:
    """Maps NaN/None/pd.NA/NaT to `None` and numpy scalars to the matching Python scalar."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _check_label(column: str, label: Any) -> None:
    if type(label) not in _LABEL_TYPES:
        raise TypeError(
            f"Column '{column}' has a label of unsupported type {type(label).__name__} "
            f"({label!r}). Labels must be str, int, float, bool or missing; convert the "
            "column first, e.g. df[col] = df[col].astype(str)."
        )


def _sorted_labels(labels: list[Any]) -> list[Any]:
    """Numbers numerically, bools False<True, strings lexically, mixed types by `str()`."""
    kinds = {type(x) for x in labels}
    if kinds <= {int, float} or kinds <= {bool} or kinds <= {str}:
        return sorted(labels)
    return sorted(labels, key=lambda x: (str(x), type(x).__name__))


def _typed_key(label: Any) -> tuple[str, Any]:
    """A key under which `1`, `1.0` and `True` (equal and equally hashed in Python) differ."""
    return (_LABEL_TYPES.get(type(label), type(label).__name__), label)


def _homogeneous(series: pd.Series) -> bool:
    """True when no two distinct labels of the column can compare equal (`1`/`1.0`/`True`)."""
    if series.dtype != object:
        return True
    kind = pd.api.types.infer_dtype(series, skipna=True)
    return kind in ("string", "empty", "integer", "floating", "boolean", "bytes")


def text_form(label: Any) -> str:
    """The text a label is written as in CSV output, and matched as in text conditions.

    `str` labels are themselves, byte for byte; `True`/`False` and numbers are written as
    Python writes them (`"7"`, `"1.0"`, `"inf"`); a missing label is the empty field.
    """
    if label is None:
        return ""
    if type(label) is float:
        return repr(label)
    return str(label)


def label_matches(category: Any, label: Any) -> bool:
    """Whether a condition `label` names `category` (see `Column.code_of`)."""
    if category is None or label is None:
        return category is None and label is None
    if type(category) is type(label):
        return category == label
    numbers = (int, float)
    if type(category) in numbers and type(label) in numbers:  # JSON 1 names the label 1.0
        return category == label
    if type(label) is str:
        if text_form(category) == label:
            return True
        if type(category) is bool:
            return label == str(category).lower()  # JSON's spelling of the bool
        if type(category) is float and category.is_integer():  # "1" names 1.0, as JSON's 1
            return label == str(int(category))
    return False


@dataclass(frozen=True)
class Column:
    """One categorical column.

    Attributes:
        name: column name in the DataFrame.
        categories: labels in code order (str, int, float, bool; `None` = missing).
        dtype: original pandas dtype as a string ("object", "int64", "category", ...), which
            `TableSchema.decode` restores.
        frequencies: training frequency of each category, same order, summing to 1
            (uniform when left empty).
    """

    name: str
    categories: tuple
    dtype: str = "object"
    frequencies: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Column names must be non-empty strings. Received: {self.name!r}")
        cats = tuple(_normalize_label(c) for c in self.categories)
        if not cats:
            raise ValueError(f"Column '{self.name}' must have at least one category.")
        for c in cats:
            _check_label(self.name, c)
        if len(set(cats)) != len(cats):  # 1 == 1.0 == True: one dict key, one category
            dups = [c for c in cats if cats.count(c) > 1]
            raise ValueError(f"Column '{self.name}' has duplicate categories: {dups[:5]}")
        if not isinstance(self.dtype, str) or not self.dtype:
            raise TypeError(f"Column '{self.name}': dtype must be a non-empty string.")
        freqs = tuple(float(f) for f in self.frequencies) or (1.0 / len(cats),) * len(cats)
        if len(freqs) != len(cats):
            raise ValueError(f"Column '{self.name}': {len(cats)} categories, {len(freqs)} freqs.")
        if not all(math.isfinite(f) and f >= 0 for f in freqs) or abs(sum(freqs) - 1) > 1e-6:
            raise ValueError(
                f"Column '{self.name}': frequencies must be finite, >= 0 and sum to 1. "
                f"Received: {freqs[:10]}"
            )
        object.__setattr__(self, "categories", cats)
        object.__setattr__(self, "frequencies", freqs)

    @property
    def cardinality(self) -> int:
        """Number of categories: the width of this column's one-hot block."""
        return len(self.categories)

    def code_of(self, label: Any) -> int | None:
        """The code of the category a condition `label` names, or None.

        A label names a category of its own type and value (`None` names the missing one).
        Across types: a number names an equal number (JSON's `1` names the label `1.0`), and
        text names a category whose `text_form` it is exactly (`"007"` names `"007"`, never
        `"7"` or `7`; `"True"` or `"true"` names `True`; `"7"` names `7`, `"1"` names `1.0`, but
        `"07"` names no number). Text never names a text label other than itself: no
        trimming, no case folding.
        """
        key = _typed_key(_normalize_label(label))
        exact = self._codes().get(key)
        if exact is not None:
            return exact
        for i, category in enumerate(self.categories):
            if label_matches(category, _normalize_label(label)):
                return i
        return None

    def _codes(self) -> dict:
        codes = self.__dict__.get("_code_map")
        if codes is None:
            codes = {_typed_key(c): i for i, c in enumerate(self.categories)}
            object.__setattr__(self, "_code_map", codes)
        return codes


def _infer_column(series: pd.Series, name: str, missing: str, max_cats: int | None) -> Column:
    """Builds a `Column` from one DataFrame column under the missing-value policy."""
    n_missing = int(series.isna().sum())
    if missing == "error" and n_missing:
        raise ValueError(
            f"Column '{name}' has {n_missing} missing value(s) and missing='error'. "
            "Use missing='category' or missing='drop', or fill them first."
        )
    if _homogeneous(series):
        counts = series.value_counts(dropna=True, sort=False)
        labels = [_normalize_label(x) for x in counts.index]
        numbers = counts.to_numpy().tolist()
    else:  # `1`, `1.0` and `True` are distinct labels: count them under typed keys
        present = series[series.notna()]
        keys = pd.Series([_typed_key(_normalize_label(x)) for x in present], dtype=object)
        counts = keys.value_counts(sort=False)
        labels, numbers = [k[1] for k in counts.index], counts.to_numpy().tolist()
        if len(set(labels)) != len(labels):
            clash = sorted({repr(x) for x in labels if sum(x == y for y in labels) > 1}, key=str)
            raise ValueError(
                f"Column '{name}' has labels that are different values of equal worth "
                f"({' and '.join(clash[:4])}): 1, 1.0 and True are one key to Python, so they "
                "cannot be told apart in probabilities and conditions. Make the column one "
                "type, e.g. df[col] = df[col].map(str)"
            )
    for label in labels:
        _check_label(name, label)
    by_label = {_typed_key(x): c for x, c in zip(labels, numbers, strict=True)}
    # A pandas Categorical declares its domain and order: keep both (unused ones at frequency 0).
    cats = labels if isinstance(series.dtype, pd.CategoricalDtype) else _sorted_labels(labels)
    cnts = [by_label[_typed_key(x)] for x in cats]
    if missing == "category" and n_missing:
        cats, cnts = [*cats, None], [*cnts, n_missing]
    if sum(cnts) == 0:
        raise ValueError(f"Column '{name}' has only missing values (missing='{missing}').")
    if max_cats is not None and len(cats) > max_cats:
        raise ValueError(
            f"Column '{name}' has {len(cats)} categories, more than max_categories={max_cats}"
        )
    return Column(name, tuple(cats), str(series.dtype), tuple(c / sum(cnts) for c in cnts))


def _nullable(dtype: str) -> str:
    """The pandas nullable dtype ("Int64", "UInt8", "boolean") for a numpy int/bool dtype."""
    try:
        kind, name = np.dtype(dtype).kind, np.dtype(dtype).name
    except TypeError:
        return dtype
    if kind == "b":
        return "boolean"
    return name.capitalize().replace("Uint", "UInt") if kind in "iu" else dtype


def _decode_column(col: Column, codes: np.ndarray) -> pd.Series | pd.Categorical:
    """Labels for `codes` (shape `(n,)`) in the column's original dtype."""
    if col.dtype == "category":
        present = [c for c in col.categories if c is not None]
        remap = np.array([-1 if c is None else present.index(c) for c in col.categories])
        return pd.Categorical.from_codes(remap[codes], categories=pd.Index(present))
    values = pd.Series(list(col.categories), dtype=object)
    if col.dtype != "object":
        # Hand-built schemas may name a dtype the labels cannot take: keep Python objects then.
        with contextlib.suppress(TypeError, ValueError):
            values = values.astype(_nullable(col.dtype) if None in col.categories else col.dtype)
    return values.iloc[codes].reset_index(drop=True)


def _validate_codes(codes: Any, cards: list[int], names: list[str]) -> np.ndarray:
    """Checks int codes of shape `(n_rows, len(cards))` in range; returns them uncopied."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != len(cards):
        raise ValueError(f"Expected codes of shape (n_rows, {len(cards)}). Received: {codes.shape}")
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise TypeError(f"Expected integer codes. Received dtype: {codes.dtype}")
    if codes.shape[0]:
        bad = (codes.min(axis=0) < 0) | (codes.max(axis=0) >= np.asarray(cards))
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"Codes for column '{names[j]}' must be in [0, {cards[j]}).")
    return codes


def _check_codes(codes: Any, cards: list[int], names: list[str]) -> np.ndarray:
    """Validated codes as int64."""
    return _validate_codes(codes, cards, names).astype(np.int64, copy=False)


def _load_label(kind: Any, value: Any, column: str) -> Any:
    expected = {"bool": bool, "int": int, "str": str, "float": str, "none": type(None)}
    if kind not in expected or type(value) is not expected[kind]:
        raise ValueError(f"Column '{column}': invalid label {value!r} of type {kind!r}.")
    return float(value) if kind == "float" else value


class TableSchema:
    """An ordered set of categorical `Column`s plus the table's missing-value policy.

    Args:
        columns: at least one `Column`, with unique names.
        missing: "category" (missing is the category `None`), "error" (`encode` raises on
            missing cells) or "drop" (`encode` drops rows with any missing cell).
    """

    def __init__(self, columns: Sequence[Column], *, missing: str = "category") -> None:
        _check_missing(missing)
        columns = tuple(columns)
        if not columns or not all(isinstance(c, Column) for c in columns):
            raise ValueError("A TableSchema needs at least one column, each a `Column`.")
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"Column names must be unique. Received: {names}")
        for col in columns:
            if missing != "category" and None in col.categories:
                raise ValueError(f"Column '{col.name}' has a missing category but {missing=}.")
        self._columns, self._missing = columns, missing
        self._index = {c.name: i for i, c in enumerate(columns)}
        self._lookup = [pd.Index([x for x in c.categories if x is not None]) for c in columns]
        self._homogeneous_labels = [
            len({type(x) for x in c.categories if x is not None}) <= 1 for c in columns
        ]

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        columns: Sequence[str] | None = None,
        *,
        missing: str = "category",
        max_categories: int | None = None,
    ) -> TableSchema:
        """Infers labels, their order, dtypes and frequencies from training data.

        Order: numbers numerically, bools False<True, strings lexically, mixed types by `str()`,
        pandas Categoricals in declared order (declared-but-unused ones kept at frequency 0);
        the missing category last. With missing="drop", frequencies are over non-missing cells.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Expected a pandas DataFrame. Received: {type(df).__name__}")
        _check_missing(missing)
        if max_categories is not None and (type(max_categories) is not int or max_categories < 1):
            raise ValueError(
                "Invalid value for `max_categories`. Expected an int >= 1 or None. "
                f"Received: {max_categories=}"
            )
        names = list(df.columns) if columns is None else list(columns)
        if not names:
            raise ValueError("No columns to model: the DataFrame or `columns` is empty.")
        unknown = [c for c in names if c not in df.columns]
        if unknown:
            raise ValueError(f"Unknown column(s) {unknown}. Known columns: {list(df.columns)}")
        if len(df) == 0:
            raise ValueError("Cannot infer a schema from an empty DataFrame (0 rows).")
        return cls(
            [_infer_column(df[n], n, missing, max_categories) for n in names], missing=missing
        )

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def missing(self) -> str:
        return self._missing

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._columns]

    @property
    def cardinalities(self) -> list[int]:
        return [c.cardinality for c in self._columns]

    @property
    def offsets(self) -> list[int]:
        """Start of each column's block in the concatenated one-hot."""
        return [int(x) for x in np.cumsum([0, *self.cardinalities[:-1]])]

    @property
    def total_dim(self) -> int:
        return sum(self.cardinalities)

    def column(self, name: str) -> Column:
        if name not in self._index:
            raise ValueError(f"Unknown column {name!r}. Known columns: {self.names}")
        return self._columns[self._index[name]]

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Labels -> int32 codes of shape `(n_rows, n_columns)`, columns in schema order.

        Missing cells follow the policy; under "drop", rows with any missing cell are removed
        (the result may have fewer rows). Extra DataFrame columns are ignored.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Expected a pandas DataFrame. Received: {type(df).__name__}")
        absent = [n for n in self.names if n not in df.columns]
        if absent:
            raise ValueError(f"The DataFrame lacks schema column(s) {absent}.")
        out = np.empty((len(df), len(self._columns)), dtype=np.int32)
        keep = np.ones(len(df), dtype=bool)
        for j, col in enumerate(self._columns):
            series = df[col.name]
            miss = series.isna().to_numpy()
            codes = self._column_codes(j, series)
            unknown = (codes < 0) & ~miss
            if unknown.any():
                raise ValueError(
                    f"Column '{col.name}' has {int(unknown.sum())} value(s) not in the schema, "
                    f"e.g. {pd.unique(series[unknown])[:5].tolist()}. "
                    f"Known categories: {list(col.categories)[:20]}"
                )
            if miss.any() and self._missing == "drop":
                keep &= ~miss
            elif miss.any() and None in col.categories:
                codes[miss] = col.categories.index(None)
            elif miss.any():
                raise ValueError(
                    f"Column '{col.name}' has {int(miss.sum())} missing value(s) but the "
                    f"schema has no missing category (missing={self._missing!r})."
                )
            out[:, j] = codes
        return out if keep.all() else out[keep]

    def _column_codes(self, j: int, series: pd.Series) -> np.ndarray:
        """Codes of one column's values (-1 for missing or unknown), types kept apart."""
        if _homogeneous(series) and self._homogeneous_labels[j]:
            return self._lookup[j].get_indexer(series)
        table = self._columns[j]._codes()
        return np.fromiter(
            (
                -1
                if pd.api.types.is_scalar(x) and pd.isna(x)
                else table.get(_typed_key(_normalize_label(x)), -1)
                for x in series
            ),
            dtype=np.int64,
            count=len(series),
        )

    # ------------------------------------------------------------ blocks
    @property
    def blocks(self) -> list[slice]:
        """Each column's slice of a flat vector of width `total_dim` (one-hot, probabilities)."""
        return [slice(o, o + k) for o, k in zip(self.offsets, self.cardinalities, strict=True)]

    @property
    def marginals(self) -> np.ndarray:
        """The training frequencies of every category, columns concatenated: `(total_dim,)`."""
        return np.concatenate([np.asarray(c.frequencies, "float64") for c in self._columns])

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """A flat `(..., total_dim)` array -> one `(..., k_j)` array per column."""
        flat = np.asarray(flat)
        if flat.shape[-1] != self.total_dim:
            raise ValueError(
                f"Expected a last dimension of {self.total_dim}. Received: shape {flat.shape}"
            )
        return [flat[..., b] for b in self.blocks]

    def label_dict(self, flat: np.ndarray) -> dict[str, dict[Any, float]]:
        """Flat probabilities `(total_dim,)` -> `{column: {label: probability}}`."""
        return {
            c.name: {label: float(p) for label, p in zip(c.categories, block, strict=True)}
            for c, block in zip(self._columns, self.split(flat), strict=True)
        }

    def one_hot(self, codes: np.ndarray) -> np.ndarray:
        """int codes `(n_rows, n_columns)` -> float32 `(n_rows, total_dim)`, blocks in order."""
        codes = _check_codes(codes, self.cardinalities, self.names)
        out = np.zeros((codes.shape[0], self.total_dim), dtype=np.float32)
        out[np.arange(codes.shape[0])[:, None], codes + np.asarray(self.offsets)] = 1.0
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        """int codes `(n_rows, n_columns)` -> DataFrame with the original labels and dtypes.

        Missing comes back as the dtype's own NA: NaN for float64/"str", `pd.NA` for nullable
        dtypes, `None` for object. A numpy int/bool column whose categories include `None`
        (only possible in hand-built schemas) becomes nullable "Int64"/"boolean".
        """
        codes = _check_codes(codes, self.cardinalities, self.names)
        data = {c.name: _decode_column(c, codes[:, j]) for j, c in enumerate(self._columns)}
        return pd.DataFrame(data, index=pd.RangeIndex(codes.shape[0]))

    def decode_labels(self, name: str, codes: np.ndarray) -> np.ndarray:
        """int codes `(n,)` of one column -> object array `(n,)` of labels (`None` = missing)."""
        col, codes = self.column(name), np.asarray(codes)
        if codes.ndim != 1:
            raise ValueError(f"Expected codes of shape (n,). Received: {codes.shape}")
        codes = _check_codes(codes[:, None], [col.cardinality], [name])
        labels = np.empty(col.cardinality, dtype=object)
        labels[:] = list(col.categories)
        return labels[codes[:, 0]]

    def to_dict(self) -> dict:
        """A JSON-able dict; each label comes with its type name, floats as exact `repr`s."""

        def column(c: Column) -> dict:
            return {
                "name": c.name,
                "dtype": c.dtype,
                "categories": [repr(x) if type(x) is float else x for x in c.categories],
                "category_types": [_LABEL_TYPES[type(x)] for x in c.categories],
                "frequencies": list(c.frequencies),
            }

        cols = [column(c) for c in self._columns]
        return {"format_version": FORMAT_VERSION, "missing": self._missing, "columns": cols}

    @classmethod
    def from_dict(cls, d: dict) -> TableSchema:
        if not isinstance(d, dict):
            raise TypeError(f"Expected a dict. Received: {type(d).__name__}")
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported schema format_version: {d.get('format_version')!r}. "
                f"Expected {FORMAT_VERSION}."
            )
        try:
            cols = []
            for c in d["columns"]:
                pairs = zip(c["category_types"], c["categories"], strict=True)
                cats = tuple(_load_label(k, v, c["name"]) for k, v in pairs)
                cols.append(Column(c["name"], cats, c["dtype"], tuple(c["frequencies"])))
            return cls(cols, missing=d["missing"])
        except (KeyError, TypeError) as e:
            raise ValueError(f"Malformed schema dict: {e!r}") from e

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_json(cls, s: str) -> TableSchema:
        try:
            d = json.loads(s)
        except json.JSONDecodeError as e:
            raise ValueError(f"Schema is not valid JSON: {e}") from e
        return cls.from_dict(d)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableSchema):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        cols = ", ".join(f"{c.name}[{c.cardinality}]" for c in self._columns)
        return f"TableSchema({cols}; missing={self._missing!r})"


@dataclass(frozen=True)
class EncodedTable:
    """A table already turned into int codes: what training consumes.

    Attributes:
        codes: int codes `(n_rows, n_columns)` (any int dtype), columns in schema order.
        schema: the `TableSchema` the codes refer to.

    A streaming reader can build one without ever holding the labels of every cell, and
    `CategoricalGAN.fit` takes it as readily as a DataFrame.
    """

    codes: np.ndarray
    schema: TableSchema

    def __post_init__(self) -> None:
        if not isinstance(self.schema, TableSchema):
            raise TypeError(f"Expected a TableSchema. Received: {type(self.schema).__name__}")
        codes = _validate_codes(self.codes, self.schema.cardinalities, self.schema.names)
        object.__setattr__(self, "codes", codes)

    def __len__(self) -> int:
        return len(self.codes)
