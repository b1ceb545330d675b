"""`GumbelVAE`: the categorical VAE's training model (Jang et al. 2017, §4.2) for tables.

Unlike the GAN, the whole step is one differentiable loss, so Keras's own `train_step`
runs it under every backend: `call` returns each row's reconstruction and KL terms and
`compute_loss` averages them. The temperature schedule and the step counter are variables
written inside `call`, which the JAX trainer carries as non-trainable state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from discrete_gan import schedules as schedules_lib
from discrete_gan.gan import _Untracked
from discrete_gan.latent import latent_kl
from discrete_gan.layers import GumbelSoftmaxHeads
from discrete_gan.models import PRIOR_NAME, generator_heads
from discrete_gan.validation import check_float, check_int, check_units

__all__ = ["ENCODER_FILE", "GumbelVAE", "build_encoder", "decoder_trunk", "encoder_latent"]

ENCODER_FILE = "encoder.keras"
LATENT_NAME = "latent"


def build_encoder(
    input_dim: int,
    latent_variables: int,
    latent_categories: int,
    hidden_units: Sequence[int] = (128, 128),
    temperature: float = 1.0,
    hard: bool = False,
    seed: int | None = None,
    name: str = "encoder",
) -> keras.Model:
    """One-hot rows `(batch, input_dim)` -> `{"samples", "probabilities"}`, each `(batch, N*K)`.

    An MLP (Dense -> LayerNormalization -> ReLU) and a `GumbelSoftmaxHeads` of N blocks of
    K: `samples` are the Gumbel-Softmax (or straight-through) draws of `q(z | x)` that the
    decoder reads in training, `probabilities` q itself.
    """
    input_dim = check_int("input_dim", input_dim, 1)
    units = check_units("hidden_units", hidden_units)
    rows = keras.Input((input_dim,), name="rows")
    h = rows
    for i, u in enumerate(units):
        h = layers.Dense(u, name=f"dense_{i}")(h)
        h = layers.LayerNormalization(name=f"norm_{i}")(h)
        h = layers.ReLU(name=f"relu_{i}")(h)
    heads = GumbelSoftmaxHeads(
        [check_int("latent_categories", latent_categories, 2)]
        * check_int("latent_variables", latent_variables, 1),
        temperature=temperature,
        hard=hard,
        seed=seed,
        name=LATENT_NAME,
    )
    samples, probabilities = heads(h)
    return keras.Model(rows, {"samples": samples, "probabilities": probabilities}, name=name)


def encoder_latent(encoder: keras.Model) -> GumbelSoftmaxHeads:
    """The encoder's latent `GumbelSoftmaxHeads` layer."""
    return encoder.get_layer(LATENT_NAME)


def decoder_trunk(decoder: keras.Model) -> keras.Model:
    """The decoder from its latent one-hot input to its heads' input, `(batch, N*K) -> hidden`.

    Shares the decoder's layers (and variables): in training the encoder's relaxed latents
    enter here, in place of the `CategoricalPrior` draws that sampling feeds.
    """
    prior = decoder.get_layer(PRIOR_NAME)
    heads = generator_heads(decoder)
    latents = keras.Input((int(prior.output.shape[-1]),), name="latents")
    h, seen = latents, {id(prior.output)}
    for layer in decoder.layers:
        if layer is prior or layer is heads or isinstance(layer, keras.layers.InputLayer):
            continue
        if id(layer.input) not in seen:  # a plain chain: each layer reads the one before
            raise ValueError(f"Unexpected decoder layer {layer.name!r}: not a plain chain.")
        seen.add(id(layer.output))
        h = layer(h)
    return keras.Model(latents, h, name="decoder_trunk")


class GumbelVAE(keras.Model):
    """Trains an encoder and a decoder on int codes `(batch, n_columns)` by the negative ELBO.

    Per row, with `y ~ GumbelSoftmax(q(z | x), tau)` from the encoder:

        nll = -log p(x | y)                 the decoder's heads, teacher-forced
        kl  = KL(q(z | x) || Uniform(K)^N)  analytic (`latent_kl`)
        loss = mean(nll + kl_weight * kl)

    Args:
        encoder: from `build_encoder`, input width `sum(cardinalities)`.
        decoder: a generator built with `latent=(N, K)` (`build_generator`).
        temperature_schedule: the latent temperature per step (a schedule, float or dict).
        kl_weight: weight of the KL term (1: the ELBO).
        ema_momentum: if > 0, keep an exponential moving average of the encoder's and
            decoder's weights (with a warm-up, `_ema_rate`); `use_ema_weights()` copies it in.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        temperature_schedule: Any = 1.0,
        kl_weight: float = 1.0,
        ema_momentum: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.latent = encoder_latent(encoder)
        self.heads = generator_heads(decoder)
        self.cardinalities = list(self.heads.cardinalities)
        self.latent_categories = int(self.latent.cardinalities[0])
        self.schedule = schedules_lib.get(temperature_schedule)
        self.kl_weight = check_float("kl_weight", kl_weight, 0.0)
        self._encoder_trunk = _Untracked(keras.Model(encoder.inputs, self.latent.input))
        self._decoder_trunk = _Untracked(decoder_trunk(decoder))
        self.step_counter = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="step"
        )
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.temperature_tracker = keras.metrics.Mean(name="temperature")
        self.ema_momentum = check_float("ema_momentum", ema_momentum, 0.0, 1.0, high_open=True)
        self.ema_weights = []
        if self.ema_momentum:
            for i, v in enumerate(self._averaged()):
                ema = self.add_weight(
                    shape=v.shape, initializer="zeros", trainable=False, name=f"ema_{i}"
                )
                ema.assign(ops.copy(v.value))  # distinct buffer: JAX donates each
                self.ema_weights.append(ema)
        self.built = True

    def _averaged(self) -> list:
        return [*self.encoder.trainable_variables, *self.decoder.trainable_variables]

    def _ema_rate(self, step):
        """`min(ema_momentum, (1 + t) / (10 + t))`: the warm-up keeps a short run from
        averaging in its random initial weights (as `GumbelGAN` does)."""
        t = ops.cast(step, "float32")
        return ops.minimum(self.ema_momentum, (1.0 + t) / (10.0 + t))

    def train_step(self, *args):
        """Keras's own step, then the weight average (`ema_momentum` > 0)."""
        if keras.backend.backend() != "jax":
            logs = super().train_step(*args)
            if self.ema_weights:
                rate = self._ema_rate(self.step_counter)
                for ema, v in zip(self.ema_weights, self._averaged(), strict=True):
                    ema.assign(rate * ema + (1.0 - rate) * v)
            return logs
        logs, (tv, ntv, ov, mv) = super().train_step(*args)
        if self.ema_weights:
            position = {id(v): i for i, v in enumerate(self.trainable_variables)}
            slots = {id(v): i for i, v in enumerate(self.non_trainable_variables)}
            ntv = list(ntv)
            rate = self._ema_rate(ntv[slots[id(self.step_counter)]])
            for ema, v in zip(self.ema_weights, self._averaged(), strict=True):
                i = slots[id(ema)]
                ntv[i] = rate * ntv[i] + (1.0 - rate) * tv[position[id(v)]]
        return logs, (tv, ntv, ov, mv)

    def use_ema_weights(self) -> None:
        """Copies the averaged weights into the encoder and decoder (no-op without EMA)."""
        for v, ema in zip(self._averaged(), self.ema_weights, strict=True):
            v.assign(ops.copy(ema.value))

    def one_hot(self, codes):
        """int codes `(batch, n_columns)` -> concatenated one-hot `(batch, sum(k))` float32."""
        codes = ops.cast(codes, "int32")
        blocks = [ops.one_hot(codes[:, j], k) for j, k in enumerate(self.cardinalities)]
        return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]

    def latent_logits(self, rows, training=False):
        """The logits of `q(z | x)`, `(batch, N * K)`, for one-hot rows `(batch, sum(k))`."""
        hidden = self._encoder_trunk.model(rows, training=training)
        return self.latent.compute_logits(hidden)

    def log_likelihood(self, rows, latents, training=False):
        """`log p(x | z)` per row `(batch,)` for one-hot rows and latent vectors `(batch, N*K)`."""
        hidden = self._decoder_trunk.model(latents, training=training)
        return self.heads.log_likelihood(hidden, rows)

    def call(self, codes, training=False):
        """Returns `{"nll": (batch,), "kl": (batch,)}`; in training also advances the schedule."""
        rows = self.one_hot(codes)
        if training:
            tau = ops.cast(self.schedule(ops.convert_to_tensor(self.step_counter)), "float32")
            self.latent.temperature.assign(tau)
            self.step_counter.assign_add(1)
        logits = self.latent_logits(rows, training=training)
        latents = self.latent.relax(logits)
        nll = -self.log_likelihood(rows, latents, training=training)
        return {"nll": nll, "kl": latent_kl(logits, self.latent_categories)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        nll, kl = y_pred["nll"], y_pred["kl"]
        self.nll_tracker.update_state(nll)
        self.kl_tracker.update_state(kl)
        self.temperature_tracker.update_state(self.latent.temperature)
        return ops.mean(nll + self.kl_weight * kl)
