"""`discrete-gan train --holdout`: the held-out split, the privacy figures in the model card,
bad values, and resuming (real CLI runs on small CSV files)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_TINY, TINY

import training.report
from discrete_gan import CategoricalGAN, TableSchema
from discrete_gan.privacy import holdout_split
from training.checkpoints import latest_checkpoint, write_checkpoint
from training.cli import main
from training.data import fingerprint, load_table

# The split, the privacy figures and the checkpointed `holdout` are numpy and JSON. The job's
# backend path they ride on runs under JAX elsewhere: training with the default 10% holdout and
# its privacy figures (test_training_cli's `published`), --holdout 0 and a crash then --resume
# (test_rare_training), checkpoints written and restored (test_training_resume). So this file
# runs in the TensorFlow pass only (scripts/test.sh).
pytestmark = pytest.mark.backend_agnostic

FAST = ["--epochs", "1", *CLI_TINY]
PRIVACY_KEYS = {
    "holdout_rows",
    "train_rows",
    "synthetic_rows",
    "exact_copy_rate",
    "holdout_copy_rate",
    "dcr_share",
    "dcr_rows",
    "note",
}


def _wide_csv(path, rows: int, seed: int = 0) -> str:
    """6 columns of 8 labels: repeated rows are rare, so copy rates are informative."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"c{j}": rng.choice(list("abcdefgh"), rows) for j in range(6)})
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    return _wide_csv(tmp_path_factory.mktemp("data") / "wide.csv", 600)


def _train(data: str, registry, *extra: str, name: str = "m") -> int:
    return main(["train", data, "--name", name, "--registry", str(registry), *FAST, *extra])


def _version(registry, name: str = "m", version: str = "1"):
    path = registry / name / version
    meta = json.loads((path / "metadata.json").read_text())
    report = json.loads((path / "fidelity.json").read_text())
    return path, meta, report


def _training_frequencies(data: str, fraction: float, seed: int) -> list[list[float]]:
    """What the schema's frequencies must be if the run trained on `holdout_split`'s rows."""
    frame = load_table(data)
    codes = TableSchema.from_dataframe(frame).encode(frame)
    train, _ = holdout_split(len(codes), fraction, seed)
    return [
        (np.bincount(codes[train, j], minlength=codes[:, j].max() + 1) / len(train)).tolist()
        for j in range(codes.shape[1])
    ]


@pytest.mark.slow
def test_default_holdout_puts_privacy_in_the_card(data, tmp_path):
    registry = tmp_path / "reg"
    assert _train(data, registry, "--seed", "3") == 0
    path, meta, report = _version(registry)
    assert (meta["rows"], meta["train_rows"], meta["holdout_rows"]) == (600, 540, 60)
    assert meta["job"]["holdout"] == 0.1
    privacy = meta["fidelity"]["privacy"]
    assert set(privacy) == PRIVACY_KEYS and report["privacy"] == privacy
    assert privacy["holdout_rows"] == 60 and privacy["train_rows"] == 540
    assert privacy["note"] is None and privacy["dcr_rows"] == 60
    for key in ("exact_copy_rate", "holdout_copy_rate", "dcr_share"):
        assert 0.0 <= privacy[key] <= 1.0, key
    assert privacy["holdout_copy_rate"] < 0.05  # 8**6 possible rows: real rows rarely repeat
    card = (path / "model_card.md").read_text()
    assert "540 rows (60 more held out)" in card and "DCR share" in card
    # the model trained on exactly the rows holdout_split(600, 0.1, seed) keeps
    schema = TableSchema.from_json((path / "schema.json").read_text())
    expected = _training_frequencies(data, 0.1, seed=3)
    for column, freqs in zip(schema.columns, expected, strict=True):
        np.testing.assert_allclose(column.frequencies, freqs, rtol=1e-12)


@pytest.mark.slow
def test_the_split_is_a_pure_function_of_seed_and_data(data, tmp_path):
    """The flag and the config-file key give the same run: same rows held out, same figures."""
    config = tmp_path / "job.toml"
    config.write_text("holdout = 0.25\n")
    registry = tmp_path / "reg"
    assert _train(data, registry, "--seed", "5", "--holdout", "0.25", name="a") == 0
    assert _train(data, registry, "--seed", "5", "--config", str(config), name="b") == 0
    (pa, ma, ra), (pb, mb, rb) = _version(registry, "a"), _version(registry, "b")
    assert ma["holdout_rows"] == mb["holdout_rows"] == 150 and mb["job"]["holdout"] == 0.25
    assert (pa / "schema.json").read_text() == (pb / "schema.json").read_text()
    assert ra["privacy"] == rb["privacy"]
    schema = TableSchema.from_json((pa / "schema.json").read_text())
    expected = _training_frequencies(data, 0.25, seed=5)
    for column, freqs in zip(schema.columns, expected, strict=True):
        np.testing.assert_allclose(column.frequencies, freqs, rtol=1e-12)


@pytest.mark.slow
def test_holdout_zero_trains_on_every_row_and_reports_no_privacy(data, tmp_path):
    registry = tmp_path / "reg"
    assert _train(data, registry, "--holdout", "0", "--seed", "1") == 0
    path, meta, report = _version(registry)
    assert (meta["rows"], meta["train_rows"], meta["holdout_rows"]) == (600, 600, 0)
    assert "privacy" not in meta["fidelity"] and "privacy" not in report
    card = (path / "model_card.md").read_text()
    assert "Privacy" not in card and "held out" not in card


@pytest.mark.slow
def test_too_few_held_out_rows_skip_the_figures_with_a_note(tmp_path):
    data = _wide_csv(tmp_path / "small.csv", 150)
    registry = tmp_path / "reg"
    assert _train(data, registry, "--seed", "0") == 0
    path, meta, report = _version(registry)
    privacy = report["privacy"]
    assert privacy["holdout_rows"] == 15 and "fewer than 20" in privacy["note"]
    assert privacy["exact_copy_rate"] is None and privacy["dcr_share"] is None
    assert "Privacy: skipped" in (path / "model_card.md").read_text()


def _bad(argv, registry, capsys) -> str:
    code = main([*argv, "--registry", str(registry)])
    err = capsys.readouterr().err.strip()
    assert code in (1, 2), code
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert not registry.exists() or not any(registry.rglob("generator.keras"))
    return err


@pytest.mark.parametrize("value", ["-0.1", "1", "1.5", "abc", "nan", "inf", ""])
def test_bad_holdout_values(data, tmp_path, capsys, value):
    err = _bad(["train", data, "--name", "m", *FAST, "--holdout", value], tmp_path / "r", capsys)
    assert "holdout" in err


def test_bad_holdout_in_a_config_file(data, tmp_path, capsys):
    for i, text in enumerate(["holdout = 1.0\n", 'holdout = "0.1"\n', "holdout = true\n"]):
        config = tmp_path / f"c{i}.toml"
        config.write_text(text)
        argv = ["train", data, "--name", "m", *FAST, "--config", str(config)]
        assert "holdout" in _bad(argv, tmp_path / "r", capsys)


def test_a_holdout_that_leaves_too_few_training_rows(tmp_path, capsys):
    path = tmp_path / "three.csv"
    path.write_text("a,b\nx,1\ny,2\nz,3\n")
    argv = ["train", str(path), "--name", "m", *FAST, "--holdout", "0.5"]
    err = _bad(argv, tmp_path / "r", capsys)
    assert "leaves 1 of 3 rows" in err


@pytest.mark.slow
def test_resume_keeps_the_checkpointed_split(data, tmp_path, monkeypatch):
    registry = tmp_path / "reg"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while writing the model card")

    with monkeypatch.context() as patch:
        patch.setattr(training.report.ModelCard, "write", crash)
        argv = ["--seed", "2", "--holdout", "0.2", "--checkpoint-every", "1"]
        assert _train(data, registry, *argv) == 1
    assert latest_checkpoint(registry / "m" / ".checkpoints") is not None
    argv = ["--resume", "--holdout", "0.4", "--epochs", "2"]  # a new --holdout is ignored
    assert _train(data, registry, *argv) == 0
    path, meta, _ = _version(registry)
    assert meta["holdout_rows"] == 120 and meta["job"]["holdout"] == 0.2 and meta["epochs"] == 2
    schema = TableSchema.from_json((path / "schema.json").read_text())
    expected = _training_frequencies(data, 0.2, seed=2)
    for column, freqs in zip(schema.columns, expected, strict=True):
        np.testing.assert_allclose(column.frequencies, freqs, rtol=1e-12)


@pytest.mark.slow
def test_resume_of_a_run_from_before_holdouts_trains_on_every_row(data, tmp_path):
    """A checkpoint whose config has no `holdout` key trained on every row; resuming it must
    not start holding rows out (that would change its training data mid-run)."""
    registry = tmp_path / "reg"
    frame = load_table(data)
    model = CategoricalGAN(seed=0, **{**TINY, "batch_size": 128})
    model.fit(frame, epochs=1)
    state = {
        "epoch": 1,
        "config": {"seed": 0, "epochs": 2, "model": model.config.to_dict()},
        "history": {},
        "fidelity_history": [],
        "fingerprint": fingerprint(model.encode(frame).codes),
    }
    write_checkpoint(registry / "m" / ".checkpoints", model, state)
    assert _train(data, registry, "--resume", "--epochs", "2") == 0
    _, meta, report = _version(registry)
    assert (meta["rows"], meta["train_rows"], meta["holdout_rows"]) == (600, 600, 0)
    assert "privacy" not in report and meta["job"]["holdout"] == 0.0
