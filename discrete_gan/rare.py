"""Rare-label protection: labels seen in fewer than k rows are never stored nor emitted.

A label that only a handful of rows carry can single those rows out (a name, an ID, a rare
diagnosis). So, as TabularARGN does (mostlyai-engine's value protection), a model keeps a
column's label only when at least `k` of its training rows carry it; the rows of rarer labels
train as a placeholder label (`"_RARE_"` by default, mode "placeholder") or as a draw from the
kept labels with their frequencies (mode "sample"). The protected labels are then in no part of
the model: not in its schema, its metadata, its model card, its plots or its checkpoints, and
it can never emit them.

The threshold is drawn per column, `k = min_count + int(spread * U)` (5, 6 or 7 by default),
so that it cannot be read off the model. `U` comes from the "rare_labels" stream of the seed
(`discrete_gan.seeding`) keyed also by a hash of the column's labels and their counts: the
same data and seed give the same threshold, but the published seed alone does not reveal it
(the hash covers the protected labels, which nothing published holds).

Rules: the missing label (`None`) is never protected. The kept labels keep their order; the
placeholder comes after them and before the missing label, which stays last. A column whose
labels are all rare keeps only the placeholder (and the missing label); in "sample" mode that
is an error. Frequencies of a protected column are recounted on the protected codes. The
placeholder is added only to columns that lose a label, and must not be one of their kept
labels. A column with a non-text label that gains the (text) placeholder gets dtype "object"
(pandas "category" columns stay categorical).

`protect_rare` protects a table once (on the data a model is first fitted on); `relabel` puts
other rows of the same columns (held-out rows, a resumed run's data, new data) under the
protected schema the same way: a label the protected schema lacks becomes the placeholder (or
a draw) in a protected column, and is an error elsewhere, as in `TableSchema.encode`.
`relabel(raw, protected_schema, report, seed=seed)` of the table `protect_rare` was given
returns exactly `protect_rare`'s codes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from discrete_gan import seeding
from discrete_gan.schema import Column, EncodedTable, TableSchema, _typed_key
from discrete_gan.validation import check_choice, check_int

__all__ = ["MODES", "RareReport", "protect_rare", "relabel"]

MODES = ("placeholder", "sample")


@dataclass(frozen=True)
class RareReport:
    """What rare-label protection did, as stored in a model's metadata ("rare_labels").

    Attributes:
        mode: "placeholder", "sample", or "off" (protection turned off: `min_count` 0).
        placeholder: the placeholder label in "placeholder" mode, else None.
        columns: `{column: {"labels_protected": int, "rows_share": float}}` for every column:
            how many labels were left out, and the share of rows re-labelled.

    It never holds a protected label, nor the thresholds.
    """

    mode: str
    placeholder: str | None = None
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def protected(self, column: str) -> bool:
        """Whether `column` lost at least one label."""
        return self.columns.get(column, {}).get("labels_protected", 0) > 0

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "placeholder": self.placeholder,
            "columns": {k: dict(v) for k, v in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> RareReport:
        if not isinstance(d, dict) or d.get("mode") not in (*MODES, "off"):
            raise ValueError(f"Malformed rare-label report: {d!r}")
        return cls(d["mode"], d.get("placeholder"), dict(d.get("columns") or {}))


def _check_placeholder(placeholder: Any) -> str:
    if not isinstance(placeholder, str) or not placeholder:
        raise ValueError(
            "Invalid value for `placeholder`. Expected a non-empty str. "
            f"Received: placeholder={placeholder!r}"
        )
    return placeholder


def _threshold(seed: int, j: int, column: Column, counts: np.ndarray, low: int, spread: int):
    """`low + int(spread * U)`, U from the seed's "rare_labels" stream and the column's data."""
    labels = [[type(x).__name__, repr(x)] for x in column.categories]
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps([column.name, labels], ensure_ascii=True).encode("ascii"))
    digest.update(np.asarray(counts, dtype="<i8").tobytes())
    data_key = int.from_bytes(digest.digest(), "little")
    u = seeding.stream_rng(seed, "rare_labels", j, data_key).random()
    return low + int(spread * u)


def _protected_column(column: Column, rare: np.ndarray, placeholder: str | None) -> Column:
    """`column` without its rare labels: kept labels in order, the placeholder, then None.

    Frequencies are left uniform here; the caller recounts them on the new codes.
    """
    kept = [c for c, r in zip(column.categories, rare, strict=True) if not r and c is not None]
    cats = [*kept, *([placeholder] if placeholder is not None else [])]
    if None in column.categories:
        cats.append(None)
    dtype = column.dtype
    if placeholder is not None and dtype != "category" and any(type(c) is not str for c in kept):
        dtype = "object"  # the column now mixes its labels with a text one
    return Column(column.name, tuple(cats), dtype)


def _mapping(source: Column, target: Column) -> np.ndarray:
    """Code in `source` -> code in `target` of the same label (typed: 1 is not 1.0), or -1."""
    codes = {_typed_key(c): i for i, c in enumerate(target.categories)}
    return np.array([codes.get(_typed_key(c), -1) for c in source.categories], dtype=np.int64)


def _fill(
    new: np.ndarray,
    unknown: np.ndarray,
    target: Column,
    placeholder: str | None,
    mode: str,
    rng_fn,
) -> None:
    """Gives the rows `unknown` of one column's codes `new` (in place) the placeholder's code,
    or draws of the kept labels with their frequencies among the other rows."""
    if mode == "placeholder":
        new[unknown] = target.categories.index(placeholder)
        return
    kept = np.array([i for i, c in enumerate(target.categories) if c is not None], np.int64)
    counts = np.bincount(new[~unknown], minlength=target.cardinality)[kept].astype("float64")
    if counts.sum() == 0:  # none of these rows has a kept label: the model's frequencies
        counts = np.asarray(target.frequencies, "float64")[kept]
    if counts.sum() == 0:
        counts = np.ones(len(kept))
    draws = rng_fn().choice(len(kept), size=int(unknown.sum()), p=counts / counts.sum())
    new[unknown] = kept[draws]


def _out_dtype(codes: np.ndarray, schema: TableSchema) -> np.dtype:
    return np.result_type(codes.dtype, np.min_scalar_type(max(schema.cardinalities) - 1))


def protect_rare(
    table: EncodedTable,
    *,
    min_count: int = 5,
    spread: int = 3,
    placeholder: str = "_RARE_",
    mode: str = "placeholder",
    seed: int = 0,
) -> tuple[EncodedTable, RareReport]:
    """`table` without its rare labels, and the report of what was protected.

    Args:
        table: the training rows, as codes under a schema listing every label.
        min_count: the lowest threshold; 0 turns protection off (`table` comes back as is,
            with a report of mode "off").
        spread: thresholds are drawn per column from `min_count ... min_count + spread - 1`.
        placeholder: the label rare labels' rows get in "placeholder" mode.
        mode: "placeholder", or "sample": rare labels' rows get a draw from the column's kept
            labels, with their frequencies (seeded: stream "rare_labels.sample").
        seed: the model's seed (see the module docstring for how thresholds are drawn).

    A label's count is the number of rows of `table` carrying it; a label of the schema that
    no row carries counts 0 and is protected too. Vectorised: one `bincount` and one table
    lookup per column, so a million rows with 100,000 labels take well under a second.

    Raises:
        ValueError: for a bad argument, a placeholder that is also a kept label of a column
            that needs it, or, in "sample" mode, a column with no label left to draw.
    """
    if not isinstance(table, EncodedTable):
        raise TypeError(f"Expected an EncodedTable. Received: {type(table).__name__}")
    min_count = check_int("min_count", min_count, 0)
    spread = check_int("spread", spread, 1)
    mode = check_choice("mode", mode, MODES)
    placeholder = _check_placeholder(placeholder)
    seed = seeding.resolve_seed(seed)
    if min_count == 0:
        return table, RareReport("off")
    schema, codes = table.schema, table.codes
    n = len(codes)
    columns, report, changed = [], {}, False
    for j, col in enumerate(schema.columns):
        counts = np.bincount(codes[:, j], minlength=col.cardinality)
        k = _threshold(seed, j, col, counts, min_count, spread)
        rare = (counts < k) & np.array([c is not None for c in col.categories])
        rows = int(counts[rare].sum())
        report[col.name] = {"labels_protected": int(rare.sum()), "rows_share": rows / max(n, 1)}
        if not rare.any():
            columns.append(col)
            continue
        kept = [c for c, r in zip(col.categories, rare, strict=True) if not r and c is not None]
        if mode == "sample" and not kept:
            raise ValueError(
                f"Column '{col.name}': every label is rare (seen in fewer than {min_count}"
                f"-{min_count + spread - 1} rows), so none is left to draw from with "
                "rare_mode='sample'. Use rare_mode='placeholder', or keep rare labels "
                "(rare_min_count=0, --keep-rare)."
            )
        if mode == "placeholder" and any(type(c) is str and c == placeholder for c in kept):
            raise ValueError(
                f"Column '{col.name}' already has a label {placeholder!r}, the placeholder of "
                "rare labels. Pick another placeholder (rare_placeholder, --rare-placeholder)."
            )
        columns.append(_protected_column(col, rare, placeholder if mode == "placeholder" else None))
        changed = True
    out_report = RareReport(mode, placeholder if mode == "placeholder" else None, report)
    if not changed:
        return table, out_report
    protected = TableSchema(columns, missing=schema.missing)
    new_codes = _remap(codes, schema, protected, out_report, seed)
    return EncodedTable(new_codes, _recount(protected, new_codes, out_report)), out_report


def _recount(schema: TableSchema, codes: np.ndarray, report: RareReport) -> TableSchema:
    """`schema` with each protected column's frequencies counted on `codes`."""
    columns = []
    for j, col in enumerate(schema.columns):
        if report.protected(col.name):
            counts = np.bincount(codes[:, j], minlength=col.cardinality)
            col = Column(col.name, col.categories, col.dtype, tuple(counts / max(counts.sum(), 1)))
        columns.append(col)
    return TableSchema(columns, missing=schema.missing)


def _remap(
    codes: np.ndarray, source: TableSchema, target: TableSchema, report: RareReport, seed: int
) -> np.ndarray:
    """`codes` under `source` -> codes under `target`, label by label (see `relabel`)."""
    out = np.empty(codes.shape, dtype=_out_dtype(codes, target))
    for j, (src, dst) in enumerate(zip(source.columns, target.columns, strict=True)):
        mapping = _mapping(src, dst)
        new = mapping[codes[:, j]]
        unknown = new < 0
        if unknown.any():
            if not (report.active and report.protected(dst.name)):
                present = np.bincount(codes[unknown, j], minlength=src.cardinality) > 0
                examples = [c for c, p in zip(src.categories, present, strict=True) if p]
                raise ValueError(
                    f"Column '{dst.name}' has {int(unknown.sum())} value(s) not in the schema, "
                    f"e.g. {examples[:5]}. Known categories: {list(dst.categories)[:20]}"
                )
            rng_fn = lambda j=j: seeding.stream_rng(seed, "rare_labels.sample", j)  # noqa: E731
            _fill(new, unknown, dst, report.placeholder, report.mode, rng_fn)
        out[:, j] = new
    return out


def relabel(
    table: EncodedTable, schema: TableSchema, report: RareReport | dict, *, seed: int
) -> EncodedTable:
    """`table`'s rows as codes under a protected `schema` (what `protect_rare` returned).

    Labels are matched exactly (typed: `1` is not `1.0`); frequencies play no part. In a
    column that lost labels, a label `schema` lacks becomes the placeholder ("placeholder"
    mode) or a draw from the kept labels with their frequencies among `table`'s rows ("sample"
    mode, seeded as `protect_rare` is); in any other column it is a ValueError, as is a
    different set of columns. Applied to the table `protect_rare` protected, with the same
    seed, it gives the same codes.
    """
    if isinstance(report, dict):
        report = RareReport.from_dict(report)
    if table.schema.names != schema.names:
        raise ValueError(
            f"The table's columns {table.schema.names} are not the model's {schema.names}."
        )
    seed = seeding.resolve_seed(seed)
    return EncodedTable(_remap(table.codes, table.schema, schema, report, seed), schema)
