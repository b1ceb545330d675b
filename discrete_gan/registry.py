"""A versioned model registry on disk: `REGISTRY/NAME/VERSION/` plus a `latest` pointer.

Layout:

    REGISTRY/
      NAME/
        1/            a model directory (see `discrete_gan.artifacts`) plus a model card
        2/
        latest        a one-line text file naming the newest published version ("2")

The training job publishes, the service reads; this module is their shared vocabulary.
Every name and version that becomes a path is validated first (no separators, no "..", no
hidden files), and both the version directory and the `latest` pointer appear atomically
(rename of a fully written temporary), so readers see either the old or the new state.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from discrete_gan.artifacts import ArtifactError, fsync_dir, read_metadata

__all__ = [
    "LATEST",
    "ModelRef",
    "Registry",
    "validate_name",
    "validate_version",
]

LATEST = "latest"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VERSION = re.compile(r"^[1-9][0-9]{0,8}$")


def validate_name(name: str) -> str:
    """Returns `name` if it is a safe model name, else raises ValueError.

    Allowed: 1-64 characters from letters, digits, "_", "-", "."; starting with a letter or
    digit; never "." or ".." and never containing a path separator.
    """
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ValueError(
            "Invalid model name. Expected 1-64 characters from letters, digits, '_', '-', '.', "
            f"starting with a letter or digit. Received: {name!r}"
        )
    return name


def validate_version(version: str | int) -> str:
    """Returns the version as a string if it is a positive integer, else raises ValueError."""
    text = str(version)
    if isinstance(version, bool) or not _VERSION.match(text):
        raise ValueError(
            f"Invalid model version. Expected a positive integer. Received: {version!r}"
        )
    return text


@dataclass(frozen=True)
class ModelRef:
    """A published model version and where it lives."""

    name: str
    version: str
    path: Path


class Registry:
    """Reads and writes a registry rooted at `root` (created on first publish)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    # ------------------------------------------------------------ reading
    def names(self) -> list[str]:
        """Model names that have a `latest` pointer, sorted."""
        if not self.root.is_dir():
            return []
        out = []
        for entry in sorted(self.root.iterdir()):
            if entry.is_dir() and _NAME.match(entry.name) and (entry / LATEST).is_file():
                out.append(entry.name)
        return out

    def versions(self, name: str) -> list[str]:
        """Published versions of `name`, oldest first."""
        folder = self.root / validate_name(name)
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if p.is_dir() and _VERSION.match(p.name)]
        return sorted(found, key=int)

    def latest(self, name: str) -> str | None:
        """The version named by `NAME/latest`, or None if the model does not exist."""
        pointer = self.root / validate_name(name) / LATEST
        try:
            text = pointer.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return validate_version(text)

    def resolve(self, name: str, version: str | int | None = None) -> ModelRef:
        """The path of `name` at `version` (default: latest). Raises KeyError if absent."""
        validate_name(name)
        version = self.latest(name) if version in (None, LATEST) else validate_version(version)
        if version is None:
            raise KeyError(f"No model named {name!r} in registry {self.root}")
        path = self.root / name / version
        if not path.is_dir():
            raise KeyError(f"Model {name!r} has no version {version!r}")
        return ModelRef(name, version, path)

    def metadata(self, name: str, version: str | int | None = None) -> dict:
        """The metadata.json of a published version (raises ArtifactError if unreadable)."""
        return read_metadata(self.resolve(name, version).path)

    # ------------------------------------------------------------ writing
    def next_version(self, name: str) -> str:
        versions = self.versions(name)
        return str(int(versions[-1]) + 1 if versions else 1)

    def publish(self, name: str, staged: str | os.PathLike, set_latest: bool = True) -> ModelRef:
        """Moves a fully written model directory `staged` into the registry as a new version.

        `staged` must be on the same filesystem as the registry (use `staging_dir`). The
        version directory appears by one atomic rename; then `latest` is replaced atomically.
        A crash before the rename leaves only a hidden temporary directory, which readers
        ignore; a crash between the two steps leaves `latest` on the previous version.
        """
        validate_name(name)
        staged = Path(staged)
        try:
            read_metadata(staged)
        except ArtifactError as e:
            raise ValueError(f"Refusing to publish an incomplete model: {e}") from None
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            version = self.next_version(name)
            try:
                os.rename(staged, folder / version)  # fails if the version exists: no clobber
                break
            except OSError:
                if not (folder / version).exists():
                    raise
        fsync_dir(folder)
        if set_latest:
            self.set_latest(name, version)
        return ModelRef(name, version, folder / version)

    def set_latest(self, name: str, version: str | int) -> None:
        """Points `NAME/latest` at `version`, atomically."""
        folder = self.root / validate_name(name)
        version = validate_version(version)
        if not (folder / version).is_dir():
            raise KeyError(f"Model {name!r} has no version {version!r}")
        fd, tmp = tempfile.mkstemp(prefix=".latest.tmp-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(version + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / LATEST)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(folder)

    def staging_dir(self, name: str) -> Path:
        """A fresh hidden directory inside `REGISTRY/NAME/` to write a model into."""
        folder = self.root / validate_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))

    def clean_staging(self, name: str) -> int:
        """Removes leftover hidden staging directories of `name` (from crashed publishes)."""
        folder = self.root / validate_name(name)
        removed = 0
        for p in folder.glob(".staging-*") if folder.is_dir() else []:
            shutil.rmtree(p, ignore_errors=True)
            removed += 1
        return removed
