"""The training job with `--family vae`: CLI and config file, published artifact, model card,
checkpoints (EMA and seed states) and resume after SIGKILL, refusals."""

from __future__ import annotations

import json
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
from conftest import VAE_TINY, dependent_frame

import training.report
from discrete_gan import CategoricalVAE, load_model
from discrete_gan.registry import Registry
from training.checkpoints import _seed_states, latest_checkpoint, restore, write_checkpoint
from training.cli import _check_family_flags, main
from training.config import ConfigError, JobConfig
from training.data import load_table

ROOT = Path(__file__).resolve().parents[1]
# `discrete-gan train` flags for a tiny, quiet VAE (the CLI twin of VAE_TINY).
VAE_CLI = [
    "--family",
    "vae",
    "--quiet",
    "--no-tensorboard",
    "--batch-size",
    "128",
    "--set",
    "model.latent_variables=4",
    "--set",
    "model.latent_categories=4",
    "--set",
    "model.encoder_units=[32]",
    "--set",
    "model.decoder_units=[32]",
]
PNG = b"\x89PNG\r\n\x1a\n"


def _numpy(variables) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in variables]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "table.csv"
    dependent_frame(1500).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def published(csv_file, tmp_path_factory) -> Path:
    registry = tmp_path_factory.mktemp("reg")
    argv = ["train", str(csv_file), "--name", "v", "--registry", str(registry), "--epochs", "2"]
    assert main([*argv, "--seed", "0", *VAE_CLI]) == 0
    return registry


def _bad(argv: list[str], registry: Path, capsys) -> str:
    code = main([*argv, "--registry", str(registry)])
    err = capsys.readouterr().err.strip()
    assert code == 1, (code, err)
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert not registry.exists() or not any(registry.rglob("generator.keras"))
    return err


# ------------------------------------------------------------------ published artifact
@pytest.mark.slow
def test_train_vae_publishes_a_loadable_vae(published, csv_file):
    version = published / "v" / "1"
    assert (version / "encoder.keras").is_file() and (version / "generator.keras").is_file()
    meta = json.loads((version / "metadata.json").read_text())
    assert meta["family"] == "vae" and meta["job"]["family"] == "vae"
    assert meta["config"]["latent_variables"] == 4 and meta["seed"] == 0 and meta["epochs"] == 2
    assert (meta["rows"], meta["train_rows"], meta["holdout_rows"]) == (1500, 1350, 150)
    assert not (published / "v" / ".checkpoints").exists()
    model = load_model(version)
    assert isinstance(model, CategoricalVAE) and model.encoder is not None
    rows = model.sample(500, seed=1)
    assert len(rows) == 500 and list(rows.columns) == ["colour", "size", "flag"]
    assert set(rows["colour"]) <= {"red", "green", "blue"}
    frame = load_table(str(csv_file)).head(50)  # the labels as the job read them: text
    scores = model.score(frame)
    assert scores.shape == (50,) and scores.dtype == np.float64
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)
    np.testing.assert_array_equal(scores, model.score(frame))  # seeded, not re-drawn


@pytest.mark.slow
def test_vae_model_card_has_the_elbo_plot_and_family(published):
    version = published / "v" / "1"
    for name in ("elbo.png", "losses.png", "temperature.png", "marginals.png", "error_heatmap.png"):
        assert (version / name).read_bytes()[:8] == PNG, name
    card = (version / "model_card.md").read_text()
    assert "- Family: vae (Gumbel-Softmax VAE)" in card
    assert "![ELBO and latent temperature](elbo.png)" in card and "ELBO (nats per row" in card
    assert "1,350 rows (150 more held out)" in card and "DCR share" in card
    report = json.loads((version / "fidelity.json").read_text())
    elbo = report["elbo"]
    assert elbo["train_rows"] == 1000 and elbo["holdout_rows"] == 150  # ELBO_ROWS cap
    assert elbo["train_mean"] < 0 and elbo["holdout_mean"] < 0
    assert elbo["last_epoch"] == pytest.approx(-elbo["last_epoch_nll"] - elbo["last_epoch_kl"])
    meta = json.loads((version / "metadata.json").read_text())
    assert meta["fidelity"]["elbo"] == elbo and meta["fidelity"]["privacy"]["holdout_rows"] == 150
    log = pd.read_csv(published / "v" / ".logs" / "training_log.csv")
    assert {"loss", "nll", "kl", "temperature", "tvd"} <= set(log.columns) and len(log) == 2


@pytest.mark.slow
def test_gan_card_has_no_elbo(tmp_path, csv_file):
    argv = ["train", str(csv_file), "--name", "g", "--registry", str(tmp_path), "--epochs", "1"]
    argv += ["--quiet", "--no-tensorboard", "--batch-size", "128", "--seed", "0"]
    assert main(argv) == 0
    version = tmp_path / "g" / "1"
    assert not (version / "elbo.png").exists() and not (version / "encoder.keras").exists()
    assert "- Family: gan (Gumbel-Softmax GAN)" in (version / "model_card.md").read_text()
    assert "elbo" not in json.loads((version / "fidelity.json").read_text())


@pytest.mark.slow
def test_sample_generate_and_models_serve_a_vae(published, tmp_path, capsys):
    reg = ["--registry", str(published)]
    out = tmp_path / "rows.csv"
    assert main(["sample", "v", "-n", "300", "--seed", "3", "--out", str(out), *reg]) == 0
    expected = load_model(published / "v" / "1").sample(300, seed=3)
    sampled = pd.read_csv(out)
    assert len(sampled) == 300
    pd.testing.assert_series_equal(sampled["colour"], expected["colour"], check_dtype=False)
    conditional = tmp_path / "red.csv"
    argv = ["sample", "v", "-n", "50", "--where", "colour=red", "--out", str(conditional)]
    assert main([*argv, *reg]) == 0
    assert (pd.read_csv(conditional)["colour"] == "red").all()
    parts = tmp_path / "parts"
    argv = ["generate", "v", "-n", "300", "--out", str(parts), "--format", "csv", "--seed", "3"]
    assert main([*argv, *reg]) == 0
    assert pd.read_csv(parts / "part-00000.csv").equals(sampled)
    capsys.readouterr()
    assert main(["models", "--json", *reg]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing[0]["name"] == "v" and listing[0]["family"] == "vae"


# ------------------------------------------------------------------ config and refusals
@pytest.mark.slow
def test_config_file_family_vae(tmp_path, csv_file):
    config = tmp_path / "job.toml"
    config.write_text(
        'family = "vae"\nepochs = 1\nholdout = 0\n[model]\nlatent_variables = 3\n'
        "latent_categories = 4\nencoder_units = [16]\ndecoder_units = [16]\nkl_weight = 0.5\n"
    )
    argv = ["train", str(csv_file), "--name", "c", "--registry", str(tmp_path / "reg")]
    argv += ["--config", str(config), "--quiet", "--no-tensorboard", "--seed", "1"]
    assert main(argv) == 0
    path = tmp_path / "reg" / "c" / "1"
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["family"] == "vae" and meta["job"]["family"] == "vae"
    assert meta["config"]["latent_variables"] == 3 and meta["config"]["kl_weight"] == 0.5
    assert meta["holdout_rows"] == 0 and isinstance(load_model(path), CategoricalVAE)


def test_job_config_round_trips_the_family():
    config = JobConfig.from_dict({"family": "vae", "model": {"latent_variables": 2}})
    assert config.family == "vae" and config.model.latent_variables == 2
    assert JobConfig.from_dict(config.to_dict()) == config
    assert JobConfig.from_dict({}).family == "gan"  # configs from before the VAE
    assert JobConfig(family="vae").model == JobConfig.from_dict({"family": "vae"}).model


def test_unknown_vae_key_is_rejected_naming_the_vae_keys(csv_file, tmp_path, capsys):
    base = ["train", str(csv_file), "--name", "m", *VAE_CLI, "--epochs", "1"]
    err = _bad([*base, "--set", "model.pac=4"], tmp_path / "r", capsys)
    assert "pac" in err and "'vae' family" in err and "latent_variables" in err
    assert "discriminator_units" not in err  # the VAE's keys, not the GAN's
    config = tmp_path / "c.toml"
    config.write_text('family = "vae"\n[model]\nnoise_dim = 8\n')
    err = _bad(["train", str(csv_file), "--name", "m", "--config", str(config)], tmp_path, capsys)
    assert "noise_dim" in err and "latent_categories" in err
    # and a VAE key given to the GAN
    err = _bad(
        ["train", str(csv_file), "--name", "m", "--set", "model.kl_weight=1"], tmp_path, capsys
    )
    assert "kl_weight" in err and "'gan' family" in err


def test_bad_family_is_rejected(csv_file, tmp_path, capsys):
    assert main(["train", str(csv_file), "--name", "m", "--family", "flow"]) == 2
    assert "invalid choice: 'flow'" in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_text('family = "flow"\n')
    err = _bad(["train", str(csv_file), "--name", "m", "--config", str(config)], tmp_path, capsys)
    assert "family" in err and "flow" in err and "gan, vae" in err


def test_gan_only_options_are_refused_for_the_vae(csv_file, tmp_path, capsys):
    base = ["train", str(csv_file), "--name", "m", *VAE_CLI, "--epochs", "1"]
    for devices in ("2", "all"):
        err = _bad([*base, "--devices", devices], tmp_path / "r", capsys)
        assert "GAN-only" in err and "--devices" in err
    config = tmp_path / "c.toml"
    config.write_text('family = "vae"\ndevices = 2\n')
    err = _bad(["train", str(csv_file), "--name", "m", "--config", str(config)], tmp_path, capsys)
    assert "GAN-only" in err
    # a flag setting a model key the family lacks is named by its flag
    with pytest.raises(ConfigError, match=r"--pac is an option of another model family.*`pac`"):
        _check_family_flags(
            "vae", {"model.pac": 4, "model.batch_size": None}, {"model.pac": "--pac"}
        )
    _check_family_flags("vae", {"model.batch_size": 64}, {"model.batch_size": "--batch-size"})


@pytest.mark.slow
def test_patience_and_max_time_stop_a_vae(csv_file, tmp_path):
    base = ["train", str(csv_file), "--registry", str(tmp_path), *VAE_CLI, "--epochs", "30"]
    # no epoch can gain 1.0 of mean TVD: stops once patience runs out
    assert main([*base, "--name", "p", "--patience", "1", "--min-delta", "1"]) == 0
    assert json.loads((tmp_path / "p" / "1" / "metadata.json").read_text())["epochs"] == 2
    assert main([*base, "--name", "t", "--max-time", "0.01"]) == 0
    assert json.loads((tmp_path / "t" / "1" / "metadata.json").read_text())["epochs"] == 1


# ------------------------------------------------------------------ checkpoints and resume
def test_vae_checkpoint_restores_weights_ema_optimizer_and_seed_states(tmp_path):
    frame = dependent_frame(640)
    model = CategoricalVAE(seed=0, **VAE_TINY)
    model.fit(frame, epochs=2)
    write_checkpoint(
        tmp_path, model, {"epoch": 2, "config": {"seed": 0, "model": model.config.to_dict()}}
    )
    restored, state = restore(latest_checkpoint(tmp_path))
    assert isinstance(restored, CategoricalVAE) and state["family"] == "vae"
    assert json.loads((latest_checkpoint(tmp_path) / "state.json").read_text())["family"] == "vae"
    optimizer = restored.trainer.optimizer
    assert len(restored.trainer.ema_weights) == len(restored.trainer.trainable_variables)
    for a, b in zip(_numpy(model.trainer.optimizer.variables), _numpy(optimizer.variables)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_numpy(model.trainer.weights), _numpy(restored.trainer.weights)):
        np.testing.assert_array_equal(a, b)
    seeds = _numpy(_seed_states(model.trainer))
    assert len(seeds) == 2  # the encoder's latent and the decoder's heads
    for a, b in zip(seeds, _numpy(_seed_states(restored.trainer))):
        np.testing.assert_array_equal(a, b)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 10
    assert int(keras.ops.convert_to_numpy(restored.trainer.step_counter)) == 10
    restored.fit(frame, epochs=1, initial_epoch=2)  # training continues from there
    assert int(keras.ops.convert_to_numpy(restored.trainer.step_counter)) == 15


@pytest.mark.slow
def test_vae_resume_after_sigkill_gives_the_uninterrupted_model(tmp_path):
    data = tmp_path / "data.csv"
    dependent_frame(3000).to_csv(data, index=False)
    registry = tmp_path / "reg"
    common = ["--registry", str(registry), "--checkpoint-every", "1", "--seed", "7", *VAE_CLI]
    argv = [sys.executable, "-m", "training", "train", str(data), "--name", "r", *common]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*argv, "--epochs", "400"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
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
    checkpoint = latest_checkpoint(ckpts)
    done = int(checkpoint.name.split("-")[1])
    assert json.loads((checkpoint / "state.json").read_text())["family"] == "vae"
    assert Registry(registry).latest("r") is None  # nothing published by the killed run
    epochs = ["--epochs", str(done + 2)]
    assert main(["train", str(data), "--name", "r", *common, *epochs, "--resume"]) == 0
    meta = Registry(registry).metadata("r")
    assert meta["epochs"] == done + 2 and meta["family"] == "vae"
    log = pd.read_csv(registry / "r" / ".logs" / "training_log.csv")
    assert log["epoch"].max() == done + 1
    # the same run without the kill: the same networks, bit for bit, and the same card
    assert main(["train", str(data), "--name", "u", *common, *epochs]) == 0
    resumed, whole = (load_model(Registry(registry).resolve(n).path) for n in ("r", "u"))
    assert isinstance(resumed, CategoricalVAE)
    for net in ("generator", "encoder"):
        for a, b in zip(getattr(resumed, net).get_weights(), getattr(whole, net).get_weights()):
            np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(resumed.sample(200, seed=1), whole.sample(200, seed=1))
    assert meta["fidelity"] == Registry(registry).metadata("u")["fidelity"]


@pytest.mark.slow
def test_resume_keeps_the_checkpointed_family(tmp_path, monkeypatch, capsys):
    """A VAE run crashed while publishing resumes as a VAE, even under a plain `--resume`
    (whose family defaults to the GAN): the checkpoint's family and model are kept."""
    data = tmp_path / "data.csv"
    dependent_frame(600).to_csv(data, index=False)
    registry = tmp_path / "reg"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while writing the model card")

    base = ["train", str(data), "--name", "m", "--registry", str(registry), "--seed", "2"]
    with monkeypatch.context() as patch:
        patch.setattr(training.report.ModelCard, "write", crash)
        assert main([*base, *VAE_CLI, "--epochs", "1", "--checkpoint-every", "1"]) == 1
    capsys.readouterr()
    argv = [*base, "--resume", "--epochs", "2", "--quiet", "--no-tensorboard"]
    assert main(argv) == 0
    assert "its family and model options are kept" in capsys.readouterr().err
    path = registry / "m" / "1"
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["family"] == "vae" and meta["epochs"] == 2 and meta["job"]["family"] == "vae"
    assert meta["config"]["latent_variables"] == 4
    assert isinstance(load_model(path), CategoricalVAE) and (path / "elbo.png").is_file()
