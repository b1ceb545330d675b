"""`CategoricalGAN`: fit a table of categorical columns, sample it, save and load it."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from discrete_gan import __version__
from discrete_gan.artifacts import load_artifact, save_artifact
from discrete_gan.conditional import (
    ConditionalResult,
    conditional_probabilities,
    sample_conditional,
    training_pairs,
)
from discrete_gan.config import GANConfig
from discrete_gan.gan import GumbelGAN
from discrete_gan.models import build_discriminator, build_generator, generator_heads
from discrete_gan.sampling import Sampler
from discrete_gan.schema import TableSchema

__all__ = ["CategoricalGAN", "as_dataframe"]


def as_dataframe(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, Series, 1-D sequence (one column "value") or 2-D array."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=data.name if data.name is not None else "value")
    arr = np.asarray(data, dtype=object)
    if arr.ndim == 1:
        return pd.DataFrame({"value": pd.Series(list(data))})
    if arr.ndim == 2:
        return pd.DataFrame(np.asarray(data), columns=[f"col_{i}" for i in range(arr.shape[1])])
    raise ValueError(
        f"Expected a DataFrame, Series, 1-D or 2-D array. Received an array of shape {arr.shape}"
    )


class CategoricalGAN:
    """A Gumbel-Softmax GAN for tables of categorical columns (one column is a one-column table).

    Example:
        >>> model = CategoricalGAN(seed=0)
        >>> model.fit(df, epochs=20)
        >>> model.sample(1000, seed=1)          # DataFrame with the original labels
        >>> model.probabilities()["colour"]      # {"red": 0.31, ...}
        >>> model.save("models/colours"); CategoricalGAN.load("models/colours")

    Args:
        config: a `GANConfig`; keyword overrides replace its fields.
        seed: seeds weights, noise and the data order; same seed and data give the same model
            on one machine and backend.
    """

    def __init__(self, config: GANConfig | None = None, *, seed: int | None = None, **overrides):
        config = config or GANConfig()
        self.config = config.replace(**overrides) if overrides else config
        self.seed = seed
        self.schema: TableSchema | None = None
        self.generator: keras.Model | None = None
        self.gan: GumbelGAN | None = None
        self.metadata: dict = {}
        self._sampler: Sampler | None = None

    # ------------------------------------------------------------ building
    def build(self, schema: TableSchema) -> None:
        """Creates fresh networks and optimizers for `schema` (fit() calls this on first use)."""
        c, seed = self.config, self.seed
        if seed is not None:
            keras.utils.set_random_seed(seed)
        self.schema = schema
        self.generator = self.generator or build_generator(
            schema.cardinalities,
            noise_dim=c.noise_dim,
            hidden_units=c.generator_units,
            temperature=_initial_temperature(c.temperature),
            hard=c.hard,
            condition_dim=schema.total_dim if c.conditional else 0,
            seed=seed,
        )
        width = schema.total_dim * (2 if c.conditional else 1)
        disc = build_discriminator(
            width, c.discriminator_units, pac=c.pac, dropout=c.dropout, seed=seed
        )
        marginals = np.concatenate([np.asarray(col.frequencies) for col in schema.columns])
        self.gan = GumbelGAN(
            self.generator,
            disc,
            noise_dim=c.noise_dim,
            loss=c.loss,
            d_steps=c.d_steps,
            g_steps=c.g_steps,
            pac=c.pac,
            gp_weight=c.gp_weight,
            temperature_schedule=c.temperature,
            marginals=marginals,
            marginal_weight=c.marginal_weight,
            condition_weight=c.condition_weight,
            ema_momentum=c.ema_momentum,
            seed=seed,
        )
        adam = dict(beta_1=c.beta_1, beta_2=c.beta_2)
        self.gan.compile(
            g_optimizer=keras.optimizers.Adam(c.learning_rate, **adam),
            d_optimizer=keras.optimizers.Adam(c.d_learning_rate or c.learning_rate, **adam),
        )
        self._sampler = None

    def _training_rows(self, codes: np.ndarray, steps_per_epoch: int | None) -> Any:
        """Rows for one `fit` epoch: the data padded (or resampled) to whole batches, or for a
        conditional model `{"codes", "condition"}` from training-by-sampling."""
        c = self.config
        rng = np.random.default_rng(self.seed)
        n = len(codes)
        total = (steps_per_epoch or -(-n // c.batch_size)) * c.batch_size
        if c.conditional:
            rows, index = training_pairs(
                codes,
                self.schema.cardinalities,
                total,
                rng,
                fraction=c.condition_fraction,
                weighting=c.condition_weighting,
            )
            return {"codes": codes[rows], "condition": index}
        if total <= n:
            return codes[rng.permutation(n)[:total]]
        extra = rng.integers(0, n, size=total - n)
        return np.concatenate([codes, codes[extra]])

    # ------------------------------------------------------------- training
    def fit(
        self,
        data: Any,
        epochs: int = 50,
        *,
        columns: Sequence[str] | None = None,
        steps_per_epoch: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: Any = 0,
        initial_epoch: int = 0,
    ) -> keras.callbacks.History:
        """Trains on a table; a second call continues training the same model.

        Args:
            data: DataFrame, Series, or 1-D/2-D array of labels; every selected column is
                treated as categorical.
            epochs: passes over the data (the last batch is filled by resampling).
            columns: subset of columns to model (default: all).
            steps_per_epoch: batches per epoch, resampling rows with replacement when more
                than the data holds (useful for tiny tables).
            callbacks: Keras callbacks (progress bar, CSVLogger, EarlyStopping on "tvd" with
                `FidelityMonitor`, ...).
            verbose: passed to `keras.Model.fit`.
            initial_epoch: epoch to resume from.

        Returns:
            The Keras `History` (d_loss, g_loss, temperature and any callback logs per epoch).
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(
                f"Invalid value for `epochs`. Expected an int >= 1. Received: {epochs}"
            )
        if steps_per_epoch is not None and (
            not isinstance(steps_per_epoch, int) or steps_per_epoch < 1
        ):
            raise ValueError(
                "Invalid value for `steps_per_epoch`. Expected an int >= 1. "
                f"Received: {steps_per_epoch}"
            )
        df = as_dataframe(data)
        if self.schema is None:
            schema = TableSchema.from_dataframe(
                df, columns, missing=self.config.missing, max_categories=self.config.max_categories
            )
            self.build(schema)
        elif self.gan is None:  # loaded for sampling: fine-tune with a fresh discriminator
            self.build(self.schema)
        codes = self.schema.encode(df)
        if len(codes) < 2:
            raise ValueError(f"Need at least 2 rows to train. Received: {len(codes)} usable row(s)")
        started = _dt.datetime.now(_dt.UTC)
        history = self.gan.fit(
            self._training_rows(codes, steps_per_epoch),
            batch_size=self.config.batch_size,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            shuffle=True,
            callbacks=list(callbacks or []),
            verbose=verbose,
        )
        self.gan.use_ema_weights()
        self._sampler = None
        self.metadata.update(
            {
                "rows": int(len(codes)),
                "epochs": int(initial_epoch + len(history.epoch)),
                "trained_at": started.isoformat(),
                "train_seconds": (_dt.datetime.now(_dt.UTC) - started).total_seconds(),
            }
        )
        return history

    # ------------------------------------------------------------- sampling
    def _check_fitted(self) -> None:
        if self.generator is None or self.schema is None:
            raise RuntimeError("This CategoricalGAN is not fitted yet: call fit() or load() first.")

    @property
    def sampler(self) -> Sampler:
        self._check_fitted()
        if self._sampler is None:
            self._sampler = Sampler(self.generator)
        return self._sampler

    def iter_samples(
        self, n: int, seed: int = 0, *, temperature: float | None = None, relaxed: bool = False
    ) -> Iterator[pd.DataFrame | tuple[pd.DataFrame, np.ndarray]]:
        """Yields DataFrames of at most `Sampler.chunk_size` rows (bounded memory for large n).

        With `relaxed=True` yields `(frame, vectors)` where `vectors` `(m, sum(k))` are the rows'
        Gumbel-Softmax vectors at `temperature` (default: the generator's final temperature).
        """
        self._check_fitted()
        tau = self.temperature if temperature is None else temperature
        for codes, soft in self.sampler.iter_codes(n, seed, temperature=tau, relaxed=relaxed):
            frame = self.schema.decode(codes)
            yield (frame, soft) if relaxed else frame

    def sample(
        self,
        n: int,
        seed: int = 0,
        *,
        temperature: float | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """`n` synthetic rows with the original labels and dtypes.

        Labels are exact draws (Gumbel-max) from the learned distribution, so they do not depend
        on `temperature`, which only shapes relaxed vectors (see `iter_samples`); it is
        validated here for API symmetry. Same weights + seed + n give identical rows.

        `where={"column": label or [labels], ...}` returns only rows satisfying ALL conditions,
        drawn from the learned conditional distribution (see `sample_where`).
        """
        if where is not None:
            return self.schema.decode(self.sample_where(n, where, seed=seed).codes)
        frames = list(self.iter_samples(n, seed, temperature=temperature))
        if not frames:
            return self.schema.decode(np.zeros((0, len(self.schema.columns)), "int32"))
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def sample_where(
        self, n: int, where: Mapping[str, Any], seed: int = 0, max_draws: int = 2_000_000
    ) -> ConditionalResult:
        """Conditional sampling: codes of `n` rows satisfying `where`, plus the acceptance rate.

        Raises `ConditionError` (a ValueError) for an unknown column or label, or when the
        conditions are too unlikely to reach `n` rows within `max_draws` noise draws.
        """
        self._check_fitted()
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"Invalid value for `n`. Expected an int >= 0. Received: n={n}")
        return sample_conditional(self.sampler, self.schema, n, where, seed, max_draws)

    @property
    def temperature(self) -> float:
        """The generator's current Gumbel-Softmax temperature."""
        self._check_fitted()
        return float(keras.ops.convert_to_numpy(generator_heads(self.generator).temperature))

    def probabilities(
        self,
        n_samples: int = 32768,
        seed: int = 0,
        given: Mapping[str, Any] | None = None,
    ) -> dict[str, dict[Any, float]]:
        """Learned marginals `{column: {label: P(column = label)}}`, optionally conditional.

        `P(col = c) = E_z[softmax(logits_col(z))_c]`, estimated by Monte-Carlo over `n_samples`
        seeded noise draws; it equals the long-run frequency of `sample()`. With
        `given={"column": label or [labels]}` returns `P(col = c | given)`, the long-run
        frequency of `sample(where=given)`.
        """
        self._check_fitted()
        if given:
            flat = conditional_probabilities(self.sampler, self.schema, given, n_samples, seed)
            return self._split(flat)
        return self._split(self.sampler.mean_probabilities(n_samples, seed=seed))

    def _split(self, flat: np.ndarray) -> dict[str, dict[Any, float]]:
        out, start = {}, 0
        for col in self.schema.columns:
            block = flat[start : start + col.cardinality]
            out[col.name] = {label: float(p) for label, p in zip(col.categories, block)}
            start += col.cardinality
        return out

    # ---------------------------------------------------------- persistence
    def artifact_metadata(self) -> dict:
        return {
            **self.metadata,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "temperature": self.temperature,
            "versions": {
                "discrete_gan": __version__,
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
            },
        }

    def save(self, directory: str | os.PathLike, overwrite: bool = False) -> None:
        """Writes the model directory (generator.keras, schema.json, metadata.json) atomically."""
        self._check_fitted()
        save_artifact(
            directory, self.generator, self.schema, self.artifact_metadata(), overwrite=overwrite
        )

    @classmethod
    def load(cls, directory: str | os.PathLike) -> CategoricalGAN:
        """Loads a saved model (safe_mode=True) for sampling, under any backend."""
        generator, schema, meta = load_artifact(directory)
        config = GANConfig.from_dict(meta.get("config", {}))
        model = cls(config, seed=meta.get("seed"))
        model.generator, model.schema, model.metadata = generator, schema, meta
        return model


def _initial_temperature(temperature: Any) -> float:
    if isinstance(temperature, int | float):
        return float(temperature)
    from discrete_gan import schedules

    return float(schedules.get(temperature).value(0))
