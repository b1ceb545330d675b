"""`CategoricalGAN`: fit a table of categorical columns, sample it, save and load it."""

from __future__ import annotations

from typing import Any

import keras

from discrete_gan import seeding
from discrete_gan.base import CategoricalSynthesizer, as_dataframe
from discrete_gan.config import GANConfig
from discrete_gan.gan import GumbelGAN
from discrete_gan.models import build_discriminator, build_generator, generator_heads
from discrete_gan.schema import TableSchema

__all__ = ["CategoricalGAN", "as_dataframe"]


class CategoricalGAN(CategoricalSynthesizer):
    """A Gumbel-Softmax GAN for tables of categorical columns (one column is a one-column table).

    Example:
        >>> model = CategoricalGAN(seed=0)
        >>> model.fit(df, epochs=20)
        >>> model.sample(1000, seed=1)          # DataFrame with the original labels
        >>> model.probabilities()["colour"]      # {"red": 0.31, ...}
        >>> model.save("models/colours"); CategoricalGAN.load("models/colours")

    Args:
        config: a `GANConfig`; keyword overrides replace its fields.
        seed: the training seed, an int in `[0, 2**63)`; None draws a fresh one from OS
            entropy (kept in `model.seed` and in the saved metadata, so a run can be
            repeated). Every training stream derives from it independently (`seeding`):
            weights, noise, Gumbel noise, dropout, gradient penalty, data order, conditions.
            The same seed and data give the same model on one machine and backend.

    Sampling, conditions, probabilities and persistence are `CategoricalSynthesizer`'s.
    """

    family = "gan"
    config_class = GANConfig

    @property
    def gan(self) -> GumbelGAN | None:
        """The adversarial training model (generator + discriminator), once built."""
        return self.trainer

    def build(self, schema: TableSchema | None = None) -> None:
        """Creates fresh networks and optimizers for `schema` (fit() calls this on first use)."""
        c, seed = self.config, self.seed
        self.schema = schema or self.schema
        if self.schema is None:
            raise ValueError("build() needs a schema: pass one, or call encode(data) first.")
        layout = self.layout
        if c.conditional and layout.splits:
            raise ValueError(
                "Training-by-sampling (conditional=True) does not support columns drawn in two "
                f"levels (more than split_above={c.split_above} labels). Conditions on them "
                "are still exact without it; or raise split_above."
            )
        keras.utils.set_random_seed(seeding.stream_seed(seed, "weights"))
        if self.generator is None:
            self.generator = build_generator(
                layout.cardinalities,
                noise_dim=c.noise_dim,
                hidden_units=c.generator_units,
                temperature=_initial_temperature(c.temperature),
                hard=c.hard,
                autoregressive=c.autoregressive,
                nested=layout.nested,
                condition_dim=layout.total_dim if c.conditional else 0,
                seed=seeding.stream_seed(seed, "gumbel"),
            )
            if layout.splits:
                heads = generator_heads(self.generator)
                heads.initialize_frequencies(
                    layout.marginals,
                    {layout.first[j] + 1: layout.member_log_frequencies(j) for j in layout.splits},
                )
        width = layout.total_dim * (2 if c.conditional else 1)
        disc = build_discriminator(
            width,
            c.discriminator_units,
            pac=c.pac,
            dropout=c.dropout,
            seed=seeding.stream_seed(seed, "dropout"),
        )
        self.trainer = GumbelGAN(
            self.generator,
            disc,
            noise_dim=c.noise_dim,
            loss=c.loss,
            d_steps=c.d_steps,
            g_steps=c.g_steps,
            pac=c.pac,
            gp_weight=c.gp_weight,
            temperature_schedule=c.temperature,
            marginals=layout.marginals,
            marginal_weight=c.marginal_weight,
            likelihood_weight=c.likelihood_weight,
            condition_weight=c.condition_weight,
            ema_momentum=c.ema_momentum,
            seed=seed,
        )
        adam = dict(beta_1=c.beta_1, beta_2=c.beta_2)
        self.trainer.compile(
            g_optimizer=keras.optimizers.Adam(c.learning_rate, **adam),
            d_optimizer=keras.optimizers.Adam(c.d_learning_rate or c.learning_rate, **adam),
        )
        self._sampler = None

    def _conditional_batches(self) -> dict | None:
        c = self.config
        if not c.conditional:
            return None
        return dict(
            cardinalities=self.layout.cardinalities,
            fraction=c.condition_fraction,
            weighting=c.condition_weighting,
        )

    def _after_fit(self) -> None:
        self.trainer.use_ema_weights()

    @classmethod
    def _config_from_metadata(cls, meta: dict, generator: keras.Model) -> GANConfig:
        config = GANConfig.from_dict(meta.get("config", {}))
        autoregressive = generator_heads(generator).autoregressive
        if config.autoregressive != autoregressive:  # saved before the option existed
            config = config.replace(autoregressive=autoregressive)
        if "split_above" not in meta.get("config", {}):  # saved before two-level columns
            config = config.replace(split_above=None)
        return config


def _initial_temperature(temperature: Any) -> float:
    if isinstance(temperature, int | float):
        return float(temperature)
    from discrete_gan import schedules

    return float(schedules.get(temperature).value(0))
