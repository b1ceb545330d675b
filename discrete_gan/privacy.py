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

from collections.abc import Sequence
from typing import Any

import numpy as np

from discrete_gan import seeding
from discrete_gan.validation import check_float, check_int

__all__ = ["DCR_MAX_ROWS", "dcr_share", "exact_copy_rate", "exact_copy_rates", "holdout_split"]

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


_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it permutes 64-bit words
_QUERY_ROWS = 65536  # query rows compared at a time by `_found`


def _row_hashes(codes: np.ndarray) -> np.ndarray:
    """`(n,)` uint64: a polynomial hash of each row's values, `h = h * M + value` mod 2**64.

    Equal rows hash equally whatever their dtype (each value enters as itself mod 2**64);
    unequal rows may collide, which `exact_copy_rates` checks. A column at a time, so memory
    is the hashes and at most one column widened to int64 (a signed one), never every cell.
    """
    hashes = np.zeros(len(codes), dtype=np.uint64)
    for j in range(codes.shape[1]):
        column = codes[:, j]
        if column.dtype.kind == "i":
            column = column.astype(np.int64).view(np.uint64)
        np.multiply(hashes, _MULTIPLIER, out=hashes)
        np.add(hashes, column, out=hashes)
    return hashes


def _found(queries: np.ndarray, reference: np.ndarray, hashes: np.ndarray, order) -> np.ndarray:
    """`(n,)` bool: whether each row of `queries` is a row of `reference`, whose row hashes
    sorted are `hashes` (`reference[order[i]]` hashes to `hashes[i]`)."""
    wanted = _row_hashes(queries)
    first = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
    hit = np.flatnonzero(hashes[first] == wanted)
    found = np.zeros(len(queries), dtype=bool)
    # the first reference row of that hash: a copy, unless two distinct rows share the hash
    found[hit] = np.all(reference[order[first[hit]]] == queries[hit], axis=1)
    for i in hit[~found[hit]]:  # a hash collision (rare): every row of that hash is compared
        end = np.searchsorted(hashes, wanted[i], side="right")
        found[i] = bool(np.any(np.all(reference[order[first[i] : end]] == queries[i], axis=1)))
    return found


def exact_copy_rate(synthetic: Any, reference: Any) -> float:
    """Share of the rows of `synthetic` that occur verbatim (every column equal) in `reference`.

    Args:
        synthetic: int codes `(n, n_columns)`, at least one row.
        reference: int codes `(m, n_columns)` in the same coding (may be empty: rate 0).

    Returns:
        A float in [0, 1]. Exact: every row of both arrays is compared, nothing is sampled.
        Duplicate synthetic rows count once each.
    """
    return exact_copy_rates([synthetic], reference)[0]


def exact_copy_rates(queries: Sequence[Any], reference: Any) -> list[float]:
    """`exact_copy_rate(q, reference)` for each `q` of `queries`, indexing `reference` once.

    A model card asks it of the sampled rows and of the held-out rows against every training
    row: one pass over the (large) training table instead of two. The reference rows are
    hashed (`_row_hashes`) and their hashes sorted; a query row whose hash is found is then
    compared with the reference rows of that hash, value by value, so the answer is exact.
    Memory: about two words per reference row and a few per query row; no cell is widened
    to int64 all at once (10M rows x 20 columns of uint8 codes would be 1.6 GB so).
    """
    names = ["synthetic"] if len(queries) == 1 else [f"queries[{i}]" for i in range(len(queries))]
    arrays = [_codes(name, q) for name, q in zip(names, queries, strict=True)]
    ref = _codes("reference", reference, allow_empty=True)
    _same_columns(**dict(zip(names, arrays, strict=True)), reference=ref)
    if len(ref) == 0:
        return [0.0] * len(arrays)
    hashes = _row_hashes(ref)
    order = np.argsort(hashes)
    hashes.sort()  # in place: two words per reference row, where hashes[order] would be three
    rates = []
    for q in arrays:  # in slices, so the compared rows take a few MB for any number of queries
        slices = range(0, len(q), _QUERY_ROWS)
        found = sum(int(_found(q[i : i + _QUERY_ROWS], ref, hashes, order).sum()) for i in slices)
        rates.append(found / len(q))
    return rates


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
