"""`discrete-gan generate`: partitions equal `sample`'s rows for any P and engine, resume,
refusals, the manifest, conditions."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import training.generate
from discrete_gan.registry import Registry
from training.cli import main
from training.generate import MANIFEST, PROGRESS, generate, plan_partitions

ROOT = Path(__file__).resolve().parents[1]
ROWS, SEED = 100_000, 11
HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.fixture(scope="module")
def registry(trained_tiny, tmp_path_factory) -> Registry:
    reg = Registry(tmp_path_factory.mktemp("reg"))
    staging = reg.staging_dir("tiny")
    trained_tiny.save(staging / "model")
    reg.publish("tiny", staging / "model")
    shutil.rmtree(staging, ignore_errors=True)
    return reg


@pytest.fixture(scope="module")
def reference(registry, tmp_path_factory) -> dict[str, Path]:
    """`discrete-gan sample tiny -n ROWS --seed SEED` as CSV and Parquet."""
    out = tmp_path_factory.mktemp("ref")
    paths = {}
    for fmt in ("csv", "parquet"):
        paths[fmt] = out / f"sample.{fmt}"
        argv = ["sample", "tiny", "-n", str(ROWS), "--seed", str(SEED), "--format", fmt]
        assert main([*argv, "--registry", str(registry.root), "--out", str(paths[fmt])]) == 0
    return paths


def _parts(directory: Path, fmt: str) -> list[Path]:
    manifest = json.loads((directory / MANIFEST).read_text())
    return [directory / f["path"] for f in manifest["files"]]


def _csv_concat(directory: Path) -> bytes:
    """The part files with every header but the first removed."""
    out = b""
    for i, path in enumerate(_parts(directory, "csv")):
        data = path.read_bytes()
        header, _, rows = data.partition(b"\n")
        out += data if i == 0 else rows
    return out


def _parquet_concat(directory: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in _parts(directory, "parquet")])


def _run(registry, out, **kw):
    kw = {"fmt": "csv", "seed": SEED, "workers": 1, **kw}
    return generate(registry, "tiny", kw.pop("rows", ROWS), out, **kw)


@pytest.mark.backend_agnostic
def test_plan_covers_every_row_once():
    for rows, p in [(0, 1), (1, 1), (10, 3), (100_000, 7), (255, 255)]:
        plan = plan_partitions(rows, p)
        assert len(plan) == p and sum(r for _, r in plan) == rows
        assert all(plan[i][0] + plan[i][1] == plan[i + 1][0] for i in range(p - 1))
        assert max(r for _, r in plan) - min(r for _, r in plan) <= 1


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_csv_partitions_are_the_sample_byte_for_byte(registry, reference, tmp_path, partitions):
    result = _run(registry, tmp_path / "out", partitions=partitions)
    assert result.written == list(range(partitions)) and result.skipped == []
    assert _csv_concat(tmp_path / "out") == reference["csv"].read_bytes()
    assert not (tmp_path / "out" / PROGRESS).exists()


@pytest.mark.parametrize("partitions", [1, 7])
def test_parquet_partitions_are_the_sample_value_for_value(
    registry, reference, tmp_path, partitions
):
    _run(registry, tmp_path / "out", fmt="parquet", partitions=partitions)
    got, want = _parquet_concat(tmp_path / "out"), pq.read_table(reference["parquet"])
    assert got.schema == want.schema
    assert got.to_pydict() == want.to_pydict()


def test_manifest_records_the_job_and_every_file(registry, tmp_path):
    out = tmp_path / "out"
    _run(registry, out, rows=1000, partitions=3, fmt="parquet")
    m = json.loads((out / MANIFEST).read_text())
    ref = registry.resolve("tiny")
    generator = hashlib.sha256((ref.path / "generator.keras").read_bytes()).hexdigest()
    assert m["model"] == "tiny" and m["version"] == ref.version == "1"
    assert m["generator_sha256"] == generator
    assert (m["seed"], m["rows"], m["partitions"], m["format"]) == (SEED, 1000, 3, "parquet")
    assert m["conditions"] is None and m["segment_rows"] is None
    assert m["columns"] == ["colour", "size", "flag"]
    assert [f["path"] for f in m["files"]] == [f"part-0000{i}.parquet" for i in range(3)]
    assert [(f["first_row"], f["rows"]) for f in m["files"]] == [(0, 333), (333, 333), (666, 334)]
    for f in m["files"]:
        data = (out / f["path"]).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
        assert pq.read_metadata(out / f["path"]).num_rows == f["rows"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, *(f["path"] for f in m["files"])]
    )


def test_resume_rewrites_only_missing_or_damaged_parts(registry, reference, tmp_path):
    out = tmp_path / "out"
    _run(registry, out, partitions=4)
    parts = _parts(out, "csv")
    before = {p.name: p.stat().st_mtime_ns for p in parts}
    parts[1].unlink()
    data = bytearray(parts[2].read_bytes())
    data[len(data) // 2] ^= 1  # same size, other bytes
    parts[2].write_bytes(bytes(data))
    before[parts[2].name] = parts[2].stat().st_mtime_ns
    (out / ".part-00003.csv.tmpjunk").write_bytes(b"half")  # a killed writer's temporary
    result = _run(registry, out, partitions=4)
    assert result.written == [1, 2] and result.skipped == [0, 3]
    assert _csv_concat(out) == reference["csv"].read_bytes()
    for i in (0, 3):
        assert parts[i].stat().st_mtime_ns == before[parts[i].name]
    assert not (out / ".part-00003.csv.tmpjunk").exists()
    again = _run(registry, out, partitions=4)
    assert again.written == [] and again.skipped == [0, 1, 2, 3]


def test_interrupted_unseeded_run_resumes_with_its_seed(registry, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    real = training.generate._task_entry
    calls = []

    def dies_at_the_third(model, job, task, directory):
        calls.append(task.index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(model, job, task, directory)

    monkeypatch.setattr(training.generate, "_task_entry", dies_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        _run(registry, out, rows=5000, partitions=5, seed=None)
    monkeypatch.setattr(training.generate, "_task_entry", real)
    progress = json.loads((out / PROGRESS).read_text())
    assert not (out / MANIFEST).exists() and len(progress["files"]) == 2
    kept = {f["path"]: (out / f["path"]).stat().st_mtime_ns for f in progress["files"]}
    result = _run(registry, out, rows=5000, partitions=5, seed=None, log=print)
    assert "resuming" in capsys.readouterr().out
    assert result.job.seed == progress["seed"] and result.skipped == [0, 1]
    assert result.written == [2, 3, 4]
    assert all((out / p).stat().st_mtime_ns == t for p, t in kept.items())
    fresh = _run(registry, tmp_path / "fresh", rows=5000, partitions=5, seed=progress["seed"])
    assert _csv_concat(out) == _csv_concat(fresh.directory)


def _bad(argv, capsys, match) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert match in err, err
    return err


def test_refusals(registry, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["generate", "tiny", "-n", "600", "--registry", str(registry.root), "--format", "csv"]
    _run(registry, out, rows=600, partitions=2, seed=1)
    files = sorted(p.name for p in out.iterdir())
    for extra, match in [
        (["--seed", "2", "--partitions", "2"], "seed 1 (this run: 2)"),
        (["--seed", "1", "--partitions", "3"], "partitions 2 (this run: 3)"),
        (["--seed", "1", "--partitions", "2", "--where", "colour=red"], "conditions"),
    ]:
        _bad([*base, "--out", str(out), *extra], capsys, match)
    _bad(["generate", "tiny", "-n", "601", *base[4:], "--out", str(out), "--seed", "1",
          "--partitions", "2"], capsys, "rows 600")  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == files  # nothing touched
    # --overwrite replaces this module's files and leaves others alone
    (out / "notes.txt").write_text("mine")
    assert main([*base, "--out", str(out), "--seed", "2", "--overwrite"]) == 0
    assert capsys.readouterr().err.strip().endswith("seed: 2")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "notes.txt", "part-00000.csv"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.csv").write_text("a\n1\n")
    _bad([*base, "--out", str(foreign)], capsys, "holds no manifest.json")
    assert main([*base, "--out", str(tmp_path / "unseeded")]) == 0  # a fresh seed, reported
    seed = json.loads((tmp_path / "unseeded" / MANIFEST).read_text())["seed"]
    assert capsys.readouterr().err.strip().endswith(f"seed: {seed}")
    (tmp_path / "file").write_text("x")
    _bad([*base, "--out", str(tmp_path / "file")], capsys, "not a directory")
    empty = tmp_path / "empty"
    for extra, match in [
        (["--partitions", "601"], "from 1 to 600"),
        (["--partitions", "0"], "from 1 to 600"),
        (["--where", "colour=purple"], "Unknown label"),
        (["--where", "nope=1"], "Unknown column"),
        (["--address", "ray://x:1"], "--engine ray"),
        (["--version", "9"], "no version"),
    ]:
        _bad([*base, "--out", str(empty), *extra], capsys, match)
    _bad(["generate", "ghost", "-n", "5", "--registry", str(registry.root), "--out", str(empty)],
         capsys, "No model named")  # fmt: skip
    _bad([*base[:2], "-n", "-1", *base[4:], "--out", str(empty)], capsys, "-n must be")
    assert not empty.exists() or not any(empty.iterdir())


def test_ray_missing_says_how_to_install(registry, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    argv = ["generate", "tiny", "-n", "10", "--registry", str(registry.root)]
    err = _bad([*argv, "--out", str(tmp_path / "o"), "--engine", "ray"], capsys, "ray")
    assert "pip install 'discrete-gan[ray]'" in err
    assert not (tmp_path / "o").exists()


def test_conditional_rows_do_not_depend_on_partitions(registry, tmp_path):
    where = {"colour": "red", "flag": ["True"]}
    one = _run(registry, tmp_path / "p1", rows=1000, where=where, segment_rows=256)
    three = _run(registry, tmp_path / "p3", rows=1000, where=where, segment_rows=256, partitions=3)
    assert _csv_concat(one.directory) == _csv_concat(three.directory)
    lines = _csv_concat(one.directory).decode().splitlines()
    assert lines[0] == "colour,size,flag" and len(lines) == 1001
    assert all(line.startswith("red,") and line.endswith(",True") for line in lines[1:])
    m = json.loads((one.directory / MANIFEST).read_text())
    assert m["conditions"] == {"colour": "red", "flag": ["True"]} and m["segment_rows"] == 256
    # the first segment is `sample --where ... --seed S`
    ref = tmp_path / "ref.csv"
    argv = ["sample", "tiny", "-n", "256", "--seed", str(SEED), "--registry", str(registry.root)]
    assert main([*argv, "--where", "colour=red", "--where", "flag=True", "--out", str(ref)]) == 0
    assert ref.read_text().splitlines() == lines[:257]
    shorter = _run(registry, tmp_path / "short", rows=700, where=where, segment_rows=256)
    assert _csv_concat(shorter.directory).decode().splitlines() == lines[:701]


@pytest.mark.slow
def test_killed_run_completes_without_rewriting_finished_parts(registry, reference, tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "training", "generate", "tiny", "-n", str(ROWS)]
    argv += ["--registry", str(registry.root), "--out", str(out), "--format", "csv"]
    argv += ["--partitions", "20", "--seed", str(SEED)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, env=env, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    progress = out / PROGRESS
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads(progress.read_text())["files"]:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes
    finally:
        proc.wait(timeout=60)
    assert not (out / MANIFEST).exists(), "the run finished before it could be killed"
    done = json.loads(progress.read_text())["files"]
    kept = {f["path"]: (out / f["path"]).stat().st_mtime_ns for f in done}
    result = _run(registry, out, partitions=20)
    # Under load the kill can land after every part is written (only the manifest missing):
    # then resuming writes nothing, and otherwise exactly the parts that were missing.
    assert len(result.skipped) >= len(done)
    assert sorted(result.skipped + result.written) == list(range(20))
    assert all((out / p).stat().st_mtime_ns == t for p, t in kept.items())
    assert _csv_concat(out) == reference["csv"].read_bytes()  # pool-written parts included
    in_process = _run(registry, tmp_path / "same", partitions=20)
    assert (out / MANIFEST).read_bytes() == (in_process.directory / MANIFEST).read_bytes()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'discrete-gan[ray]')")
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the engine is backend-blind: runs once, in the TensorFlow pass",
)
def test_ray_engine_writes_the_same_files(registry, reference, tmp_path):
    out = tmp_path / "ray"
    result = generate(
        registry, "tiny", ROWS, out, fmt="parquet", seed=SEED, partitions=7, engine="ray",
        workers=2,
    )  # fmt: skip
    assert result.engine == "ray" and result.written == list(range(7))
    assert 1 <= len(result.workers) <= 2  # one model per actor, at most two actors
    got, want = _parquet_concat(out), pq.read_table(reference["parquet"])
    assert got.schema == want.schema and got.to_pydict() == want.to_pydict()
    local = _run(registry, tmp_path / "local", fmt="parquet", partitions=7)
    assert (out / MANIFEST).read_bytes() == (local.directory / MANIFEST).read_bytes()
