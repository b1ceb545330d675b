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
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable
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
_RESERVED = ".reserved-"
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
        """One more than the highest published or reserved version of `name`."""
        folder = self.root / validate_name(name)
        taken = [int(v) for v in self.versions(name)]
        if folder.is_dir():
            taken += [
                int(p.name.removeprefix(_RESERVED))
                for p in folder.glob(_RESERVED + "*")
                if _VERSION.match(p.name.removeprefix(_RESERVED))
            ]
        return str(max(taken, default=0) + 1)

    def _reserve(self, folder: Path, name: str) -> str:
        """Claims the next version number with an atomic mkdir: concurrent publishers of the
        same name each get their own number, before they write anything that names it."""
        while True:
            version = self.next_version(name)
            try:
                os.mkdir(folder / f"{_RESERVED}{version}")
            except FileExistsError:
                continue
            if (folder / version).exists():  # published by an older writer meanwhile
                os.rmdir(folder / f"{_RESERVED}{version}")
                continue
            return version

    def publish_model(
        self, name: str, write: Callable[[Path, str], None], set_latest: bool = True
    ) -> ModelRef:
        """Publishes a new version of `name` written by `write(directory, version)`.

        The version number is reserved first, so what `write` puts in the model (its
        metadata, its model card) names the number the directory lands under, even with
        other publishers of the same name running at once. `write` creates `directory` (a
        fresh hidden path next to the versions, e.g. with `CategoricalGAN.save`) and fills
        it completely; then it appears as `NAME/VERSION` by one atomic rename, and `latest`
        moves to it. A crash or an exception leaves no visible version and no `latest`
        change (only a hidden directory that `clean_staging` removes).
        """
        folder = self.root / validate_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        version = self._reserve(folder, name)
        staging = self.staging_dir(name)
        try:
            target = staging / "model"
            write(target, version)
            self._check_complete(target, version)
            # like a directory made with mkdir (0777 less the umask: what the reservation
            # got), not the 0700 of the temporary directory the model was written into
            os.chmod(target, stat.S_IMODE(os.stat(folder / f"{_RESERVED}{version}").st_mode))
            os.rename(target, folder / version)
            fsync_dir(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(folder / f"{_RESERVED}{version}", ignore_errors=True)
        if set_latest:
            self.set_latest(name, version)
        return ModelRef(name, version, folder / version)

    def publish(self, name: str, staged: str | os.PathLike, set_latest: bool = True) -> ModelRef:
        """Moves a fully written model directory `staged` into the registry as a new version.

        `staged` must be on the same filesystem as the registry (use `staging_dir`). Use
        `publish_model` when the model must know its version number. The version directory
        appears by one atomic rename; then `latest` is replaced atomically. A crash before the
        rename leaves only a hidden temporary directory, which readers ignore; a crash between
        the two steps leaves `latest` on the previous version.
        """

        def move(target: Path, version: str) -> None:
            os.rename(staged, target)

        staged = Path(staged)
        self._check_complete(staged, None)
        return self.publish_model(name, move, set_latest)

    @staticmethod
    def _check_complete(directory: Path, version: str | None) -> None:
        try:
            meta = read_metadata(directory)
        except ArtifactError as e:
            raise ValueError(f"Refusing to publish an incomplete model: {e}") from None
        if version is not None and meta.get("version", version) != version:
            raise ValueError(
                f"Refusing to publish: the model says version {meta['version']!r}, "
                f"but it is being published as version {version!r}"
            )

    def set_latest(self, name: str, version: str | int) -> None:
        """Points `NAME/latest` at `version`, atomically."""
        folder = self.root / validate_name(name)
        version = validate_version(version)
        if not (folder / version).is_dir():
            raise KeyError(f"Model {name!r} has no version {version!r}")
        tmp = folder / f".latest.tmp-{secrets.token_hex(6)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)  # umask
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
        """Removes leftover hidden staging and reservation directories of `name` (from crashed
        publishes; a stale reservation only makes the next version skip a number)."""
        folder = self.root / validate_name(name)
        removed = 0
        for p in (
            [*folder.glob(".staging-*"), *folder.glob(_RESERVED + "*")] if folder.is_dir() else []
        ):
            shutil.rmtree(p, ignore_errors=True)
            removed += 1
        return removed
