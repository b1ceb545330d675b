import keras
import numpy as np
import pytest
from keras import ops

from discrete_gan.layers import GumbelSoftmaxHeads, blockwise_argmax, blockwise_softmax
from discrete_gan.models import build_discriminator, build_generator, generator_heads


def test_blockwise_softmax_and_argmax():
    logits = np.array([[0.0, 2.0, 1.0, 5.0, -1.0]], "float32")
    probs = ops.convert_to_numpy(blockwise_softmax(logits, [3, 2]))
    np.testing.assert_allclose(probs[:, :3].sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs[:, 3:].sum(), 1.0, rtol=1e-6)
    assert ops.convert_to_numpy(blockwise_argmax(logits, [3, 2])).tolist() == [[1, 0]]


@pytest.mark.parametrize("hard", [True, False])
def test_heads_output_shapes_and_simplex(hard):
    layer = GumbelSoftmaxHeads([3, 2, 4], temperature=0.5, hard=hard, seed=1)
    samples, probs = layer(np.random.default_rng(0).normal(size=(16, 6)).astype("float32"))
    samples, probs = ops.convert_to_numpy(samples), ops.convert_to_numpy(probs)
    assert samples.shape == probs.shape == (16, 9)
    for start, k in ((0, 3), (3, 2), (5, 4)):
        np.testing.assert_allclose(samples[:, start : start + k].sum(1), 1.0, atol=1e-5)
        np.testing.assert_allclose(probs[:, start : start + k].sum(1), 1.0, atol=1e-5)
        if hard:
            assert set(np.unique(samples[:, start : start + k])) <= {0.0, 1.0}


def test_heads_get_config_round_trip():
    layer = GumbelSoftmaxHeads([3, 2], temperature=0.7, hard=False, seed=5, name="h")
    config = layer.get_config()
    clone = GumbelSoftmaxHeads.from_config(config)
    assert clone.get_config() == config
    assert clone.cardinalities == [3, 2] and clone.hard is False
    assert float(ops.convert_to_numpy(clone.temperature)) == pytest.approx(0.7)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cardinalities=[]), "cardinalities"),
        (dict(cardinalities=[3, 0]), "cardinalities"),
        (dict(cardinalities=[2], temperature=0), "temperature=0"),
        (dict(cardinalities=[2], temperature=float("nan")), "temperature"),
        (dict(cardinalities=[2], hard="yes"), "hard"),
    ],
)
def test_heads_rejects_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GumbelSoftmaxHeads(**kwargs)


def test_generator_and_discriminator_shapes():
    gen = build_generator([3, 2], noise_dim=4, hidden_units=(8,), seed=0)
    out = gen(np.zeros((5, 4), "float32"))
    assert set(out) == {"samples", "probabilities"}
    assert tuple(out["samples"].shape) == (5, 5)
    assert generator_heads(gen).cardinalities == [3, 2]
    cond = build_generator([3, 2], noise_dim=4, hidden_units=(8,), condition_dim=5)
    assert len(cond.inputs) == 2
    disc = build_discriminator(5, (8,), pac=2)
    assert tuple(disc(np.zeros((3, 10), "float32")).shape) == (3, 1)


def test_model_builders_reject_bad_args():
    with pytest.raises(ValueError, match="noise_dim"):
        build_generator([2], noise_dim=0)
    with pytest.raises(ValueError, match="hidden_units"):
        build_generator([2], hidden_units=(8, 0))
    with pytest.raises(ValueError, match="pac"):
        build_discriminator(4, pac=0)
    with pytest.raises(ValueError, match="GumbelSoftmaxHeads"):
        generator_heads(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]))
