"""`GumbelGAN`: the adversarial training model (a `keras.Model` with its own `train_step`).

Keras 3 has no backend-agnostic autodiff, so the step is written once per backend
(TensorFlow: `GradientTape`; JAX: `stateless_call` + `jax.value_and_grad`) around shared,
backend-agnostic pieces (noise, losses, packing). Both optimizers live inside one
`keras.optimizers.MultiOptimizer`, so the JAX trainer carries the state of both through
`fit()` (two optimizers kept as plain attributes would silently lose their state every step).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from discrete_gan import schedules as schedules_lib
from discrete_gan import seeding
from discrete_gan.models import generator_heads
from discrete_gan.validation import check_choice, check_float, check_int, check_optional_int

__all__ = ["LOSSES", "GumbelGAN"]

LOSSES = ("bce", "wgan-gp")


class GumbelGAN(keras.Model):
    """Trains a Gumbel-Softmax generator against a discriminator on categorical codes.

    `fit()` takes int32 category codes of shape `(batch, n_columns)` (see `TableSchema.encode`)
    or, for a conditional generator (one built with `condition_dim = sum(k)`), a dict
    `{"codes": codes, "condition": index}` where `index` `(batch,)` is the flat one-hot position
    of the (column, category) each real row was drawn for, or -1 for an unconditioned row
    (training-by-sampling; see `discrete_gan.conditional`). Each `train_step` runs `d_steps`
    discriminator updates then `g_steps` generator updates on that batch with fresh noise. The
    generator temperature follows `temperature_schedule` (evaluated on the step counter,
    written into the heads' temperature variable).

    Args:
        generator: Functional model from `build_generator`.
        discriminator: Functional model from `build_discriminator`, whose input width is
            `pac * sum(cardinalities)`.
        noise_dim: width of the generator's noise input.
        loss: "bce" (non-saturating GAN loss) or "wgan-gp" (Wasserstein with gradient penalty).
        d_steps, g_steps: discriminator / generator updates per batch.
        pac: rows packed per discriminator decision; the batch size must be a multiple of it.
        gp_weight: gradient-penalty weight for "wgan-gp".
        temperature_schedule: a `TemperatureSchedule`, a float, or None (keep the heads' value).
        marginals: the training data's category frequencies, concatenated per column,
            shape `(sum(k),)`. With `marginal_weight > 0` the generator also minimises the mean
            over columns of KL(marginals || batch-mean of its probabilities): a first-moment
            matching term in the spirit of TableGAN's information loss (Park et al. 2018) and
            feature matching (Salimans et al. 2016). Its target is exact and noise-free, so it
            damps the adversarial game's drift on the marginals; dependencies between columns
            still come from the discriminator alone.
        marginal_weight: weight of that term (0 disables it). Computed on unconditioned rows.
        condition_weight: weight of the cross-entropy that makes a conditional generator
            produce the category it was conditioned on.
        ema_momentum: if > 0, keep an exponential moving average of the generator weights
            with momentum `min(ema_momentum, (1 + t) / (10 + t))` at step `t` (the warm-up
            keeps short runs from averaging in the random initial weights); `use_ema_weights()`
            copies it into the generator. Averaging iterates damps the oscillation of the
            adversarial game (Yazici et al. 2019).
        seed: int or None; the noise and the gradient-penalty weights are seeded from the
            streams "noise" and "gradient_penalty" derived from it (`discrete_gan.seeding`).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        noise_dim: int,
        loss: str = "bce",
        d_steps: int = 1,
        g_steps: int = 1,
        pac: int = 1,
        gp_weight: float = 10.0,
        temperature_schedule: Any = None,
        marginals: Any = None,
        marginal_weight: float = 1.0,
        likelihood_weight: float = 0.0,
        condition_weight: float = 1.0,
        ema_momentum: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.loss_name = check_choice("loss", loss, LOSSES)
        self.generator = generator
        self.discriminator = discriminator
        self.heads = generator_heads(generator)
        self.cardinalities = list(self.heads.cardinalities)
        self.noise_dim = check_int("noise_dim", noise_dim, 1)
        self.d_steps = check_int("d_steps", d_steps, 1)
        self.g_steps = check_int("g_steps", g_steps, 1)
        self.pac = check_int("pac", pac, 1)
        self.gp_weight = check_float("gp_weight", gp_weight, 0.0)
        self.schedule = (
            None if temperature_schedule is None else schedules_lib.get(temperature_schedule)
        )
        self.marginal_weight = check_float("marginal_weight", marginal_weight, 0.0)
        self.likelihood_weight = check_float("likelihood_weight", likelihood_weight, 0.0)
        self._trunk = _Untracked(keras.Model(generator.inputs, self.heads.input, name="trunk"))
        self.condition_weight = check_float("condition_weight", condition_weight, 0.0)
        self.ema_momentum = check_float("ema_momentum", ema_momentum, 0.0, 1.0, high_open=True)
        seed = check_optional_int("seed", seed, 0)
        total = sum(self.cardinalities)
        self.conditional = len(generator.inputs) > 1
        if self.conditional and int(generator.inputs[1].shape[-1]) != total:
            raise ValueError(
                f"A conditional generator needs condition_dim = sum(cardinalities) = {total}. "
                f"Received: condition_dim={generator.inputs[1].shape[-1]}"
            )
        if marginals is None:
            marginals = [1.0 / k for k in self.cardinalities for _ in range(k)]
        marginals = ops.convert_to_numpy(ops.convert_to_tensor(marginals, "float32"))
        if tuple(marginals.shape) != (total,):
            raise ValueError(
                f"Invalid shape for `marginals`. Expected ({total},). "
                f"Received: shape={tuple(marginals.shape)}"
            )
        self.marginals = self.add_weight(
            shape=(total,),
            initializer=keras.initializers.Constant(marginals),
            trainable=False,
            name="marginals",
        )
        # Independent streams (see `discrete_gan.seeding`): the generator's input noise and the
        # gradient penalty's interpolation weights never share a key.
        self.noise_seed = keras.random.SeedGenerator(_stream(seed, "noise"))
        self.penalty_seed = keras.random.SeedGenerator(_stream(seed, "gradient_penalty"))
        self.step_counter = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="step"
        )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.ema_weights = []
        if self.ema_momentum:
            for i, v in enumerate(generator.trainable_variables):
                ema = self.add_weight(
                    shape=v.shape, initializer="zeros", trainable=False, name=f"ema_{i}"
                )
                ema.assign(ops.copy(v.value))  # distinct buffer: JAX donates each
                self.ema_weights.append(ema)
        self.built = True  # both networks are built Functional models

    # ----------------------------------------------------------------- set-up
    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Compiles with one optimizer per network (Adam(2e-4, beta_1=0.5) by default)."""
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
        gen_ids = {id(v) for v in self.generator.trainable_variables}
        g_opt, d_opt = self.g_optimizer, self.d_optimizer
        optimizer = keras.optimizers.MultiOptimizer(lambda v: g_opt if id(v) in gen_ids else d_opt)
        super().compile(optimizer=optimizer, **kwargs)
        # Built here, not lazily: the per-backend steps address the inner optimizers directly.
        self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, inputs, training=False):
        real, cond = self.prepare(inputs)
        return self.discriminator(self.d_input(real, cond), training=training)

    # ------------------------------------------------------ shared, agnostic
    def prepare(self, x):
        """Batch -> (real one-hot rows `(b, sum(k))`, condition vectors `(b, sum(k))` or None)."""
        if not self.conditional:
            return self.one_hot(x), None
        codes, index = x["codes"], ops.cast(x["condition"], "int32")
        total = sum(self.cardinalities)
        cond = ops.one_hot(ops.maximum(index, 0), total)
        cond = cond * ops.cast(ops.expand_dims(index >= 0, -1), cond.dtype)
        return self.one_hot(codes), cond

    def g_input(self, z, cond):
        return z if cond is None else [z, cond]

    def d_input(self, rows, cond):
        """What the discriminator sees: rows (with their condition), packed `pac` at a time."""
        return self._pack(rows if cond is None else ops.concatenate([rows, cond], axis=-1))

    def one_hot(self, codes):
        """int codes `(batch, n_columns)` -> concatenated one-hot `(batch, sum(k))` float32."""
        codes = ops.cast(codes, "int32")
        blocks = [ops.one_hot(codes[:, j], k) for j, k in enumerate(self.cardinalities)]
        return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]

    def _pack(self, x):
        return ops.reshape(x, (-1, self.pac * ops.shape(x)[-1])) if self.pac > 1 else x

    def _noise(self, batch_size):
        return keras.random.normal((batch_size, self.noise_dim), seed=self.noise_seed)

    def _temperature(self):
        step = ops.convert_to_tensor(self.step_counter)
        return ops.cast(self.schedule(step), "float32")

    def _d_loss(self, real_score, fake_score):
        if self.loss_name == "bce":
            return ops.mean(ops.softplus(-real_score)) + ops.mean(ops.softplus(fake_score))
        return ops.mean(fake_score) - ops.mean(real_score)

    def _g_loss(self, fake_score, probabilities, marginals, cond=None):
        tiny = 1e-7
        loss = (
            ops.mean(ops.softplus(-fake_score))
            if self.loss_name == "bce"
            else -ops.mean(fake_score)
        )
        if cond is None:
            free = ops.ones((ops.shape(probabilities)[0], 1), probabilities.dtype)
        else:
            conditioned = ops.sum(cond, axis=-1, keepdims=True)
            free = 1.0 - conditioned
            ce = -ops.sum(cond * ops.log(probabilities + tiny))
            loss = loss + self.condition_weight * ce / ops.maximum(ops.sum(conditioned), 1.0)
        if self.marginal_weight:
            q = ops.sum(probabilities * free, axis=0) / ops.maximum(ops.sum(free), 1.0)
            kl = ops.sum(marginals * (ops.log(marginals + tiny) - ops.log(q + tiny)))
            has_free = ops.cast(ops.sum(free) > 0, kl.dtype)
            loss = loss + has_free * self.marginal_weight * kl / len(self.cardinalities)
        return loss

    @property
    def trunk(self) -> keras.Model:
        """The generator up to its heads (same layers and variables), `inputs -> hidden`."""
        return self._trunk.model

    def _likelihood_loss(self, hidden, rows):
        """`likelihood_weight` x the mean per-column negative log-likelihood of real rows
        under the generator's heads given `hidden` (teacher-forced along the chain)."""
        nll = -ops.mean(self.heads.log_likelihood(hidden, rows))
        return self.likelihood_weight * nll / len(self.cardinalities)

    def _ema_rate(self, step):
        t = ops.cast(step, "float32")
        return ops.minimum(self.ema_momentum, (1.0 + t) / (10.0 + t))

    def use_ema_weights(self) -> None:
        """Copies the averaged generator weights into the generator (no-op without EMA)."""
        for v, ema in zip(self.generator.trainable_variables, self.ema_weights):
            v.assign(ops.copy(ema.value))

    def _alpha(self, packed_batch):
        return keras.random.uniform((packed_batch, 1), seed=self.penalty_seed)

    def _interpolate(self, real, fake, alpha):
        """Points `real + alpha (fake - real)` between packed rows, for the gradient penalty."""
        return real + alpha * (fake - real)

    def train_step(self, *args):
        if keras.backend.backend() == "jax":
            from discrete_gan._jax_step import jax_train_step

            return jax_train_step(self, *args)
        if keras.backend.backend() == "tensorflow":
            from discrete_gan._tf_step import tf_train_step

            return tf_train_step(self, *args)
        raise NotImplementedError(
            f"GumbelGAN trains under the TensorFlow and JAX backends, not "
            f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow or jax."
        )


class _Untracked:
    """Holds a model that shares the generator's variables without Keras tracking it twice."""

    def __init__(self, model: keras.Model):
        self.model = model


def _stream(seed: int | None, stream: str) -> int | None:
    return None if seed is None else seeding.stream_seed(seed, stream)
