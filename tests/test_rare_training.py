"""Rare-label protection through the real CLI and service: a label planted in one row is in no
file of the registry (zip members included), no checkpoint and no response; `--keep-rare`,
`--rare-placeholder` and `--rare-mode` (flags and config file)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_TINY
from fastapi.testclient import TestClient

import training.report
from api.main import create_app
from api.settings import Settings
from discrete_gan import CategoricalGAN
from discrete_gan.privacy import holdout_split
from training.checkpoints import latest_checkpoint
from training.cli import main

SECRET = "SECRET-LABEL-7788"  # one training row
HELD = "HELD-OUT-ONLY-4242"  # one held-out row, in no training row
FOUR = "FOUR-TIMES-0001"  # four training rows: under every threshold (5..7)
KEPT = "TEN-TIMES-0002"  # ten training rows: over every threshold
SECRETS = (SECRET, HELD, FOUR)
ROWS, SEED = 400, 11
FAST = ["--epochs", "2", "--seed", str(SEED), "--steps-per-epoch", "4", *CLI_TINY]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Two columns of common labels; `code` also holds the planted labels above."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], ROWS),
            "code": rng.choice(["c1", "c2", "c3", "c4"], ROWS),
        }
    )
    train, held = holdout_split(ROWS, 0.1, SEED)  # the rows the job will hold out
    train = np.sort(train)
    frame.loc[train[0], "code"] = SECRET
    frame.loc[np.sort(held)[0], "code"] = HELD
    frame.loc[train[1:5], "code"] = FOUR
    frame.loc[train[5:15], "code"] = KEPT
    path = tmp_path_factory.mktemp("data") / "planted.csv"
    frame.to_csv(path, index=False)
    return path


def _leaks(root: Path, secrets=SECRETS) -> list[str]:
    """Every file under `root` (and every member of a zip: .keras, .npz) holding a secret."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        blobs = {str(path): path.read_bytes()}
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                blobs.update({f"{path}!{m}": z.read(m) for m in z.namelist()})
        for where, blob in blobs.items():
            found += [f"{where}: {s}" for s in secrets if s.encode() in blob]
    return found


def _train(data: Path, registry: Path, *extra: str, name: str = "m") -> int:
    return main(["train", str(data), "--name", name, "--registry", str(registry), *FAST, *extra])


def _responses(registry: Path, name: str = "m") -> list[bytes]:
    app = create_app(Settings(registry=str(registry), rescan_interval_s=0))
    bodies = []
    with TestClient(app) as client:
        for fmt in ("json", "csv", "ndjson"):
            r = client.post(f"/models/{name}/sample", json={"n": 3000, "seed": 1, "format": fmt})
            assert r.status_code == 200
            bodies.append(r.content)
        for path in ["/models", f"/models/{name}", f"/models/{name}/probabilities"]:
            bodies.append(client.get(path).content)
        bodies.append(client.get(f"/models/{name}/probabilities?given=code:c1").content)
        bodies.append(client.get(f"/models/{name}/dependence").content)
        for file in client.get(f"/models/{name}/card").json()["files"]:
            bodies.append(client.get(f"/models/{name}/card/{file}").content)
        bodies.append(client.get("/").content)
        r = client.post(f"/models/{name}/sample", json={"n": 5, "conditions": {"code": SECRET}})
        assert r.status_code in (400, 404, 422), r.status_code  # no such label to condition on
    return bodies


@pytest.mark.slow
def test_a_planted_label_is_in_no_file_checkpoint_or_response(data, tmp_path, monkeypatch, capsys):
    registry = tmp_path / "reg"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while writing the model card")

    with monkeypatch.context() as patch:  # keep the checkpoints: the run dies before publishing
        patch.setattr(training.report.ModelCard, "write", crash)
        assert _train(data, registry, "--checkpoint-every", "1") == 1
    checkpoints = registry / "m" / ".checkpoints"
    assert latest_checkpoint(checkpoints) is not None
    assert _leaks(checkpoints) == []
    schema = json.loads((latest_checkpoint(checkpoints) / "schema.json").read_text())
    assert schema["columns"][1]["categories"] == [KEPT, "c1", "c2", "c3", "c4", "_RARE_"]

    # a kept label renamed keeps every code (and the fingerprint) but not the training rows
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(data.read_text().replace(KEPT, "TEN-TIMES-0003"))
    assert _train(renamed, registry, "--resume", "--epochs", "3") == 1
    assert "differs from the checkpointed run" in capsys.readouterr().err
    assert _train(data, registry, "--resume", "--epochs", "3") == 0  # resumes the protected run
    version = registry / "m" / "1"
    assert (version / "generator.keras").is_file()
    assert _leaks(registry) == []  # the version, its zips, the logs: nowhere

    meta = json.loads((version / "metadata.json").read_text())
    assert meta["epochs"] == 3 and meta["train_rows"] == 360
    rare = meta["rare_labels"]
    assert rare["mode"] == "placeholder" and rare["placeholder"] == "_RARE_"
    assert rare["columns"]["code"] == {"labels_protected": 3, "rows_share": 5 / 360}
    assert rare["columns"]["colour"] == {"labels_protected": 0, "rows_share": 0.0}
    card = (version / "model_card.md").read_text()
    assert "## Rare-label protection" in card and "| code | 3 | 1.39% |" in card
    assert "_RARE_" in card and meta["fidelity"]["privacy"]["holdout_rows"] == 40

    sample = ["sample", "m", "-n", "5000", "--registry", str(registry), "--seed", "2"]
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"rows.{fmt}"
        assert main([*sample, "--format", fmt, "--out", str(out)]) == 0
        assert not any(s.encode() in out.read_bytes() for s in SECRETS)
    rows = pd.read_csv(tmp_path / "rows.csv", dtype=str, keep_default_na=False)
    assert set(rows["code"]) <= {"c1", "c2", "c3", "c4", KEPT, "_RARE_"}  # kept ones exactly
    assert KEPT in set(rows["code"])
    for body in _responses(registry):
        assert not any(s.encode() in body for s in SECRETS)
    captured = capsys.readouterr()
    assert not any(s in captured.out + captured.err for s in SECRETS)
    assert main([*sample, "--where", f"code={SECRET}"]) == 1  # no such label to condition on
    err = capsys.readouterr().err
    assert f"Unknown label '{SECRET}'" in err and err.count(SECRET) == 1  # the query, echoed


@pytest.mark.slow
def test_keep_rare_keeps_every_label(data, tmp_path, capsys):
    registry = tmp_path / "reg"
    assert _train(data, registry, "--keep-rare", "--holdout", "0") == 0
    version = registry / "m" / "1"
    model = CategoricalGAN.load(version)
    assert {SECRET, HELD, FOUR, KEPT} <= set(model.schema.column("code").categories)
    assert "_RARE_" not in model.schema.column("code").categories
    assert model.metadata["rare_labels"]["mode"] == "off"
    assert model.metadata["config"]["rare_min_count"] == 0
    assert "Off (`--keep-rare`)" in (version / "model_card.md").read_text()
    assert set(model.sample(20, seed=0, where={"code": SECRET})["code"]) == {SECRET}
    out = tmp_path / "s.csv"
    args = ["sample", "m", "-n", "10", "--registry", str(registry), "--out", str(out)]
    assert main([*args, "--where", f"code={SECRET}"]) == 0
    assert set(pd.read_csv(out, dtype=str)["code"]) == {SECRET}
    capsys.readouterr()


# The placeholder and the mode change labels and codes only (numpy); the protected CLI run, its
# files, checkpoints and responses run under JAX in the test above.
@pytest.mark.backend_agnostic
@pytest.mark.slow
def test_placeholder_and_mode_are_settable(data, tmp_path, capsys):
    registry = tmp_path / "reg"
    assert _train(data, registry, "--rare-placeholder", "(rare)", name="p") == 0
    schema = CategoricalGAN.load(registry / "p" / "1").schema
    assert schema.column("code").categories == (KEPT, "c1", "c2", "c3", "c4", "(rare)")
    config = tmp_path / "job.toml"
    config.write_text('[model]\nrare_mode = "sample"\n')
    assert _train(data, registry, "--config", str(config), name="s") == 0
    model = CategoricalGAN.load(registry / "s" / "1")
    assert model.schema.column("code").categories == (KEPT, "c1", "c2", "c3", "c4")
    assert model.metadata["rare_labels"]["mode"] == "sample"
    assert "`sample`" in (registry / "s" / "1" / "model_card.md").read_text()
    assert _leaks(registry) == []
    clash = tmp_path / "clash.csv"
    clash.write_text("code\n" + "_RARE_\n" * 10 + "x\n" * 10 + "y\n")
    assert main(["train", str(clash), "--name", "c", "--registry", str(registry), *FAST]) == 1
    assert "another placeholder" in capsys.readouterr().err
    assert not (registry / "c").exists() or not any((registry / "c").rglob("generator.keras"))


@pytest.mark.backend_agnostic
def test_the_flags_set_the_model_config():
    from training.cli import build_parser, job_config

    def config(*argv):
        return job_config(build_parser().parse_args(["train", "d.csv", "--name", "m", *argv]))

    assert config().model.rare_min_count == 5 and config().model.rare_mode == "placeholder"
    assert config("--keep-rare").model.rare_min_count == 0
    assert config("--rare-placeholder", "?").model.rare_placeholder == "?"
    assert config("--rare-mode", "sample").model.rare_mode == "sample"
    assert config("--set", "model.rare_min_count=8").model.rare_min_count == 8


@pytest.mark.backend_agnostic
def test_bad_rare_settings_are_one_error_line(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a\nx\ny\n")
    for extra in (["--set", "model.rare_min_count=-1"], ["--rare-placeholder", ""]):
        code = main(["train", str(path), "--name", "m", "--registry", str(tmp_path), *extra])
        err = capsys.readouterr().err.strip()
        assert code == 1 and err.startswith("error: ") and len(err.splitlines()) == 1, err
        assert "rare_" in err


@pytest.mark.backend_agnostic
def test_zip_members_are_scanned(tmp_path):
    """The leak scan itself: a secret inside a compressed zip member is found."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps({"labels": [SECRET] * 50}))
    (tmp_path / "m.keras").write_bytes(buffer.getvalue())
    assert SECRET.encode() not in buffer.getvalue()
    assert _leaks(tmp_path) == [f"{tmp_path / 'm.keras'}!config.json: {SECRET}"]
