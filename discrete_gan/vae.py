"""`CategoricalVAE`: the Gumbel-Softmax VAE family, and the per-row ELBO score it serves."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
from keras import ops

from discrete_gan import schedules, seeding
from discrete_gan.artifacts import load_model_file
from discrete_gan.base import CategoricalSynthesizer, as_dataframe
from discrete_gan.models import build_generator, generator_heads
from discrete_gan.schema import EncodedTable, TableSchema
from discrete_gan.vae_config import VAEConfig
from discrete_gan.vae_model import ENCODER_FILE, GumbelVAE, build_encoder, encoder_latent
from discrete_gan.validation import check_int, check_optional_int

__all__ = ["EXACT_LATENTS", "CategoricalVAE", "ScoreError"]

# The exact ELBO enumerates the latent space: up to this many configurations.
EXACT_LATENTS = 4096
_SCORE_BATCH = 65536  # rows x latent draws per decoder pass (bounds scoring memory)


class ScoreError(ValueError):
    """Rows that cannot be scored (unknown column or label, a missing cell the schema drops)."""


class CategoricalVAE(CategoricalSynthesizer):
    """A categorical VAE with Gumbel-Softmax latents (Jang et al. 2017) for tables.

    Trains an encoder `q(z | x)` over `N` categorical latents of `K` classes and a decoder
    `p(x | z)` by the ELBO. Samples are drawn like the GAN's, through `Sampler`: prior latents
    (`CategoricalPrior`) -> decoder -> per-column Gumbel-max, with the same seeding, prefix
    stability, conditions and learned probabilities. What a GAN cannot give: `score(rows)`,
    a lower bound on each row's `log p(row)`.

    Example:
        >>> model = CategoricalVAE(seed=0)
        >>> model.fit(df)
        >>> model.sample(1000, seed=1)
        >>> model.score(df.head())       # per-row ELBO in nats, each <= 0

    Args:
        config: a `VAEConfig`; keyword overrides replace its fields.
        seed: the training seed (None: fresh from OS entropy, kept in `model.seed`). The
            weights, the latent Gumbel noise and the data order are independent streams of it.
    """

    family = "vae"
    config_class = VAEConfig

    def __init__(self, config: VAEConfig | None = None, *, seed: int | None = None, **overrides):
        super().__init__(config, seed=seed, **overrides)
        self.encoder: keras.Model | None = None
        self._scorer: GumbelVAE | None = None

    @property
    def vae(self) -> GumbelVAE | None:
        """The training model (encoder + decoder), once built."""
        return self.trainer

    def build(self, schema: TableSchema | None = None) -> None:
        """Creates fresh networks and the optimizer for `schema` (fit() calls this on first use).

        A model loaded for sampling keeps its decoder and encoder and trains them further.
        """
        c, seed = self.config, self.seed
        self.schema = schema or self.schema
        if self.schema is None:
            raise ValueError("build() needs a schema: pass one, or call encode(data) first.")
        layout = self.layout
        keras.utils.set_random_seed(seeding.stream_seed(seed, "weights"))
        tau = schedules.get(c.temperature).value(0)
        if self.generator is None:
            self.generator = build_generator(
                layout.cardinalities,
                noise_dim=c.latent_dim,
                hidden_units=c.decoder_units,
                temperature=tau,
                hard=True,
                autoregressive=c.autoregressive,
                nested=layout.nested,
                seed=seeding.stream_seed(seed, "gumbel"),
                latent=(c.latent_variables, c.latent_categories),
                name="decoder",
            )
            # Every output bias starts at the data's log-frequencies: the decoder's first
            # guess is the marginals, and the latents only have to explain what is left.
            heads = generator_heads(self.generator)
            heads.bias.assign(np.log(np.maximum(layout.marginals, 1e-12)).astype("float32"))
            if layout.splits:
                heads.initialize_frequencies(
                    layout.marginals,
                    {layout.first[j] + 1: layout.member_log_frequencies(j) for j in layout.splits},
                )
        if self.encoder is None:
            self.encoder = build_encoder(
                layout.total_dim,
                c.latent_variables,
                c.latent_categories,
                c.encoder_units,
                temperature=tau,
                hard=c.hard,
                seed=seeding.stream_seed(seed, "latent"),
            )
        self.trainer = GumbelVAE(
            self.encoder, self.generator, temperature_schedule=c.temperature, kl_weight=c.kl_weight
        )
        self.trainer.compile(
            optimizer=keras.optimizers.Adam(
                c.learning_rate,
                beta_1=c.beta_1,
                beta_2=c.beta_2,
                use_ema=c.ema_momentum > 0,
                ema_momentum=c.ema_momentum or 0.99,
            )
        )
        self._sampler = None

    def _after_fit(self) -> None:
        # `iter_relaxed` defaults to the generator's temperature: the latent's final one.
        tau = ops.convert_to_numpy(encoder_latent(self.encoder).temperature)
        generator_heads(self.generator).temperature.assign(tau)

    # ------------------------------------------------------------ scoring
    def _score_codes(self, data: Any) -> np.ndarray:
        if isinstance(data, EncodedTable):
            if data.schema != self.schema:
                raise ScoreError("The EncodedTable's schema differs from this model's schema.")
            return data.codes
        df = as_dataframe(data)
        try:
            codes = self.schema.encode(df)
        except (ValueError, TypeError) as e:
            hint = ""
            report = self.metadata.get("rare_labels") or {}
            if report.get("mode") == "placeholder":
                hint = (
                    f" (labels seen too rarely in training are stored as "
                    f"{report.get('placeholder')!r}: score them as that label)"
                )
            raise ScoreError(f"{e}{hint}") from None
        if len(codes) != len(df):
            raise ScoreError(
                f"{len(df) - len(codes)} row(s) have missing cells, which this model's schema "
                "drops (missing='drop'): such rows cannot be scored."
            )
        return codes

    def latent_configurations(self) -> int:
        """`K ** N`, the size of the latent space (the exact ELBO enumerates it)."""
        return self.config.latent_categories**self.config.latent_variables

    def score(self, data: Any, n_samples: int | None = None, seed: int = 0) -> np.ndarray:
        """The ELBO of each row, `(n_rows,)` float64 nats: a lower bound on `log p(row)`.

        `ELBO(x) = E_{z ~ q(z | x)}[log p(x | z)] - KL(q(z | x) || p(z))`, with the KL exact
        and, by default, the expectation exact too when the latent space has at most
        `EXACT_LATENTS` configurations, else a mean over 64 exact draws of `q` (Gumbel-max).
        `n_samples` forces that many draws. The draws' Gumbel noise comes from `seed`'s
        "score" stream and is the same for every row, so a row's score depends on the row,
        the weights and `seed` only (not on the other rows of the request). Every ELBO is
        finite and <= 0 (the model is a distribution over labels).

        Raises `ScoreError` (a ValueError) naming the column and label for labels the model
        does not know.
        """
        self._check_fitted()
        if self.encoder is None:
            raise RuntimeError("This CategoricalVAE has no encoder: fit() or load() it first.")
        n_samples = check_optional_int("n_samples", n_samples, 1)
        seed = check_int("seed", seed, 0)
        codes = self.layout.to_model(self._score_codes(data))
        exact = n_samples is None and self.latent_configurations() <= EXACT_LATENTS
        latents = self._all_latents() if exact else self._draw_noise(n_samples or 64, seed)
        step = max(1, _SCORE_BATCH // len(latents))
        out = np.empty(len(codes), "float64")
        for i in range(0, len(codes), step):
            out[i : i + step] = self._score_chunk(codes[i : i + step], latents, exact)
        return out

    def _all_latents(self) -> np.ndarray:
        """Every latent configuration as one-hot vectors `(K ** N, N * K)`."""
        n, k = self.config.latent_variables, self.config.latent_categories
        grid = np.indices((k,) * n).reshape(n, -1).T
        return np.eye(k, dtype="float32")[grid].reshape(len(grid), n * k)

    def _draw_noise(self, n_samples: int, seed: int) -> np.ndarray:
        rng = seeding.stream_rng(seed, "score")
        u = rng.random((n_samples, self.config.latent_dim), dtype="float64")
        return (-np.log(-np.log(np.clip(u, 1e-300, 1.0 - 1e-16)))).astype("float32")

    def _score_chunk(self, codes: np.ndarray, latents: np.ndarray, exact: bool) -> np.ndarray:
        """ELBOs of a chunk of rows: `latents` are every configuration `(K ** N, N * K)`
        (weighted by q) when `exact`, else shared Gumbel noise `(S, N * K)` whose
        blockwise argmax with q's logits draws from q."""
        vae = self.trainer or self._scoring_model()
        n, k = self.config.latent_variables, self.config.latent_categories
        rows = vae.one_hot(ops.convert_to_tensor(codes.astype("int32")))
        logits = ops.convert_to_numpy(vae.latent_logits(rows))
        b, s = len(codes), len(latents)
        logq = _log_softmax(logits.reshape(b, n, k).astype("float64"))
        kl = np.sum(np.exp(logq) * (logq + np.log(k)), axis=(1, 2))
        kl = np.maximum(kl, 0.0)  # >= 0 exactly; float rounding only
        if exact:
            z = np.broadcast_to(latents, (b, s, n * k))
            weights = np.exp(np.einsum("bnk,snk->bs", logq, latents.reshape(s, n, k)))
        else:
            noisy = logits.reshape(b, 1, n, k) + latents.reshape(1, s, n, k)
            z = np.eye(k, dtype="float32")[noisy.argmax(-1)].reshape(b, s, n * k)
            weights = np.full((b, s), 1.0 / s)
        tiled = ops.repeat(rows, s, axis=0)
        ll = vae.log_likelihood(tiled, ops.convert_to_tensor(z.reshape(b * s, n * k)))
        ll = np.asarray(ops.convert_to_numpy(ll), "float64").reshape(b, s)
        return np.sum(weights * ll, axis=1) - kl

    def _scoring_model(self) -> GumbelVAE:
        """A `GumbelVAE` over the loaded networks (no optimizer): what scoring evaluates."""
        if self._scorer is None or self._scorer.encoder is not self.encoder:
            c = self.config
            self._scorer = GumbelVAE(
                self.encoder,
                self.generator,
                temperature_schedule=c.temperature,
                kl_weight=c.kl_weight,
            )
        return self._scorer

    # -------------------------------------------------------- persistence
    def _artifact_models(self) -> dict[str, keras.Model]:
        return {ENCODER_FILE: self.encoder}

    def _load_extra(self, directory: str | os.PathLike) -> None:
        self.encoder = load_model_file(directory, ENCODER_FILE)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
