"""Fidelity metrics for categorical tables: how close synthetic data is to the real data.

Each metric compares per-column label distributions (or, for `pairwise_tvd`, joint distributions of
column pairs). The synthetic side can be a DataFrame or, where noted, "probabilities": the mapping
`{column: {label: probability}}` a trained model returns. NaN, None and pd.NA all count as the same
label, `None`; numpy scalars count as the equal Python scalar. Everything is vectorised
(`pd.factorize` + `np.bincount`), so 1e6 rows take well under a second per column.
Definitions follow sdmetrics (TVComplement = 1 - TVD, ContingencySimilarity, CategoryCoverage,
CategoryAdherence), with TVD itself reported (0 = identical, 1 = disjoint); `accuracy` follows
mostlyai-qa (1 - TVD over 1-, 2- and 3-way marginals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from discrete_gan.schema import _normalize_label

__all__ = [
    "accuracy",
    "category_adherence",
    "category_coverage",
    "chi_square_gof",
    "column_frequencies",
    "column_tvd",
    "fidelity_report",
    "kl_divergence",
    "pairwise_tvd",
]

Probabilities = Mapping[str, Mapping[Any, float]]
Dist = dict[Any, float]
_Shared = tuple[np.ndarray, np.ndarray, int]  # (real codes, synthetic codes, number of labels)


def _codes(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Factorizes a column: int64 codes `(n,)` into a list of distinct labels (`None` = missing)."""
    codes, uniques = pd.factorize(series, sort=False)
    ids: dict[Any, int] = {}
    remap = [ids.setdefault(_normalize_label(u), len(ids)) for u in uniques]
    if (codes < 0).any():
        remap.append(ids.setdefault(None, len(ids)))
    return np.asarray(remap, dtype=np.int64)[codes], list(ids)  # code -1 picks the None slot


def _counts(series: pd.Series) -> dict[Any, int]:
    codes, labels = _codes(series)
    return dict(zip(labels, np.bincount(codes, minlength=len(labels)).tolist(), strict=True))


def _frame(df: Any, role: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`{role}` must be a pandas DataFrame. Received: {type(df).__name__}")
    if len(df) == 0:
        raise ValueError(f"`{role}` has no rows.")
    return df


def _probabilities(probs: Mapping[Any, float], column: str) -> Dist:
    """Validates one column's probabilities and renormalises them to sum exactly to 1."""
    out: Dist = {}
    for label, p in probs.items():
        p = float(p)
        if not (math.isfinite(p) and p >= 0):
            raise ValueError(f"Column '{column}': probability {p} for {label!r} is not >= 0.")
        key = _normalize_label(label)
        out[key] = out.get(key, 0.0) + p
    total = sum(out.values())
    if abs(total - 1.0) > 1e-3:
        raise ValueError(f"Column '{column}': probabilities sum to {total:.6g}, expected 1.")
    return {k: v / total for k, v in out.items()}


def _columns(real: pd.DataFrame, other: Any, columns: Sequence[str] | None) -> list[str]:
    """Columns to compare: given, else all of `real` (DataFrame) or the mapping's keys."""
    if columns is None:
        columns = list(real.columns) if isinstance(other, pd.DataFrame) else list(other)
    columns = list(columns)
    if not columns:
        raise ValueError("No columns to compare.")
    absent = [c for c in columns if c not in real.columns or c not in other]
    if absent:
        raise ValueError(
            f"Column(s) {absent} are missing from one side. Pass `columns=` to choose a subset."
        )
    return columns


def _dists(real: Any, synthetic: Any, columns: Any) -> dict[str, tuple[Dist, Dist]]:
    """Per column: (real frequencies, synthetic frequencies or probabilities)."""
    real = _frame(real, "real")
    if not isinstance(synthetic, Mapping):
        synthetic = _frame(synthetic, "synthetic")
    cols = _columns(real, synthetic, columns)
    freq = column_frequencies(real, cols)
    if isinstance(synthetic, pd.DataFrame):
        other = column_frequencies(synthetic, cols)
    else:
        other = {c: _probabilities(synthetic[c], c) for c in cols}
    return {c: (freq[c], other[c]) for c in cols}


def _tvd(p: Dist, q: Dist) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in p.keys() | q.keys())


def column_frequencies(
    df: pd.DataFrame, columns: Sequence[str] | None = None
) -> dict[str, dict[object, float]]:
    """Per column `{label: frequency}` over all rows; missing -> `None`, numpy -> Python scalars."""
    df = _frame(df, "df")
    cols = _columns(df, df, columns)
    return {c: {k: v / len(df) for k, v in _counts(df[c]).items()} for c in cols}


def column_tvd(
    real: pd.DataFrame,
    synthetic: pd.DataFrame | Probabilities,
    columns: Sequence[str] | None = None,
) -> dict[str, float]:
    """Total variation distance `0.5 * sum |p - q|` per column, over the union of labels."""
    return {c: _tvd(p, q) for c, (p, q) in _dists(real, synthetic, columns).items()}


def _joint_tvd(x: _Shared, y: _Shared) -> float:
    """TVD between the joint (x, y) tables of real and synthetic; cells keyed `x * k_y + y`."""
    key_r, key_s, size = x[0] * y[2] + y[0], x[1] * y[2] + y[1], x[2] * y[2]
    if size > 1 << 22:  # too many cells for dense counts: count only the cells that occur
        _, inverse = np.unique(np.concatenate([key_r, key_s]), return_inverse=True)
        key_r, key_s, size = inverse[: len(key_r)], inverse[len(key_r) :], int(inverse.max()) + 1
    p = np.bincount(key_r, minlength=size) / len(key_r)
    q = np.bincount(key_s, minlength=size) / len(key_s)
    return float(0.5 * np.abs(p - q).sum())


def _shared_codes(real: pd.Series, synthetic: pd.Series) -> _Shared:
    """Codes of both sides over one shared label list; returns (real, synthetic, n_labels)."""
    codes_r, labels_r = _codes(real)
    codes_s, labels_s = _codes(synthetic)
    ids = {label: i for i, label in enumerate(labels_r)}
    remap = np.asarray([ids.setdefault(x, len(ids)) for x in labels_s], dtype=np.int64)
    return codes_r, remap[codes_s], len(ids)


def pairwise_tvd(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str] | None = None,
    max_pairs: int | None = None,
    seed: int = 0,
) -> dict[tuple[str, str], float]:
    """TVD of the joint 2-D contingency tables of column pairs `(a, b)`, `a` before `b`.

    All pairs by default; with `max_pairs`, a seeded random subset of that many (in column order).
    1 - value is sdmetrics' ContingencySimilarity.
    """
    real, synthetic = _frame(real, "real"), _frame(synthetic, "synthetic")
    if max_pairs is not None and (type(max_pairs) is not int or max_pairs < 1):
        raise ValueError(
            f"Invalid value for `max_pairs`. Expected an int >= 1 or None. Received: {max_pairs=}"
        )
    cols = _columns(real, synthetic, columns)
    pairs = list(combinations(cols, 2))
    if max_pairs is not None and len(pairs) > max_pairs:
        chosen = np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False)
        pairs = [pairs[i] for i in sorted(chosen)]
    codes = {c: _shared_codes(real[c], synthetic[c]) for c in {c for pair in pairs for c in pair}}
    return {(a, b): _joint_tvd(codes[a], codes[b]) for a, b in pairs}


def _tuple_tvd(parts: Sequence[_Shared]) -> float:
    """TVD between the joint tables of several columns, real vs synthetic.

    Cells are keyed in mixed radix; once the product of cardinalities passes 2**22 only the
    cells that occur are counted (renumbered with np.unique), so keys never overflow.
    """
    key_r, key_s, size = parts[0]
    for codes_r, codes_s, k in parts[1:]:
        if size * k > 1 << 22:
            _, inverse = np.unique(np.concatenate([key_r, key_s]), return_inverse=True)
            key_r, key_s = inverse[: len(key_r)], inverse[len(key_r) :]
            size = int(inverse.max()) + 1
        key_r, key_s, size = key_r * k + codes_r, key_s * k + codes_s, size * k
    if size > 1 << 22:
        _, inverse = np.unique(np.concatenate([key_r, key_s]), return_inverse=True)
        key_r, key_s, size = inverse[: len(key_r)], inverse[len(key_r) :], int(inverse.max()) + 1
    p = np.bincount(key_r, minlength=size) / len(key_r)
    q = np.bincount(key_s, minlength=size) / len(key_s)
    return float(0.5 * np.abs(p - q).sum())


def _column_sets(
    n: int, order: int, limit: int | None, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """All `order`-subsets of `n` columns (as sorted index tuples, in lexical order), or a
    seeded random `limit` of them, drawn without enumerating every subset."""
    total = math.comb(n, order)
    if limit is None or total <= limit:
        return list(combinations(range(n), order))
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < limit:
        chosen.add(tuple(sorted(rng.choice(n, order, replace=False).tolist())))
    return sorted(chosen)


def accuracy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str] | None = None,
    max_pairs: int | None = 1000,
    max_triples: int | None = 1000,
    seed: int = 0,
) -> dict[str, float | None]:
    """mostlyai-qa's accuracy: 1 - TVD of the 1-, 2- and 3-way marginals, averaged.

    For each order, the mean over columns (univariate), column pairs (bivariate) and column
    triples (trivariate) of 1 - TVD between the real and the synthetic joint frequencies;
    "overall" is the mean of the three orders (of those that exist: a 2-column table has no
    triples). Labels are compared exactly (categorical columns need no binning; missing
    values are one label). Wide tables: a seeded random subset of at most `max_pairs` pairs
    and `max_triples` triples (None: all of them). Reading: 1 = identical low-order
    marginals; a second real sample of the same size scores a little below 1 (sampling noise),
    which is the ceiling to compare with.

    Returns:
        `{"overall", "univariate", "bivariate", "trivariate"}`, floats in [0, 1];
        "bivariate" / "trivariate" are None with fewer than 2 / 3 columns.
    """
    real, synthetic = _frame(real, "real"), _frame(synthetic, "synthetic")
    for name, limit in (("max_pairs", max_pairs), ("max_triples", max_triples)):
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValueError(
                f"Invalid value for `{name}`. Expected an int >= 1 or None. "
                f"Received: {name}={limit!r}"
            )
    cols = _columns(real, synthetic, columns)
    codes = [_shared_codes(real[c], synthetic[c]) for c in cols]
    rng = np.random.default_rng(seed)
    out: dict[str, float | None] = {}
    for key, order, limit in (
        ("univariate", 1, None),
        ("bivariate", 2, max_pairs),
        ("trivariate", 3, max_triples),
    ):
        sets = _column_sets(len(cols), order, limit, rng) if len(cols) >= order else []
        tvds = [_tuple_tvd([codes[i] for i in s]) for s in sets]
        out[key] = float(1.0 - np.mean(tvds)) if tvds else None
    orders = [v for v in out.values() if v is not None]
    return {"overall": float(np.mean(orders)), **out}


def kl_divergence(
    real: pd.DataFrame,
    synthetic: pd.DataFrame | Probabilities,
    columns: Sequence[str] | None = None,
    eps: float = 1e-8,
) -> dict[str, float]:
    """KL(real || synthetic) per column in nats; synthetic floored at `eps`, then renormalised."""
    if not (isinstance(eps, int | float) and eps > 0):
        raise ValueError(f"Invalid value for `eps`. Expected a float > 0. Received: {eps=}")
    out = {}
    for c, (p, q) in _dists(real, synthetic, columns).items():
        floored = {k: max(q.get(k, 0.0), eps) for k in p.keys() | q.keys()}
        z = sum(floored.values())
        out[c] = float(sum(pk * math.log(pk * z / floored[k]) for k, pk in p.items() if pk > 0))
    return out


def chi_square_gof(
    sample: pd.DataFrame,
    probabilities: Probabilities,
    columns: Sequence[str] | None = None,
) -> dict[str, tuple[float, float]]:
    """Pearson chi-square goodness of fit of each sample column to `probabilities`.

    Returns `{column: (statistic, p_value)}`. A label observed in the sample but with expected
    probability 0 gives `(inf, 0.0)`; with fewer than two possible labels the fit is `(0.0, 1.0)`.
    Columns default to the keys of `probabilities`.
    """
    from scipy.stats import chisquare  # lazy: scipy is only needed here

    sample = _frame(sample, "sample")
    if not isinstance(probabilities, Mapping):
        raise TypeError(f"`probabilities` must be a mapping. Received: {type(probabilities)}")
    out = {}
    for c in _columns(sample, probabilities, columns):
        probs, observed = _probabilities(probabilities[c], c), _counts(sample[c])
        labels = list(probs.keys() | observed.keys())
        obs = np.array([observed.get(k, 0) for k in labels], dtype=np.float64)
        exp = np.array([probs.get(k, 0.0) for k in labels]) * len(sample)
        if np.any((exp == 0) & (obs > 0)):
            out[c] = (math.inf, 0.0)
        elif np.count_nonzero(exp) < 2:
            out[c] = (0.0, 1.0)
        else:
            keep = exp > 0
            stat, p_value = chisquare(obs[keep], exp[keep] * obs.sum() / exp[keep].sum())
            out[c] = (float(stat), float(p_value))
    return out


def _coverage(p: Dist, q: Dist) -> float:
    return sum(q.get(k, 0.0) > 0 for k in p) / len(p)


def _adherence(p: Dist, q: Dist) -> float:
    return float(sum(v for k, v in q.items() if k in p))


def category_coverage(
    real: pd.DataFrame,
    synthetic: pd.DataFrame | Probabilities,
    columns: Sequence[str] | None = None,
) -> dict[str, float]:
    """Fraction of the real categories (missing included) that occur in synthetic.

    With probabilities, a category "occurs" when its probability is > 0.
    """
    return {c: _coverage(p, q) for c, (p, q) in _dists(real, synthetic, columns).items()}


def category_adherence(
    real: pd.DataFrame,
    synthetic: pd.DataFrame | Probabilities,
    columns: Sequence[str] | None = None,
) -> dict[str, float]:
    """Fraction of synthetic cells whose label occurs in real (probability mass, for a mapping)."""
    return {c: _adherence(p, q) for c, (p, q) in _dists(real, synthetic, columns).items()}


def fidelity_report(
    real: pd.DataFrame,
    synthetic: pd.DataFrame | Probabilities,
    columns: Sequence[str] | None = None,
    max_pairs: int | None = 200,
) -> dict:
    """All fidelity metrics in one JSON-able dict (column names as string keys).

    Keys: "column_tvd", "mean_column_tvd", "max_column_tvd", "pairwise_tvd" (keys "a|b"),
    "mean_pairwise_tvd" (None when synthetic is a mapping or there are < 2 columns; then
    "pairwise_tvd" is {}), "coverage", "mean_coverage", "adherence", "mean_adherence".
    Pairs are a seeded (seed 0) sample of at most `max_pairs`.
    """
    dists = _dists(real, synthetic, columns)
    tvd = {str(c): _tvd(p, q) for c, (p, q) in dists.items()}
    coverage = {str(c): _coverage(p, q) for c, (p, q) in dists.items()}
    adherence = {str(c): _adherence(p, q) for c, (p, q) in dists.items()}
    pairs: dict[str, float] = {}
    if isinstance(synthetic, pd.DataFrame) and len(dists) >= 2:
        joint = pairwise_tvd(real, synthetic, list(dists), max_pairs=max_pairs)
        pairs = {f"{a}|{b}": v for (a, b), v in joint.items()}
    return {
        "column_tvd": tvd,
        "mean_column_tvd": float(np.mean(list(tvd.values()))),
        "max_column_tvd": float(max(tvd.values())),
        "pairwise_tvd": pairs,
        "mean_pairwise_tvd": float(np.mean(list(pairs.values()))) if pairs else None,
        "coverage": coverage,
        "mean_coverage": float(np.mean(list(coverage.values()))),
        "adherence": adherence,
        "mean_adherence": float(np.mean(list(adherence.values()))),
    }
