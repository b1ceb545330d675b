"""Smoke tests: the benchmark entry points run on tiny settings, return finite figures and
write their results files; plus exact checks of the numpy Bayesian-network code they rely on."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pgmpy")

TINY = {
    "noise_dim": 8,
    "generator_units": (32,),
    "discriminator_units": (32,),
    "batch_size": 64,
}

# The benchmark scripts are the same code under either backend (the backend's own behaviour is
# tested elsewhere): their end-to-end smoke runs once, in the TensorFlow pass, to keep CI short.
once = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="runs once, in the TensorFlow pass"
)
# The rest is numpy Bayesian-network code, argument checks and the seed port (plain
# TensorFlow whatever KERAS_BACKEND says): scripts/test.sh runs the whole file in the TensorFlow
# pass only.
pytestmark = pytest.mark.backend_agnostic


@pytest.fixture(scope="module")
def asia():
    from benchmarks.bayesnet import load_network

    return load_network("asia")


def test_ancestral_sampling_matches_the_network(asia):
    """Sampled frequencies of every (node, parents) cell match the CPTs: refitting the CPTs on
    20k sampled rows recovers them within sampling error."""
    rows = asia.sample(20_000, seed=0)
    fitted = asia.fit(rows, pseudocount=0.0)
    for true, est in zip(asia.nodes, fitted.nodes):
        assert true.name == est.name and true.parents == est.parents
        np.testing.assert_allclose(est.cpt, true.cpt, atol=0.03)


def test_log_prob_is_the_product_of_cpds_with_the_floor(asia):
    rows = asia.sample(5, seed=1)
    codes = asia.encode(rows)
    expected = []
    for row in codes:
        p = 1.0
        for j, node in enumerate(asia.nodes):
            parents = tuple(row[asia.index[q]] for q in node.parents)
            p *= node.cpt[(*parents, row[j])]
        expected.append(math.log(max(p, 1e-8)))
    np.testing.assert_allclose(asia.log_prob(codes), expected, rtol=1e-12)
    rows.iloc[0, 0] = "unknown label"
    assert asia.log_prob(asia.encode(rows))[0] == pytest.approx(math.log(1e-8))


def test_probabilities_sum_to_one_over_the_joint(asia):
    import itertools

    cards = [len(n.states) for n in asia.nodes]
    codes = np.array(list(itertools.product(*[range(k) for k in cards])))
    logp = asia.log_prob(codes)
    floored = logp <= math.log(1e-8) + 1e-12  # impossible rows, raised to 1e-8 by the floor
    assert floored.any() and not floored.all()
    assert np.exp(logp[~floored]).sum() == pytest.approx(1.0, abs=floored.sum() * 1e-8 + 1e-12)


@pytest.mark.slow
@once
def test_bn_benchmark_tiny(tmp_path):
    from benchmarks.bn_likelihood import run_bn
    from benchmarks.report import bn_sections
    from benchmarks.results import write_results

    # the CLI row, with flags for a tiny model (the benchmark itself passes none)
    cli_args = ["--epochs", "1", "--batch-size", "64", "--set", "model.generator_units=[32]"]
    bn = run_bn(
        ("asia",),
        rows=300,
        methods={"ours (tiny)": (TINY, 1)},
        vae_methods={},  # the VAE row has its own smoke test
        ctgan=None,
        cli=True,
        cli_args=cli_args,
    )
    methods = [r["method"] for r in bn["results"]]
    assert methods == ["Identity", "Independent marginals", "ours (tiny)", "ours (CLI defaults)"]
    keys = ("L_syn", "L_test", "L_test_raw", "col_tvd", "pair_tvd", "accuracy", "dcr_share")
    for r in bn["results"]:
        for key in (*keys, "copy_rate", "test_copy_rate"):
            assert math.isfinite(r[key]), (r["method"], key)
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["dcr_share"] <= 1
    identity = bn["results"][0]
    assert identity["copy_rate"] == 1.0  # the training rows themselves
    assert identity["test_copy_rate"] == bn["results"][2]["test_copy_rate"]
    for ours in bn["results"][2:]:
        assert ours["train_s"] > 0 and ours["sample_rows_per_s"] > 0
    cli = bn["results"][-1]
    assert cli["epochs"] == 1 and cli["train_rows"] == 270  # the CLI's default 10% holdout
    assert cli["card_privacy"]["holdout_rows"] == 30
    md, js = write_results("bn", "BN", bn_sections(bn), bn, out_dir=tmp_path)
    assert "Identity" in md.read_text() and "asia" in md.read_text()
    data = json.loads(js.read_text())
    assert data["environment"]["machine"]["cpu_count"] >= 1
    assert data["environment"]["versions"]["keras"]


@pytest.mark.slow
@once
def test_toy_benchmark_tiny(tmp_path):
    from benchmarks.report import plot_toy, toy_sections
    from benchmarks.results import write_results
    from benchmarks.toy import run_toy

    toy = run_toy(seeds=2, fit={"steps_per_epoch": 3, "epochs": 2}, configs={"tiny": {**TINY}})
    summary = toy["tiny"]["summary"]
    assert len(summary["tvd_all"]) == 2
    assert 0 <= summary["tvd_median"] <= 1 and math.isfinite(summary["fit_seconds_median"])
    assert len(toy["tiny"]["runs"][0]["trace"]) == 2
    md, js = write_results("toy", "Toy", toy_sections(toy, None), {"toy": toy}, out_dir=tmp_path)
    assert "tiny" in md.read_text()
    assert json.loads(js.read_text())["toy"]["tiny"]["summary"]["tvd_all"]
    assert plot_toy(toy, None, tmp_path / "toy.png").stat().st_size > 0


@pytest.mark.slow
def test_seed_port_runs():
    from benchmarks.seed_port import run_seed_port

    result = run_seed_port(seed=0, epochs=1)
    assert len(result.trace) == 1
    assert sum(result.learned) == pytest.approx(1.0, abs=1e-5)
    assert 0 <= result.tvd_data <= 1


def test_cli_rejects_bad_arguments(capsys, monkeypatch):
    import benchmarks.argn_runner
    from benchmarks.__main__ import main

    assert main(["toy", "--seeds", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --seeds must be >= 1"
    assert main(["bn", "--methods", "default,bogus"]) == 1
    assert "Invalid value for `--methods`" in capsys.readouterr().err
    monkeypatch.setattr(benchmarks.argn_runner, "argn_python", lambda explicit=None: None)
    assert main(["bn", "--methods", "argn", "--networks", "asia"]) == 1
    assert "pass --argn-python PATH" in capsys.readouterr().err


def test_wide_networks_are_bundled():
    """hailfinder and water ship in the pgmpy wheel (their variables counted in the BIF text;
    parsing them with pgmpy takes seconds)."""
    import gzip
    import re

    from benchmarks.bayesnet import WIDE_NETWORKS, _bif_path

    sizes = {}
    for name in WIDE_NETWORKS:
        with gzip.open(_bif_path(name), "rt") as f:
            sizes[name] = len(re.findall(r"^variable ", f.read(), flags=re.MULTILINE))
    assert sizes == {"hailfinder": 56, "water": 32}


def test_high_cardinality_table_is_seeded_and_determined():
    from benchmarks.high_cardinality import COLUMNS, make_table, split
    from discrete_gan.metrics import determined_pairs

    sizes = dict(sku_labels=400, category_labels=20, brand_labels=60, store_labels=30)
    table = make_table(5000, seed=3, **sizes)
    assert list(table) == list(COLUMNS)
    pd.testing.assert_frame_equal(table, make_table(5000, seed=3, **sizes))
    assert not table.equals(make_table(5000, seed=4, **sizes))
    capped = make_table(5000, seed=3, sku_cap=50, **sizes)
    assert capped["sku"].nunique() <= 50 < table["sku"].nunique()
    assert capped["store"].equals(table["store"])  # the same draws, sku capped
    top = table["sku"].value_counts().index[:10]  # the top ranks are kept as they are
    assert set(top) <= set(capped["sku"])
    for frame in (table, capped):
        assert frame.groupby("sku")[["category", "brand"]].nunique().max().max() == 1
        assert determined_pairs(frame) == [("sku", "category"), ("sku", "brand")]
    train, held = split(table, seed=0)
    assert (len(train), len(held)) == (3500, 1500)


@pytest.mark.slow
@once
def test_high_cardinality_benchmark_tiny(tmp_path, capsys):
    from benchmarks.__main__ import main

    argv = ["hc", "--rows", "3000", "--sku-labels", "300", "--category-labels", "30"]
    argv += ["--brand-labels", "100", "--store-labels", "50"]  # sku cap 1000: one step timing
    argv += ["--subsample", "0", "--methods", "ours,identity", "--epochs", "1"]
    argv += ["--step-steps", "3", "--step-warmup", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| ours | ok |" in printed and "| identity |" in printed
    data = json.loads(next(tmp_path.glob("high_cardinality_*.json")).read_text())
    run = data["runs"][0]
    assert (run["rows"], run["train_rows"], run["holdout_rows"]) == (3000, 2100, 900)
    assert run["determined_pairs"] == ["sku->category", "sku->brand"]
    rows = {r["method"]: r for r in run["results"]}
    assert list(rows) == ["held-out rows (reference)", "ours", "identity"]
    ours, identity = rows["ours"], rows["identity"]
    assert ours["status"] == "ok" and ours["epochs"] == 1
    assert ours["train_s"] > 0 and ours["peak_rss_mb"] > 100
    assert ours["ms_per_step"] > 0 and ours["ms_per_step_capped"] == ours["ms_per_step"]
    assert ours["sample_rows_per_s"] > 0 and ours["cli_sample_rows_per_s"] > 0
    for key in ("col_tvd", "pair_tvd", "top100_sku", "det_sku_category", "rare5", "copy_rate"):
        assert 0 <= ours[key] <= 1 and 0 <= identity[key] <= 1, key
    assert identity["copy_rate"] == 1.0 and identity["det_sku_brand"] == 1.0
    # protection on: the placeholder is emitted, no label seen fewer than 5 times ever is
    assert ours["placeholder"] > 0 and ours["rare5_labels"] == 0 < ours["rare5"]
    assert identity["placeholder"] == 0 and identity["rare5_labels"] == identity["rare5"] > 0
    assert identity["col_tvd"] < ours["col_tvd"]  # one epoch is far from the floor
    assert 0 < rows["held-out rows (reference)"]["copy_rate"] < 1


def test_high_cardinality_rejects_unknown_methods(capsys):
    from benchmarks.high_cardinality import main

    assert main(["--methods", "ours,bogus"]) == 1
    assert "Invalid value for `--methods`" in capsys.readouterr().err


TINY_VAE = {
    "latent_variables": 4,
    "latent_categories": 4,
    "encoder_units": (32,),
    "decoder_units": (32,),
    "batch_size": 128,
}


def test_auc_is_the_mann_whitney_statistic():
    from scipy.stats import mannwhitneyu

    from benchmarks.elbo_auc import auc

    assert auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert auc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert auc([1.0, 2.0], [2.0, 1.0]) == 0.5  # ties count 1/2
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 1, 200).round(1), rng.normal(0, 1, 150).round(1)
    expected = mannwhitneyu(a, b).statistic / (len(a) * len(b))
    assert auc(a, b) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="at least one score"):
        auc([], [1.0])


def test_shuffled_rows_keep_every_marginal_and_break_pairs(asia):
    from benchmarks.elbo_auc import known_rows, shuffled

    rows = asia.sample(2000, seed=0)
    fake = shuffled(rows, seed=1)
    pd.testing.assert_frame_equal(fake, shuffled(rows, seed=1))
    for c in rows.columns:
        assert sorted(fake[c]) == sorted(rows[c])
    # either / lung are tied in asia (either = lung or tub): shuffling breaks that
    same = (rows["either"] == rows["lung"]).mean()
    assert same > 0.95 and (fake["either"] == fake["lung"]).mean() < same - 0.05
    held = rows.head(3).copy()
    held.loc[1, "asia"] = "never seen"
    assert known_rows(held, rows).tolist() == [True, False, True]


def test_digits_table_and_split():
    from benchmarks.digits import images, ink, load_table, split

    table = load_table()
    assert table.shape == (1797, 64) and list(table)[:2] == ["r0c0", "r0c1"]
    assert set(np.unique(table.to_numpy())) <= {str(v) for v in range(17)}
    train, held = split(table, seed=0)
    assert (len(train), len(held)) == (1438, 359)
    assert not set(map(tuple, held.to_numpy())) <= set(map(tuple, train.to_numpy()))
    pd.testing.assert_frame_equal(held, split(table, seed=0)[1])
    pixels = images(table.head(2))
    assert pixels.shape == (2, 8, 8) and pixels.max() <= 16
    odd = table.head(1).copy()
    odd.iloc[0, 5] = "_RARE_"
    assert np.isnan(images(odd)[0, 0, 5]) and ink(odd).iloc[0, 5] == "other"
    assert set(ink(table.head(50)).to_numpy().ravel()) == {"ink", "blank"}


@pytest.mark.slow
@once
def test_digits_benchmark_tiny(tmp_path):
    from benchmarks.digits import run_digits
    from benchmarks.report import digits_sections
    from benchmarks.results import write_results

    tiny = {"gan": {**TINY, "autoregressive": False}, "vae": {**TINY_VAE, "autoregressive": False}}
    digits = run_digits(epochs=1, overrides=tiny, plot_dir=tmp_path)
    rows = {r["method"]: r for r in digits["results"]}
    assert list(rows) == [
        "Identity (training images)",
        "Independent marginals",
        "gan (test config)",
        "vae (test config)",
    ]
    for r in rows.values():
        for key in ("col_tvd", "pair_tvd", "ink_pair_tvd", "placeholder_share"):
            assert 0 <= r[key] <= 1, (r["method"], key)
    identity, indep = rows["Identity (training images)"], rows["Independent marginals"]
    assert identity["col_tvd"] == pytest.approx(indep["col_tvd"])  # the same marginals
    assert identity["ink_pair_tvd"] < indep["ink_pair_tvd"]  # pixels depend on each other
    vae = rows["vae (test config)"]
    assert vae["epochs"] == 1 and vae["train_s"] > 0 and 0 <= vae["elbo_auc"] <= 1
    assert vae["elbo_real"] < 0 and vae["elbo_shuffled"] < 0
    for family in ("gan", "vae"):
        assert (tmp_path / f"digits_{family}.png").stat().st_size > 0
    md, js = write_results("digits", "Digits", digits_sections(digits), digits, out_dir=tmp_path)
    assert "vae (test config)" in md.read_text() and "digits_vae.png" in md.read_text()
    assert json.loads(js.read_text())["table"]["held_rows"] == 359


@pytest.mark.slow
@once
def test_bn_benchmark_vae_row_tiny():
    from benchmarks.bn_likelihood import run_bn
    from benchmarks.report import bn_sections

    bn = run_bn(
        ("asia",),
        rows=300,
        methods={"ours (default)": (TINY, 1)},
        vae_methods={"vae (default)": (TINY_VAE, 2)},
    )
    rows = {r["method"]: r for r in bn["results"]}
    assert list(rows) == ["Identity", "Independent marginals", "ours (default)", "vae (default)"]
    vae = rows["vae (default)"]
    assert vae["epochs"] == 2 and vae["train_s"] > 0 and vae["sample_rows_per_s"] > 0
    for key in ("L_syn", "L_test", "L_test_raw", "col_tvd", "pair_tvd"):
        assert math.isfinite(vae[key]), key
    summary = {s["method"]: s for s in bn["summary"]}
    assert isinstance(summary["vae (default)"]["meets_gap_goal"], bool)
    text = bn_sections(bn)[1][1]
    assert "vae (default): gap" in text and "vs the GAN default's" in text


@pytest.mark.slow
@once
def test_elbo_auc_benchmark_tiny(tmp_path, capsys):
    from benchmarks.__main__ import main
    from benchmarks.elbo_auc import run_elbo_auc

    result = run_elbo_auc(("asia",), quick=True, overrides=TINY_VAE, epochs=2)
    (row,) = result["results"]
    assert row["table"] == "asia" and row["epochs"] == 2 and row["rows_scored"] == 2000
    assert 0 <= row["auc"] <= 1
    assert 0.5 < row["oracle_auc"] <= 1 and 0.5 < row["oracle_auc_floored"] <= 1
    assert row["mean_elbo_real"] < 0 and row["mean_elbo_shuffled"] < 0
    assert main(["elbo_auc", "--tables", " , "]) == 1
    assert "Invalid value for `--tables`" in capsys.readouterr().err
