"""One training run: data -> model -> checkpoints -> published, versioned model.

The model is of the family `JobConfig.family` names (`discrete_gan.families`: the GAN or
the VAE); everything here works on what the families share (`CategoricalSynthesizer`).

Before training, a seeded share of the rows (`JobConfig.holdout`, 0.1 by default) is kept
aside: the model never sees them, and the model card compares the synthetic rows with them
(exact copies, DCR share) to show whether the generator memorises its training rows.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from discrete_gan import CategoricalSynthesizer, __version__
from discrete_gan.callbacks import FidelityMonitor
from discrete_gan.config import default_epochs
from discrete_gan.families import model_class
from discrete_gan.privacy import holdout_split
from discrete_gan.registry import ModelRef, Registry, validate_name
from discrete_gan.schema import Column, EncodedTable, TableSchema
from training.checkpoints import CheckpointCallback, latest_checkpoint, restore
from training.config import JobConfig
from training.data import DataError, fingerprint
from training.distribute import data_parallel
from training.report import build_card

# what a job trains on: the table, or a function loading it (see `_run_training`)
TrainingData = pd.DataFrame | EncodedTable | Callable[[], pd.DataFrame | EncodedTable]

__all__ = ["TrainingRun", "run_training"]


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the end of the first epoch past `seconds` of wall time."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.start = seconds, time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if time.monotonic() - self.start >= self.seconds:
            self.model.stop_training = True


class Recorder(keras.callbacks.Callback):
    """Appends each epoch's logs to `history` (which already holds resumed epochs)."""

    def __init__(self, history: dict[str, list]):
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))


@dataclass
class TrainingRun:
    """Where a run keeps its working files: REGISTRY/NAME/.checkpoints and .logs (hidden)."""

    registry: Registry
    name: str

    @property
    def checkpoints(self) -> Path:
        return self.registry.root / self.name / ".checkpoints"

    @property
    def logs(self) -> Path:
        return self.registry.root / self.name / ".logs"


def _callbacks(run, model, config, state_fn, monitor, history, tensorboard: bool):
    callbacks = [monitor, Recorder(history)]
    if config.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="tvd",
                mode="min",
                patience=config.patience,
                min_delta=config.min_delta,
                restore_best_weights=False,
            )
        )
    if config.max_time:
        callbacks.append(TimeLimit(config.max_time))
    run.logs.mkdir(parents=True, exist_ok=True)
    callbacks.append(keras.callbacks.CSVLogger(str(run.logs / "training_log.csv"), append=True))
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        print("note: tensorboard is not installed; skipping TensorBoard logs", file=sys.stderr)
    elif tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.logs / "tensorboard")))
    callbacks.append(CheckpointCallback(run.checkpoints, model, config.checkpoint_every, state_fn))
    return callbacks


def run_training(
    data: TrainingData,
    name: str,
    registry: Registry,
    config: JobConfig,
    resume: bool = False,
    verbose: int = 1,
    tensorboard: bool = True,
) -> ModelRef:
    """Trains on `data` and publishes the model (see `_run_training`), on `config.devices`.

    With more than one device the models are built and trained data-parallel
    (`training.distribute.data_parallel`); everything else is the same.
    """
    with data_parallel(config.devices, config.model.batch_size):
        return _run_training(data, name, registry, config, resume, verbose, tensorboard)


def _run_training(
    data: TrainingData,
    name: str,
    registry: Registry,
    config: JobConfig,
    resume: bool = False,
    verbose: int = 1,
    tensorboard: bool = True,
) -> ModelRef:
    """Trains on `data` (resuming from the last checkpoint if asked) and publishes the model.

    `data` is a DataFrame of labels, or an `EncodedTable` already encoded under the model
    config's `missing` and `max_categories` (`training.data.encode_table` streams one from a
    file), or a function of no arguments returning either: then the job holds the only
    reference to the table, and the codes of every row are freed once the held-out split has
    copied the training rows (at 10M rows x 20 columns that is 400 MB less for the whole
    run; `discrete-gan train` passes its loader so). A DataFrame is encoded once under the
    same policies (`_raw_table`), and the data fingerprint is taken on these codes of every
    row. The library does the rest: the model's `encode` (`CategoricalSynthesizer.encode`)
    adopts the training rows' table, applying rare-label protection (`discrete_gan.rare`)
    to it; `fit` trains on the codes, and `Registry.publish_model` publishes the model and
    its card under a version number reserved before either is written.

    With `config.holdout` > 0, `holdout_split` (a pure function of the seed and the number of
    rows, so a resumed run holds out the same rows) keeps that share of the encoded rows out
    of training. The schema holds the labels protection keeps (counted on the training rows)
    with the training rows' frequencies; the held-out rows are put under it, a protected
    label becoming the placeholder (`_split`). The metadata records `rows` (all rows of the
    data, which the fingerprint covers), `train_rows`, `holdout_rows` and `rare_labels`
    (what protection did; the checkpoints keep it for a resumed run).
    """
    validate_name(name)
    if callable(data):  # before any checkpoint is removed: a bad file loses nothing
        data = data()
    run = TrainingRun(registry, name)
    started = time.monotonic()
    history: dict[str, list] = {}
    fidelity_history: list = []
    epoch = 0
    checkpoint = latest_checkpoint(run.checkpoints) if resume else None
    if resume and checkpoint is None:
        print(f"note: no checkpoint for {name!r} yet; starting from scratch", file=sys.stderr)
    if checkpoint is not None:
        model, state = restore(checkpoint)
        epoch, history = state["epoch"], state["history"]
        fidelity_history = state["fidelity_history"]
        saved = {"holdout": 0.0, **state["config"]}  # runs before holdouts trained on every row
        if "rare_labels" not in state:  # runs before rare-label protection kept every label
            saved["model"] = {**saved["model"], "rare_min_count": 0}
        saved["family"] = state["family"]
        if config.family != state["family"]:
            print(
                f"note: resuming the checkpointed {state['family']} run of {name!r}; its "
                f"family and model options are kept (not {config.family})",
                file=sys.stderr,
            )
        config = _resumed_config(JobConfig.from_dict(saved), config)
        model.metadata["rare_labels"] = state.get("rare_labels") or {"mode": "off"}
    else:
        shutil.rmtree(run.checkpoints, ignore_errors=True)
        model = model_class(config.family)(config.model, seed=config.seed)
        config = config.replace(seed=model.seed)
    try:
        raw = _raw_table(data, config)
        digest = fingerprint(raw.codes)
        if checkpoint is not None and state["fingerprint"] != digest:
            raise ValueError(f"its fingerprint is not {state['fingerprint'][:19]}...")
        table, holdout = _split(model, raw, config.holdout, fresh=checkpoint is None)
        data = raw = None  # from a loader, its last references: the split copied its rows
    except (ValueError, TypeError) as e:
        if checkpoint is None or isinstance(e, DataError):
            raise DataError(str(e)) from None
        raise DataError(
            f"The data differs from the checkpointed run's ({e}); resume with the same data "
            "or train without --resume"
        ) from None
    if config.epochs is None:  # resolved once, and checkpointed with the run's config
        steps = config.steps_per_epoch or -(-len(table) // config.model.batch_size)
        config = config.replace(epochs=default_epochs(steps))
    print(f"seed: {model.seed}", file=sys.stderr)
    if model.trainer is None:
        model.build()
    monitor = FidelityMonitor(model, every=config.fidelity_every)
    monitor.history = [(int(e), f) for e, f in fidelity_history]

    def state_fn(epochs_done: int) -> dict:
        return {
            "epoch": epochs_done,
            "config": config.to_dict(),
            "history": history,
            "fidelity_history": [(e, list(map(float, f))) for e, f in monitor.history],
            "fingerprint": digest,
            "rare_labels": model.metadata["rare_labels"],
        }

    callbacks = _callbacks(run, model, config, state_fn, monitor, history, tensorboard)
    if epoch < config.epochs:
        model.fit(
            table,
            epochs=config.epochs - epoch,
            initial_epoch=epoch,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
    steps_per_epoch = config.steps_per_epoch or -(-len(table) // config.model.batch_size)
    epochs_run = max((len(v) for v in history.values()), default=0)  # Recorder's epochs
    model.metadata.update(
        {
            "name": name,
            "data_fingerprint": digest,
            "rows": len(table) + (0 if holdout is None else len(holdout)),
            "train_rows": len(table),
            "holdout_rows": 0 if holdout is None else len(holdout),
            "columns": model.schema.names,
            "epochs": epochs_run,
            "train_seconds": round(time.monotonic() - started, 2),
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "job": config.to_dict(),
            "discrete_gan": __version__,
        }
    )
    card = build_card(
        model, table, history, monitor.history, epochs_run * steps_per_epoch, holdout=holdout
    )

    def write(target: Path, version: str) -> None:
        model.metadata.update({"version": version, "fidelity": card.summary})
        model.save(target)
        card.write(target, model)

    ref = registry.publish_model(name, write)
    shutil.rmtree(run.checkpoints, ignore_errors=True)
    return ref


def _raw_table(data: pd.DataFrame | EncodedTable, config: JobConfig) -> EncodedTable:
    """Every row of `data` as codes under a schema of all its labels (before protection).

    `training.data.encode_table` streams exactly this from a file; a DataFrame is encoded as
    `TableSchema.from_dataframe` infers it. The data fingerprint is taken on these codes.
    """
    if isinstance(data, EncodedTable):
        return data
    c = config.model
    schema = TableSchema.from_dataframe(
        data, config.columns, missing=c.missing, max_categories=c.max_categories
    )
    return EncodedTable(schema.encode(data), schema)


def _split(
    model: CategoricalSynthesizer, raw: EncodedTable, fraction: float, fresh: bool
) -> tuple[EncodedTable, np.ndarray | None]:
    """(training rows, held-out codes or None when `fraction` is 0), under the model's schema.

    `holdout_split` picks the rows (a pure function of the seed and the number of rows). A
    fresh run's model adopts the training rows with their own frequencies, so rare-label
    protection (`CategoricalSynthesizer.encode`) counts labels on the rows it trains on: a
    label seen only in held-out rows is protected too. A resumed run's schema comes from its
    checkpoint; the rows are put under it (`discrete_gan.rare.relabel`), and their
    frequencies must be the checkpointed ones, else the data differs. The held-out rows are
    put under the model's schema the same way, so a protected label reaches neither the
    model nor its card.
    """
    if fraction == 0:
        train_codes, held = raw.codes, None
    else:
        train_rows, held_rows = holdout_split(len(raw), fraction, model.seed)
        if len(train_rows) < 2:
            raise DataError(
                f"--holdout {fraction} leaves {len(train_rows)} of {len(raw)} rows to train on; "
                "need at least 2 (lower it, or pass --holdout 0)"
            )
        train_codes, held = raw.codes[train_rows], raw.codes[held_rows]
    schema = raw.schema
    if held is not None and len(held):
        schema = _with_frequencies(raw.schema, train_codes)
    checkpointed = None if fresh else model.schema
    table = model.encode(EncodedTable(train_codes, schema))
    if checkpointed is not None and not _same_frequencies(
        _with_frequencies(checkpointed, table.codes), checkpointed
    ):
        raise ValueError("its labels or their counts differ")
    if held is None:
        return table, None
    return table, model.encode(EncodedTable(held, schema)).codes


def _with_frequencies(schema: TableSchema, codes: np.ndarray) -> TableSchema:
    """`schema` with each column's frequencies counted on `codes` `(n, n_columns)`."""
    columns = []
    for j, col in enumerate(schema.columns):
        counts = np.bincount(codes[:, j], minlength=col.cardinality)
        freqs = tuple((counts / counts.sum()).tolist())
        columns.append(Column(col.name, col.categories, col.dtype, freqs))
    return TableSchema(columns, missing=schema.missing)


def _same_frequencies(a: TableSchema, b: TableSchema) -> bool:
    return all(
        np.allclose(x.frequencies, y.frequencies, rtol=1e-12, atol=0)
        for x, y in zip(a.columns, b.columns, strict=True)
    )


def _resumed_config(saved: JobConfig, new: JobConfig) -> JobConfig:
    """The checkpointed run's family, model, seed, data options and holdout; this
    invocation's job options."""
    keep = {"family", "model", "seed", "columns", "steps_per_epoch", "na_values", "holdout"}
    changes = {k: v for k, v in new.to_dict().items() if k not in keep}
    return JobConfig.from_dict({**saved.to_dict(), **changes})
