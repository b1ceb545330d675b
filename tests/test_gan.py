"""GumbelGAN training under the active backend (run the suite under TF and JAX)."""

import keras
import numpy as np
import pytest
from conftest import TINY, toy_frame

from discrete_gan import CategoricalGAN
from discrete_gan.gan import GumbelGAN
from discrete_gan.models import build_discriminator, build_generator
from discrete_gan.schedules import ExponentialDecayTemperature


def _gan(**kwargs):
    gen = build_generator([3, 2], noise_dim=4, hidden_units=(8,), seed=0)
    disc = build_discriminator(5, (8,), pac=kwargs.get("pac", 1), seed=0)
    return GumbelGAN(gen, disc, noise_dim=4, seed=0, **kwargs)


def _codes(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, 3, n), rng.integers(0, 2, n)], axis=1).astype("int32")


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(loss="wgan-gp", d_steps=2), dict(pac=4, g_steps=2), dict(marginal_weight=0.0)],
)
def test_both_optimizers_step_and_keep_state(kwargs):
    gan = _gan(**kwargs)
    gan.compile()
    steps = 4
    gan.fit(_codes(64 * steps), batch_size=64, epochs=2, verbose=0, shuffle=False)
    d_steps, g_steps = kwargs.get("d_steps", 1), kwargs.get("g_steps", 1)
    assert int(gan.d_optimizer.iterations.numpy()) == 2 * steps * d_steps
    assert int(gan.g_optimizer.iterations.numpy()) == 2 * steps * g_steps
    assert int(keras.ops.convert_to_numpy(gan.step_counter)) == 2 * steps
    # Adam moments of both networks were carried through fit() (non-zero after training).
    for opt in (gan.d_optimizer, gan.g_optimizer):
        moments = [v for v in opt.variables if "momentum" in v.path or "velocity" in v.path]
        assert moments and any(np.abs(keras.ops.convert_to_numpy(v)).sum() > 0 for v in moments)


def test_temperature_follows_schedule_without_retracing():
    schedule = ExponentialDecayTemperature(initial=2.0, rate=0.1, minimum=0.5, update_every=1)
    gan = _gan(temperature_schedule=schedule)
    gan.compile()
    gan.fit(_codes(64 * 5), batch_size=64, epochs=1, verbose=0)
    tau = float(keras.ops.convert_to_numpy(gan.heads.temperature))
    assert tau == pytest.approx(schedule.value(4), rel=1e-5)


def test_rejects_bad_args():
    with pytest.raises(ValueError, match="loss"):
        _gan(loss="hinge")
    with pytest.raises(ValueError, match="d_steps"):
        _gan(d_steps=0)
    with pytest.raises(ValueError, match="marginals"):
        _gan(marginals=[0.5, 0.5])


@pytest.mark.slow
def test_toy_converges():
    """The seed toy: learned marginals within 0.02 TVD of the data (uniform would be 0.1)."""
    df = toy_frame()
    model = CategoricalGAN(seed=0, noise_dim=16, generator_units=(64, 64))
    model.fit(df, epochs=1, steps_per_epoch=600)
    learned = model.probabilities()["letter"]
    freq = df["letter"].value_counts(normalize=True)
    tvd = 0.5 * sum(abs(learned[c] - freq[c]) for c in "abcde")
    assert tvd < 0.02, (tvd, learned)


@pytest.mark.slow
def test_toy_converges_adversarially_alone():
    """Without the marginal-matching term the GAN alone still lands near the data."""
    df = toy_frame(seed=1)
    model = CategoricalGAN(seed=1, marginal_weight=0.0, **{**TINY, "batch_size": 512})
    model.fit(df, epochs=1, steps_per_epoch=800)
    learned = model.probabilities()["letter"]
    freq = df["letter"].value_counts(normalize=True)
    tvd = 0.5 * sum(abs(learned[c] - freq[c]) for c in "abcde")
    assert tvd < 0.08, (tvd, learned)
