"""Tests for discrete_gan.metrics: hand-computed values on tiny frames and statistical checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from discrete_gan.metrics import (
    accuracy,
    category_adherence,
    category_coverage,
    chi_square_gof,
    column_frequencies,
    column_tvd,
    determination_consistency,
    determined_pairs,
    fidelity_report,
    kl_divergence,
    pairwise_tvd,
    rare_label_share,
    top_label_coverage,
)

# The metrics are pandas and numpy on frames: no model, no backend.
pytestmark = pytest.mark.backend_agnostic


def _df(**cols: list) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_column_frequencies_maps_all_missing_kinds_to_none() -> None:
    df = _df(
        x=pd.Series(["a", None, np.nan, pd.NA, "a"], dtype=object),
        n=np.array([1, 2, 2, 2, 1]),
        b=[True, False, True, True, True],
    )
    freq = column_frequencies(df)
    assert freq["x"] == {"a": 0.4, None: 0.6}
    assert freq["n"] == {1: 0.4, 2: 0.6}
    assert all(type(k) is int for k in freq["n"])
    assert freq["b"] == {True: 0.8, False: 0.2}
    assert all(type(k) is bool for k in freq["b"])
    assert list(column_frequencies(df, ["b"])) == ["b"]


def test_missing_counts_as_one_label_across_frames() -> None:
    real = _df(x=pd.Series(["a", None], dtype=object))
    synth = _df(x=pd.Series(["a", np.nan], dtype="str"))
    cat = _df(x=pd.Categorical(["a", None]))
    assert column_tvd(real, synth) == {"x": 0.0}
    assert column_tvd(real, cat) == {"x": 0.0}
    assert pairwise_tvd(real.assign(y=1), synth.assign(y=1)) == {("x", "y"): 0.0}


def test_column_tvd_hand_computed() -> None:
    real, synth = _df(x=["a", "a", "b"]), _df(x=["a", "b", "b"])
    assert column_tvd(real, synth)["x"] == pytest.approx(1 / 3)
    assert column_tvd(real, real)["x"] == 0.0
    assert column_tvd(real, _df(x=["c", "d"]))["x"] == pytest.approx(1.0)
    # int vs str labels are different labels
    assert column_tvd(_df(x=[1, 2]), _df(x=["1", "2"]))["x"] == pytest.approx(1.0)
    # int vs float of equal value are the same label
    assert column_tvd(_df(x=[1, 2]), _df(x=[1.0, 2.0]))["x"] == 0.0


def test_column_tvd_against_probabilities() -> None:
    real = _df(x=["a", "a", "b", None], y=[1, 1, 1, 2])
    probs = {"x": {"a": 0.5, "b": 0.25, None: 0.25}, "y": {1: 0.5, 2: 0.5}}
    assert column_tvd(real, probs) == {"x": 0.0, "y": pytest.approx(0.25)}
    assert column_tvd(real, {"x": {"a": 1.0, float("nan"): 0.0}}) == {"x": pytest.approx(0.5)}
    with pytest.raises(ValueError, match="sum to 0.5"):
        column_tvd(real, {"x": {"a": 0.5}})
    with pytest.raises(ValueError, match="not >= 0"):
        column_tvd(real, {"x": {"a": 1.5, "b": -0.5}})


def test_column_selection_errors() -> None:
    real = _df(x=["a"], y=["b"])
    with pytest.raises(ValueError, match=r"Column\(s\) \['y'\] are missing from one side"):
        column_tvd(real, _df(x=["a"]))
    with pytest.raises(ValueError, match=r"\['z'\]"):
        column_tvd(real, real, columns=["x", "z"])
    with pytest.raises(ValueError, match="No columns"):
        column_tvd(real, real, columns=[])
    with pytest.raises(ValueError, match="no rows"):
        column_tvd(real.iloc[:0], real)
    with pytest.raises(TypeError, match="DataFrame"):
        column_tvd(real, [["a", "b"]])  # type: ignore[arg-type]
    assert column_tvd(real, _df(x=["a"]), columns=["x"]) == {"x": 0.0}


def test_pairwise_tvd_detects_dependency_marginals_miss() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, 20_000)
    real = _df(x=x, y=x.copy())  # y == x
    synth = _df(x=x, y=rng.permutation(x))  # same marginals, independent
    assert max(column_tvd(real, synth).values()) == 0.0
    joint = pairwise_tvd(real, synth)
    assert list(joint) == [("x", "y")]
    assert joint[("x", "y")] == pytest.approx(0.75, abs=0.02)  # 1 - sum p_i^2
    assert pairwise_tvd(real, real) == {("x", "y"): 0.0}


def test_pairwise_tvd_hand_computed_and_disjoint() -> None:
    real = _df(a=["p", "p", "q", "q"], b=[0, 1, 0, 1])
    synth = _df(a=["p", "p", "q", "q"], b=[0, 0, 1, 1])
    # real cells (p,0)(p,1)(q,0)(q,1) each 1/4; synthetic (p,0) 1/2, (q,1) 1/2
    assert pairwise_tvd(real, synth)[("a", "b")] == pytest.approx(0.5)
    other = _df(a=["r"], b=[7])
    assert pairwise_tvd(real, other)[("a", "b")] == pytest.approx(1.0)


def test_pairwise_tvd_many_cells_uses_sparse_path() -> None:
    n = 5000
    real = _df(a=np.arange(n), b=np.arange(n))
    synth = _df(a=np.arange(n), b=np.roll(np.arange(n), 1))
    assert pairwise_tvd(real, synth)[("a", "b")] == pytest.approx(1.0)
    assert pairwise_tvd(real, real)[("a", "b")] == 0.0


def test_pairwise_tvd_max_pairs_is_seeded_subset() -> None:
    df = _df(**{c: [0, 1, 1] for c in "abcdef"})
    all_pairs = pairwise_tvd(df, df)
    assert len(all_pairs) == 15 and all(a < b for a, b in all_pairs)
    sub = pairwise_tvd(df, df, max_pairs=4, seed=3)
    assert len(sub) == 4 and set(sub) <= set(all_pairs)
    assert sub == pairwise_tvd(df, df, max_pairs=4, seed=3)
    assert list(sub) == sorted(sub, key=list(all_pairs).index)
    with pytest.raises(ValueError, match="max_pairs"):
        pairwise_tvd(df, df, max_pairs=0)


def test_kl_divergence() -> None:
    real, synth = _df(x=["a", "a", "b", "b"]), _df(x=["a", "a", "a", "b"])
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert kl_divergence(real, synth)["x"] == pytest.approx(expected)
    assert kl_divergence(real, real)["x"] == 0.0
    missing_b = kl_divergence(real, _df(x=["a"]), eps=1e-8)["x"]
    assert missing_b == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-8), rel=1e-6)
    with pytest.raises(ValueError, match="eps"):
        kl_divergence(real, synth, eps=0)


def test_chi_square_accepts_true_and_rejects_wrong_probabilities() -> None:
    rng = np.random.default_rng(42)
    labels, p = np.array(["a", "b", "c", "d", "e"]), [0.1, 0.2, 0.2, 0.2, 0.3]
    sample = _df(x=rng.choice(labels, size=10_000, p=p), n=rng.choice([1, 2], 10_000, p=[0.3, 0.7]))
    true = {"x": dict(zip(labels, p, strict=True)), "n": {1: 0.3, 2: 0.7}}
    result = chi_square_gof(sample, true)
    assert set(result) == {"x", "n"}
    assert all(p_value > 0.001 for _, p_value in result.values())
    wrong = {"x": dict(zip(labels, [0.2] * 5, strict=True))}
    stat, p_value = chi_square_gof(sample, wrong)["x"]
    assert stat > 100 and p_value < 1e-6


def test_chi_square_edge_cases() -> None:
    sample = _df(x=["a", "a", "z"])
    assert chi_square_gof(sample, {"x": {"a": 0.5, "b": 0.5}})["x"] == (math.inf, 0.0)
    assert chi_square_gof(_df(x=["a", "a"]), {"x": {"a": 1.0, "b": 0.0}})["x"] == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"\['y'\]"):
        chi_square_gof(sample, {"y": {"a": 1.0}})
    with pytest.raises(TypeError, match="mapping"):
        chi_square_gof(sample, [("x", 1.0)])  # type: ignore[arg-type]


def test_coverage_and_adherence() -> None:
    real = _df(x=["a", "b", "c", None])
    synth = _df(x=["a", "a", "d", None, "e"])
    assert category_coverage(real, synth)["x"] == pytest.approx(2 / 4)  # a and missing
    assert category_adherence(real, synth)["x"] == pytest.approx(3 / 5)  # a, a, missing
    assert category_coverage(real, real) == {"x": 1.0}
    assert category_adherence(real, real) == {"x": 1.0}
    probs = {"x": {"a": 0.5, "b": 0.3, "z": 0.2, "c": 0.0}}
    assert category_coverage(real, probs)["x"] == pytest.approx(2 / 4)
    assert category_adherence(real, probs)["x"] == pytest.approx(0.8)


def test_bool_labels() -> None:
    real, synth = _df(b=[True, True, False, False]), _df(b=[True, True, True, False])
    assert column_tvd(real, synth)["b"] == pytest.approx(0.25)
    assert category_coverage(real, _df(b=[True]))["b"] == 0.5


def test_fidelity_report_is_json_serialisable() -> None:
    real = _df(x=["a", "a", "b", None], y=[1, 2, 2, 2], z=[True, False, True, True])
    synth = _df(x=["a", "b", "b", "c"], y=[1, 1, 2, 2], z=[True, True, True, True])
    report = fidelity_report(real, synth)
    json.dumps(report)
    assert set(report) >= {
        "column_tvd",
        "mean_column_tvd",
        "max_column_tvd",
        "pairwise_tvd",
        "mean_pairwise_tvd",
        "coverage",
        "mean_coverage",
    }
    assert set(report["pairwise_tvd"]) == {"x|y", "x|z", "y|z"}
    assert report["column_tvd"]["x"] == pytest.approx(0.5)
    assert report["max_column_tvd"] == max(report["column_tvd"].values())
    assert report["mean_pairwise_tvd"] == pytest.approx(
        np.mean(list(report["pairwise_tvd"].values()))
    )
    assert report["coverage"] == {"x": 2 / 3, "y": 1.0, "z": 0.5}
    assert len(fidelity_report(real, synth, max_pairs=1)["pairwise_tvd"]) == 1


def test_fidelity_report_with_probabilities_or_one_column() -> None:
    real = _df(x=["a", "b"], y=[1, 2])
    report = fidelity_report(real, {"x": {"a": 0.5, "b": 0.5}})
    json.dumps(report)
    assert report["column_tvd"] == {"x": 0.0} and report["mean_pairwise_tvd"] is None
    assert report["pairwise_tvd"] == {}
    single = fidelity_report(real, real, columns=["x"])
    assert single["mean_pairwise_tvd"] is None and single["mean_column_tvd"] == 0.0


def test_metrics_are_vectorised_for_a_million_rows() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    real = _df(s=rng.choice(["a", "b", "c", None], n), i=rng.integers(0, 100, n))
    synth = _df(s=rng.choice(["a", "b", "c", None], n), i=rng.integers(0, 100, n))
    report = fidelity_report(real, synth)
    assert report["mean_column_tvd"] < 0.01 and report["mean_pairwise_tvd"] < 0.02


def test_accuracy_hand_computed() -> None:
    real = _df(a=["x", "x", "y", "y"], b=[1, 2, 1, 2])
    synthetic = _df(a=["x", "x", "x", "y"], b=[1, 1, 2, 2])
    # univariate: TVD(a) = 0.25, TVD(b) = 0; bivariate: cells x1 .25/.5, x2 .25/.25,
    # y1 .25/0, y2 .25/.25 -> TVD 0.25
    result = accuracy(real, synthetic)
    assert result["univariate"] == pytest.approx(0.875)
    assert result["bivariate"] == pytest.approx(0.75)
    assert result["trivariate"] is None
    assert result["overall"] == pytest.approx((0.875 + 0.75) / 2)
    assert accuracy(real, real) == {
        "overall": 1.0,
        "univariate": 1.0,
        "bivariate": 1.0,
        "trivariate": None,
    }


def test_accuracy_sees_three_way_dependence_that_pairs_miss() -> None:
    """c = a XOR b: every pair is uniform and independent, only the triple is not."""
    grid = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    real = pd.DataFrame([r for r in grid if r[2] == r[0] ^ r[1]] * 3, columns=list("abc"))
    synthetic = pd.DataFrame(grid * 3, columns=list("abc"))
    result = accuracy(real, synthetic)
    assert result["univariate"] == pytest.approx(1.0)
    assert result["bivariate"] == pytest.approx(1.0)
    assert result["trivariate"] == pytest.approx(0.5)  # 4 cells of 1/4 vs 8 of 1/8
    assert result["overall"] == pytest.approx(2.5 / 3)


def test_accuracy_missing_labels_and_unseen_labels() -> None:
    real = _df(a=pd.Series(["x", None, np.nan, "x"], dtype=object), b=[1, 1, 2, 2])
    synthetic = _df(a=pd.Series([pd.NA, None, "x", "z"], dtype=object), b=[1, 1, 2, 2])
    # a: real {x: .5, None: .5}, synthetic {None: .5, x: .25, z: .25} -> TVD 0.25
    assert accuracy(real, synthetic)["univariate"] == pytest.approx(1 - 0.25 / 2)


def test_accuracy_samples_pairs_and_triples_of_wide_tables() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame(rng.integers(0, 3, size=(2000, 12)), columns=[f"c{i}" for i in range(12)])
    synthetic = pd.DataFrame(rng.integers(0, 3, size=(2000, 12)), columns=real.columns)
    full = accuracy(real, synthetic, max_pairs=None, max_triples=None)  # 66 pairs, 220 triples
    sampled = accuracy(real, synthetic, max_pairs=20, max_triples=50, seed=1)
    assert sampled == accuracy(real, synthetic, max_pairs=20, max_triples=50, seed=1)
    assert sampled["univariate"] == full["univariate"]
    assert sampled["bivariate"] == pytest.approx(full["bivariate"], abs=0.01)
    assert sampled["trivariate"] == pytest.approx(full["trivariate"], abs=0.01)
    assert full["univariate"] > full["bivariate"] > full["trivariate"]  # sparser cells, more noise
    assert accuracy(real, synthetic) == full  # 1,000 by default: all of them here


def test_accuracy_rejects_bad_arguments() -> None:
    df = _df(a=["x", "y"])
    with pytest.raises(ValueError, match="Invalid value for `max_triples`"):
        accuracy(df, df, max_triples=0)
    with pytest.raises(ValueError, match="Invalid value for `max_pairs`"):
        accuracy(df, df, max_pairs=2.5)
    with pytest.raises(TypeError, match="DataFrame"):
        accuracy(df, {"a": {"x": 1.0}})
    with pytest.raises(ValueError, match="missing from one side"):
        accuracy(df, _df(b=["x"]))


# ------------------------------------------------------------- high-cardinality columns
def _catalogue(rows: int, seed: int) -> pd.DataFrame:
    """A small shop table: Zipf-distributed `sku` (300 labels), each sku with one `category`
    (20 labels) and one `brand` (50 labels), and an independent `colour`."""
    rng = np.random.default_rng(0)  # the catalogue is fixed; `seed` draws the rows
    category, brand = rng.integers(0, 20, 300), rng.integers(0, 50, 300)
    draw = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 301) ** 1.1
    sku = draw.choice(300, size=rows, p=weights / weights.sum())
    return pd.DataFrame(
        {
            "sku": [f"sku{i}" for i in sku],
            "category": [f"cat{i}" for i in category[sku]],
            "brand": [f"brand{i}" for i in brand[sku]],
            "colour": draw.choice(["red", "green", "blue"], size=rows),
        }
    )


def test_determination_consistency_hand_computed() -> None:
    # x -> 1 in 3 of 3 rows (qualifies); y -> 2 or 3 (1 of 2: does not); z -> 4 (1 of 1: does)
    train = _df(a=["x", "x", "x", "y", "y", "z"], b=[1, 1, 1, 2, 3, 4])
    synthetic = _df(a=["x", "x", "y", "z", "w"], b=[1, 2, 2, 4, 1])
    result = determination_consistency(train, synthetic, pairs=[("a", "b")])
    # evaluable: x, x, z (y does not qualify, w is not in train); hits: x->1, z->4
    assert result == {("a", "b"): {"consistency": 2 / 3, "coverage": 0.6, "labels": 2}}
    # at 0.5, y qualifies too; its training B is 2 (a tie with 3: the B seen first)
    loose = determination_consistency(train, synthetic, pairs=[("a", "b")], threshold=0.5)
    assert loose[("a", "b")] == {"consistency": 0.75, "coverage": 0.8, "labels": 3}
    # the other direction: 1 -> x, 2 -> y, 3 -> y, 4 -> z all qualify
    back = determination_consistency(train, synthetic, pairs=[("b", "a")])
    assert back[("b", "a")] == {"consistency": 0.6, "coverage": 1.0, "labels": 4}


def test_determination_consistency_edge_cases() -> None:
    train = _df(a=pd.Series(["x", None, np.nan], dtype=object), b=["p", "q", "q"])
    synthetic = _df(a=pd.Series([pd.NA, "x", "x"], dtype=object), b=["q", "q", "p"])
    result = determination_consistency(train, synthetic, pairs=[("a", "b")])
    assert result[("a", "b")] == {"consistency": 2 / 3, "coverage": 1.0, "labels": 2}
    unseen = determination_consistency(train, _df(a=["w"], b=["p"]), pairs=[("a", "b")])
    assert math.isnan(unseen[("a", "b")]["consistency"])
    assert unseen[("a", "b")]["coverage"] == 0.0
    assert determination_consistency(train, synthetic, pairs=[]) == {}
    with pytest.raises(ValueError, match="Invalid value for `threshold`"):
        determination_consistency(train, synthetic, threshold=0)
    with pytest.raises(ValueError, match="Invalid value for `pairs`"):
        determination_consistency(train, synthetic, pairs=[("a", "a")])
    with pytest.raises(ValueError, match="missing from one side"):
        determination_consistency(train, synthetic, pairs=[("a", "c")])


def test_determination_on_a_generated_table() -> None:
    train, held_out = _catalogue(20_000, seed=1), _catalogue(5_000, seed=2)
    assert determined_pairs(train) == [("sku", "category"), ("sku", "brand")]
    assert determined_pairs(train.drop(columns="sku")) == []
    real = determination_consistency(train, held_out)
    assert list(real) == [("sku", "category"), ("sku", "brand")]
    for figures in real.values():
        assert figures["consistency"] == 1.0  # the catalogue holds in every row
        assert 0.99 < figures["coverage"] <= 1.0  # all but the few skus train never saw
        assert figures["labels"] == train["sku"].nunique()
    rng = np.random.default_rng(3)
    shuffled = held_out.assign(
        category=rng.permutation(held_out["category"].to_numpy()),
        brand=rng.permutation(held_out["brand"].to_numpy()),
    )
    broken = determination_consistency(train, shuffled)
    assert broken[("sku", "category")]["consistency"] < 0.25  # near chance
    assert broken[("sku", "brand")]["consistency"] < 0.15
    assert broken[("sku", "brand")]["coverage"] == real[("sku", "brand")]["coverage"]


def test_top_label_coverage_hand_computed() -> None:
    train = _df(x=["a", "a", "a", "b", "b", "c", "d"])
    assert top_label_coverage(train, _df(x=["a", "c"]), "x", top=2) == 0.5  # of {a, b}
    assert top_label_coverage(train, _df(x=["a", "c"]), "x", top=10) == 0.5  # of all 4
    assert top_label_coverage(train, _df(x=["b", "a", "e"]), "x", top=2) == 1.0
    tied = _df(x=["a", "b", "b", "a", "c"])
    assert top_label_coverage(tied, _df(x=["a"]), "x", top=1) == 1.0  # a was seen first
    assert top_label_coverage(tied, _df(x=["b"]), "x", top=1) == 0.0
    with pytest.raises(ValueError, match="Invalid value for `top`"):
        top_label_coverage(train, train, "x", top=0)
    with pytest.raises(ValueError, match="missing from one side"):
        top_label_coverage(train, train, "y")


def test_rare_label_share_hand_computed() -> None:
    train = _df(x=["a"] * 5 + ["b"] * 4 + ["c"], y=["p"] * 10)
    synthetic = _df(x=["a", "b", "c", "d"], y=["p", "p", "p", "q"])
    assert rare_label_share(train, synthetic) == {"x": 0.75, "y": 0.25}  # b, c, d; q
    assert rare_label_share(train, synthetic, min_count=1) == {"x": 0.25, "y": 0.25}  # unseen
    assert rare_label_share(train, synthetic, min_count=6, columns=["x"]) == {"x": 1.0}
    with pytest.raises(ValueError, match="Invalid value for `min_count`"):
        rare_label_share(train, synthetic, min_count=0)
