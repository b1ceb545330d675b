"""TensorFlow `train_step` for `GumbelGAN` (GradientTape)."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def _gradient_penalty(gan, real, fake):
    """WGAN-GP: mean((||d score / d x||_2 - 1)^2) on random real/fake interpolates."""
    x = gan._interpolate(real, fake, gan._alpha(ops.shape(real)[0]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = gan.discriminator(x, training=True)
    grads = tape.gradient(score, x)
    norm = ops.sqrt(ops.sum(ops.square(grads), axis=-1) + 1e-12)
    return ops.mean(ops.square(norm - 1.0))


def tf_train_step(gan, data):
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    gen, disc = gan.generator, gan.discriminator
    rows, cond = gan.prepare(x)
    real = gan.d_input(rows, cond)
    batch = ops.shape(rows)[0]
    if gan.schedule is not None:
        gan.heads.temperature.assign(gan._temperature())

    for _ in range(gan.d_steps):
        out = gen(gan.g_input(gan._noise(batch), cond), training=True)
        fake = gan.d_input(ops.stop_gradient(out["samples"]), cond)
        with tf.GradientTape() as tape:
            d_loss = gan._d_loss(disc(real, training=True), disc(fake, training=True))
            if gan.loss_name == "wgan-gp":
                d_loss += gan.gp_weight * _gradient_penalty(gan, real, fake)
        grads = tape.gradient(d_loss, disc.trainable_variables)
        gan.d_optimizer.apply(grads, disc.trainable_variables)

    for _ in range(gan.g_steps):
        with tf.GradientTape() as tape:
            z = gan._noise(batch)
            out = gen(gan.g_input(z, cond), training=True)
            fake_score = disc(gan.d_input(out["samples"], cond), training=True)
            g_loss = gan._g_loss(fake_score, out["probabilities"], gan.marginals, cond)
            if gan.likelihood_weight:
                hidden = gan.trunk(gan.g_input(z, cond), training=True)
                g_loss += gan._likelihood_loss(hidden, rows)
        grads = tape.gradient(g_loss, gen.trainable_variables)
        gan.g_optimizer.apply(grads, gen.trainable_variables)

    if gan.ema_weights:
        rate = gan._ema_rate(gan.step_counter)
        for ema, v in zip(gan.ema_weights, gen.trainable_variables):
            ema.assign(rate * ema + (1.0 - rate) * v)
    gan.step_counter.assign_add(1)
    gan.optimizer.iterations.assign_add(1)
    gan.d_loss_tracker.update_state(d_loss)
    gan.g_loss_tracker.update_state(g_loss)
    return {
        "d_loss": gan.d_loss_tracker.result(),
        "g_loss": gan.g_loss_tracker.result(),
        "temperature": ops.convert_to_tensor(gan.heads.temperature),
    }
