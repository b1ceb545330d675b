"""Rare-label protection (`discrete_gan.rare`): the rule, the remap, the threshold, the modes.

The rule: a label seen in at least 7 rows (the highest threshold by default) is kept and comes
back exactly; a label seen in fewer than 5 is never stored nor emitted, and comes back only as
the placeholder (or, in "sample" mode, as one of the kept labels). Between 5 and 7 the
per-column threshold (hidden) decides.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from discrete_gan import seeding
from discrete_gan.rare import RareReport, protect_rare, relabel
from discrete_gan.schema import Column, EncodedTable, TableSchema


def _table(frame: pd.DataFrame, missing: str = "category") -> EncodedTable:
    schema = TableSchema.from_dataframe(frame, missing=missing)
    return EncodedTable(schema.encode(frame), schema)


def _frame() -> pd.DataFrame:
    a = ["x"] * 20 + ["y"] * 9 + ["rare1"] * 4 + ["rare2"] * 1 + [None] * 2
    b = [1] * 18 + [2] * 18
    return pd.DataFrame({"a": a, "b": b})


@pytest.mark.backend_agnostic
def test_rare_labels_become_the_placeholder_and_the_rest_is_exact():
    table = _table(_frame())
    out, report = protect_rare(table, seed=0)
    a = out.schema.column("a")
    assert a.categories == ("x", "y", "_RARE_", None)  # kept order, placeholder, missing last
    decoded = out.schema.decode(out.codes)
    original = _frame()
    kept = original["a"].isin(["x", "y"])
    assert (decoded["a"][kept] == original["a"][kept]).all()  # kept labels byte for byte
    assert (decoded["a"][original["a"].isin(["rare1", "rare2"])] == "_RARE_").all()
    assert decoded["a"][original["a"].isna()].isna().all()  # missing is never protected
    np.testing.assert_allclose(a.frequencies, [20 / 36, 9 / 36, 5 / 36, 2 / 36])
    assert out.schema.column("b") == table.schema.column("b")  # untouched column
    assert report.to_dict() == {
        "mode": "placeholder",
        "placeholder": "_RARE_",
        "columns": {
            "a": {"labels_protected": 2, "rows_share": 5 / 36},
            "b": {"labels_protected": 0, "rows_share": 0.0},
        },
    }
    text = repr(out.schema.to_dict()) + repr(report.to_dict())
    assert "rare1" not in text and "rare2" not in text


@pytest.mark.backend_agnostic
def test_the_remap_is_vectorised_and_exact_on_a_large_table():
    rng = np.random.default_rng(0)
    n, k = 1_000_000, 100_000
    codes = (rng.zipf(1.3, n) % k).astype(np.int32)
    counts = np.bincount(codes, minlength=k)
    schema = TableSchema([Column("c", tuple(f"l{i}" for i in range(k)), "object")])
    table = EncodedTable(codes[:, None], schema)
    started = time.perf_counter()
    out, report = protect_rare(table, min_count=5, spread=1, seed=0)  # k = 5 exactly
    assert time.perf_counter() - started < 5.0
    kept = np.flatnonzero(counts >= 5)
    col = out.schema.column("c")
    assert col.categories == (*[f"l{i}" for i in kept], "_RARE_")
    # every kept code maps to its label's new code, every rare one to the placeholder
    expected = np.full(k, len(kept))
    expected[kept] = np.arange(len(kept))
    np.testing.assert_array_equal(out.codes[:, 0], expected[codes])
    assert report.columns["c"]["labels_protected"] == k - len(kept)
    assert report.columns["c"]["rows_share"] == counts[counts < 5].sum() / n


@pytest.mark.backend_agnostic
def test_thresholds_stay_in_range_and_are_seeded():
    # label i is seen i times (1..10): the kept set reveals the column's threshold
    frame = pd.DataFrame(
        {f"c{j}": np.repeat([f"v{i}" for i in range(1, 11)], range(1, 11)) for j in range(40)}
    )
    table = _table(frame)

    def thresholds(seed, **kw):
        out, _ = protect_rare(table, seed=seed, **kw)
        return [
            min(int(c[1:]) for c in col.categories if c != "_RARE_") for col in out.schema.columns
        ]

    ks = thresholds(0)
    assert set(ks) <= {5, 6, 7} and len(set(ks)) > 1  # randomised per column, within 5..7
    assert thresholds(0) == ks  # the same seed and data give the same thresholds
    assert thresholds(1) != ks
    assert set(thresholds(0, min_count=2, spread=1)) == {2}


@pytest.mark.backend_agnostic
def test_the_threshold_is_not_a_function_of_the_seed_alone():
    """The published seed does not reveal the threshold: it also depends on the protected
    labels, which nothing published holds."""
    counts = [6] * 7
    results = set()
    for secret in range(40):
        frame = pd.DataFrame({"c": np.repeat([f"v{i}" for i in range(6)] + [f"s{secret}"], counts)})
        out, _ = protect_rare(_table(frame), seed=0)
        results.add(out.schema.column("c").categories)
    assert len(results) > 1  # kept (k <= 6) for some secrets, protected (k = 7) for others


@pytest.mark.backend_agnostic
def test_placeholder_is_settable_and_a_clash_is_refused():
    out, report = protect_rare(_table(_frame()), placeholder="(other)", seed=0)
    assert "(other)" in out.schema.column("a").categories and report.placeholder == "(other)"
    clash = pd.DataFrame({"a": ["_RARE_"] * 10 + ["x"] * 10 + ["y"]})
    with pytest.raises(ValueError, match="already has a label '_RARE_'.*another placeholder"):
        protect_rare(_table(clash), seed=0)
    # a rare label spelled like the placeholder is simply protected
    out, _ = protect_rare(_table(pd.DataFrame({"a": ["_RARE_"] + ["x"] * 10})), seed=0)
    assert out.schema.column("a").categories == ("x", "_RARE_")


@pytest.mark.backend_agnostic
def test_sample_mode_draws_kept_labels_only():
    frame = pd.DataFrame({"a": ["x"] * 300 + ["y"] * 100 + [f"r{i}" for i in range(200)]})
    out, report = protect_rare(_table(frame), mode="sample", seed=3)
    col = out.schema.column("a")
    assert col.categories == ("x", "y") and report.placeholder is None
    decoded = out.schema.decode(out.codes)["a"]
    assert (decoded[:400] == frame["a"][:400]).all()
    drawn = decoded[400:].value_counts(normalize=True)
    assert drawn["x"] == pytest.approx(0.75, abs=0.1)  # the kept labels' frequencies
    assert report.columns["a"] == {"labels_protected": 200, "rows_share": 200 / 600}
    again, _ = protect_rare(_table(frame), mode="sample", seed=3)
    np.testing.assert_array_equal(again.codes, out.codes)
    everything_rare = pd.DataFrame({"a": ["p", "q", "r", "s"], "b": ["x"] * 4})
    with pytest.raises(ValueError, match="every label is rare.*rare_mode='placeholder'"):
        protect_rare(_table(everything_rare), mode="sample", seed=0)


@pytest.mark.backend_agnostic
def test_a_column_of_rare_labels_keeps_the_placeholder_and_missing():
    frame = pd.DataFrame({"id": [f"id{i}" for i in range(30)] + [None] * 10})
    out, report = protect_rare(_table(frame), seed=0)
    assert out.schema.column("id").categories == ("_RARE_", None)
    assert report.columns["id"] == {"labels_protected": 30, "rows_share": 0.75}


@pytest.mark.backend_agnostic
def test_non_text_columns_become_object_and_keep_their_labels():
    frame = pd.DataFrame({"flag": [True] * 20 + [False] * 2, "n": [1] * 20 + [2] * 2})
    out, _ = protect_rare(_table(frame), seed=0)
    decoded = out.schema.decode(out.codes)
    assert out.schema.column("flag").dtype == "object"
    assert decoded["flag"].tolist() == [True] * 20 + ["_RARE_"] * 2
    assert decoded["n"].tolist() == [1] * 20 + ["_RARE_"] * 2
    cat = pd.DataFrame({"c": pd.Categorical(["a"] * 10 + ["b"], categories=["a", "b", "zz"])})
    out, report = protect_rare(_table(cat), seed=0)
    assert out.schema.column("c").categories == ("a", "_RARE_")  # unused "zz" counts 0
    assert report.columns["c"]["labels_protected"] == 2
    assert out.schema.decode(out.codes)["c"].dtype == "category"


@pytest.mark.backend_agnostic
def test_off_and_bad_arguments():
    table = _table(_frame())
    out, report = protect_rare(table, min_count=0, seed=0)
    assert out is table and report == RareReport("off") and not report.active
    for kw, match in [
        (dict(min_count=-1), "min_count"),
        (dict(spread=0), "spread"),
        (dict(mode="drop"), "mode"),
        (dict(placeholder=""), "placeholder"),
        (dict(placeholder=3), "placeholder"),
    ]:
        with pytest.raises(ValueError, match=match):
            protect_rare(table, seed=0, **kw)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("mode", ["placeholder", "sample"])
def test_relabel_reproduces_protection_and_maps_new_rows(mode):
    frame = _frame()
    table = _table(frame)
    out, report = protect_rare(table, mode=mode, seed=5)
    again = relabel(table, out.schema, report.to_dict(), seed=5)
    np.testing.assert_array_equal(again.codes, out.codes)
    # other rows: a label never seen, and a protected one, in the protected column
    new = pd.DataFrame({"a": ["x", "rare1", "unseen", None], "b": [2, 1, 1, 2]})
    mapped = relabel(_table(new), out.schema, report, seed=5)
    got = mapped.schema.decode(mapped.codes)
    assert got["a"][0] == "x" and pd.isna(got["a"][3])
    if mode == "placeholder":
        assert got["a"][1] == got["a"][2] == "_RARE_"
    else:
        assert set(got["a"][1:3]) <= {"x", "y"}
    # a column that lost no label still refuses a label it does not know
    with pytest.raises(ValueError, match="Column 'b' has 1 value.*not in the schema"):
        relabel(_table(pd.DataFrame({"a": ["x"], "b": [3]})), out.schema, report, seed=5)
    with pytest.raises(ValueError, match="columns"):
        relabel(_table(pd.DataFrame({"b": [1], "a": ["x"]})), out.schema, report, seed=5)


@pytest.mark.backend_agnostic
def test_small_code_dtypes_are_kept():
    frame = pd.DataFrame({"a": ["x"] * 10 + ["r"]})
    raw = _table(frame)
    table = EncodedTable(raw.codes.astype(np.uint8), raw.schema)
    out, _ = protect_rare(table, seed=0)
    assert out.codes.dtype == np.uint8


@pytest.mark.backend_agnostic
def test_streams_are_registered():
    assert seeding.STREAMS["rare_labels"] == 19 and seeding.STREAMS["rare_labels.sample"] == 20


def test_the_model_protects_its_first_schema_and_relabels_later_rows(tmp_path):
    from discrete_gan import CategoricalGAN

    model = CategoricalGAN(seed=0, noise_dim=4, generator_units=(8,), discriminator_units=(8,))
    table = model.encode(_frame())
    assert model.schema is table.schema and "rare1" not in table.schema.column("a").categories
    assert model.metadata["rare_labels"]["columns"]["a"]["labels_protected"] == 2
    later = model.encode(pd.DataFrame({"a": ["rare2", "new", "x"], "b": [1, 2, 1]}))
    assert later.schema is model.schema
    assert model.schema.decode(later.codes)["a"].tolist() == ["_RARE_", "_RARE_", "x"]
    raw = _table(_frame())  # an EncodedTable under another schema: relabelled too
    np.testing.assert_array_equal(model.encode(raw).codes, table.codes)
    with pytest.raises(ValueError, match="Column 'b'.*not in the schema"):
        model.encode(pd.DataFrame({"a": ["x"], "b": [3]}))
    model.fit(table, epochs=1, steps_per_epoch=1)
    model.save(tmp_path / "m")
    loaded = CategoricalGAN.load(tmp_path / "m")
    assert loaded.metadata["rare_labels"] == model.metadata["rare_labels"]
    assert "rare" not in (tmp_path / "m" / "schema.json").read_text().replace("_RARE_", "")
    assert loaded.encode(pd.DataFrame({"a": ["rare1"], "b": [1]})).codes[0, 0] == 2

    keep = CategoricalGAN(seed=0, rare_min_count=0)
    assert "rare1" in keep.encode(_frame()).schema.column("a").categories
    assert keep.metadata["rare_labels"] == {"mode": "off", "placeholder": None, "columns": {}}
    with pytest.raises(ValueError, match="not in the schema"):
        keep.encode(pd.DataFrame({"a": ["new"], "b": [1]}))
