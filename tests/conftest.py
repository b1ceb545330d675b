"""Shared fixtures: small seeded tables and a tiny trained model, built once per session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

TOY_P = np.array([0.1, 0.2, 0.2, 0.2, 0.3])


def toy_frame(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """The seed toy: one column of letters a-e with p = [.1, .2, .2, .2, .3]."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"letter": rng.choice(list("abcde"), size=n, p=TOY_P)})


def dependent_frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Three columns (str, int, bool) where `size` depends strongly on `colour`."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    big = np.where(colour == "red", rng.random(n) < 0.9, rng.random(n) < 0.15)
    size = np.where(big, 2, 1)
    return pd.DataFrame({"colour": colour, "size": size, "flag": rng.random(n) < 0.4})


TINY = dict(
    noise_dim=8,
    generator_units=(32,),
    discriminator_units=(32,),
    batch_size=128,
    learning_rate=1e-3,
)


# A tiny CategoricalVAE (the VAE family's TINY).
VAE_TINY = dict(
    latent_variables=4,
    latent_categories=4,
    encoder_units=(32,),
    decoder_units=(32,),
    batch_size=128,
)


# `discrete-gan train` flags for a tiny, quiet model (the CLI twin of TINY).
CLI_TINY = [
    "--quiet",
    "--no-tensorboard",
    "--batch-size",
    "128",
    "--set",
    "model.generator_units=[32]",
    "--set",
    "model.discriminator_units=[32]",
]


@pytest.fixture(scope="session")
def trained_tiny():
    """A tiny CategoricalGAN fitted on `dependent_frame` (a few seconds)."""
    from discrete_gan import CategoricalGAN

    model = CategoricalGAN(seed=0, **TINY)
    model.fit(dependent_frame(), epochs=3)
    return model


@pytest.fixture
def no_compilation_cache(monkeypatch):
    """Child processes compile from scratch, as they would outside scripts/test.sh (which shares
    one JAX compilation cache across the run): for a test that compares their peak memory, one
    run must not skip compiling on the programs another has cached."""
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
