"""The model store under concurrency: no KeyError on eviction, no request stalled by a load."""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

from api.store import LoadedModel, ModelStore
from discrete_gan.registry import Registry


def _registry(tmp_path: Path, trained_tiny, versions: int) -> Registry:
    reg = Registry(tmp_path / "reg")
    for _ in range(versions):
        reg.publish_model("m", lambda target, version: trained_tiny.save(target))
    return reg


class _PreemptedDict(dict):
    """A cache whose lookups give up the CPU right after answering: a reader that checks the
    cache and then reads it, outside a lock, sees another thread evict in between."""

    def __contains__(self, key) -> bool:
        found = super().__contains__(key)
        time.sleep(0.0005)
        return found

    def get(self, key, default=None):
        value = super().get(key, default)
        time.sleep(0.0005)
        return value


def test_older_versions_under_concurrent_eviction_never_raise(trained_tiny, tmp_path, monkeypatch):
    """Readers of the older-version cache raced its eviction (KeyError -> HTTP 500)."""
    reg = _registry(tmp_path, trained_tiny, 12)
    store = ModelStore(reg.root, warmup=False)
    store.rescan()
    store._older = _PreemptedDict()

    def fast_load(self, name, version):
        time.sleep(0.001)
        return LoadedModel(name, version, reg.root / name / version, trained_tiny)

    monkeypatch.setattr(ModelStore, "_load", fast_load)
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            version = str(rng.randint(1, 11))
            try:
                assert store.get("m", version).version == version
            except BaseException as e:  # noqa: BLE001 - every failure is the finding
                errors.append(e)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: races show up within the test's time
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]


def test_a_slow_load_does_not_stall_other_requests(trained_tiny, tmp_path, monkeypatch):
    """The store lock was held through model loading and warm-up: one slow load (a rescan
    picking up a new version) stalled every request that touched the cache."""
    reg = _registry(tmp_path, trained_tiny, 2)
    store = ModelStore(reg.root, warmup=False)
    store.rescan()  # serves version 2
    original = ModelStore._load
    started = threading.Event()

    def load(self, name, version):
        if version == "3":
            started.set()
            time.sleep(6.0)
        return original(self, name, version)

    monkeypatch.setattr(ModelStore, "_load", load)
    reg.publish_model("m", lambda target, version: trained_tiny.save(target))
    rescan = threading.Thread(target=store.rescan)
    rescan.start()
    assert started.wait(10)
    t0 = time.monotonic()
    assert store.get("m", "1").version == "1"  # an older version, loaded meanwhile
    assert store.get("m").version == "2"  # the latest still serves during the rescan
    elapsed = time.monotonic() - t0
    rescan.join()
    assert elapsed < 4.0, elapsed  # far under the 6 s load it must not wait for, even on a busy CPU
    assert store.get("m").version == "3"


def test_concurrent_requests_for_one_old_version_load_it_once(trained_tiny, tmp_path, monkeypatch):
    reg = _registry(tmp_path, trained_tiny, 3)
    store = ModelStore(reg.root, warmup=False)
    store.rescan()
    calls: list[str] = []

    def load(self, name, version):
        calls.append(version)
        time.sleep(0.2)
        return LoadedModel(name, version, reg.root / name / version, trained_tiny)

    monkeypatch.setattr(ModelStore, "_load", load)
    threads = [threading.Thread(target=store.get, args=("m", "1")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["1"]
