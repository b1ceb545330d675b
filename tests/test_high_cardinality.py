"""Columns with thousands of labels: two-level heads, exact conditions, dependencies (#15)."""

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from discrete_gan import CategoricalGAN
from discrete_gan.autoregressive import AutoregressiveGumbelSoftmaxHeads
from discrete_gan.models import build_generator


def id_table(n: int, labels: int, groups: int, seed: int = 0) -> pd.DataFrame:
    """`sku` (Zipf over `labels`) determines `group`; `flag` depends on `group`."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, labels + 1) ** 1.1
    sku = rng.choice(labels, size=n, p=p / p.sum())
    group_of = rng.integers(0, groups, size=labels)
    group = group_of[sku]
    flag = rng.random(n) < np.where(group % 2 == 0, 0.8, 0.2)
    return pd.DataFrame(
        {"flag": flag, "sku": [f"S{i:05d}" for i in sku], "group": [f"G{g}" for g in group]}
    )


def consistency(train: pd.DataFrame, rows: pd.DataFrame) -> float:
    modal = train.groupby("sku")["group"].agg(lambda x: x.mode()[0])
    expected = modal.reindex(rows["sku"]).to_numpy()
    return float((rows["group"].to_numpy() == expected).mean())


@pytest.fixture(scope="module")
def wide():
    """20,000 labels in one column (about 11,000 occur): trains in seconds. Rare-label
    protection is off so that every label, however rare, reaches the two-level heads."""
    frame = id_table(30_000, 20_000, 40)
    model = CategoricalGAN(seed=0, rare_min_count=0, **TINY)
    model.fit(frame, epochs=2)
    return frame, model


def test_a_20k_label_column_trains_and_samples(wide):
    frame, model = wide
    assert model.layout.splits and model.layout.order[0] == 1
    assert len(model.layout.cardinalities) == 4 and max(model.layout.cardinalities) < 200
    rows = model.sample(20_000, seed=1)
    assert rows["sku"].isin(set(frame["sku"])).all()
    top = frame["sku"].value_counts(normalize=True).head(3)
    freq = rows["sku"].value_counts(normalize=True)
    for label, p in top.items():  # biases start at the log-frequencies
        assert freq.get(label, 0.0) == pytest.approx(p, abs=0.02)
    pd.testing.assert_frame_equal(rows.head(500), model.sample(500, seed=1))
    learned = model.probabilities(n_samples=16384)["sku"]
    assert sum(learned.values()) == pytest.approx(1.0, abs=1e-6)
    assert learned[top.index[0]] == pytest.approx(top.iloc[0], abs=0.02)


def test_conditions_on_a_high_cardinality_column_are_exact(wide):
    frame, model = wide
    labels = frame["sku"].value_counts().index
    rare = labels[500]
    one = model.sample(300, seed=2, where={"sku": rare})
    assert (one["sku"] == rare).all()
    pair = [labels[0], labels[900]]  # in different buckets: a filtered, still exact, draw
    rows = model.sample(2000, seed=3, where={"sku": pair})
    assert rows["sku"].isin(pair).all() and rows["sku"].nunique() == 2
    pd.testing.assert_frame_equal(rows, model.sample(2000, seed=3, where={"sku": pair}))
    probs = model.probabilities(given={"sku": pair}, n_samples=8192)
    assert set(k for k, v in probs["sku"].items() if v > 0) <= set(pair)
    assert sum(probs["sku"].values()) == pytest.approx(1.0, abs=1e-6)
    share = (rows["sku"] == pair[0]).mean()
    assert probs["sku"][pair[0]] == pytest.approx(share, abs=0.05)
    given = model.probabilities(given={"group": "G3"}, n_samples=8192)["sku"]
    assert sum(given.values()) == pytest.approx(1.0, abs=1e-6)


def test_a_saved_high_cardinality_model_loads_and_draws_the_same_rows(wide, tmp_path):
    _, model = wide
    model.save(tmp_path / "m")
    loaded = CategoricalGAN.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(1000, seed=4), model.sample(1000, seed=4))
    with pytest.raises(ValueError, match="two-level"):
        list(loaded.iter_relaxed(10, seed=0))


def test_an_identifier_keeps_the_column_it_determines():
    frame = id_table(12_000, 1_500, 30, seed=1)
    model = CategoricalGAN(seed=0, rare_min_count=0, **TINY)
    model.fit(frame, epochs=25)
    rows = model.sample(10_000, seed=5)
    shuffled = frame.assign(group=frame["group"].sample(frac=1, random_state=0).to_numpy())
    assert consistency(frame, shuffled) < 0.1
    assert consistency(frame, rows) >= 0.9


def test_with_protection_a_long_tail_trains_as_one_placeholder_and_never_leaks():
    frame = id_table(30_000, 20_000, 40, seed=2)
    # protection is the default (labels seen < 5..7 times); about 400 labels are kept
    model = CategoricalGAN(seed=0, split_above=200, **TINY)
    model.fit(frame, epochs=2)
    counts = frame["sku"].value_counts()
    kept = set(model.schema.column("sku").categories) - {"_RARE_"}
    assert "_RARE_" in model.schema.column("sku").categories
    assert kept == set(counts[counts >= counts[list(kept)].min()].index)
    assert counts[list(kept)].min() >= 5 and len(kept) > 200
    assert model.layout.splits
    rows = model.sample(20_000, seed=1)
    emitted = set(rows["sku"])
    assert emitted <= kept | {"_RARE_"}
    assert not emitted & set(counts[counts < 5].index)
    share = (frame["sku"].map(counts) < counts[list(kept)].min()).mean()
    assert (rows["sku"] == "_RARE_").mean() == pytest.approx(share, abs=0.03)
    with pytest.raises(ValueError, match=counts.index[-1]):
        model.sample(10, seed=0, where={"sku": counts.index[-1]})


def test_nested_heads_config_round_trips_and_validates():
    heads = AutoregressiveGumbelSoftmaxHeads([3, 4, 5, 2], nested=[[2, 18]], seed=1)
    heads.build((None, 6))
    clone = AutoregressiveGumbelSoftmaxHeads.from_config(heads.get_config())
    assert clone.nested == [[2, 18]] and clone.label_embedding_dim == 32
    hidden = keras.ops.ones((7, 6))
    samples, probs = heads(hidden)
    assert tuple(samples.shape) == (7, 14)
    with pytest.raises(ValueError, match="nested"):
        AutoregressiveGumbelSoftmaxHeads([3, 4, 5], nested=[[2, 40]])
    with pytest.raises(ValueError, match="autoregressive"):
        build_generator([3, 4, 5, 2], nested=[[2, 18]], autoregressive=False)
    independent = CategoricalGAN(seed=0, autoregressive=False, split_above=10, **TINY)
    independent.encode(id_table(500, 50, 5))
    assert independent.layout.identity  # independent heads draw every column whole
