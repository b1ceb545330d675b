"""Conditional sampling and probabilities (issue: guaranteed conditions, exact fallback)."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, dependent_frame

from discrete_gan import CategoricalGAN
from discrete_gan.conditional import ConditionError, parse_conditions, training_pairs


@pytest.fixture(scope="module")
def conditional_model():
    model = CategoricalGAN(seed=0, conditional=True, **TINY)
    model.fit(dependent_frame(), epochs=3)
    return model


@pytest.fixture(params=["unconditional", "conditional"])
def model(request, trained_tiny, conditional_model):
    return trained_tiny if request.param == "unconditional" else conditional_model


def test_training_pairs_rows_match_their_conditions():
    rng = np.random.default_rng(0)
    codes = np.stack([rng.integers(0, 3, 500), (rng.random(500) < 0.01).astype(int)], 1)
    rows, index = training_pairs(codes, [3, 2], 20000, rng, fraction=0.5)
    assert 0.45 < (index >= 0).mean() < 0.55
    cond = index >= 0
    column = np.where(index[cond] < 3, 0, 1)
    category = np.where(index[cond] < 3, index[cond], index[cond] - 3)
    assert np.array_equal(codes[rows[cond], column], category)
    # log(1+count) weighting gives the rare category (~1%) far more than 1% of column-1 draws
    rare_share = (category[column == 1] == 1).mean()
    assert rare_share > 0.15


def test_conditions_always_hold(model):
    out = model.sample(3000, seed=1, where={"colour": ["green", "blue"], "flag": True})
    assert len(out) == 3000
    assert out["colour"].isin(["green", "blue"]).all() and out["flag"].all()
    pd.testing.assert_frame_equal(
        out, model.sample(3000, seed=1, where={"colour": ["green", "blue"], "flag": True})
    )


def test_conditional_probabilities_sum_to_one_and_match_sampling(model):
    given = {"colour": "red"}
    probs = model.probabilities(given=given, n_samples=16384)
    for column in probs.values():
        assert sum(column.values()) == pytest.approx(1.0, abs=1e-6)
    assert probs["colour"]["red"] == pytest.approx(1.0)
    draws = model.sample(20000, seed=5, where=given)
    freq = draws["size"].value_counts(normalize=True)
    for label, p in probs["size"].items():
        assert freq.get(label, 0.0) == pytest.approx(p, abs=0.03)


def test_acceptance_rate_is_reported(trained_tiny):
    result = trained_tiny.sample_where(500, {"colour": "blue", "size": 2}, seed=0)
    assert result.codes.shape == (500, 3)
    assert 0.0 < result.acceptance_rate <= 1.0 and result.drawn >= 500


@pytest.mark.parametrize(
    "given, match",
    [
        ({"shape": "round"}, "Unknown column 'shape'"),
        ({"colour": "purple"}, "Unknown label 'purple'"),
        ({"colour": []}, "Empty list"),
        ({}, "non-empty"),
    ],
)
def test_unknown_conditions_are_rejected(trained_tiny, given, match):
    with pytest.raises(ConditionError, match=match):
        trained_tiny.sample(10, where=given)


def test_too_unlikely_conditions_fail_in_bounded_time(trained_tiny):
    with pytest.raises(ConditionError, match="too unlikely.*acceptance rate"):
        trained_tiny.sample_where(10**6, {"colour": "blue"}, max_draws=20000)


def test_labels_given_as_text_are_accepted(trained_tiny):
    masks = parse_conditions(trained_tiny.schema, {"size": "2", "flag": "true"})
    assert masks[1].tolist() == [False, True] and masks[2].tolist() == [False, True]


def test_zero_rows_with_conditions_and_numbers_naming_float_labels():
    """`sample(0, where=...)` crashed in numpy; a float label 1.0 did not match a JSON 1."""
    import pandas as pd
    from conftest import TINY

    from discrete_gan import CategoricalGAN

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.choice([1.0, 2.0, 2.5], 600), "k": rng.choice(["a", "b"], 600)})
    model = CategoricalGAN(seed=0, **TINY)
    model.fit(frame, epochs=2)
    empty = model.sample(0, where={"k": "a"})
    assert len(empty) == 0 and list(empty.columns) == ["x", "k"]
    assert set(model.sample(100, seed=1, where={"x": 1})["x"]) == {1.0}
    assert set(model.sample(100, seed=1, where={"x": "2.5"})["x"]) == {2.5}
    assert set(model.sample(100, seed=1, where={"x": [1, 2]})["x"]) <= {1.0, 2.0}
    with pytest.raises(ValueError, match="Unknown label"):
        model.sample(5, where={"x": True})  # a bool never names a number
