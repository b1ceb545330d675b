"""Privacy figures of synthetic rows against the real rows: exact copies and the DCR share.

Both work on int code arrays `(n_rows, n_columns)` (an `EncodedTable`'s `codes`, or any
integer coding that the arrays being compared share; negative codes are fine). Rows are
compared as whole tuples of codes, so two rows match only when every column matches.

- `holdout_split(n_rows, fraction, seed)`: which rows a training run keeps aside, so that
  the figures below have real rows the generator never saw.
- `exact_copy_rate(synthetic, reference)`: the share of synthetic rows that occur verbatim in
  `reference`. Exact (every row is hashed, nothing sampled). On its own it says little: real
  rows drawn from the same population repeat too (a table with few, low-cardinality columns
  has many duplicate rows), so compare it with the held-out rows' own rate,
  `exact_copy_rate(holdout, train)`.
- `dcr_share(synthetic, train, holdout)`: mostlyai-qa's DCR share. For each synthetic row,
  its distance to the closest record (DCR) in `train` and in `holdout`, with the Hamming
  distance over columns (the number of columns that differ); the share is the fraction of
  synthetic rows strictly closer to `train`, ties counted as one half. A generator that does
  not memorise its training rows is as close to unseen real rows as to its training rows: 0.5.
  Copies of training rows push it towards 1.

The two reference sets of `dcr_share` must be the same size, or the larger one is closer by
chance alone (more rows, nearer nearest neighbour): the larger one is subsampled (seeded) to
the size of the smaller. That costs sensitivity when the holdout is small: with a 10% holdout
only a ninth of the training rows take part, so a generator that did nothing but copy
training rows would score about 0.5 + 0.5 / 9 = 0.56, not 1 (mostlyai-qa recommends a 50/50
split for this figure; `exact_copy_rate` against all training rows has no such limit).

Rows are capped (`max_rows`, 5,000 by default, for the synthetic rows and for each reference
set), and distances are computed blockwise as one-hot matrix products (Hamming = n_columns -
onehot(a) @ onehot(b).T) in bounded memory: 5,000 x 5,000 rows take well under a second on
two CPU cores for a table of a few hundred one-hot columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from discrete_gan import seeding
from discrete_gan.validation import check_float, check_int

__all__ = ["DCR_MAX_ROWS", "dcr_share", "exact_copy_rate", "holdout_split"]

DCR_MAX_ROWS = 5000
_BLOCK_BYTES = 32 * 2**20  # memory of one block's one-hot matrices and match counts


def holdout_split(n_rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of rows `0 .. n_rows - 1` into (training rows, held-out rows).

    `round(n_rows * fraction)` rows are held out, chosen uniformly without replacement by the
    "holdout" stream of `seed` (`seeding.stream_rng`), so the split is a pure function of
    (n_rows, fraction, seed): a resumed run, or a run repeated with the same seed and data,
    holds out the same rows. Both index arrays are sorted (int64).
    """
    n_rows = check_int("n_rows", n_rows, 0)
    fraction = check_float("fraction", fraction, 0.0, 1.0, high_open=True)
    size = int(round(n_rows * fraction))
    held = np.zeros(n_rows, dtype=bool)
    if size:
        held[seeding.stream_rng(seed, "holdout").choice(n_rows, size, replace=False)] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def _codes(name: str, value: Any, allow_empty: bool = False) -> np.ndarray:
    """`value` as a 2-D int array, its dtype kept (a uint8 table of millions of rows is not
    copied to int64); ValueError in the Keras style when it is not one."""
    array = np.asarray(value)
    if array.ndim != 2 or not (
        np.issubdtype(array.dtype, np.integer) or (array.size == 0 and array.dtype == float)
    ):
        raise ValueError(
            f"Invalid value for `{name}`. Expected a 2-D array of int codes (n_rows, "
            f"n_columns). Received: {name} with shape {array.shape} and dtype {array.dtype}"
        )
    if array.shape[1] == 0 or (len(array) == 0 and not allow_empty):
        raise ValueError(
            f"Invalid value for `{name}`. Expected at least one row and one column. "
            f"Received: {name} with shape {array.shape}"
        )
    return array


def _same_columns(**arrays: np.ndarray) -> None:
    widths = {name: a.shape[1] for name, a in arrays.items()}
    if len(set(widths.values())) > 1:
        raise ValueError(
            "The arrays must have the same number of columns. Received: "
            + ", ".join(f"{name} with {w}" for name, w in widths.items())
        )


def _ranks(values: np.ndarray) -> np.ndarray:
    """`(n,)` int64: each value's rank among the distinct values (equal values, equal ranks)."""
    return np.unique(values, return_inverse=True)[1].ravel()


def _row_keys(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """One uint64 key per row, shared across `arrays`: equal rows, and only they, equal keys.

    Each column, shifted to start at 0, takes the bits its value range needs in one 64-bit key
    (a column spanning 2**32 values or more is first replaced by the ranks of its values). When
    the next column does not fit, the key so far is replaced by its dense rank over all rows,
    at most `n_rows` distinct values, so the key stays one word for any table under 2**32 rows.
    A column at a time: memory is a few uint64 per row, never every cell as int64 (10M rows x
    20 columns of uint8 codes would be 1.6 GB so).
    """
    bounds = np.cumsum([0, *(len(a) for a in arrays)])
    n_rows = int(bounds[-1])
    key, used = np.zeros(n_rows, dtype=np.uint64), 0
    for j in range(arrays[0].shape[1]):
        column = np.concatenate([a[:, j] for a in arrays], dtype=np.int64)
        low = int(column.min())
        span = int(column.max()) - low
        if span >= 2**32:
            column, low = _ranks(column), 0
            span = int(column.max())
        bits = span.bit_length()
        if bits == 0:  # a constant column tells no rows apart
            continue
        if used + bits > 64:
            key = _ranks(key).view(np.uint64)
            used = int(key.max()).bit_length()
        column -= low
        key |= column.view(np.uint64) << np.uint64(used)
        used += bits
    return [key[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def exact_copy_rate(synthetic: Any, reference: Any) -> float:
    """Share of the rows of `synthetic` that occur verbatim (every column equal) in `reference`.

    Args:
        synthetic: int codes `(n, n_columns)`, at least one row.
        reference: int codes `(m, n_columns)` in the same coding (may be empty: rate 0).

    Returns:
        A float in [0, 1]. Exact: every row of both arrays is compared, nothing is sampled.
        Duplicate synthetic rows count once each.
    """
    syn = _codes("synthetic", synthetic)
    ref = _codes("reference", reference, allow_empty=True)
    _same_columns(synthetic=syn, reference=ref)
    if len(ref) == 0:
        return 0.0
    syn_keys, ref_keys = _row_keys([syn, ref])
    return float(np.isin(syn_keys, ref_keys).mean())


def _subsample(rows: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= size:
        return rows
    return rows[np.sort(rng.choice(len(rows), size, replace=False))]


def _compact(arrays: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per column, codes renumbered over the values that occur; returns them and the offsets
    of each column's one-hot block (so the one-hot width is what occurs, not the schema's)."""
    stacked = np.concatenate(arrays)
    out = np.empty_like(stacked)
    widths = []
    for j in range(stacked.shape[1]):
        _, inverse = np.unique(stacked[:, j], return_inverse=True)
        out[:, j] = inverse.ravel()
        widths.append(int(inverse.max()) + 1)
    offsets = np.cumsum([0, *widths[:-1]])
    bounds = np.cumsum([0, *(len(a) for a in arrays)])
    parts = [out[a:b] + offsets for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return parts, np.asarray(widths)


def _one_hot(flat_codes: np.ndarray, width: int) -> np.ndarray:
    """Rows of column-offset codes `(n, k)` -> float32 one-hot `(n, width)` with k ones a row."""
    out = np.zeros((len(flat_codes), width), dtype=np.float32)
    np.put_along_axis(out, flat_codes, 1.0, axis=1)
    return out


def _nearest(queries: np.ndarray, reference: np.ndarray, width: int) -> np.ndarray:
    """Hamming distance from each query row to its nearest reference row, `(n_queries,)`.

    Blocks of `b` rows keep a query block, a reference block and their product within
    `_BLOCK_BYTES` (`2 * b * width + b * b` float32s); float32 products count matching columns
    exactly (integers below 2**24). The reference one-hots are built once when they fit the
    same budget, else again for each query block.
    """
    k, budget = queries.shape[1], _BLOCK_BYTES // 4
    block = int(max(16, min(4096, np.sqrt(width * width + budget) - width)))
    starts = range(0, len(reference), block)
    cached = len(reference) * width <= budget
    ref_blocks = [_one_hot(reference[i : i + block], width) for i in starts] if cached else None
    best = np.zeros(len(queries), dtype=np.int64)
    for i in range(0, len(queries), block):
        q = _one_hot(queries[i : i + block], width)
        matches = np.zeros(len(q), dtype=np.float32)
        blocks = ref_blocks or (_one_hot(reference[j : j + block], width) for j in starts)
        for r in blocks:
            np.maximum(matches, (q @ r.T).max(axis=1), out=matches)
        best[i : i + block] = k - np.rint(matches).astype(np.int64)
    return best


def dcr_share(
    synthetic: Any,
    train: Any,
    holdout: Any,
    *,
    max_rows: int = DCR_MAX_ROWS,
    seed: int = 0,
) -> float:
    """Share of synthetic rows closer to a training row than to a held-out row (ties: 1/2).

    Args:
        synthetic: int codes `(n_synthetic, n_columns)`.
        train: the training rows' codes `(n_train, n_columns)`, same coding.
        holdout: real rows the generator never saw `(n_holdout, n_columns)`, same coding,
            drawn from the same population as `train`.
        max_rows: at most this many synthetic rows, and this many rows of each reference set,
            are compared (seeded subsamples without replacement).
        seed: seed of the subsampling.

    Returns:
        A float in [0, 1]: 0.5 when the synthetic rows are no closer to the training rows than
        to unseen real ones; towards 1 when the generator reproduces its training rows.
        `train` and `holdout` are first cut to the same number of rows,
        `min(n_train, n_holdout, max_rows)`, so that neither is closer by its size alone.
    """
    syn = _codes("synthetic", synthetic)
    trn = _codes("train", train)
    hol = _codes("holdout", holdout)
    _same_columns(synthetic=syn, train=trn, holdout=hol)
    max_rows = check_int("max_rows", max_rows, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    size = min(len(trn), len(hol), max_rows)
    trn, hol = _subsample(trn, size, rng), _subsample(hol, size, rng)
    syn = _subsample(syn, max_rows, rng)
    syn, trn, hol = (a.astype(np.int64) for a in (syn, trn, hol))
    (syn, trn, hol), widths = _compact([syn, trn, hol])
    width = int(widths.sum())
    to_train, to_holdout = _nearest(syn, trn, width), _nearest(syn, hol, width)
    closer = (to_train < to_holdout).astype(np.float64) + 0.5 * (to_train == to_holdout)
    return float(closer.mean())
