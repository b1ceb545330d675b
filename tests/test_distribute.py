"""Data-parallel training over simulated devices (JAX), and clear refusals elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest

from training.cli import main as cli_main
from training.distribute import DeviceError, data_parallel

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh process: the simulated device count must be set before JAX starts.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    sys.path.insert(0, "tests")
    from conftest import TOY_P, toy_frame
    from discrete_gan import CategoricalGAN
    from training.distribute import data_parallel

    assert len(keras.distribution.list_devices()) == 4
    with data_parallel("all", 512) as count:
        model = CategoricalGAN(seed=0, generator_units=(64,), discriminator_units=(64,))
        model.fit(toy_frame(), epochs=6)
        replicas = {}
        for v in model.generator.weights:
            shards = [np.asarray(s.data) for s in v.value.addressable_shards]
            replicas[v.path] = (len(shards), all(np.array_equal(shards[0], s) for s in shards))
    probs = model.probabilities()["letter"]
    tvd = 0.5 * sum(abs(probs[k] - p) for k, p in zip("abcde", TOY_P))
    print(json.dumps({"count": count, "replicas": replicas, "tvd": tvd}))
    """
)


def _env(devices: int) -> dict:
    return {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
        "PYTHONPATH": str(ROOT),
    }


def test_one_device_changes_nothing():
    before = keras.distribution.distribution()
    with data_parallel(1, 512) as count:
        assert count == 1 and keras.distribution.distribution() is before


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="the refusal of other backends")
def test_other_backends_are_refused_with_a_reason():
    with pytest.raises(DeviceError, match="needs the JAX backend"), data_parallel(2, 512):
        pass


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX distribution")
def test_more_devices_than_there_are_is_refused():
    seen = len(keras.distribution.list_devices())
    with (
        pytest.raises(DeviceError, match=f"at most the {seen} device"),
        data_parallel(seen + 1, 512),
    ):
        pass


def test_the_cli_says_what_is_wrong_in_one_line(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("a\n" + "x\ny\n" * 50)
    argv = ["train", str(data), "--name", "t", "--registry", str(tmp_path / "reg"), "--quiet"]
    assert cli_main([*argv, "--devices", "many"]) == 1
    assert "Expected an int >= 1 or 'all'" in capsys.readouterr().err
    assert cli_main([*argv, "--devices", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "devices" in err[0]
    assert not (tmp_path / "reg" / "t").exists() or not any((tmp_path / "reg" / "t").iterdir())


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "jax", reason="runs once, in the JAX pass")
def test_four_simulated_devices_train_identical_replicas_that_converge():
    import json

    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=_env(4),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] == 4
    assert all(n == 4 and same for n, same in result["replicas"].values()), result["replicas"]
    assert result["tvd"] < 0.03


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "jax", reason="runs once, in the JAX pass")
def test_train_devices_all_publishes_and_a_batch_that_does_not_split_is_refused(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("colour,size\n" + "red,1\nblue,2\nred,2\ngreen,1\n" * 200)
    base = [sys.executable, "-m", "training", "train", str(data), "--name", "t"]
    base += ["--registry", str(tmp_path / "reg"), "--quiet", "--no-tensorboard", "--epochs", "2"]
    run = subprocess.run(
        [*base, "--devices", "3"], env=_env(4), cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 1 and "multiple of the 3 devices" in run.stderr
    run = subprocess.run(
        [*base, "--devices", "all", "--holdout", "0"],
        env=_env(4),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "published t version 1" in run.stdout
