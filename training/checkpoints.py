"""Checkpoints: everything needed to resume a run after `kill -9`, written atomically.

A checkpoint directory `DIR/epoch-000012/` holds, for a model of either family,

    trainer.weights.h5  the weights of the model `fit` trains (`model.trainer`: the GAN's
                        generator + discriminator, or the VAE's encoder + decoder, and their
                        EMA weights), its step counter (so the temperature schedule resumes at its
                        position)
    optimizer.npz       every optimizer variable (the GAN's two Adam states, the VAE's Adam
                        state, the iterations)
    seeds.npz           the states of the trainer's `keras.random.SeedGenerator`s (training
                        noise, Gumbel noise), which Keras's weight files leave out: with them
                        a resumed run draws the noise an uninterrupted one would have
    schema.json         the data encoding
    state.json          the model family, job config, epoch reached, fidelity history, loss
                        history, fingerprint

(checkpoints written before the VAE have `gan.weights.h5` and no seeds.npz; they restore as
GAN runs, their noise restarting from the seed.)

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

from discrete_gan import CategoricalSynthesizer, TableSchema
from discrete_gan.artifacts import fsync_dir
from discrete_gan.families import DEFAULT_FAMILY, config_class, model_class

__all__ = ["CheckpointCallback", "latest_checkpoint", "restore", "write_checkpoint"]

POINTER = "CHECKPOINT"
KEEP = 2
WEIGHTS, OLD_WEIGHTS = "trainer.weights.h5", "gan.weights.h5"


def _seed_states(trainer: keras.Model) -> list:
    """The state variables of every `SeedGenerator` the trainer tracks, in a fixed order
    (that of `trainer.variables`, the same for the same architecture)."""
    return [v for v in trainer.variables if v.name == "seed_generator_state"]


def _arrays(variables) -> dict[str, np.ndarray]:
    return {f"v{i:04d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(variables)}


def _assign(variables, path: Path, what: str) -> None:
    with np.load(path, allow_pickle=False) as arrays:
        values = [arrays[f"v{i:04d}"] for i in range(len(arrays.files))]
    if len(values) != len(variables) or any(
        tuple(v.shape) != x.shape for v, x in zip(variables, values)
    ):
        raise ValueError(f"Checkpoint {path.parent} does not match this model's {what}")
    for variable, value in zip(variables, values):
        variable.assign(value)


def write_checkpoint(directory: Path, model: CategoricalSynthesizer, state: dict) -> Path:
    """Writes `epoch-NNNNNN/` for `state["epoch"]` and points CHECKPOINT at it.

    `state` is stored as state.json, with `"family"` set to the model's family.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{int(state['epoch']):06d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
    trainer = model.trainer
    try:
        trainer.save_weights(tmp / WEIGHTS)
        np.savez(tmp / "optimizer.npz", **_arrays(trainer.optimizer.variables))
        np.savez(tmp / "seeds.npz", **_arrays(_seed_states(trainer)))
        (tmp / "schema.json").write_text(model.schema.to_json(), encoding="utf-8")
        state = {**state, "family": model.family}
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


def restore(path: Path) -> tuple[CategoricalSynthesizer, dict]:
    """Rebuilds the model from a checkpoint (weights, optimizer state, seed states, schema)
    as its family's class (`CategoricalGAN` or `CategoricalVAE`), and its state.

    `state["family"]` is the family (checkpoints from before the VAE: the GAN).
    """
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    family = state.get("family") or state["config"].get("family", DEFAULT_FAMILY)
    state["family"] = family
    schema = TableSchema.from_json((path / "schema.json").read_text(encoding="utf-8"))
    config = config_class(family).from_dict(state["config"]["model"])
    model = model_class(family)(config, seed=state["config"]["seed"])
    model.build(schema)
    trainer = model.trainer
    if not trainer.optimizer.built:  # the VAE's Adam builds on its first step
        trainer.optimizer.build(trainer.trainable_variables)
    weights = path / WEIGHTS
    trainer.load_weights(weights if weights.is_file() else path / OLD_WEIGHTS)
    _assign(trainer.optimizer.variables, path / "optimizer.npz", "optimizer state")
    if (path / "seeds.npz").is_file():
        _assign(_seed_states(trainer), path / "seeds.npz", "seed states")
    return model, state


class CheckpointCallback(keras.callbacks.Callback):
    """Writes a checkpoint every `every` epochs (and on the last one) during `fit`.

    `state_fn(epoch)` returns the JSON-able run state to store with the weights.
    """

    def __init__(self, directory: Path, model: CategoricalSynthesizer, every: int, state_fn):
        super().__init__()
        self.directory, self.synth, self.every, self.state_fn = directory, model, every, state_fn

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every == 0:
            self.save(epoch + 1)

    def save(self, epochs_done: int) -> None:
        _ = self.model  # under JAX, syncs the trained values back into the variables
        write_checkpoint(self.directory, self.synth, self.state_fn(epochs_done))
