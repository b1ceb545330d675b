"""`ELBOScorer`: compiled per-row ELBOs of a trained VAE (a lower bound on log p(row))."""

from __future__ import annotations

import threading

import keras
import numpy as np
from keras import ops

from discrete_gan import seeding
from discrete_gan.sampling import _compile
from discrete_gan.vae_model import GumbelVAE

__all__ = ["EXACT_LATENTS", "ELBOScorer"]

# The exact ELBO enumerates the latent space: up to this many configurations.
EXACT_LATENTS = 4096
_BATCH = 65536  # rows x latent configurations per compiled call (bounds the memory)
_MIN_ROWS = 8  # the smallest padded batch: small requests share one compiled shape


class ELBOScorer:
    """`ELBO(x) = E_{z ~ q(z | x)}[log p(x | z)] - KL(q(z | x) || Uniform)` per row.

    The KL is analytic. The expectation is exact (every latent configuration weighted by
    q) when the latent space has at most `EXACT_LATENTS` configurations, else the mean over
    S draws of q by Gumbel-max with noise `(S, N * K)` shared by every row, so a row's score
    depends on the row, the weights and the seed only. Rows go through one compiled function
    (`tf.function` / `jax.jit`) in power-of-two batches of at least `_MIN_ROWS`, so few shapes
    are ever traced (each costs seconds under JAX).

    Args:
        vae: a `GumbelVAE` over the trained encoder and decoder (its networks are read, not
            trained).
    """

    def __init__(self, vae: GumbelVAE):
        self.vae = vae
        self.n = len(vae.latent.cardinalities)
        self.k = vae.latent_categories
        self._fns: dict[bool, object] = {}
        self._lock = threading.Lock()

    @property
    def configurations(self) -> int:
        """`K ** N`, the size of the latent space."""
        return self.k**self.n

    def all_latents(self) -> np.ndarray:
        """Every latent configuration as one-hot vectors `(K ** N, N * K)` float32."""
        grid = np.indices((self.k,) * self.n).reshape(self.n, -1).T
        return np.eye(self.k, dtype="float32")[grid].reshape(len(grid), self.n * self.k)

    def noise(self, n_samples: int, seed: int) -> np.ndarray:
        """Standard Gumbel noise `(n_samples, N * K)` float32 from `seed`'s "score" stream."""
        u = seeding.stream_rng(seed, "score").random((n_samples, self.n * self.k))
        return (-np.log(-np.log(np.clip(u, 1e-300, 1.0 - 1e-16)))).astype("float32")

    def _elbo(self, exact, enc, dec, codes, latents):
        """Traced: ELBOs `(b,)` of int codes `(b, n_columns)` given `latents` `(S, N * K)`."""
        vae, n, k = self.vae, self.n, self.k
        mapping = [
            *zip(vae.encoder.variables, enc),
            *zip(vae.decoder.variables, dec),
        ]
        with keras.StatelessScope(state_mapping=mapping):
            rows = vae.one_hot(codes)
            logits = vae.latent_logits(rows)
            b, s = ops.shape(rows)[0], ops.shape(latents)[0]
            logq = ops.log_softmax(ops.reshape(logits, (b, n, k)), axis=-1)
            kl = ops.sum(ops.exp(logq) * (logq + np.log(k).astype("float32")), axis=(1, 2))
            grid = ops.reshape(latents, (1, s, n, k))
            if exact:
                z = ops.broadcast_to(grid, (b, s, n, k))
                weights = ops.exp(ops.sum(ops.expand_dims(logq, 1) * z, axis=(2, 3)))
            else:
                noisy = ops.reshape(logits, (b, 1, n, k)) + grid
                z = ops.one_hot(ops.argmax(noisy, axis=-1), k)
                weights = ops.full((b, s), 1.0 / s)
            ll = vae.log_likelihood(ops.repeat(rows, s, axis=0), ops.reshape(z, (b * s, n * k)))
            return ops.sum(weights * ops.reshape(ll, (b, s)), axis=1) - ops.maximum(kl, 0.0)

    def _fn(self, exact: bool):
        with self._lock:
            if exact not in self._fns:
                self._fns[exact] = _compile(lambda *args: self._elbo(exact, *args))
            return self._fns[exact]

    def score(self, codes: np.ndarray, n_samples: int | None, seed: int) -> np.ndarray:
        """ELBOs `(n_rows,)` float64 of model-layout int codes `(n_rows, n_model_columns)`."""
        exact = n_samples is None and self.configurations <= EXACT_LATENTS
        latents = self.all_latents() if exact else self.noise(n_samples or 64, seed)
        step = 1 << max(0, (_BATCH // len(latents)).bit_length() - 1)
        fn = self._fn(exact)
        enc = [v.value for v in self.vae.encoder.variables]
        dec = [v.value for v in self.vae.decoder.variables]
        out = np.empty(len(codes), "float64")
        for i in range(0, len(codes), step):
            chunk = codes[i : i + step]
            padded = min(step, max(_MIN_ROWS, 1 << (len(chunk) - 1).bit_length()))
            batch = np.zeros((padded, codes.shape[1]), "int32")
            batch[: len(chunk)] = chunk
            values = fn(enc, dec, batch, latents)
            out[i : i + len(chunk)] = np.asarray(ops.convert_to_numpy(values), "float64")[
                : len(chunk)
            ]
        return out
