"""The `discrete-gan` dispatcher and the job around it: options anywhere, quiet output,
file modes, and version numbers that match under concurrent publishing."""

from __future__ import annotations

import contextlib
import json
import os
import re
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


@pytest.mark.backend_agnostic
def test_debug_before_or_after_the_command(tmp_path, capsys):
    """`--debug train` was an unknown command and `train --debug` was rejected."""
    registry = str(tmp_path / "reg")
    assert discrete_gan_cli.main(["--debug", "models", "--registry", registry]) == 0
    assert discrete_gan_cli.main(["models", "--registry", registry, "--debug"]) == 0
    assert "no models" in capsys.readouterr().out
    with pytest.raises(ValueError, match="-n must be"):  # --debug shows the traceback
        training.cli.main(["sample", "m", "-n", "-1", "--registry", registry, "--debug"])
    assert training.cli.main(["sample", "m", "-n", "-1", "--registry", registry]) == 1


@pytest.mark.backend_agnostic
def test_demo_trains_into_the_registry_it_serves(monkeypatch):
    """`demo --registry=DIR` trained into ./registry and served DIR."""
    calls = {}
    monkeypatch.setattr(
        training.cli, "main", lambda argv, prepare=None: calls.setdefault("train", argv) and 0
    )
    import api.cli

    monkeypatch.setattr(
        api.cli, "main", lambda argv, prepare=None: calls.setdefault("serve", argv) and 0
    )
    for form in (["--registry=/x/reg"], ["--registry", "/x/reg"]):
        calls.clear()
        discrete_gan_cli._demo([*form, "--port", "9"])
        assert calls["train"] == ["demo", "--registry", "/x/reg"]
        assert calls["serve"] == [*form, "--port", "9"]


# What TensorFlow's C++ logging (absl, cpu_feature_guard, oneDNN, XLA) writes on stderr.
BACKEND_LOG = re.compile(
    r"absl|InitializeLog|cpu_feature_guard|oneDNN|onednn|TF_ENABLE|tensorflow|"
    r"rebuild TensorFlow|^[IWEF]\d{4} |xla|cuda",
    re.IGNORECASE | re.MULTILINE,
)


def clean_env(**extra: str) -> dict[str, str]:
    """A bare environment (no TF_CPP_MIN_LOG_LEVEL, TF_ENABLE_ONEDNN_OPTS...): only PATH,
    HOME, the backend chosen for this test run and our PYTHONPATH."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "KERAS_BACKEND") if k in os.environ}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run(*args: str, module: str = "discrete_gan_cli") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=clean_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.backend_agnostic
def test_help_and_usage_errors_never_import_the_backend():
    """`--help` imported Keras (seconds, and TensorFlow's start-up logs)."""
    code = """
import contextlib, io, sys
import discrete_gan_cli
helps = [["--help"], ["--version"], ["train", "--help"], ["sample", "-h"], ["generate", "--help"],
         ["models", "--help"], ["plot", "--help"], ["serve", "--help"], ["demo", "--help"],
         ["--debug", "train", "--help"], ["train"], ["sample", "m"], ["nope"]]
for args in helps:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = discrete_gan_cli.main(args)
    assert code in (0, 2), (args, code)
    loaded = [m for m in ("keras", "tensorflow", "jax") if m in sys.modules]
    assert not loaded, (args, loaded)
print("ok")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean_env(), cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr


def test_commands_print_only_our_output(trained_tiny, tmp_path):
    """Every command started with lines of TensorFlow's C++ logging on stderr (absl,
    cpu_feature_guard), even `--help`."""
    for args in (["--help"], ["train", "--help"], ["models", "--registry", str(tmp_path)]):
        out = run(*args)
        assert out.returncode == 0 and not BACKEND_LOG.search(out.stderr), out.stderr
        assert out.stderr == "", out.stderr
    reg = Registry(tmp_path / "reg")
    reg.publish_model("m", lambda target, version: trained_tiny.save(target))
    rows = tmp_path / "rows.csv"
    out = run("sample", "m", "-n", "5", "--registry", str(reg.root), "--out", str(rows))
    # stderr is exactly our one line (the path may itself contain a word such as "tensorflow")
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(rf"wrote 5 rows of m v1 to {re.escape(str(rows))}; seed: \d+\n", out.stderr)
    # `python -m training` is as quiet, and our own errors still show (fd 2 is restored)
    out = run("sample", "ghost", "-n", "1", "--registry", str(reg.root), module="training")
    assert out.returncode == 1
    assert out.stderr == f"error: No model named 'ghost' in registry {reg.root}\n", out.stderr


@pytest.mark.backend_agnostic
def test_debug_leaves_the_backend_logs_alone(tmp_path, monkeypatch, capsys):
    """With --debug (before or after the command) nothing is silenced: the backend may log."""
    calls = []
    monkeypatch.setattr(discrete_gan_cli, "import_backend_quietly", lambda: calls.append(1))
    registry = str(tmp_path)
    for args, quiet in [
        (["models", "--registry", registry], 1),
        (["--debug", "models", "--registry", registry], 0),
        (["models", "--registry", registry, "--debug"], 0),
        (["serve", "--port", "0"], 0),  # refused before anything is imported
    ]:
        calls.clear()
        discrete_gan_cli.main(args)
        assert len(calls) == quiet, args
    assert "no models" in capsys.readouterr().out


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# File modes, version numbers and the column cap (this test and the next two) are registry and
# job logic; the CLI sampling, generating and training they go through run under JAX in
# test_training_cli and test_generate.
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_output_files_get_the_umask(trained_tiny, tmp_path, capsys, mask):
    """`sample --out FILE` created FILE with mode 0600 (the temporary file's), and so did the
    registry's `latest` pointer, with its version directories 0700."""
    file_mode, dir_mode = 0o666 & ~mask, 0o777 & ~mask
    with umask(mask):
        reg = Registry(tmp_path / "reg")
        reg.publish_model("m", lambda target, version: trained_tiny.save(target))
        version = reg.resolve("m").path
        assert mode(version) == dir_mode and mode(reg.root / "m" / "latest") == file_mode
        assert {mode(p) for p in version.iterdir()} == {file_mode}
        for fmt in ("csv", "jsonl", "parquet"):
            out = tmp_path / f"rows.{fmt}"
            out.write_text("old")  # replaced atomically, with a fresh mode
            out.chmod(0o600)
            args = ["sample", "m", "-n", "5", "--registry", str(reg.root), "--format", fmt]
            assert training.cli.main([*args, "--out", str(out)]) == 0
            assert mode(out) == file_mode and out.read_bytes() != b"old", fmt
        parts = tmp_path / "parts"
        args = ["generate", "m", "-n", "10", "--registry", str(reg.root), "--format", "csv"]
        assert training.cli.main([*args, "--out", str(parts), "--partitions", "1"]) == 0
        assert {p.name: mode(p) for p in parts.iterdir()} == {
            "part-00000.csv": file_mode,
            "manifest.json": file_mode,
        }
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary left behind


@pytest.mark.backend_agnostic
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


@pytest.mark.backend_agnostic
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
