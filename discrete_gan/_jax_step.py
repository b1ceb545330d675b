"""JAX `train_step` for `GumbelGAN` (stateless_call + jax.value_and_grad).

The JAX trainer passes the model state explicitly as
`(trainable, non_trainable, optimizer, metrics)` value lists and expects the updated lists
back. Every random draw and variable write therefore happens inside a `StatelessScope` fed with
those values, and the updated seed states are returned: reusing the old ones would give every
step the same noise.
"""

from __future__ import annotations

import jax
import keras
from keras import StatelessScope, ops


def _indices(variables, subset) -> list[int]:
    position = {id(v): i for i, v in enumerate(variables)}
    return [position[id(v)] for v in subset]


class _Plan:
    """Where each network's variables sit inside the trainer's flat state lists."""

    def __init__(self, gan):
        gen, disc, opt = gan.generator, gan.discriminator, gan.optimizer
        self.g_tv = _indices(gan.trainable_variables, gen.trainable_variables)
        self.d_tv = _indices(gan.trainable_variables, disc.trainable_variables)
        self.g_ntv = _indices(gan.non_trainable_variables, gen.non_trainable_variables)
        self.d_ntv = _indices(gan.non_trainable_variables, disc.non_trainable_variables)
        self.temperature = _indices(gan.non_trainable_variables, [gan.heads.temperature])[0]
        self.step = _indices(gan.non_trainable_variables, [gan.step_counter])[0]
        self.marginals = _indices(gan.non_trainable_variables, [gan.marginals])[0]
        self.ema = _indices(gan.non_trainable_variables, gan.ema_weights)
        self.g_ov = _indices(opt.variables, gan.g_optimizer.variables)
        self.d_ov = _indices(opt.variables, gan.d_optimizer.variables)
        self.iterations = _indices(opt.variables, [opt.iterations])[0]


def _take(values, idx):
    return [values[i] for i in idx]


def _put(values, idx, new):
    for i, v in zip(idx, new, strict=True):
        values[i] = v


def _draw(gan, ntv, batch):
    """Draws all of one step's noise (and the temperature) from the model's seed state."""
    n_alpha = gan.d_steps if gan.loss_name == "wgan-gp" else 0
    variables = gan.non_trainable_variables
    with StatelessScope(state_mapping=list(zip(variables, ntv))) as scope:
        tau = gan._temperature() if gan.schedule is not None else None
        z_d = [gan._noise(batch) for _ in range(gan.d_steps)]
        z_g = [gan._noise(batch) for _ in range(gan.g_steps)]
        alphas = [gan._alpha(batch // gan.pac) for _ in range(n_alpha)]
    new = [scope.get_current_value(v) for v in variables]
    ntv = [old if n is None else n for old, n in zip(ntv, new)]
    return ntv, tau, z_d, z_g, alphas


def jax_train_step(gan, state, data):
    if not hasattr(gan, "_jax_plan"):
        gan._jax_plan = _Plan(gan)
    p = gan._jax_plan
    gen, disc = gan.generator, gan.discriminator
    tv, ntv, ov, mv = (list(s) for s in state)
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    rows, cond = gan.prepare(x)
    real = gan.d_input(rows, cond)
    ntv, tau, z_d, z_g, alphas = _draw(gan, ntv, rows.shape[0])
    if tau is not None:
        ntv[p.temperature] = tau
    g_tv, d_tv = _take(tv, p.g_tv), _take(tv, p.d_tv)
    g_ntv, d_ntv = _take(ntv, p.g_ntv), _take(ntv, p.d_ntv)
    g_ov, d_ov = _take(ov, p.g_ov), _take(ov, p.d_ov)

    for i, z in enumerate(z_d):
        out, g_ntv = gen.stateless_call(g_tv, g_ntv, gan.g_input(z, cond), training=True)
        fake = gan.d_input(jax.lax.stop_gradient(out["samples"]), cond)

        def d_loss_fn(d_tv, d_ntv, fake=fake, i=i):
            real_score, d_ntv = disc.stateless_call(d_tv, d_ntv, real, training=True)
            fake_score, d_ntv = disc.stateless_call(d_tv, d_ntv, fake, training=True)
            loss = gan._d_loss(real_score, fake_score)
            if gan.loss_name == "wgan-gp":
                x = gan._interpolate(real, fake, alphas[i])

                def total_score(x):
                    return ops.sum(disc.stateless_call(d_tv, d_ntv, x, training=True)[0])

                grads = jax.grad(total_score)(x)
                norm = ops.sqrt(ops.sum(ops.square(grads), axis=-1) + 1e-12)
                loss = loss + gan.gp_weight * ops.mean(ops.square(norm - 1.0))
            return loss, d_ntv

        (d_loss, d_ntv), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_tv, d_ntv)
        d_tv, d_ov = gan.d_optimizer.stateless_apply(d_ov, grads, d_tv)

    for z in z_g:

        def g_loss_fn(g_tv, g_ntv, d_ntv, z=z):
            out, g_ntv = gen.stateless_call(g_tv, g_ntv, gan.g_input(z, cond), training=True)
            fake = gan.d_input(out["samples"], cond)
            fake_score, d_ntv = disc.stateless_call(d_tv, d_ntv, fake, training=True)
            loss = gan._g_loss(fake_score, out["probabilities"], ntv[p.marginals], cond)
            if gan.likelihood_weight:
                mapping = [
                    *zip(gen.trainable_variables, g_tv),
                    *zip(gen.non_trainable_variables, g_ntv),
                ]
                with StatelessScope(state_mapping=mapping):
                    hidden = gan.trunk(gan.g_input(z, cond), training=True)
                    loss = loss + gan._likelihood_loss(hidden, rows)
            return loss, (g_ntv, d_ntv)

        (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
            g_tv, g_ntv, d_ntv
        )
        g_tv, g_ov = gan.g_optimizer.stateless_apply(g_ov, grads, g_tv)

    _put(tv, p.g_tv, g_tv)
    _put(tv, p.d_tv, d_tv)
    _put(ntv, p.g_ntv, g_ntv)
    _put(ntv, p.d_ntv, d_ntv)
    _put(ov, p.g_ov, g_ov)
    _put(ov, p.d_ov, d_ov)
    if p.ema:
        rate = gan._ema_rate(ntv[p.step])
        for i, v in zip(p.ema, g_tv):
            ntv[i] = rate * ntv[i] + (1.0 - rate) * v
    ntv[p.step] = ntv[p.step] + 1
    ov[p.iterations] = ov[p.iterations] + 1

    with StatelessScope(state_mapping=list(zip(gan.metrics_variables, mv))) as scope:
        gan.d_loss_tracker.update_state(d_loss)
        gan.g_loss_tracker.update_state(g_loss)
        logs = {"d_loss": gan.d_loss_tracker.result(), "g_loss": gan.g_loss_tracker.result()}
    new_mv = [scope.get_current_value(v) for v in gan.metrics_variables]
    mv = [old if n is None else n for old, n in zip(mv, new_mv)]
    logs["temperature"] = ntv[p.temperature]
    return logs, (tv, ntv, ov, mv)
