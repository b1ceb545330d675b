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
from discrete_gan.scoring import ELBOScorer
from discrete_gan.vae_config import VAEConfig
from discrete_gan.vae_model import ENCODER_FILE, GumbelVAE, build_encoder, encoder_latent
from discrete_gan.validation import check_int, check_optional_int

__all__ = ["CategoricalVAE", "ScoreError"]


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
        self._scorer: ELBOScorer | None = None

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
            self.encoder,
            self.generator,
            temperature_schedule=c.temperature,
            kl_weight=c.kl_weight,
            ema_momentum=c.ema_momentum,
        )
        self.trainer.compile(
            optimizer=keras.optimizers.Adam(
                c.learning_rate,
                beta_1=c.beta_1,
                beta_2=c.beta_2,
            )
        )
        self._sampler = None

    def _after_fit(self) -> None:
        self.trainer.use_ema_weights()
        # `iter_relaxed` defaults to the generator's temperature: the latent's final one.
        tau = ops.convert_to_numpy(encoder_latent(self.encoder).temperature)
        generator_heads(self.generator).temperature.assign(tau)

    # ------------------------------------------------------------ scoring
    def _score_codes(self, data: Any) -> np.ndarray:
        """Rows -> codes in the schema, strictly: every cell must be a label the model knows,
        except that under placeholder protection a label a protected column lacks scores as
        the placeholder (the model keeps no list of its rare labels, by design)."""
        if isinstance(data, EncodedTable):
            if data.schema != self.schema:
                raise ScoreError("The EncodedTable's schema differs from this model's schema.")
            return data.codes
        df = as_dataframe(data)
        absent = [name for name in self.schema.names if name not in df.columns]
        if absent:
            raise ScoreError(f"The rows lack the model's column(s) {absent}.")
        report = self.metadata.get("rare_labels") or {}
        try:
            if report.get("mode") == "placeholder":  # what `encode` does for later rows
                codes = self.encode(df).codes
            else:
                codes = self.schema.encode(df)
        except (ValueError, TypeError) as e:
            raise ScoreError(str(e)) from None
        if len(codes) != len(df):
            raise ScoreError(
                f"{len(df) - len(codes)} row(s) have missing cells, which this model's schema "
                "drops (missing='drop'): such rows cannot be scored."
            )
        return codes

    def score(self, data: Any, n_samples: int | None = None, seed: int = 0) -> np.ndarray:
        """The ELBO of each row, `(n_rows,)` float64 nats: a lower bound on `log p(row)`.

        `ELBO(x) = E_{z ~ q(z | x)}[log p(x | z)] - KL(q(z | x) || p(z))`, with the KL exact
        and, by default, the expectation exact too when the latent space has at most
        `discrete_gan.scoring.EXACT_LATENTS` configurations, else a mean over 64 exact draws
        of `q` (Gumbel-max).
        `n_samples` forces that many draws. The draws' Gumbel noise comes from `seed`'s
        "score" stream and is the same for every row, so a row's score depends on the row,
        the weights and `seed` only (not on the other rows of the request). Every ELBO is
        finite and <= 0 (the model is a distribution over labels).

        Raises `ScoreError` (a ValueError) naming the column and label for labels the model
        does not know. Under rare-label protection in placeholder mode, a label a protected
        column lacks is scored as the placeholder: the bound is then on the probability of
        "one of the rare labels" (the model keeps no list of them, so it cannot tell a rare
        label from a new one there).
        """
        self._check_fitted()
        if self.encoder is None:
            raise RuntimeError("This CategoricalVAE has no encoder: fit() or load() it first.")
        n_samples = check_optional_int("n_samples", n_samples, 1)
        seed = check_int("seed", seed, 0)
        codes = self.layout.to_model(self._score_codes(data))
        return self.scorer.score(codes, n_samples, seed)

    @property
    def scorer(self) -> ELBOScorer:
        """The compiled ELBO of this model's networks (see `discrete_gan.scoring`)."""
        if self._scorer is None or self._scorer.vae.encoder is not self.encoder:
            vae = self.trainer
            if vae is None or vae.encoder is not self.encoder:
                c = self.config
                vae = GumbelVAE(self.encoder, self.generator, c.temperature, c.kl_weight)
            self._scorer = ELBOScorer(vae)
        return self._scorer

    # -------------------------------------------------------- persistence
    def _artifact_models(self) -> dict[str, keras.Model]:
        return {ENCODER_FILE: self.encoder}

    def _load_extra(self, directory: str | os.PathLike) -> None:
        self.encoder = load_model_file(directory, ENCODER_FILE)
