"""`CategoricalSynthesizer`: what every model family shares (schema, sampling, artifacts).

A family (the GAN in `discrete_gan.synthesizer`, the VAE in `discrete_gan.vae`) is a
generator `noise -> GumbelSoftmaxHeads` trained its own way. Everything downstream of the
generator is common: the schema and rare-label protection, the seeded data order, exact
sampling through `Sampler` (prefix-stable per seed), conditions, learned probabilities and
the on-disk artifact, so `api/` and `training/` serve and publish either family unchanged.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import keras
import numpy as np
import pandas as pd

from discrete_gan import __version__, rare, seeding
from discrete_gan.artifacts import ArtifactError, load_artifact, save_artifact
from discrete_gan.conditional import (
    ConditionalResult,
    conditional_probabilities,
    sample_conditional,
    training_pairs,
)
from discrete_gan.config import default_epochs
from discrete_gan.draws import Draw, RelaxedStream, SampleStream
from discrete_gan.layout import ModelLayout
from discrete_gan.models import generator_heads
from discrete_gan.sampling import RelaxedUnavailable, Sampler
from discrete_gan.schema import EncodedTable, TableSchema
from discrete_gan.validation import check_int, check_optional_int, check_temperature

__all__ = ["CategoricalSynthesizer", "EpochRows", "as_dataframe"]


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


class EpochRows(keras.utils.PyDataset):
    """Training batches whose order is drawn per epoch from the "data_order" stream.

    Epoch `e` visits the rows in the permutation `stream_rng(seed, "data_order", e)` gives
    (the last batch filled by resampling rows), or, for a conditional model, in the
    (row, condition) pairs `stream_rng(seed, "conditions", e)` draws. Keras's own shuffling
    (seeded by its global state) is never used, so the data order is a stream of its own,
    reproducible when resuming at any epoch. The dataset is endless and batch `i` is a pure
    function of `i` (epoch `initial_epoch + i // steps`): `fit` keeps one iterator for the
    whole run (with `steps_per_epoch`) instead of building an input pipeline per epoch.
    """

    def __init__(self, codes, batch_size, steps, seed, initial_epoch, conditional=None):
        super().__init__()
        self.codes, self.batch_size, self.steps, self.seed = codes, batch_size, steps, seed
        self.initial_epoch, self.conditional = initial_epoch, conditional
        self._epochs: dict[int, tuple] = {}

    @property
    def num_batches(self) -> None:
        return None

    def _draw(self, epoch: int):
        n, total = len(self.codes), self.steps * self.batch_size
        if self.conditional is not None:
            rng = seeding.stream_rng(self.seed, "conditions", epoch)
            return training_pairs(self.codes, rng=rng, n=total, **self.conditional)
        rng = seeding.stream_rng(self.seed, "data_order", epoch)
        order = rng.permutation(n)
        if total > n:
            order = np.concatenate([order, rng.integers(0, n, size=total - n)])
        # a copy, not a view: up to three epochs are cached, and a short epoch of a big table
        # would otherwise keep the whole permutation
        return order[:total].astype(np.int32 if n < 2**31 else np.int64), None

    def _epoch(self, epoch: int):
        if epoch not in self._epochs:
            if len(self._epochs) > 2:  # prefetching reads at most one epoch ahead
                del self._epochs[min(self._epochs)]
            self._epochs[epoch] = self._draw(epoch)
        return self._epochs[epoch]

    def __getitem__(self, i: int):
        rows, index = self._epoch(self.initial_epoch + i // self.steps)
        batch = slice((i % self.steps) * self.batch_size, (i % self.steps + 1) * self.batch_size)
        codes = self.codes[rows[batch]].astype("int32", copy=False)
        if index is None:
            return (codes,)
        return ({"codes": codes, "condition": index[batch]},)


class CategoricalSynthesizer:
    """Base of the model families: a schema, a generator and everything done with them.

    Subclasses set `family`, `config_class` and `trainer` (the `keras.Model` that `fit`
    runs, holding the generator) and implement `build()`; `_conditional_batches()` and
    `_after_fit()` are hooks. The generator is a Functional model `noise -> heads` (see
    `discrete_gan.models.build_generator`), which is all sampling needs.

    Args:
        config: the family's config; keyword overrides replace its fields.
        seed: the training seed, an int in `[0, 2**63)`; None draws a fresh one from OS
            entropy (kept in `model.seed` and in the saved metadata, so a run can be
            repeated). Every training stream derives from it independently (`seeding`).
    """

    family: ClassVar[str] = ""
    config_class: ClassVar[type] = type(None)

    def __init__(self, config=None, *, seed: int | None = None, **overrides):
        config = config or self.config_class()
        self.config = config.replace(**overrides) if overrides else config
        self.seed = seeding.resolve_seed(seed)
        self.schema: TableSchema | None = None
        self.generator: keras.Model | None = None
        self.trainer: keras.Model | None = None
        self.metadata: dict = {}
        self._sampler: Sampler | None = None
        self._layout: ModelLayout | None = None

    @property
    def layout(self) -> ModelLayout:
        """How the schema's columns map onto the generator's (see `discrete_gan.layout`)."""
        if self.schema is None:
            raise RuntimeError(
                f"This {type(self).__name__} has no schema yet: call fit() or load()."
            )
        if self._layout is None or self._layout.schema is not self.schema:
            self._layout = ModelLayout(
                self.schema, self.config.split_above if self.config.autoregressive else None
            )
        return self._layout

    # ------------------------------------------------------------ building
    def encode(self, data: Any, columns: Sequence[str] | None = None) -> EncodedTable:
        """Labels -> `EncodedTable`, inferring the schema on first use.

        The schema comes from the data under the config's `missing` and `max_categories`
        policies (see `TableSchema.from_dataframe`); later calls encode with the same schema.
        An `EncodedTable` is adopted on first use, and later passes through when it uses this
        model's schema.

        Rare-label protection (`config.rare_min_count`, see `discrete_gan.rare`) is applied
        once, to the schema first inferred or adopted: it never holds a label seen in fewer
        than k of these rows, and `metadata["rare_labels"]` reports what was protected. Later
        calls put a label the schema lacks in a column that lost labels under the
        placeholder (or a draw of the kept labels); elsewhere such a label is an error.
        """
        report = self.metadata.get("rare_labels")
        relabel = report is not None and report.get("mode") != "off"
        if isinstance(data, EncodedTable):
            if self.schema is None:
                return self._protect(data)
            if data.schema == self.schema:
                return data
            if relabel:
                return rare.relabel(data, self.schema, report, seed=self.seed)
            raise ValueError("The EncodedTable's schema differs from this model's schema.")
        df = as_dataframe(data)
        if self.schema is None:
            raw = TableSchema.from_dataframe(
                df, columns, missing=self.config.missing, max_categories=self.config.max_categories
            )
            return self._protect(EncodedTable(raw.encode(df), raw))
        if relabel and len(df):
            raw = TableSchema.from_dataframe(df, self.schema.names, missing=self.schema.missing)
            table = EncodedTable(raw.encode(df), raw)
            return rare.relabel(table, self.schema, report, seed=self.seed)
        return EncodedTable(self.schema.encode(df), self.schema)

    def _protect(self, table: EncodedTable) -> EncodedTable:
        """`table` under rare-label protection; its schema becomes the model's."""
        c = self.config
        table, report = rare.protect_rare(
            table,
            min_count=c.rare_min_count,
            placeholder=c.rare_placeholder,
            mode=c.rare_mode,
            seed=self.seed,
        )
        self.schema = table.schema
        self.metadata["rare_labels"] = report.to_dict()
        return table

    def build(self, schema: TableSchema | None = None) -> None:
        """Creates fresh networks and optimizers for `schema` (fit() calls this on first use)."""
        raise NotImplementedError

    def _conditional_batches(self) -> dict | None:
        """Training-by-sampling options for `EpochRows` (None: plain shuffled rows)."""
        return None

    def _after_fit(self) -> None:
        """Runs once `fit` has trained (the GAN copies in its averaged weights)."""

    def _batches(self, codes: np.ndarray, steps: int, initial_epoch: int) -> EpochRows:
        conditional = self._conditional_batches()
        c = self.config
        return EpochRows(codes, c.batch_size, steps, self.seed, initial_epoch, conditional)

    # ------------------------------------------------------------- training
    def fit(
        self,
        data: Any,
        epochs: int | None = None,
        *,
        columns: Sequence[str] | None = None,
        steps_per_epoch: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: Any = 0,
        initial_epoch: int = 0,
    ) -> keras.callbacks.History:
        """Trains on a table; a second call continues training the same model.

        Args:
            data: DataFrame, Series, 1-D/2-D array of labels (every selected column is
                treated as categorical), or an `EncodedTable`.
            epochs: passes over the data (the last batch is filled by resampling); None is
                `default_epochs(steps_per_epoch)` (100, or fewer past 10,000 updates), the
                training job's default too.
            columns: subset of columns to model (default: all).
            steps_per_epoch: batches per epoch, resampling rows with replacement when more
                than the data holds (useful for tiny tables).
            callbacks: Keras callbacks (progress bar, CSVLogger, EarlyStopping on "tvd" with
                `FidelityMonitor`, ...).
            verbose: passed to `keras.Model.fit`.
            initial_epoch: epoch to resume from (the data order of each epoch depends on its
                index, so a resumed run sees what an uninterrupted one would have).

        Returns:
            The Keras `History` (the family's losses, the temperature and any callback
            logs per epoch).
        """
        if epochs is not None:
            check_int("epochs", epochs, 1)
        steps_per_epoch = check_optional_int("steps_per_epoch", steps_per_epoch, 1)
        initial_epoch = check_int("initial_epoch", initial_epoch, 0)
        table = self.encode(data, columns)
        if self.trainer is None:  # new, or loaded for sampling: fine-tune from its generator
            self.build()
        if len(table) < 2:
            raise ValueError(f"Need at least 2 rows to train. Received: {len(table)} usable row(s)")
        steps = steps_per_epoch or -(-len(table) // self.config.batch_size)
        epochs = default_epochs(steps) if epochs is None else epochs
        started = _dt.datetime.now(_dt.UTC)
        history = self.trainer.fit(
            self._batches(self.layout.to_model(table.codes), steps, initial_epoch),
            steps_per_epoch=steps,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            shuffle=False,
            callbacks=list(callbacks or []),
            verbose=verbose,
        )
        self._after_fit()
        self._sampler = None
        self.metadata.update(
            {
                "rows": len(table),
                "epochs": int(initial_epoch + len(history.epoch)),
                "steps_per_epoch": steps,
                "trained_at": started.isoformat(),
                "train_seconds": (_dt.datetime.now(_dt.UTC) - started).total_seconds(),
            }
        )
        return history

    # ------------------------------------------------------------- sampling
    def _check_fitted(self) -> None:
        if self.generator is None or self.schema is None:
            raise RuntimeError(
                f"This {type(self).__name__} is not fitted yet: call fit() or load() first."
            )

    @property
    def sampler(self) -> Sampler:
        self._check_fitted()
        if self._sampler is None:
            self._sampler = Sampler(self.generator, layout=self.layout)
        return self._sampler

    def draw(
        self,
        n: int,
        seed: int | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        start: int = 0,
    ) -> Draw:
        """Rows `start, ..., start + n - 1` of the draw with `seed`, as int code chunks.

        The cheapest way to sample: nothing is decoded. `seed` None draws a fresh seed from
        OS entropy; `Draw.seed` reports the one used. Without `where`, a row is a pure
        function of (weights, seed, row index): `draw(n, s)` is a prefix of `draw(m, s)` for
        m > n, and `draw(n, s, start=k)` continues it. With `where`, rows satisfy all the
        conditions (see `sample_where`); `start` must then be 0.
        """
        self._check_fitted()
        n = check_int("n", n, 0)
        start = check_int("start", start, 0)
        seed = seeding.resolve_seed(seed)
        if where is not None:
            if start:
                raise ValueError("Invalid value for `start`. Conditional draws start at row 0.")
            result = self.sample_where(n, where, seed=seed)
            codes = result.codes
            chunk = self.sampler.chunk_size
            return Draw(
                seed,
                n,
                self.schema,
                lambda: (codes[i : i + chunk] for i in range(0, len(codes), chunk)),
                acceptance_rate=result.acceptance_rate,
            )
        sampler = self.sampler
        return Draw(seed, n, self.schema, lambda: sampler.iter_codes(n, seed, start))

    def iter_samples(
        self,
        n: int,
        seed: int | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        start: int = 0,
    ) -> SampleStream:
        """An iterable of DataFrames of at most `sampler.chunk_size` rows (bounded memory).

        `.seed` on the result is the seed used (fresh when `seed` is None).
        """
        return self.draw(n, seed, where=where, start=start).frames()

    def iter_relaxed(
        self, n: int, seed: int | None = None, *, temperature: float | None = None, start: int = 0
    ) -> RelaxedStream:
        """An iterable of `RelaxedChunk(frame, codes, vectors)` for the rows `draw` gives.

        `vectors` `(m, sum(k))` are the rows' Gumbel-Softmax vectors at `temperature`
        (default: the generator's final temperature), with the noise that drew the labels.
        """
        self._check_fitted()
        n = check_int("n", n, 0)
        start = check_int("start", start, 0)
        seed = seeding.resolve_seed(seed)
        tau = check_temperature(self.temperature if temperature is None else temperature)
        sampler = self.sampler
        if sampler.layout is not None:
            raise RelaxedUnavailable()
        return RelaxedStream(seed, self.schema, lambda: sampler.iter_relaxed(n, seed, tau, start))

    def sample(
        self,
        n: int,
        seed: int | None = None,
        *,
        temperature: float | None = None,
        where: Mapping[str, Any] | None = None,
        start: int = 0,
    ) -> pd.DataFrame:
        """`n` synthetic rows with the original labels and dtypes.

        `seed` None draws a fresh seed from OS entropy, so two unseeded calls give different
        rows; the seed used is in `frame.attrs["seed"]`. The same weights, seed and `n` give
        identical rows. Labels are exact draws (Gumbel-max) from the learned distribution and
        do not depend on `temperature` (validated for API symmetry; see `iter_relaxed`).

        `where={"column": label or [labels], ...}` returns only rows satisfying ALL conditions,
        drawn from the learned conditional distribution (see `sample_where`).
        """
        if temperature is not None:
            check_temperature(temperature)
        draw = self.draw(n, seed, where=where, start=start)
        frame = self.schema.decode(draw.codes())
        frame.attrs["seed"] = draw.seed
        if draw.acceptance_rate is not None:
            frame.attrs["acceptance_rate"] = draw.acceptance_rate
        return frame

    def sample_where(
        self,
        n: int,
        where: Mapping[str, Any],
        seed: int | None = None,
        max_draws: int = 2_000_000,
    ) -> ConditionalResult:
        """Conditional sampling: codes of `n` rows satisfying `where`, the acceptance rate and
        the seed used.

        Labels in `where` match as `Column.code_of` says: exactly, text never re-spelled.
        Raises `ConditionError` (a ValueError) for an unknown column or label, or when the
        conditions are too unlikely to reach `n` rows within `max_draws` noise draws.
        """
        self._check_fitted()
        n = check_int("n", n, 0)
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
        noise draws of `seed` (fixed by default: an estimate of a property of the model, not a
        sample); it equals the long-run frequency of `sample()`. With
        `given={"column": label or [labels]}` returns `P(col = c | given)`, the long-run
        frequency of `sample(where=given)`.
        """
        self._check_fitted()
        if given:
            flat = conditional_probabilities(self.sampler, self.schema, given, n_samples, seed)
        else:
            flat = self.sampler.mean_probabilities(n_samples, seed=seed)
        return self.schema.label_dict(flat)

    # ---------------------------------------------------------- persistence
    def artifact_metadata(self) -> dict:
        return {
            **self.metadata,
            "family": self.family,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "temperature": self.temperature,
            "versions": {
                "discrete_gan": __version__,
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
            },
        }

    def _artifact_models(self) -> dict[str, keras.Model]:
        """Networks saved beside `generator.keras` (file name -> model); the VAE's encoder."""
        return {}

    def save(self, directory: str | os.PathLike, overwrite: bool = False) -> None:
        """Writes the model directory (generator.keras, schema.json, metadata.json and the
        family's extra networks) atomically."""
        self._check_fitted()
        save_artifact(
            directory,
            self.generator,
            self.schema,
            self.artifact_metadata(),
            overwrite=overwrite,
            extra_models=self._artifact_models(),
        )

    @classmethod
    def _config_from_metadata(cls, meta: dict, generator: keras.Model):
        return cls.config_class.from_dict(meta.get("config", {}))

    def _load_extra(self, directory: str | os.PathLike) -> None:
        """Loads the family's extra networks from a model directory (none by default)."""

    @classmethod
    def load(cls, directory: str | os.PathLike):
        """Loads a saved model (safe_mode=True) for sampling, under any backend."""
        generator, schema, meta = load_artifact(directory)
        family = meta.get("family", "gan")
        if family != cls.family:
            raise ArtifactError(
                f"{directory} holds a {family!r} model, not a {cls.family!r} one: load it with "
                "discrete_gan.load_model()."
            )
        model = cls(cls._config_from_metadata(meta, generator), seed=meta.get("seed"))
        model.generator, model.schema, model.metadata = generator, schema, meta
        model._load_extra(directory)
        return model
