"""Functional generator and discriminator networks for categorical tables.

Both are plain Functional models made of built-in layers plus the registered
`GumbelSoftmaxHeads`, so a generator saved as `.keras` loads with `safe_mode=True` under any
backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from discrete_gan.autoregressive import AutoregressiveGumbelSoftmaxHeads
from discrete_gan.latent import CategoricalPrior
from discrete_gan.layers import GumbelSoftmaxHeads
from discrete_gan.validation import check_bool, check_float, check_int, check_units

__all__ = ["build_discriminator", "build_generator", "generator_heads"]

HEADS_NAME = "heads"
PRIOR_NAME = "prior"


def build_generator(
    cardinalities: Sequence[int],
    noise_dim: int = 32,
    hidden_units: Sequence[int] = (128, 128),
    condition_dim: int = 0,
    temperature: float = 1.0,
    hard: bool = True,
    seed: int | None = None,
    name: str = "generator",
    autoregressive: bool = False,
    nested: Sequence[Sequence[int]] = (),
    latent: Sequence[int] | None = None,
) -> keras.Model:
    """Noise `(batch, noise_dim)` [+ condition `(batch, condition_dim)`] -> two `(batch, sum(k))`.

    Returns a model whose output is a dict `{"samples", "probabilities"}` of two
    `(batch, sum(k))` tensors: relaxed one-hot draws (what the discriminator sees) and the
    per-column categorical probabilities they are drawn from.

    An MLP (Dense -> LayerNormalization -> ReLU per hidden layer) followed by one
    `GumbelSoftmaxHeads` block per column, or with `autoregressive=True` by
    `AutoregressiveGumbelSoftmaxHeads`, where each column's sample feeds the later columns.
    With `condition_dim > 0` the model takes a second input, a conditioning vector
    concatenated to the noise, so that conditional training can reuse the same architecture.
    `nested` lists the two-level columns (`discrete_gan.layout`); it needs the autoregressive
    heads. `latent = (N, K)` makes it the VAE's decoder: the noise (`noise_dim = N * K`)
    first becomes N uniform categorical latents of K classes (`CategoricalPrior`), so the
    hidden layers see what the encoder feeds them in training.
    """
    noise_dim = check_int("noise_dim", noise_dim, 1)
    condition_dim = check_int("condition_dim", condition_dim, 0)
    units = check_units("hidden_units", hidden_units)
    noise = keras.Input((noise_dim,), name="noise")
    inputs = [noise]
    h = noise
    if latent is not None:
        n, k = (check_int("latent", x, 1) for x in latent)
        if n * k != noise_dim or condition_dim:
            raise ValueError(
                "Invalid value for `latent`. Expected (N, K) with N * K = noise_dim and no "
                f"condition input. Received: latent={tuple(latent)}, noise_dim={noise_dim}, "
                f"condition_dim={condition_dim}"
            )
        h = CategoricalPrior(n, k, name=PRIOR_NAME)(noise)
    if condition_dim:
        condition = keras.Input((condition_dim,), name="condition")
        inputs.append(condition)
        h = layers.Concatenate(name="noise_and_condition")([noise, condition])
    for i, u in enumerate(units):
        h = layers.Dense(u, name=f"dense_{i}")(h)
        h = layers.LayerNormalization(name=f"norm_{i}")(h)
        h = layers.ReLU(name=f"relu_{i}")(h)
    options = dict(temperature=temperature, hard=hard, seed=seed, name=HEADS_NAME)
    if check_bool("autoregressive", autoregressive):
        heads = AutoregressiveGumbelSoftmaxHeads(cardinalities, nested=nested, **options)
    elif nested:
        raise ValueError(
            "Two-level (nested) columns need the autoregressive heads: the member column is "
            "drawn given its bucket. Use autoregressive=True, or split_above=None."
        )
    else:
        heads = GumbelSoftmaxHeads(cardinalities, **options)
    samples, probabilities = heads(h)
    return keras.Model(
        inputs if condition_dim else noise,
        {"samples": samples, "probabilities": probabilities},
        name=name,
    )


def build_discriminator(
    input_dim: int,
    hidden_units: Sequence[int] = (256, 256),
    pac: int = 1,
    dropout: float = 0.0,
    seed: int | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """MLP critic on `pac` concatenated one-hot rows: `(batch / pac, pac * input_dim)` -> `(., 1)`.

    Outputs an unbounded score (a logit for the BCE loss, a critic value for WGAN-GP). Packing
    `pac` rows per decision (PacGAN, Lin et al. 2018) lets the critic see a small sample's
    diversity, which penalises mode collapse.
    """
    pac = check_int("pac", pac, 1)
    dropout = check_float("dropout", dropout, 0.0, 1.0, high_open=True)
    units = check_units("hidden_units", hidden_units)
    x = keras.Input((pac * input_dim,), name="packed_rows")
    h = x
    for i, u in enumerate(units):
        h = layers.Dense(u, name=f"dense_{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"leaky_relu_{i}")(h)
        if dropout:
            h = layers.Dropout(dropout, seed=seed, name=f"dropout_{i}")(h)
    score = layers.Dense(1, name="score")(h)
    return keras.Model(x, score, name=name)


def generator_heads(generator: keras.Model) -> GumbelSoftmaxHeads:
    """The generator's `GumbelSoftmaxHeads` layer (raises ValueError if it has none)."""
    for layer in generator.layers:
        if isinstance(layer, GumbelSoftmaxHeads):
            return layer
    raise ValueError(f"Model {generator.name!r} has no GumbelSoftmaxHeads layer.")
