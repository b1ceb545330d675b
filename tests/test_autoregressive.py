"""Autoregressive Gumbel-Softmax heads: the chain, exact draws, exact conditional sampling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import TINY, dependent_frame
from keras import ops
from scipy import stats

from discrete_gan import CategoricalGAN
from discrete_gan.autoregressive import AutoregressiveGumbelSoftmaxHeads
from discrete_gan.conditional import conditional_probabilities
from discrete_gan.layers import GumbelSoftmaxHeads
from discrete_gan.models import build_generator, generator_heads

CARDS = [3, 2, 1, 4]


def _hidden(n: int = 16, width: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, width)).astype("float32")


def _gumbel(shape, seed: int = 1) -> np.ndarray:
    u = np.random.default_rng(seed).uniform(np.finfo("float32").tiny, 1.0, size=shape)
    return (-np.log(-np.log(u))).astype("float32")


@pytest.mark.parametrize("hard", [True, False])
def test_chain_outputs_are_on_the_simplex(hard):
    layer = AutoregressiveGumbelSoftmaxHeads(CARDS, temperature=0.5, hard=hard, seed=1)
    samples, probs = (ops.convert_to_numpy(t) for t in layer(_hidden()))
    assert samples.shape == probs.shape == (16, sum(CARDS))
    start = 0
    for k in CARDS:
        np.testing.assert_allclose(samples[:, start : start + k].sum(1), 1.0, atol=1e-5)
        np.testing.assert_allclose(probs[:, start : start + k].sum(1), 1.0, atol=1e-5)
        if hard:
            assert set(np.unique(samples[:, start : start + k])) <= {0.0, 1.0}
        start += k


def test_get_config_round_trip_and_registration():
    layer = AutoregressiveGumbelSoftmaxHeads([3, 2], temperature=0.7, hard=False, seed=5)
    config = layer.get_config()
    clone = AutoregressiveGumbelSoftmaxHeads.from_config(config)
    assert clone.get_config() == config
    assert clone.autoregressive and not GumbelSoftmaxHeads([2]).autoregressive
    gen = build_generator([3, 2], noise_dim=4, hidden_units=(8,), autoregressive=True)
    assert isinstance(generator_heads(gen), AutoregressiveGumbelSoftmaxHeads)
    with pytest.raises(ValueError, match="autoregressive"):
        build_generator([3, 2], autoregressive="yes")


def test_zero_embeddings_start_as_the_independent_heads():
    """A new chain (embeddings at zero) draws exactly what independent heads with the same
    projection draw, so the model starts where the independent one starts."""
    hidden = np.maximum(_hidden(), 0.0)  # a trunk output, after its ReLU
    chain = AutoregressiveGumbelSoftmaxHeads(CARDS, seed=0)
    flat = GumbelSoftmaxHeads(CARDS, seed=0)
    chain.build(hidden.shape)
    flat.build(hidden.shape)
    flat.kernel.assign(chain.kernel.value)
    flat.bias.assign(np.linspace(-1, 1, sum(CARDS)).astype("float32"))
    chain.bias.assign(flat.bias.value)
    g = _gumbel((16, sum(CARDS)))
    for a, b in zip(chain.gumbel_max(hidden, g), flat.gumbel_max(hidden, g)):
        if a is not None:
            np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-5)


def _exact_joint(layer: AutoregressiveGumbelSoftmaxHeads, h: np.ndarray) -> np.ndarray:
    """P(x) for one hidden row by enumerating the chain in numpy."""
    kernel, bias = ops.convert_to_numpy(layer.kernel), ops.convert_to_numpy(layer.bias)
    emb = ops.convert_to_numpy(layer.embeddings)
    offsets = np.cumsum([0, *layer.cardinalities])
    joint = np.zeros(layer.cardinalities)
    for x in itertools.product(*(range(k) for k in layer.cardinalities)):
        state, p = h.astype("float64"), 1.0
        for j, k in enumerate(layer.cardinalities):
            sl = slice(offsets[j], offsets[j] + k)
            logits = np.maximum(state, 0) @ kernel[:, sl] + bias[sl]
            q = np.exp(logits - logits.max())
            p *= q[x[j]] / q.sum()
            state = state + emb[offsets[j] + x[j]]
        joint[x] = p
    return joint


@pytest.fixture(scope="module")
def dependent_chain():
    """Heads whose later columns depend strongly on the earlier ones, for one hidden row."""
    layer = AutoregressiveGumbelSoftmaxHeads([3, 2, 3], seed=0)
    layer.build((1, 4))
    rng = np.random.default_rng(3)
    layer.kernel.assign(rng.normal(size=(4, 8)).astype("float32"))
    layer.bias.assign(rng.normal(size=8).astype("float32"))
    layer.embeddings.assign(2.0 * rng.normal(size=(8, 4)).astype("float32"))
    return layer, rng.normal(size=4).astype("float32")


def test_gumbel_max_along_the_chain_is_an_exact_sample(dependent_chain):
    layer, h = dependent_chain
    n = 40_000
    codes, probs, _, _ = layer.gumbel_max(np.repeat(h[None], n, 0), _gumbel((n, 8), seed=7))
    codes, probs = ops.convert_to_numpy(codes), ops.convert_to_numpy(probs)
    joint = _exact_joint(layer, h)
    counts = np.zeros(joint.shape)
    np.add.at(counts, tuple(codes.T), 1)
    expected = joint.ravel() * n
    keep = expected > 5
    chi2 = ((counts.ravel()[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3
    # each column's probabilities along the draw average to its marginal
    np.testing.assert_allclose(probs[:, 3:5].mean(0), joint.sum(axis=(0, 2)), atol=0.01)


def test_masked_draws_keep_to_the_allowed_labels_and_report_their_mass(dependent_chain):
    layer, h = dependent_chain
    n = 2000
    mask = np.ones((n, 8), "float32")
    mask[:, 0:3] = [0, 1, 1]
    mask[:, 5:8] = [1, 0, 0]
    codes, probs, _, mass = (
        None if t is None else ops.convert_to_numpy(t)
        for t in layer.gumbel_max(np.repeat(h[None], n, 0), _gumbel((n, 8)), mask)
    )
    assert set(codes[:, 0]) <= {1, 2} and set(codes[:, 2]) == {0}
    np.testing.assert_allclose(mass[:, 0], probs[:, 1:3].sum(1), rtol=1e-5)
    np.testing.assert_allclose(mass[:, 1], 1.0, rtol=1e-5)
    np.testing.assert_allclose(mass[:, 2], probs[:, 5], rtol=1e-5)


@pytest.fixture(scope="module")
def chain_model(trained_tiny):
    """A chain (`autoregressive=True`) fitted on `dependent_frame`: the chain is the default,
    so this is conftest's `trained_tiny`, trained once per session rather than again here."""
    assert trained_tiny.config.autoregressive
    return trained_tiny


def _model_joint(model: CategoricalGAN, rows: int = 65_536) -> np.ndarray:
    """The model's exact joint P(x) = E_z[prod_j p_j(x_j | x_<j, z)], by enumeration."""
    sampler = model.sampler
    cards = model.schema.cardinalities
    joint = np.zeros(cards)
    for x in itertools.product(*(range(k) for k in cards)):
        mask = np.concatenate([np.eye(k)[x[j]] for j, k in enumerate(cards)])
        total = 0.0
        for chunk in range(rows // sampler.chunk_size):
            _, _, mass = sampler.masked_chunk(11, chunk, mask)
            total += mass.prod(axis=1).sum()
        joint[x] = total / rows
    return joint


@pytest.mark.slow
def test_conditional_sampling_of_a_chain_is_exact(chain_model):
    """Rows drawn under a condition on a LATER column follow the model's exact conditional."""
    joint = _model_joint(chain_model)
    np.testing.assert_allclose(joint.sum(), 1.0, atol=0.01)
    size = chain_model.schema.columns[1]
    two = size.code_of(2)
    exact = joint[:, two, :].sum(axis=1) / joint[:, two, :].sum()  # P(colour | size = 2)
    rows = chain_model.sample(20_000, seed=3, where={"size": 2})
    assert (rows["size"] == 2).all()
    colour = chain_model.schema.columns[0]
    codes = [colour.code_of(label) for label in rows["colour"]]
    counts = np.bincount(codes, minlength=len(exact))
    chi2 = ((counts - exact * len(rows)) ** 2 / (exact * len(rows))).sum()
    assert stats.chi2.sf(chi2, len(exact) - 1) > 1e-3
    flat = conditional_probabilities(chain_model.sampler, chain_model.schema, {"size": 2})
    np.testing.assert_allclose(flat[:3], exact, atol=0.02)
    # and a condition on the FIRST column: the later columns are averaged through the chain
    red = colour.code_of("red")
    exact_size = joint[red].sum(axis=1) / joint[red].sum()
    flat = conditional_probabilities(chain_model.sampler, chain_model.schema, {"colour": "red"})
    np.testing.assert_allclose(flat[3:5], exact_size, atol=0.01)


def test_learned_probabilities_match_sampling_frequencies(chain_model):
    rows = chain_model.sample(20_000, seed=9)
    for name, probs in chain_model.probabilities().items():
        freq = rows[name].value_counts(normalize=True)
        for label, p in probs.items():
            assert abs(freq.get(label, 0.0) - p) < 0.02


def test_the_chain_learns_a_dependency_the_data_has():
    """`size` depends on `colour` (P(size=2 | red) = .9, else .15): after training, the chain's
    conditional follows it, and the embeddings that carry it are no longer zero."""
    model = CategoricalGAN(seed=1, **{**TINY, "generator_units": (64,)})
    model.fit(dependent_frame(8000), epochs=15)
    heads = generator_heads(model.generator)
    assert heads.autoregressive
    assert np.abs(ops.convert_to_numpy(heads.embeddings)).max() > 1e-3
    big_red = model.probabilities(given={"colour": "red"})["size"][2]
    big_blue = model.probabilities(given={"colour": "blue"})["size"][2]
    assert big_red > 0.7 and big_blue < 0.35


def test_teacher_forced_log_likelihood_is_the_chain_probability(dependent_chain):
    layer, h = dependent_chain
    joint = _exact_joint(layer, h)
    rows = list(itertools.product(*(range(k) for k in layer.cardinalities)))
    onehot = np.stack(
        [np.concatenate([np.eye(k)[x[j]] for j, k in enumerate(layer.cardinalities)]) for x in rows]
    ).astype("float32")
    ll = ops.convert_to_numpy(layer.log_likelihood(np.repeat(h[None], len(rows), 0), onehot))
    np.testing.assert_allclose(np.exp(ll), [joint[x] for x in rows], rtol=1e-4)
    flat = GumbelSoftmaxHeads([3, 2, 3])
    flat.build((1, 4))
    logits = ops.convert_to_numpy(flat.compute_logits(h[None]))[0]
    expected = sum(
        logits[o + x] - np.log(np.exp(logits[o : o + k]).sum())
        for o, k, x in zip((0, 3, 5), (3, 2, 3), rows[5])
    )
    got = ops.convert_to_numpy(flat.log_likelihood(h[None], onehot[5:6]))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.slow
def test_the_likelihood_term_trains_under_both_step_implementations():
    """With `likelihood_weight`, real rows become more likely under the generator's chain."""
    from discrete_gan.gan import GumbelGAN  # noqa: F401  (the step of this backend)

    data = dependent_frame(4000)
    model = CategoricalGAN(seed=2, **TINY, likelihood_weight=5.0)
    table = model.encode(data)
    model.build()
    gan = model.gan
    rows = gan.one_hot(table.codes[:512])
    z = np.random.default_rng(0).normal(size=(512, TINY["noise_dim"])).astype("float32")

    def nll() -> float:
        hidden = gan.trunk(z)
        return -float(ops.convert_to_numpy(ops.mean(gan.heads.log_likelihood(hidden, rows))))

    before = nll()
    model.fit(table, epochs=4)
    assert nll() < before - 0.1
