"""Fidelity metrics for categorical tables: how close synthetic data is to the real data.

Each metric compares per-column label distributions (or, for `pairwise_tvd`, joint distributions of
column pairs). The synthetic side can be a DataFrame or, where noted, "probabilities": the mapping
`{column: {label: probability}}` a trained model returns. NaN, None and pd.NA all count as the same
label, `None`; numpy scalars count as the equal Python scalar. Everything is vectorised
(`pd.factorize` + `np.bincount`), so 1e6 rows take well under a second per column.
Definitions follow sdmetrics (TVComplement = 1 - TVD, ContingencySimilarity, CategoryCoverage,
CategoryAdherence), with TVD itself reported (0 = identical, 1 = disjoint); `accuracy` follows
mostlyai-qa (1 - TVD over 1-, 2- and 3-way marginals).

High-cardinality columns (an ID-like `sku` with 100k labels) have their own figures:
`determination_consistency` (does the synthetic `sku` keep its one `category`?),
`top_label_coverage` (are the frequent labels all there?) and `rare_label_share` (how many
emitted labels are ones the training data barely holds, or does not hold at all?).
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
    "determination_consistency",
    "determined_pairs",
    "fidelity_report",
    "kl_divergence",
    "pairwise_tvd",
    "rare_label_share",
    "top_label_coverage",
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


# ------------------------------------------------------------- high-cardinality columns
def _check_share(name: str, value: Any, low_open: bool = True) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not (0 < value <= 1 if low_open else 0 <= value <= 1)
    ):
        bounds = "in (0, 1]" if low_open else "in [0, 1]"
        raise ValueError(
            f"Invalid value for `{name}`. Expected a float {bounds}. Received: {value!r}"
        )
    return float(value)


def _check_count(name: str, value: Any) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"Invalid value for `{name}`. Expected an int >= 1. Received: {value!r}")
    return value


def _modal(
    a: np.ndarray, ka: int, b: np.ndarray, kb: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code of A (0 .. ka - 1): its rows, its most frequent B code and that B's rows.

    Ties go to the lowest B code. Dense counts while the (A, B) table has at most 2**22 cells,
    else only the pairs that occur (np.unique), sorted by (A, rows descending, B).
    """
    rows = np.bincount(a, minlength=ka)
    if ka * kb <= 1 << 22:
        counts = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)
        modal = counts.argmax(axis=1)
        return rows, modal, counts[np.arange(ka), modal]
    keys, counts = np.unique(a * kb + b, return_counts=True)
    pa, pb = keys // kb, keys % kb
    order = np.lexsort((pb, -counts, pa))
    pa, pb, counts = pa[order], pb[order], counts[order]
    first = np.concatenate([[True], pa[1:] != pa[:-1]])
    modal, top = np.zeros(ka, dtype=np.int64), np.zeros(ka, dtype=np.int64)
    modal[pa[first]], top[pa[first]] = pb[first], counts[first]
    return rows, modal, top


def determined_pairs(
    train: pd.DataFrame,
    threshold: float = 0.99,
    min_support: float = 0.5,
    columns: Sequence[str] | None = None,
) -> list[tuple[str, str]]:
    """Ordered column pairs `(A, B)` where A determines B for most of the training rows.

    A label `a` of A is *determined* when its most frequent B covers at least `threshold` of
    a's training rows and a has at least 2 rows (a label seen once determines every column
    trivially). The pair is reported when A and B each have at least 2 labels and the rows of
    determined labels make up at least `min_support` of the training rows. Pairs come in
    column order (A first, then B). Every ordered pair is counted: 10 columns are 90 pairs, a
    few seconds on 1e6 rows with a 100k-label column.
    """
    train = _frame(train, "train")
    threshold = _check_share("threshold", threshold)
    min_support = _check_share("min_support", min_support, low_open=False)
    cols = _columns(train, train, columns)
    codes = {c: _codes(train[c])[0] for c in cols}
    sizes = {c: int(codes[c].max()) + 1 for c in cols}
    found = []
    for a in cols:
        if sizes[a] < 2:
            continue
        for b in cols:
            if b == a or sizes[b] < 2:
                continue
            rows, _, top = _modal(codes[a], sizes[a], codes[b], sizes[b])
            held = (rows >= 2) & (top / rows >= threshold)
            if rows[held].sum() >= min_support * len(train):
                found.append((a, b))
    return found


def determination_consistency(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    pairs: Sequence[tuple[str, str]] | None = None,
    threshold: float = 0.99,
) -> dict[tuple[str, str], dict[str, float | int]]:
    """How often synthetic rows keep a determination the training data shows, per pair A -> B.

    A label `a` of A *qualifies* when, in `train`, its most frequent B (its "training B";
    ties go to the B seen first) covers at least `threshold` of a's rows (a label seen once
    qualifies). Over the synthetic rows whose A is a qualifying label (the *evaluable* rows),
    "consistency" is the share whose B is that label's training B. Synthetic rows whose A is
    not a qualifying label, or is absent from `train`, are not evaluable: "coverage" is the
    share of synthetic rows that are. Labels are compared as in the other metrics (missing is
    one label, numpy scalars equal Python ones).

    Args:
        train: the training rows.
        synthetic: the rows to judge (or any other rows: a shuffled copy of `train` scores
            about the chance level, `train` itself 1.0).
        pairs: ordered `(A, B)` column pairs; None: those `determined_pairs(train, threshold)`
            finds (the rows of labels with at least 2 rows that qualify make up at least half
            of the training rows).
        threshold: the share of a label's rows its training B must cover, in (0, 1].

    Returns:
        `{(A, B): {"consistency", "coverage", "labels"}}`: consistency in [0, 1] (NaN when no
        synthetic row is evaluable), coverage in [0, 1], labels = the number of qualifying
        labels of A. Vectorised: 1e6 rows with a 100k-label A take well under a second a pair.
    """
    train, synthetic = _frame(train, "train"), _frame(synthetic, "synthetic")
    threshold = _check_share("threshold", threshold)
    if pairs is None:
        pairs = determined_pairs(train, threshold)
    pairs = [tuple(p) for p in pairs]
    if any(len(p) != 2 or p[0] == p[1] for p in pairs):
        raise ValueError(
            "Invalid value for `pairs`. Expected (A, B) pairs of two different columns. "
            f"Received: {pairs!r}"
        )
    if not pairs:
        return {}
    _columns(train, synthetic, sorted({c for p in pairs for c in p}, key=str))
    codes = {}
    for c in {c for p in pairs for c in p}:
        codes_t, codes_s, _ = _shared_codes(train[c], synthetic[c])
        codes[c] = (codes_t, codes_s, int(codes_t.max()) + 1)  # train's labels come first
    out: dict[tuple[str, str], dict[str, float | int]] = {}
    for a, b in pairs:
        (a_t, a_s, ka), (b_t, b_s, kb) = codes[a], codes[b]
        rows, modal, top = _modal(a_t, ka, b_t, kb)
        qualifies = top / rows >= threshold
        seen = a_s < ka
        evaluable = np.zeros(len(a_s), dtype=bool)
        evaluable[seen] = qualifies[a_s[seen]]
        hits = b_s[evaluable] == modal[a_s[evaluable]]
        out[(a, b)] = {
            "consistency": float(hits.mean()) if len(hits) else math.nan,
            "coverage": float(evaluable.mean()),
            "labels": int(qualifies.sum()),
        }
    return out


def top_label_coverage(
    train: pd.DataFrame, synthetic: pd.DataFrame, column: str, top: int = 100
) -> float:
    """Share of the `top` most frequent training labels of `column` that occur in `synthetic`.

    Ties in frequency go to the label seen first in `train`; with fewer than `top` labels,
    all of them count.
    """
    train, synthetic = _frame(train, "train"), _frame(synthetic, "synthetic")
    top = _check_count("top", top)
    _columns(train, synthetic, [column])
    codes_t, codes_s, size = _shared_codes(train[column], synthetic[column])
    counts = np.bincount(codes_t, minlength=size)[: int(codes_t.max()) + 1]
    chosen = np.argsort(-counts, kind="stable")[:top]
    present = np.bincount(codes_s, minlength=size) > 0
    return float(present[chosen].mean())


def rare_label_share(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    min_count: int = 5,
    columns: Sequence[str] | None = None,
) -> dict[str, float]:
    """Per column, the share of synthetic cells whose label occurs fewer than `min_count`
    times in `train`, labels absent from `train` included (they occur 0 times).

    `min_count=1` gives the share of labels the training data does not hold. Every column has
    as many cells as there are rows, so the mean over columns is the share of all cells.
    """
    train, synthetic = _frame(train, "train"), _frame(synthetic, "synthetic")
    min_count = _check_count("min_count", min_count)
    out = {}
    for c in _columns(train, synthetic, columns):
        codes_t, codes_s, size = _shared_codes(train[c], synthetic[c])
        out[c] = float((np.bincount(codes_t, minlength=size)[codes_s] < min_count).mean())
    return out
