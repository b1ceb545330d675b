"""discrete_gan.privacy: exact answers on hand-made rows, the equal-size rule, and the two
figures on a generator that memorises versus one that draws fresh rows."""

from __future__ import annotations

import numpy as np
import pytest

import discrete_gan.privacy as privacy
from discrete_gan.privacy import dcr_share, exact_copy_rate, holdout_split

# The privacy figures are numpy on code arrays: no model, no backend.
pytestmark = pytest.mark.backend_agnostic


def _rows(*rows: tuple[int, ...]) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


def _population(rng: np.random.Generator, n: int) -> np.ndarray:
    """10 columns of 6 skewed labels: about 60 million possible rows, so repeats are rare."""
    p = np.random.default_rng(99).dirichlet(np.full(6, 3.0), size=10)
    return np.stack([rng.choice(6, n, p=p[j]) for j in range(10)], axis=1)


def _brute_nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, None, :] != b[None, :, :]).sum(axis=-1).min(axis=1)


def test_exact_copy_rate_hand_made() -> None:
    reference = _rows((0, 1), (2, 2))
    synthetic = _rows((0, 1), (1, 1), (2, 2), (0, 1))
    assert exact_copy_rate(synthetic, reference) == 0.75
    assert exact_copy_rate(_rows((1, 0)), _rows((0, 1))) == 0.0  # same labels, other columns
    assert exact_copy_rate(_rows((0, 1)), np.empty((0, 2), dtype=int)) == 0.0


def test_exact_copy_rate_compares_values_not_dtypes_and_allows_negative_codes() -> None:
    small = np.array([[1, 2, 3], [-1, 0, 300]], dtype=np.int16)
    wide = np.array([[-1, 0, 300], [7, 7, 7]], dtype=np.int64)
    assert exact_copy_rate(small, wide) == 0.5
    assert exact_copy_rate(wide, small) == 0.5


def test_exact_copy_rate_is_exact_on_large_arrays() -> None:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 50, size=(20_000, 5))
    synthetic = np.concatenate([reference[:700], rng.integers(50, 60, size=(300, 5))])
    assert exact_copy_rate(synthetic, reference) == 0.7


def test_exact_copy_rate_on_rows_wider_than_one_packed_word() -> None:
    """30 columns of 9-bit values pack into several words; rows that differ in one column of
    the last word (or share every word but one) must not match."""
    rng = np.random.default_rng(5)
    reference = rng.integers(0, 300, size=(2000, 30))
    synthetic = reference[rng.choice(2000, 400)].copy()
    synthetic[:100, 29] = (synthetic[:100, 29] + 1) % 300
    synthetic[100:150, 0] = (synthetic[100:150, 0] + 1) % 300
    known = {tuple(r) for r in reference.tolist()}
    expected = np.mean([tuple(r) in known for r in synthetic.tolist()])
    assert expected == 0.625
    assert exact_copy_rate(synthetic, reference) == expected


def test_exact_copy_rate_on_codes_spanning_the_whole_int64_range() -> None:
    """Values 2**62 apart in one column, a 40-bit column beside 4-bit ones: each value enters
    the row hash as itself, so nothing overflows into a false match."""
    big = np.array([[-(2**62), 2**40, 1], [2**62, 0, 15], [2**62, 2**40, 1]], dtype=np.int64)
    assert exact_copy_rate(big, big[:2]) == 2 / 3
    assert exact_copy_rate(big[2:], big[:2]) == 0.0


def test_exact_copy_rate_is_exact_when_distinct_rows_share_a_hash() -> None:
    """(0, M) and (1, 0) hash alike (h = a * M + b mod 2**64): found only where they occur."""
    m = int(privacy._MULTIPLIER.astype(np.int64))
    collide = _rows((0, m), (1, 0))
    assert privacy._row_hashes(collide)[0] == privacy._row_hashes(collide)[1]
    assert exact_copy_rate(collide[:1], collide[1:]) == 0.0
    assert exact_copy_rate(collide[1:], collide[:1]) == 0.0
    reference = collide[[1, 1, 0, 1]]  # the query's row follows others of its hash
    assert exact_copy_rate(collide[:1], reference) == 1.0
    assert exact_copy_rate(_rows((0, m), (1, 0), (2, 2)), collide[[1]]) == pytest.approx(1 / 3)


def test_exact_copy_rates_index_the_reference_once_for_several_queries(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 4, size=(5000, 6))
    queries = [rng.integers(0, 4, size=(300, 6)), reference[:50], rng.integers(0, 5, (7, 6))]
    rates = privacy.exact_copy_rates(queries, reference)
    assert rates == [exact_copy_rate(q, reference) for q in queries]
    assert rates[1] == 1.0
    monkeypatch.setattr(privacy, "_QUERY_ROWS", 16)  # the same, a slice of 16 rows at a time
    assert privacy.exact_copy_rates(queries, reference) == rates


def test_exact_copy_rate_keeps_narrow_codes_narrow() -> None:
    """A uint8 table is read column by column: its cells are never copied to int64."""
    import tracemalloc

    rng = np.random.default_rng(1)
    reference = rng.integers(0, 200, size=(200_000, 40), dtype=np.uint8)
    tracemalloc.start()
    assert exact_copy_rate(reference[:1000], reference) == 1.0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * reference.nbytes  # int64 cells alone would be 8x


def test_dcr_share_hand_made_with_ties() -> None:
    train, holdout = _rows((0, 0, 0)), _rows((1, 1, 1))
    synthetic = _rows(
        (0, 0, 1),  # 1 from train, 2 from holdout: closer to train
        (0, 0, 0),  # a copy: 0 vs 3
        (1, 1, 1),  # a copy of the holdout row: closer to holdout
        (0, 1, 2),  # 2 vs 2: a tie, counted 1/2
    )
    assert dcr_share(synthetic, train, holdout) == pytest.approx(2.5 / 4)


def test_dcr_share_takes_the_nearest_row_of_each_set() -> None:
    train = _rows((0, 0, 0, 0), (5, 5, 5, 5))
    holdout = _rows((9, 9, 9, 9), (5, 5, 5, 1))
    # distances to train (nearest): 1, 1; to holdout (nearest): 3, 1
    synthetic = _rows((5, 5, 5, 2), (0, 0, 0, 1))
    assert _brute_nearest(synthetic, train).tolist() == [1, 1]
    assert dcr_share(synthetic, train, holdout) == pytest.approx((0.5 + 1.0) / 2)


def test_blockwise_distances_match_brute_force(monkeypatch) -> None:
    """Small blocks and uncached reference one-hots give the same distances as broadcasting."""
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 7, size=(300, 9)), rng.integers(0, 7, size=(250, 9))
    (qa, qb), widths = privacy._compact([a, b])
    expected = _brute_nearest(a, b)
    np.testing.assert_array_equal(privacy._nearest(qa, qb, int(widths.sum())), expected)
    monkeypatch.setattr(privacy, "_BLOCK_BYTES", 4 * 2000)  # 16-row blocks, nothing cached
    np.testing.assert_array_equal(privacy._nearest(qa, qb, int(widths.sum())), expected)


def test_equal_size_rule() -> None:
    """Fresh rows from the population are nearer a 10x larger training set by its size alone;
    cut to the holdout's size, the share is 0.5 within sampling error."""
    rng = np.random.default_rng(2)
    draw = lambda n: rng.integers(0, 4, size=(n, 6))  # noqa: E731
    train, holdout, synthetic = draw(2000), draw(200), draw(1000)
    to_train, to_holdout = _brute_nearest(synthetic, train), _brute_nearest(synthetic, holdout)
    unequal = np.mean((to_train < to_holdout) + 0.5 * (to_train == to_holdout))
    assert unequal > 0.7
    share = dcr_share(synthetic, train, holdout, seed=0)
    assert share == pytest.approx(0.5, abs=0.05)
    assert dcr_share(synthetic, train, holdout, seed=0) == share  # seeded: repeatable


def test_memorising_generator_versus_fresh_draws() -> None:
    rng = np.random.default_rng(3)
    train, holdout = _population(rng, 3000), _population(rng, 3000)
    copies = train[rng.choice(len(train), 2000)]
    assert exact_copy_rate(copies, train) == 1.0
    assert dcr_share(copies, train, holdout) > 0.98
    fresh = _population(rng, 2000)
    baseline = exact_copy_rate(holdout, train)
    assert baseline < 0.01
    assert exact_copy_rate(fresh, train) < baseline + 0.01
    assert dcr_share(fresh, train, holdout) == pytest.approx(0.5, abs=0.04)  # SE ~ 0.011


def test_max_rows_caps_every_set() -> None:
    rng = np.random.default_rng(4)
    train, holdout = _population(rng, 1200), _population(rng, 1500)
    copies = train[:900]
    # 400 synthetic rows, and 400 of the 1200 training rows take part: about a third of the
    # copies keep a distance 0 to train (share 1), the rest are ordinary draws (share 0.5)
    share = dcr_share(copies, train, holdout, max_rows=400, seed=5)
    assert share == pytest.approx(0.5 + 0.5 / 3, abs=0.08)  # SE ~ 0.024
    assert dcr_share(copies, train, holdout, max_rows=400, seed=5) == share


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.array([1, 2]), _rows((1, 2))), "2-D array"),
        ((np.array([[0.5, 1.0]]), _rows((1, 2))), "int codes"),
        ((np.array([[True, False]]), _rows((1, 2))), "int codes"),
        ((np.empty((0, 2), dtype=int), _rows((1, 2))), "at least one row"),
        ((_rows((1, 2, 3)), _rows((1, 2))), "same number of columns"),
    ],
)
def test_exact_copy_rate_rejects_bad_arrays(args, match) -> None:
    with pytest.raises(ValueError, match=match):
        exact_copy_rate(*args)


def test_dcr_share_rejects_bad_arguments() -> None:
    a = _rows((1, 2))
    with pytest.raises(ValueError, match="Invalid value for `holdout`"):
        dcr_share(a, a, np.empty((0, 2), dtype=int))
    with pytest.raises(ValueError, match="same number of columns"):
        dcr_share(a, a, _rows((1, 2, 3)))
    with pytest.raises(ValueError, match="Invalid value for `max_rows`"):
        dcr_share(a, a, a, max_rows=0)
    with pytest.raises(ValueError, match="Invalid value for `seed`"):
        dcr_share(a, a, a, seed=-1)


def test_holdout_split_is_a_seeded_partition() -> None:
    train, held = holdout_split(1500, 0.1, seed=7)
    assert len(held) == 150 and len(train) == 1350
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.arange(1500))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(held) > 0)
    again = holdout_split(1500, 0.1, seed=7)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(holdout_split(1500, 0.1, seed=8)[1], held)
    assert len(holdout_split(10, 0.3, seed=0)[1]) == 3
    train, held = holdout_split(40, 0.0, seed=0)
    assert len(held) == 0 and np.array_equal(train, np.arange(40))


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, float("nan"), "0.1", True])
def test_holdout_split_rejects_bad_fractions(fraction) -> None:
    with pytest.raises(ValueError, match="Invalid value for `fraction`"):
        holdout_split(100, fraction, seed=0)
