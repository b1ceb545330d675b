"""`ModelLayout`: two-level columns, their codes, frequencies, masks and estimates."""

import numpy as np
import pandas as pd
import pytest

from discrete_gan.layout import ModelLayout, Split
from discrete_gan.schema import TableSchema

# `ModelLayout` maps codes with numpy: no model, no backend.
pytestmark = pytest.mark.backend_agnostic


def _schema(k: int = 23, seed: int = 0) -> tuple[TableSchema, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, k + 1)
    frame = pd.DataFrame(
        {
            "small": rng.choice(["a", "b"], size=3000),
            "big": rng.choice([f"L{i:03d}" for i in rng.permutation(k)], size=3000, p=p / p.sum()),
            "mid": rng.choice(list("wxyz"), size=3000),
        }
    )
    return TableSchema.from_dataframe(frame), frame


def test_split_sizes_and_rank_maps():
    split = Split.of([0.1, 0.5, 0.2, 0.2, 0.0])
    assert (split.labels, split.size, split.buckets) == (5, 3, 2)
    np.testing.assert_array_equal(split.code_of_rank, [1, 2, 3, 0, 4])  # stable on ties
    np.testing.assert_array_equal(split.rank_of_code[split.code_of_rank], np.arange(5))
    labels, valid = split.labels_of(np.array([0, 1]))
    np.testing.assert_array_equal(valid, [[True, True, True], [True, True, False]])
    np.testing.assert_array_equal(labels[0], [1, 2, 3])


def test_big_columns_are_split_and_drawn_first():
    schema, frame = _schema()
    layout = ModelLayout(schema, split_above=10)
    assert not layout.identity
    assert layout.order == [1, 0, 2]
    assert layout.cardinalities == [5, 5, 2, 4]  # ceil(23 / 5) buckets of ceil(sqrt(23)) labels
    assert layout.nested == [[1, 23]]
    codes = schema.encode(frame)
    model = layout.to_model(codes)
    assert model.shape == (3000, 4) and model[:, 0].max() < 5 and model[:, 1].max() < 5
    np.testing.assert_array_equal(layout.from_model(model), codes)
    # bucket 0 holds the most frequent labels
    top = np.argsort(-np.asarray(schema.column("big").frequencies))[:5]
    assert set(np.unique(model[np.isin(codes[:, 1], top), 0])) == {0}


def test_no_split_is_the_identity():
    schema, frame = _schema()
    for layout in (ModelLayout(schema), ModelLayout(schema, split_above=100)):
        assert layout.identity and layout.cardinalities == schema.cardinalities
        codes = schema.encode(frame)
        assert layout.to_model(codes) is not None
        np.testing.assert_array_equal(layout.from_model(layout.to_model(codes)), codes)


def test_marginals_and_member_log_frequencies_match_the_data():
    schema, frame = _schema()
    layout = ModelLayout(schema, split_above=10)
    model = layout.to_model(schema.encode(frame))
    marg = layout.marginals
    assert marg.shape == (layout.total_dim,)
    for m, k in enumerate(layout.cardinalities):
        counts = np.bincount(model[:, m], minlength=k) / len(model)
        np.testing.assert_allclose(marg[layout.block(m)], counts, atol=1e-9)
    log = layout.member_log_frequencies(1)
    assert log.shape == (5, 5)
    rows = model[model[:, 0] == 2]
    within = np.bincount(rows[:, 1], minlength=5) / len(rows)
    np.testing.assert_allclose(np.exp(log[2]), within, atol=1e-6)


def test_masks_are_exact_or_filtered():
    schema, _ = _schema()
    layout = ModelLayout(schema, split_above=10)
    split = layout.splits[1]
    one = np.zeros(23, bool)
    one[split.code_of_rank[7]] = True  # rank 7: bucket 1, position 2
    masks, filters = layout.model_masks({1: one, 2: np.array([True, False, False, True])})
    np.testing.assert_array_equal(masks[0], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(masks[1], [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(masks[3], [1, 0, 0, 1])
    assert not filters
    two = np.zeros(23, bool)
    two[split.code_of_rank[[0, 7]]] = True  # (0, 0) and (1, 2): not a product set
    masks, filters = layout.model_masks({1: two})
    assert set(filters) == {1}
    rows = np.array([[0, 0, 0, 0], [1, 2, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(layout.accept(rows, filters), [True, True, False, False])


def test_accumulate_places_member_mass_on_labels():
    schema, _ = _schema()
    layout = ModelLayout(schema, split_above=10)
    codes = np.array([[4, 0, 1, 0], [0, 3, 0, 2]])
    values = [np.zeros((2, k)) for k in layout.cardinalities]
    values[1][:] = [0.25, 0.75, 0.0, 0.0, 0.0]  # last bucket holds ranks 20..22 only
    values[2][:] = [[0, 1], [1, 0]]
    values[3][:] = np.eye(4)[[0, 2]]
    total = np.zeros(schema.total_dim)
    layout.accumulate(total, codes, values, np.array([1.0, 1.0]))
    big = total[schema.blocks[1]]
    split = layout.splits[1]
    assert big[split.code_of_rank[20]] == pytest.approx(0.25)
    assert big[split.code_of_rank[21]] == pytest.approx(0.75)
    assert big[split.code_of_rank[0]] == pytest.approx(0.25)
    assert big.sum() == pytest.approx(2.0)
    np.testing.assert_allclose(total[schema.blocks[0]], [1, 1])
