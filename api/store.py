"""The model store: every model's latest version loaded, swapped atomically on rescan.

Models of any family load (`discrete_gan.load_model` reads the family from the artifact's
metadata), so a GAN and a VAE are served side by side through the same endpoints; only what
one family alone can do (scoring rows, the VAE's) asks the loaded model for it.

Requests take one reference to the current `Snapshot` and keep it for their whole life, so a
rescan that publishes a new snapshot never changes a model under an in-flight request: the old
one finishes on the old version, new requests see the new one. A model that fails to load
(tampered `.keras`, truncated file, missing schema...) is logged and skipped; the service
keeps serving the others.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from api.batching import MicroBatcher
from api.rows import LabelIndex
from discrete_gan import load_model
from discrete_gan.base import CategoricalSynthesizer
from discrete_gan.formats import CsvWriter, JsonRowsWriter, NdjsonWriter
from discrete_gan.registry import Registry, validate_name, validate_version

__all__ = ["LoadedModel", "ModelNotFound", "ModelStore", "Snapshot"]

log = logging.getLogger("discrete_gan.api")


class ModelNotFound(LookupError):
    """No such model or version (or it failed to load)."""


class _LRU:
    """A small thread-safe least-recently-used map (learned probabilities per request).

    Holds at most `size` items and, when `weigh` is given, at most `max_weight` in total (a
    model with a million labels caches a few results, not 256 of them); an item heavier than
    `max_weight` is returned but not kept.
    """

    def __init__(
        self,
        size: int,
        max_weight: float = float("inf"),
        weigh: Callable[[Any], float] | None = None,
    ):
        self.size, self.max_weight, self.weigh = size, max_weight, weigh
        self._items: OrderedDict[Any, tuple[Any, float]] = OrderedDict()
        self._weight = 0.0
        self._lock = threading.Lock()

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = compute()  # outside the lock: two first callers may both compute, same result
        weight = self.weigh(value) if self.weigh is not None else 0.0
        if weight > self.max_weight:
            return value
        with self._lock:
            if key in self._items:
                self._weight -= self._items.pop(key)[1]
            self._items[key] = (value, weight)
            self._weight += weight
            while len(self._items) > self.size or self._weight > self.max_weight:
                self._weight -= self._items.popitem(last=False)[1][1]
        return value

    def __len__(self) -> int:
        return len(self._items)


# Learned probabilities cached per loaded version: at most this many floats in all (128 MiB).
PROBABILITY_CACHE_FLOATS = 1 << 24


def _floats(value: dict[str, np.ndarray]) -> float:
    return float(sum(v.size for v in value.values()))


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model version, with what is worth keeping per version.

    `batcher` (None when batching is off) merges concurrent unconditional draws into shared
    compiled calls; `probabilities` caches learned probabilities by (seed, conditions), which
    are a pure function of the version (as `{column: float array in code order}`, bounded in
    floats); the writers render this schema's rows; `labels` turns request labels into codes
    (rows to score).
    """

    name: str
    version: str
    path: Path
    model: CategoricalSynthesizer
    batcher: MicroBatcher | None = None
    probabilities: _LRU = field(
        default_factory=lambda: _LRU(256, PROBABILITY_CACHE_FLOATS, _floats), compare=False
    )

    @property
    def family(self) -> str:
        return self.model.family

    @cached_property
    def labels(self) -> LabelIndex:
        return LabelIndex(self.model.schema)

    @cached_property
    def csv_writer(self) -> CsvWriter:
        return CsvWriter(self.model.schema)

    @cached_property
    def ndjson_writer(self) -> NdjsonWriter:
        return NdjsonWriter(self.model.schema)

    @cached_property
    def json_writer(self) -> JsonRowsWriter:
        return JsonRowsWriter(self.model.schema)


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

    def __init__(
        self,
        root: str | Path,
        warmup: bool = True,
        max_older: int = 8,
        batching: bool = True,
        batch_window_s: float = 0.001,
        batch_max_rows: int = 8192,
        observe_batch: Callable[[int, int], None] | None = None,
    ):
        self.registry = Registry(root)
        self.warmup = warmup
        self.max_older = max_older
        self.batching = batching
        self.batch_window_s = batch_window_s
        self.batch_max_rows = batch_max_rows
        self.observe_batch = observe_batch
        self.snapshot = Snapshot()
        self._rescan_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._older: dict[tuple[str, str], LoadedModel] = {}
        self._loading: dict[tuple[str, str], threading.Lock] = {}

    def _load(self, name: str, version: str) -> LoadedModel:
        ref = self.registry.resolve(name, version)
        model = load_model(ref.path)
        batcher = None
        if self.batching:
            batcher = MicroBatcher(
                model.sampler,
                window_s=self.batch_window_s,
                max_rows=self.batch_max_rows,
                observe=self.observe_batch,
            )
        if self.warmup:
            model.sample(1, seed=0)
            if batcher is not None:  # compile every call shape a batch can take
                blocks = 2
                while blocks <= batcher.max_blocks:
                    keys = np.zeros((blocks, 2), np.uint32)
                    model.sampler.draw_blocks(keys, keys)
                    blocks *= 2
        return LoadedModel(name, version, ref.path, model, batcher)

    def peek(self, name: str, version: str | None = None) -> LoadedModel | None:
        """The loaded model if it needs no load (latest or cached), else None; never blocks."""
        validate_name(name)
        latest = self.snapshot.models.get(name)
        if version is None or (latest is not None and latest.version == version):
            return latest
        with self._cache_lock:
            return self._older.get((name, validate_version(version)))

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
