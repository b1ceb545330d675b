"""One training run: data -> model -> checkpoints -> published, versioned model."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from discrete_gan import CategoricalGAN, __version__
from discrete_gan.callbacks import FidelityMonitor
from discrete_gan.registry import ModelRef, Registry, validate_name
from training.checkpoints import CheckpointCallback, latest_checkpoint, restore
from training.config import JobConfig
from training.data import DataError, fingerprint
from training.report import write_model_card

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
    data: pd.DataFrame,
    name: str,
    registry: Registry,
    config: JobConfig,
    resume: bool = False,
    verbose: int = 1,
    tensorboard: bool = True,
) -> ModelRef:
    """Trains on `data` (resuming from the last checkpoint if asked) and publishes the model."""
    validate_name(name)
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
        config = _resumed_config(JobConfig.from_dict(state["config"]), config)
    else:
        shutil.rmtree(run.checkpoints, ignore_errors=True)
        model = CategoricalGAN(config.model, seed=config.seed)
    if model.schema is None:
        model.build(_schema(data, config))
    codes = model.schema.encode(data)
    digest = fingerprint(codes)
    if checkpoint is not None and state["fingerprint"] != digest:
        raise DataError(
            f"The data differs from the checkpointed run's ({state['fingerprint'][:19]}...); "
            "resume with the same data or train without --resume"
        )
    monitor = FidelityMonitor(model, every=config.fidelity_every)
    monitor.history = [(int(e), f) for e, f in fidelity_history]

    def state_fn(epochs_done: int) -> dict:
        return {
            "epoch": epochs_done,
            "config": config.to_dict(),
            "history": history,
            "fidelity_history": [(e, list(map(float, f))) for e, f in monitor.history],
            "fingerprint": digest,
        }

    callbacks = _callbacks(run, model, config, state_fn, monitor, history, tensorboard)
    if epoch < config.epochs:
        model.fit(
            data,
            epochs=config.epochs - epoch,
            initial_epoch=epoch,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
    model.metadata.update(
        {
            "name": name,
            "data_fingerprint": digest,
            "rows": int(len(codes)),
            "columns": model.schema.names,
            "epochs": len(history.get("d_loss", [])),
            "train_seconds": round(time.monotonic() - started, 2),
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "job": config.to_dict(),
            "discrete_gan": __version__,
        }
    )
    ref = _publish(registry, name, model, data, history, monitor, config)
    shutil.rmtree(run.checkpoints, ignore_errors=True)
    return ref


def _resumed_config(saved: JobConfig, new: JobConfig) -> JobConfig:
    """The checkpointed run's model, seed and data options; this invocation's job options."""
    keep = {"model", "seed", "columns", "steps_per_epoch", "max_categories"}
    changes = {k: v for k, v in new.to_dict().items() if k not in keep}
    return JobConfig.from_dict({**saved.to_dict(), **changes})


def _schema(data: pd.DataFrame, config: JobConfig):
    from discrete_gan import TableSchema

    try:
        return TableSchema.from_dataframe(
            data,
            config.columns,
            missing=config.model.missing,
            max_categories=config.max_categories,
        )
    except (ValueError, TypeError) as e:
        raise DataError(str(e)) from None


def _publish(registry, name, model, data, history, monitor, config) -> ModelRef:
    staging = registry.staging_dir(name)
    try:
        target = staging / "model"
        model.metadata["version"] = registry.next_version(name)
        model.save(target)
        steps = len(history.get("d_loss", [])) * (
            config.steps_per_epoch or _steps(len(data), config)
        )
        summary = write_model_card(
            target, model, data, history, monitor.history, steps, config.seed
        )
        _add_summary(target, summary)
        return registry.publish(name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _steps(rows: int, config: JobConfig) -> int:
    return -(-rows // config.model.batch_size)


def _add_summary(target: Path, summary: dict) -> None:
    import json

    from discrete_gan.artifacts import METADATA_FILE

    path = target / METADATA_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["fidelity"] = summary
    path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str), encoding="utf-8")
