import numpy as np
import pandas as pd
import pytest
from scipy import stats

from discrete_gan.sampling import BLOCK_ROWS, Sampler


@pytest.fixture(scope="module")
def sampler(trained_tiny):
    return Sampler(trained_tiny.generator, max_blocks=4)


def test_same_seed_same_rows_and_prefix_property(sampler):
    a = sampler.sample_codes(2500, seed=7)
    b = sampler.sample_codes(2500, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sampler.sample_codes(2048, seed=7), a[:2048])
    assert not np.array_equal(sampler.sample_codes(2500, seed=8), a)
    assert a.shape == (2500, 3) and a.dtype == np.int32


@pytest.mark.parametrize("n", [1, 7, BLOCK_ROWS - 1, BLOCK_ROWS + 1, 1000])
def test_rows_are_a_function_of_the_row_index(sampler, n):
    """Any n is a prefix of a longer draw; any start continues it (block keys per row)."""
    full = sampler.sample_codes(2500, seed=11)
    np.testing.assert_array_equal(sampler.sample_codes(n, seed=11), full[:n])
    for start in (3, BLOCK_ROWS, 2 * BLOCK_ROWS + 5, 1500):
        np.testing.assert_array_equal(
            sampler.sample_codes(n, seed=11, start=start), full[start : start + n]
        )


def test_grouping_blocks_into_calls_does_not_change_rows(trained_tiny):
    one = Sampler(trained_tiny.generator, max_blocks=1).sample_codes(1300, seed=5)
    many = Sampler(trained_tiny.generator, max_blocks=32).sample_codes(1300, seed=5)
    np.testing.assert_array_equal(one, many)


def test_relaxed_vectors_match_codes(sampler):
    (codes, soft), *_ = list(sampler.iter_relaxed(50, seed=1, temperature=5.0))
    assert soft.shape == (50, 7)
    assert np.array_equal(np.argmax(soft[:, :3], axis=1), codes[:, 0])
    np.testing.assert_allclose(soft[:, :3].sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(codes, sampler.sample_codes(50, seed=1))


def test_sample_frequencies_match_learned_probabilities(sampler):
    """Gumbel-max draws follow the Monte-Carlo marginals (chi-square, seeded)."""
    marginals = sampler.mean_probabilities(65536, seed=3)
    codes = sampler.sample_codes(40000, seed=4)
    observed = np.bincount(codes[:, 0], minlength=3)
    expected = marginals[:3] / marginals[:3].sum() * len(codes)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_zero_rows_and_bad_arguments(sampler):
    assert sampler.sample_codes(0, seed=0).shape == (0, 3)
    with pytest.raises(ValueError, match="`n`"):
        list(sampler.iter_codes(-1, seed=0))
    with pytest.raises(ValueError, match="temperature"):
        list(sampler.iter_relaxed(5, seed=0, temperature=0))
    with pytest.raises(ValueError, match="`start`"):
        list(sampler.iter_codes(5, seed=0, start=-1))
    with pytest.raises(ValueError, match="max_blocks"):
        Sampler(sampler.generator, max_blocks=0)


def test_sample_dataframe_has_original_labels_and_dtypes(trained_tiny):
    df = trained_tiny.sample(500, seed=2)
    assert list(df.columns) == ["colour", "size", "flag"]
    assert set(df["colour"]) <= {"red", "green", "blue"}
    assert df["size"].dtype == np.int64 and df["flag"].dtype == bool
    pd.testing.assert_frame_equal(df, trained_tiny.sample(500, seed=2))
    assert df.attrs["seed"] == 2
