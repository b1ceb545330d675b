"""The model store: every model's latest version loaded, swapped atomically on rescan.

Requests take one reference to the current `Snapshot` and keep it for their whole life, so a
rescan that publishes a new snapshot never changes a model under an in-flight request: the old
one finishes on the old version, new requests see the new one. A model that fails to load
(tampered `.keras`, truncated file, missing schema...) is logged and skipped; the service
keeps serving the others.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from discrete_gan import CategoricalGAN
from discrete_gan.registry import Registry, validate_name, validate_version

__all__ = ["LoadedModel", "ModelNotFound", "ModelStore", "Snapshot"]

log = logging.getLogger("discrete_gan.api")


class ModelNotFound(LookupError):
    """No such model or version (or it failed to load)."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    path: Path
    model: CategoricalGAN


@dataclass(frozen=True)
class Snapshot:
    """An immutable view: `models[name]` is the latest loaded version of each model."""

    models: dict[str, LoadedModel] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class ModelStore:
    """Loaded models: the latest version of each in a `Snapshot`, older versions in a cache.

    No request ever waits on a lock held during a model load. Rescans are serialised among
    themselves (`_rescan_lock`) and publish their result by one assignment; older versions
    load once per (name, version) however many requests ask at once (single-flight under
    `_loading`), outside any lock that readers of the cache take.
    """

    def __init__(self, root: str | Path, warmup: bool = True, max_older: int = 8):
        self.registry = Registry(root)
        self.warmup = warmup
        self.max_older = max_older
        self.snapshot = Snapshot()
        self._rescan_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._older: dict[tuple[str, str], LoadedModel] = {}
        self._loading: dict[tuple[str, str], threading.Lock] = {}

    def _load(self, name: str, version: str) -> LoadedModel:
        ref = self.registry.resolve(name, version)
        model = CategoricalGAN.load(ref.path)
        if self.warmup:
            model.sample(1, seed=0)
        return LoadedModel(name, version, ref.path, model)

    def rescan(self) -> Snapshot:
        """Loads new latest versions and swaps the snapshot in one assignment."""
        with self._rescan_lock:
            old = self.snapshot
            models, failed = {}, {}
            for name in self.registry.names():
                version, current = "?", old.models.get(name)
                try:
                    version = self.registry.latest(name)
                    if current is not None and current.version == version:
                        models[name] = current
                        continue
                    if old.failed.get(name, "").startswith(f"v{version}:"):
                        failed[name] = old.failed[name]
                        continue
                    models[name] = self._load(name, version)
                    log.info("loaded model %s version %s", name, version)
                except Exception as e:  # any broken model is refused, never fatal
                    failed[name] = f"v{version}: {e}"
                    log.error("refused model %s version %s: %s", name, version, e)
                    if current is not None:
                        models[name] = current
            self.snapshot = Snapshot(models, failed)
            return self.snapshot

    def get(self, name: str, version: str | None = None) -> LoadedModel:
        """The loaded model `name` at `version` (default latest); older versions load lazily."""
        validate_name(name)
        latest = self.snapshot.models.get(name)
        if version is None or (latest is not None and latest.version == version):
            if latest is None:
                raise ModelNotFound(f"No model named {name!r} is loaded")
            return latest
        key = (name, validate_version(version))
        with self._cache_lock:
            cached = self._older.get(key)
            if cached is not None:
                return cached
            flight = self._loading.setdefault(key, threading.Lock())
        with flight:  # only requests for this very version wait for its load
            with self._cache_lock:
                cached = self._older.get(key)
            if cached is not None:
                return cached
            try:
                loaded = self._load(*key)
            except Exception as e:
                with self._cache_lock:
                    self._loading.pop(key, None)
                if isinstance(e, KeyError):
                    raise ModelNotFound(str(e.args[0]) if e.args else str(e)) from None
                raise ModelNotFound(
                    f"Model {name!r} version {key[1]} cannot be loaded: {e}"
                ) from None
            with self._cache_lock:
                while len(self._older) >= self.max_older:
                    self._older.pop(next(iter(self._older)))
                self._older[key] = loaded
                self._loading.pop(key, None)
            return loaded
