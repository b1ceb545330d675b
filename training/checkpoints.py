"""Checkpoints: everything needed to resume a run after `kill -9`, written atomically.

A checkpoint directory `DIR/epoch-000012/` holds

    gan.weights.h5   generator + discriminator weights, the step counter (so the temperature
                     schedule resumes at its position), the seed-generator states
    optimizer.npz    every optimizer variable (both Adam states, iterations, the EMA weights)
    schema.json      the data encoding
    state.json       job config, epoch reached, fidelity history, loss history, fingerprint

and `DIR/CHECKPOINT` names the newest complete one. Each is written to a hidden temporary
directory and renamed into place before the pointer is replaced, so a kill at any moment
leaves the previous checkpoint usable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np

from discrete_gan import CategoricalGAN, GANConfig, TableSchema
from discrete_gan.artifacts import fsync_dir

__all__ = ["CheckpointCallback", "latest_checkpoint", "restore", "write_checkpoint"]

POINTER = "CHECKPOINT"
KEEP = 2


def write_checkpoint(directory: Path, model: CategoricalGAN, state: dict) -> Path:
    """Writes `epoch-NNNNNN/` for `state["epoch"]` and points CHECKPOINT at it."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{int(state['epoch']):06d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
    try:
        model.gan.save_weights(tmp / "gan.weights.h5")
        arrays = {
            f"v{i:04d}": keras.ops.convert_to_numpy(v)
            for i, v in enumerate(model.gan.optimizer.variables)
        }
        np.savez(tmp / "optimizer.npz", **arrays)
        (tmp / "schema.json").write_text(model.schema.to_json(), encoding="utf-8")
        (tmp / "state.json").write_text(json.dumps(state, default=_json_default), encoding="utf-8")
        fsync_dir(tmp)
        shutil.rmtree(directory / name, ignore_errors=True)
        os.replace(tmp, directory / name)
        _write_pointer(directory, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in sorted(directory.glob("epoch-*"))[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return directory / name


def _write_pointer(directory: Path, name: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".pointer-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / POINTER)
    fsync_dir(directory)


def _json_default(obj: Any):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def latest_checkpoint(directory: Path) -> Path | None:
    """The checkpoint named by CHECKPOINT, or None if there is none."""
    try:
        name = (directory / POINTER).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = directory / name
    return path if name.startswith("epoch-") and (path / "state.json").is_file() else None


def restore(path: Path) -> tuple[CategoricalGAN, dict]:
    """Rebuilds the model from a checkpoint (weights, optimizer state, schema) and its state."""
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    schema = TableSchema.from_json((path / "schema.json").read_text(encoding="utf-8"))
    config = GANConfig.from_dict(state["config"]["model"])
    model = CategoricalGAN(config, seed=state["config"]["seed"])
    model.build(schema)
    model.gan.load_weights(path / "gan.weights.h5")
    with np.load(path / "optimizer.npz", allow_pickle=False) as arrays:
        values = [arrays[f"v{i:04d}"] for i in range(len(arrays.files))]
    variables = model.gan.optimizer.variables
    if len(values) != len(variables):
        raise ValueError(f"Checkpoint {path} does not match this model's optimizer state")
    for variable, value in zip(variables, values):
        variable.assign(value)
    return model, state


class CheckpointCallback(keras.callbacks.Callback):
    """Writes a checkpoint every `every` epochs (and on the last one) during `fit`.

    `state_fn(epoch)` returns the JSON-able run state to store with the weights.
    """

    def __init__(self, directory: Path, model: CategoricalGAN, every: int, state_fn):
        super().__init__()
        self.directory, self.synth, self.every, self.state_fn = directory, model, every, state_fn

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every == 0:
            self.save(epoch + 1)

    def save(self, epochs_done: int) -> None:
        _ = self.model  # under JAX, syncs the trained values back into the variables
        write_checkpoint(self.directory, self.synth, self.state_fn(epochs_done))
