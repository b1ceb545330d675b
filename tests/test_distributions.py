"""The maths of discrete_gan.distributions, checked against independent numpy/scipy evaluations."""

import math
import warnings

import keras
import numpy as np
import pytest
from keras import ops
from scipy import integrate, special, stats

from discrete_gan.distributions import (
    RelaxedOneHotCategorical,
    gumbel_max_sample,
    gumbel_softmax,
    sample_gumbel,
    straight_through,
)

P = np.array([0.1, 0.2, 0.2, 0.2, 0.3])


def concrete_density(y: np.ndarray, probs: np.ndarray, tau: float) -> np.ndarray:
    """Closed form (Maddison et al. 2017, eq. 5), evaluated in float64 with numpy only."""
    k = probs.shape[-1]
    s = np.sum(probs / y**tau, axis=-1)
    return math.gamma(k) * tau ** (k - 1) * s ** (-k) * np.prod(probs / y ** (tau + 1), axis=-1)


@pytest.mark.parametrize("k, tau", [(2, 0.5), (3, 1.0), (5, 0.7), (5, 2.0)])
def test_log_prob_matches_closed_form(k, tau):
    rng = np.random.default_rng(k)
    probs = rng.dirichlet(np.ones(k))
    dist = RelaxedOneHotCategorical(tau, probs=probs.astype("float32"))
    y = ops.convert_to_numpy(dist.sample(200, seed=3)).astype("float64")
    y = y[np.all(y > 1e-6, axis=1)]  # keep points where float32 log y is accurate
    got = ops.convert_to_numpy(dist.log_prob(y.astype("float32")))
    want = np.log(concrete_density(y, probs, tau))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


def test_density_integrates_to_one_for_two_classes():
    """For k = 2 the density is w.r.t. Lebesgue measure on y_1 (y_2 = 1 - y_1)."""
    probs, tau = np.array([0.3, 0.7]), 0.8
    dist = RelaxedOneHotCategorical(tau, probs=probs.astype("float32"))

    def pdf(y1):
        y = np.array([[y1, 1.0 - y1]], "float32")
        return float(np.exp(ops.convert_to_numpy(dist.log_prob(y))[0]))

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        total, _ = integrate.quad(pdf, 1e-7, 1 - 1e-7, limit=200)
    assert total == pytest.approx(1.0, abs=2e-3)
    closed, _ = integrate.quad(
        lambda y1: concrete_density(np.array([y1, 1 - y1]), probs, tau), 1e-9, 1 - 1e-9
    )
    assert closed == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
def test_gumbel_noise_is_finite_with_the_right_moments():
    seed = keras.random.SeedGenerator(0)
    total, total_sq, count = 0.0, 0.0, 0
    for _ in range(10):
        g = ops.convert_to_numpy(sample_gumbel((1_000_000,), seed=seed)).astype("float64")
        assert np.isfinite(g).all()
        total += g.sum()
        total_sq += (g**2).sum()
        count += g.size
    mean = total / count
    var = total_sq / count - mean**2
    assert mean == pytest.approx(np.euler_gamma, abs=3e-3)  # 5 sigma is ~2e-3 at n = 1e7
    assert var == pytest.approx(np.pi**2 / 6, abs=1e-2)


def test_gumbel_max_frequencies_pass_chi_square():
    logits = np.log(P).astype("float32")
    draws = ops.convert_to_numpy(gumbel_max_sample(np.tile(logits, (100_000, 1)), seed=1))
    assert set(np.unique(draws)) == {0.0, 1.0} and np.all(draws.sum(1) == 1)
    counts = draws.sum(0)
    assert stats.chisquare(counts, P * 100_000).pvalue > 1e-3
    wrong = np.array([0.2, 0.2, 0.2, 0.2, 0.2])
    assert stats.chisquare(counts, wrong * 100_000).pvalue < 1e-6


def test_softmax_samples_on_simplex_and_temperature_limits():
    logits = np.tile(np.log(P).astype("float32"), (20_000, 1))
    cold = ops.convert_to_numpy(gumbel_softmax(logits, 0.01, seed=2))
    hot = ops.convert_to_numpy(gumbel_softmax(logits, 1e4, seed=2))
    warm = ops.convert_to_numpy(gumbel_softmax(logits, 1.0, seed=2))
    for y in (cold, hot, warm):
        np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-5)
        assert (y >= 0).all()
    assert np.median(cold.max(1)) > 0.99
    np.testing.assert_allclose(hot, 0.2, atol=1e-3)
    # argmax of a Gumbel-Softmax sample is a Gumbel-max sample, whatever the temperature
    counts = np.bincount(warm.argmax(1), minlength=5)
    assert stats.chisquare(counts, P * len(warm)).pvalue > 1e-3


def test_expectation_moves_to_uniform_as_temperature_grows():
    dist_lo = RelaxedOneHotCategorical(0.1, probs=P.astype("float32"))
    dist_hi = RelaxedOneHotCategorical(100.0, probs=P.astype("float32"))
    mean_lo = ops.convert_to_numpy(dist_lo.sample(50_000, seed=4)).mean(0)
    mean_hi = ops.convert_to_numpy(dist_hi.sample(50_000, seed=4)).mean(0)
    np.testing.assert_allclose(mean_lo, P, atol=0.01)
    np.testing.assert_allclose(mean_hi, 0.2, atol=0.005)


def _grad(fn, x):
    """d sum(fn(x)) / dx under the active backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_sum(fn(x))
        return tape.gradient(out, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: fn(v).sum())(x))
    pytest.skip(f"no gradient helper for {backend}")


def test_straight_through_is_one_hot_forward_and_soft_backward():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, 5)).astype("float32")
    weights = rng.normal(size=(64, 5)).astype("float32")
    soft = ops.convert_to_numpy(gumbel_softmax(logits, 0.5, seed=7))
    hard = ops.convert_to_numpy(gumbel_softmax(logits, 0.5, seed=7, hard=True))
    np.testing.assert_array_equal(hard, np.eye(5, dtype="float32")[soft.argmax(1)])

    def loss(hard_flag):
        return lambda x: weights * gumbel_softmax(x, 0.5, seed=7, hard=hard_flag)

    np.testing.assert_allclose(_grad(loss(True), logits), _grad(loss(False), logits), atol=1e-6)
    y = soft
    np.testing.assert_array_equal(ops.convert_to_numpy(straight_through(y)), hard)


def test_seeds_reproduce():
    a = ops.convert_to_numpy(sample_gumbel((1000,), seed=5))
    b = ops.convert_to_numpy(sample_gumbel((1000,), seed=5))
    c = ops.convert_to_numpy(sample_gumbel((1000,), seed=6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    gen = keras.random.SeedGenerator(1)
    assert not np.array_equal(
        ops.convert_to_numpy(sample_gumbel((10,), seed=gen)),
        ops.convert_to_numpy(sample_gumbel((10,), seed=gen)),
    )


def test_probs_and_logits_agree():
    d1 = RelaxedOneHotCategorical(0.5, probs=P.astype("float32"))
    d2 = RelaxedOneHotCategorical(0.5, logits=np.log(P).astype("float32") + 3.0)
    np.testing.assert_allclose(ops.convert_to_numpy(d1.probs), P, rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(d2.probs), P, rtol=1e-5)
    y = ops.convert_to_numpy(d1.sample(10, seed=0))
    np.testing.assert_allclose(
        ops.convert_to_numpy(d1.log_prob(y)), ops.convert_to_numpy(d2.log_prob(y)), rtol=1e-5
    )
    assert d1.event_size == 5
    np.testing.assert_allclose(special.softmax(np.log(P)), P)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(temperature=0, probs=P), "temperature=0"),
        (dict(temperature=-1.0, probs=P), "temperature"),
        (dict(temperature=float("nan"), probs=P), "temperature"),
        (dict(temperature=1.0), "Exactly one"),
        (dict(temperature=1.0, probs=P, logits=np.log(P)), "Exactly one"),
        (dict(temperature=1.0, probs=[0.5, 0.6]), "sum to 1"),
        (dict(temperature=1.0, probs=[-0.5, 1.5]), "non-negative"),
        (dict(temperature=1.0, logits=3.0), "scalar"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RelaxedOneHotCategorical(**kwargs)


def test_bad_sample_and_log_prob_arguments():
    dist = RelaxedOneHotCategorical(1.0, probs=P)
    with pytest.raises(ValueError, match="`n`"):
        dist.sample(0)
    with pytest.raises(ValueError, match="last dimension 5"):
        dist.log_prob(np.full((2, 3), 1 / 3, "float32"))
    with pytest.raises(ValueError, match="temperature"):
        gumbel_softmax(np.zeros((2, 3), "float32"), 0.0)
