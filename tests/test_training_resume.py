"""Fault tolerance: resume after SIGKILL, checkpoint contents, crash-safe publishing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import CLI_TINY, TINY, dependent_frame

import training.report
from discrete_gan import CategoricalGAN
from discrete_gan.registry import Registry
from training.checkpoints import latest_checkpoint, restore, write_checkpoint
from training.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = CLI_TINY


def test_checkpoint_restores_weights_optimizer_and_temperature_step(tmp_path):
    model = CategoricalGAN(
        seed=0,
        temperature={
            "class_name": "LinearTemperature",
            "config": {"initial": 2.0, "final": 0.5, "steps": 50},
        },
        **TINY,
    )
    model.fit(dependent_frame(640), epochs=2)
    write_checkpoint(
        tmp_path, model, {"epoch": 2, "config": {"seed": 0, "model": model.config.to_dict()}}
    )
    restored, state = restore(latest_checkpoint(tmp_path))
    assert state["epoch"] == 2
    for a, b in zip(model.gan.optimizer.variables, restored.gan.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert int(keras.ops.convert_to_numpy(restored.gan.d_optimizer.iterations)) == 10
    assert int(keras.ops.convert_to_numpy(restored.gan.step_counter)) == 10
    for a, b in zip(model.gan.discriminator.weights, restored.gan.discriminator.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # training continues from the restored state, temperature schedule at its position
    restored.fit(dependent_frame(640), epochs=1, initial_epoch=2)
    assert int(keras.ops.convert_to_numpy(restored.gan.step_counter)) == 15
    assert restored.temperature == pytest.approx(2.0 - 1.5 * 14 / 50, rel=1e-5)


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    data = tmp_path / "data.csv"
    dependent_frame(20000).to_csv(data, index=False)
    registry = tmp_path / "reg"
    argv = [
        sys.executable,
        "-m",
        "training",
        "train",
        str(data),
        "--name",
        "r",
        "--registry",
        str(registry),
        "--epochs",
        "400",
        "--checkpoint-every",
        "1",
        *SMALL,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts = registry / "r" / ".checkpoints"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = latest_checkpoint(ckpts)
        if found is not None and int(found.name.split("-")[1]) >= 2:
            break
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("no checkpoint within 240 s")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = int(latest_checkpoint(ckpts).name.split("-")[1])
    assert Registry(registry).latest("r") is None  # nothing published by the killed run
    code = main(
        [
            "train",
            str(data),
            "--name",
            "r",
            "--registry",
            str(registry),
            "--epochs",
            str(done + 2),
            "--resume",
            *SMALL,
        ]
    )
    assert code == 0
    meta = Registry(registry).metadata("r")
    assert meta["epochs"] == done + 2  # resumed at `done`, ran the 2 remaining epochs
    log = pd.read_csv(registry / "r" / ".logs" / "training_log.csv")
    assert log["epoch"].max() == done + 1


def test_resume_refuses_different_data(tmp_path, capsys):
    data = tmp_path / "data.csv"
    dependent_frame(600).to_csv(data, index=False)
    reg = tmp_path / "reg"
    model = CategoricalGAN(seed=0, **TINY)
    model.fit(dependent_frame(600, seed=1), epochs=1)
    write_checkpoint(
        reg / "r" / ".checkpoints",
        model,
        {
            "epoch": 1,
            "config": {"seed": 0, "epochs": 3, "model": model.config.to_dict()},
            "history": {},
            "fidelity_history": [],
            "fingerprint": "sha256:other",
        },
    )
    code = main(["train", str(data), "--name", "r", "--registry", str(reg), "--resume", *SMALL])
    assert code == 1 and "differs" in capsys.readouterr().err


def test_a_bad_data_file_keeps_the_checkpoints_of_an_interrupted_run(tmp_path, capsys):
    """`train` reads its file before a fresh run clears the old checkpoints: a typo in the
    path, or a file that does not parse, loses nothing that `--resume` could still use."""
    reg = tmp_path / "reg"
    model = CategoricalGAN(seed=0, **TINY)
    model.fit(dependent_frame(200), epochs=1)
    state = {"epoch": 1, "config": {"seed": 0, "epochs": 3, "model": model.config.to_dict()}}
    ckpts = reg / "r" / ".checkpoints"
    write_checkpoint(ckpts, model, {**state, "history": {}, "fidelity_history": []})
    before = sorted(p.relative_to(ckpts) for p in ckpts.rglob("*"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n\xff\xfe,1\n")
    for path in (tmp_path / "missing.csv", bad):
        code = main(["train", str(path), "--name", "r", "--registry", str(reg), *SMALL])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and err[-1].startswith("error: ")
        assert sorted(p.relative_to(ckpts) for p in ckpts.rglob("*")) == before
    assert latest_checkpoint(ckpts) is not None


def test_crash_during_publish_leaves_registry_valid(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data.csv"
    dependent_frame(600).to_csv(data, index=False)
    reg = tmp_path / "reg"
    args = ["train", str(data), "--name", "p", "--registry", str(reg), "--epochs", "1", *SMALL]
    assert main(args) == 0

    def crash(*a, **k):
        raise RuntimeError("simulated crash while writing the model card")

    monkeypatch.setattr(training.report.ModelCard, "write", crash)
    assert main(args) == 1
    registry = Registry(reg)
    assert registry.versions("p") == ["1"] and registry.latest("p") == "1"
    assert not list((reg / "p").glob(".staging-*"))
    CategoricalGAN.load(registry.resolve("p").path).sample(5)


def test_crash_between_rename_and_latest_keeps_previous_latest(tmp_path, monkeypatch):
    reg = Registry(tmp_path)
    model = CategoricalGAN(seed=0, **TINY)
    model.fit(dependent_frame(300), epochs=1)
    for _ in range(2):
        staging = reg.staging_dir("m")
        model.save(staging / "model")
        if reg.latest("m") is None:
            reg.publish("m", staging / "model")
        else:
            monkeypatch.setattr(Registry, "set_latest", lambda *a: (_ for _ in ()).throw(OSError))
            with pytest.raises(OSError):
                reg.publish("m", staging / "model")
    assert reg.latest("m") == "1" and reg.resolve("m").version == "1"
    CategoricalGAN.load(reg.resolve("m").path)
