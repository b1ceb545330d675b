"""`CategoricalPrior`: the VAE decoder's first layer, turning noise into prior latent draws."""

from __future__ import annotations

import keras
from keras import ops

from discrete_gan.validation import check_int

__all__ = ["CategoricalPrior", "latent_kl"]


@keras.saving.register_keras_serializable(package="discrete_gan")
class CategoricalPrior(keras.layers.Layer):
    """Exact draws of `N` uniform categorical latents of `K` classes from Gaussian noise.

    The VAE's prior is `p(z) = prod_n Uniform(K)`. Its Gumbel-max draw is
    `argmax_k(0 + g_nk)` with `g = -log(-log u)`; any iid continuous noise gives the same
    law, because the argmax of exchangeable draws is uniform and `g = -log(-log Phi(e))` is
    increasing in a standard normal `e`. Taking the argmax of the `Sampler`'s Gaussian noise
    directly keeps the VAE's generator `noise -> latents -> decoder -> heads` a drop-in for
    the GAN's: same noise streams, same seeding, same prefix-stable rows.

    Args:
        latent_variables: N, the number of latent variables.
        latent_categories: K, the classes of each.

    Input shape: `(batch, N * K)` noise. Output: `(batch, N * K)`, one one-hot block of K
    per latent variable.
    """

    def __init__(self, latent_variables: int, latent_categories: int, **kwargs):
        super().__init__(**kwargs)
        self.latent_variables = check_int("latent_variables", latent_variables, 1)
        self.latent_categories = check_int("latent_categories", latent_categories, 2)

    def call(self, noise):
        n, k = self.latent_variables, self.latent_categories
        codes = ops.argmax(ops.reshape(noise, (-1, n, k)), axis=-1)
        return ops.reshape(ops.one_hot(codes, k, dtype=noise.dtype), (-1, n * k))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.latent_variables * self.latent_categories)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            latent_variables=self.latent_variables, latent_categories=self.latent_categories
        )
        return config


def latent_kl(logits, latent_categories: int):
    """`KL(q(z | x) || Uniform)` per row `(batch,)` for latent logits `(batch, N * K)`.

    `sum_n sum_k q_nk (log q_nk + log K)`: analytic, so the ELBO's only Monte-Carlo part is
    the reconstruction term.
    """
    k = latent_categories
    logq = ops.log_softmax(ops.reshape(logits, (ops.shape(logits)[0], -1, k)), axis=-1)
    kl = ops.sum(ops.exp(logq) * (logq + ops.log(float(k))), axis=-1)
    return ops.sum(kl, axis=-1)
