"""The `discrete-gan` dispatcher and the job around it: options anywhere, quiet output,
file modes, and version numbers that match under concurrent publishing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI_TINY, dependent_frame

import discrete_gan_cli
import training.cli
from discrete_gan import CategoricalGAN
from discrete_gan.registry import Registry
from training.config import JobConfig
from training.job import run_training

ROOT = Path(__file__).resolve().parents[1]


def test_debug_before_or_after_the_command(tmp_path, capsys):
    """`--debug train` was an unknown command and `train --debug` was rejected."""
    registry = str(tmp_path / "reg")
    assert discrete_gan_cli.main(["--debug", "models", "--registry", registry]) == 0
    assert discrete_gan_cli.main(["models", "--registry", registry, "--debug"]) == 0
    assert "no models" in capsys.readouterr().out
    with pytest.raises(ValueError, match="-n must be"):  # --debug shows the traceback
        training.cli.main(["sample", "m", "-n", "-1", "--registry", registry, "--debug"])
    assert training.cli.main(["sample", "m", "-n", "-1", "--registry", registry]) == 1


def test_demo_trains_into_the_registry_it_serves(monkeypatch):
    """`demo --registry=DIR` trained into ./registry and served DIR."""
    calls = {}
    monkeypatch.setattr(training.cli, "main", lambda argv: calls.setdefault("train", argv) and 0)
    import api.cli

    monkeypatch.setattr(api.cli, "main", lambda argv: calls.setdefault("serve", argv) and 0)
    for form in (["--registry=/x/reg"], ["--registry", "/x/reg"]):
        calls.clear()
        discrete_gan_cli._demo([*form, "--port", "9"])
        assert calls["train"] == ["demo", "--registry", "/x/reg"]
        assert calls["serve"] == [*form, "--port", "9"]


def test_commands_print_only_our_output(tmp_path):
    """Every command started with lines of TensorFlow's C++ logging on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    for args in (["--help"], ["train", "--help"], ["models", "--registry", str(tmp_path)]):
        out = subprocess.run(
            [sys.executable, "-m", "discrete_gan_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert out.stderr == "", out.stderr


def test_sample_out_file_gets_the_umask(trained_tiny, tmp_path, capsys):
    """`sample --out FILE` created FILE with mode 0600 (the temporary file's)."""
    reg = Registry(tmp_path / "reg")
    reg.publish_model("m", lambda target, version: trained_tiny.save(target))
    old = os.umask(0o022)
    try:
        out = tmp_path / "rows.csv"
        args = ["sample", "m", "-n", "5", "--registry", str(reg.root), "--out", str(out)]
        assert training.cli.main(args) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_concurrent_publishes_name_the_version_they_land_in(tmp_path, monkeypatch, capsys):
    """A run picked its version number apart from `Registry.publish`: a second run publishing
    the same name meanwhile made the first land in version 2 with "version": "1" inside."""
    reg = Registry(tmp_path / "reg")
    data = dependent_frame(300)
    config = JobConfig.from_dict(
        {"epochs": 1, "seed": 0, "model": {"generator_units": [16], "discriminator_units": [16]}}
    )
    save = CategoricalGAN.save
    nested, rival_started = [], []

    def save_with_a_rival(self, directory, overwrite=False):
        if not rival_started:  # while the first run writes its model, a second one publishes
            rival_started.append(True)
            nested.append(run_training(data, "m", reg, config, verbose=0, tensorboard=False))
        return save(self, directory, overwrite)

    monkeypatch.setattr(CategoricalGAN, "save", save_with_a_rival)
    first = run_training(data, "m", reg, config, verbose=0, tensorboard=False)
    assert {first.version, nested[0].version} == {"1", "2"}
    for version in ("1", "2"):
        meta = json.loads((reg.root / "m" / version / "metadata.json").read_text())
        card = (reg.root / "m" / version / "model_card.md").read_text()
        assert meta["version"] == version and f"v{version}" in card
    leftovers = [*(reg.root / "m").glob(".staging-*"), *(reg.root / "m").glob(".reserved-*")]
    assert not leftovers


def test_set_model_max_categories_is_honoured(tmp_path, capsys):
    """`--set model.max_categories` was stored in the config but ignored by the job."""
    path = tmp_path / "wide.csv"
    # `k` has two labels, so the table still has something to learn once rare-label
    # protection has turned the 50 ids (each seen once) into one placeholder
    path.write_text("id,k\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(50)))
    args = ["train", str(path), "--name", "m", "--registry", str(tmp_path / "reg"), *CLI_TINY]
    assert training.cli.main([*args, "--set", "model.max_categories=10"]) == 1
    assert "max_categories=10" in capsys.readouterr().err
    assert training.cli.main([*args, "--epochs", "1", "--max-categories", "60"]) == 0
