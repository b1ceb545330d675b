"""The on-disk model artifact: the only contract between training, the service and users.

A model directory holds exactly:

    generator.keras   the generator (Functional model + registered layers), loaded with
                      safe_mode=True only; never pickled, never legacy .h5
    schema.json       the TableSchema (columns, category labels and dtypes, frequencies)
    metadata.json     {"format_version": 1, "config": {...}, "versions": {...}, ...}

Writes are atomic: files go to a hidden sibling directory which is renamed into place, so a
reader never sees a half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import keras

from discrete_gan.schema import TableSchema

__all__ = [
    "FORMAT_VERSION",
    "GENERATOR_FILE",
    "METADATA_FILE",
    "SCHEMA_FILE",
    "ArtifactError",
    "check_keras_version",
    "fsync_dir",
    "load_artifact",
    "load_model_file",
    "read_metadata",
    "save_artifact",
]

FORMAT_VERSION = 1
GENERATOR_FILE = "generator.keras"
SCHEMA_FILE = "schema.json"
METADATA_FILE = "metadata.json"
MIN_KERAS = (3, 14)


class ArtifactError(ValueError):
    """A model directory is missing, incomplete, tampered with or of an unknown format."""


def check_keras_version(version: str | None = None) -> None:
    """Raises RuntimeError if keras is older than 3.14 (earlier safe_mode had known bypasses)."""
    version = version or keras.__version__
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < MIN_KERAS:
        raise RuntimeError(
            f"discrete-gan needs keras >= {'.'.join(map(str, MIN_KERAS))} to load models safely; "
            f"found keras {version}. Upgrade with: pip install -U 'keras>=3.14'"
        )


def fsync_dir(path: Path) -> None:
    """Flushes a directory entry (after a rename) where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())


def save_artifact(
    directory: str | os.PathLike,
    generator: keras.Model,
    schema: TableSchema,
    metadata: dict,
    overwrite: bool = False,
    extra_models: dict[str, keras.Model] | None = None,
) -> Path:
    """Writes a model directory atomically and returns its path.

    `extra_models` maps further `.keras` file names to networks saved beside the generator
    (the VAE's `encoder.keras`). Raises FileExistsError if `directory` exists and
    `overwrite` is False.
    """
    target = Path(directory)
    if target.exists() and not overwrite:
        raise FileExistsError(f"Model directory already exists: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        generator.save(tmp / GENERATOR_FILE)
        for filename, network in (extra_models or {}).items():
            network.save(tmp / _check_model_file(filename))
        with open(tmp / SCHEMA_FILE, "w", encoding="utf-8") as f:
            f.write(schema.to_json())
            f.flush()
            os.fsync(f.fileno())
        _write_json(tmp / METADATA_FILE, {**metadata, "format_version": FORMAT_VERSION})
        fsync_dir(tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "model")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _register_layers() -> None:
    """Imports the modules whose layers a saved network may name (safe_mode resolves only
    registered classes)."""
    import discrete_gan.autoregressive  # noqa: F401
    import discrete_gan.latent  # noqa: F401
    import discrete_gan.layers  # noqa: F401


def _check_model_file(filename: str) -> str:
    if (
        not isinstance(filename, str)
        or not filename.endswith(".keras")
        or "/" in filename
        or "\\" in filename
        or filename.startswith(".")
        or filename == GENERATOR_FILE
    ):
        raise ValueError(
            "Invalid model file name. Expected a plain name ending in .keras other than "
            f"{GENERATOR_FILE}. Received: {filename!r}"
        )
    return filename


def load_model_file(directory: str | os.PathLike, filename: str) -> keras.Model:
    """Loads another network of a model directory (e.g. `encoder.keras`), safely.

    Same rules as the generator: `safe_mode=True`, keras >= 3.14, and any problem raises
    `ArtifactError` naming the file and the cause.
    """
    check_keras_version()
    path = Path(directory) / _check_model_file(filename)
    if not path.is_file():
        raise ArtifactError(f"Model directory {directory} has no {filename}")
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path} is not a valid .keras archive (truncated or corrupted)")
    _register_layers()

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # keras raises many types for bad archives; report them uniformly
        raise ArtifactError(f"Refused to load {path}: {type(e).__name__}: {e}") from None


def read_metadata(directory: str | os.PathLike) -> dict:
    """Reads and validates `metadata.json` (cheap: does not load the generator)."""
    path = Path(directory) / METADATA_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"Model directory {directory} has no {METADATA_FILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"Unreadable {METADATA_FILE} in {directory}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        found = meta.get("format_version") if isinstance(meta, dict) else None
        raise ArtifactError(
            f"Unsupported model format in {directory}: format_version={found!r}, "
            f"expected {FORMAT_VERSION}"
        )
    return meta


def load_artifact(directory: str | os.PathLike) -> tuple[keras.Model, TableSchema, dict]:
    """Loads `(generator, schema, metadata)` from a model directory, safely.

    The generator is loaded from `generator.keras` with `safe_mode=True` (no Lambda layers,
    no arbitrary imports), so a tampered file is refused rather than executed. Any problem
    raises `ArtifactError` naming the directory and the cause.
    """
    check_keras_version()
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"Model directory not found: {directory}")
    meta = read_metadata(directory)
    try:
        schema = TableSchema.from_json((directory / SCHEMA_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"Model directory {directory} has no {SCHEMA_FILE}") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise ArtifactError(f"Invalid {SCHEMA_FILE} in {directory}: {e}") from None
    path = directory / GENERATOR_FILE
    if not path.is_file():
        raise ArtifactError(f"Model directory {directory} has no {GENERATOR_FILE}")
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path} is not a valid .keras archive (truncated or corrupted)")
    _register_layers()

    try:
        generator = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # keras raises many types for bad archives; report them uniformly
        raise ArtifactError(f"Refused to load {path}: {type(e).__name__}: {e}") from None
    from discrete_gan.layout import ModelLayout
    from discrete_gan.models import generator_heads

    try:
        heads = generator_heads(generator)
    except ValueError as e:
        raise ArtifactError(f"{path}: {e}") from None
    split_above = meta.get("config", {}).get("split_above") if heads.autoregressive else None
    expected = ModelLayout(schema, split_above).cardinalities
    if list(heads.cardinalities) != expected:
        raise ArtifactError(
            f"{directory}: generator cardinalities {list(heads.cardinalities)} do not match "
            f"the schema's {expected}"
        )
    return generator, schema, meta
