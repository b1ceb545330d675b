"""The training job's CLI: happy paths in-process, every bad input, no leftovers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import CLI_TINY, dependent_frame

from training.cli import main

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--epochs", "2", *CLI_TINY]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "table.csv"
    dependent_frame(1500).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def published(csv_file, tmp_path_factory):
    registry = tmp_path_factory.mktemp("reg")
    args = ["train", str(csv_file), "--name", "tiny", "--registry", str(registry), *FAST]
    assert main([*args, "--seed", "0"]) == 0
    return registry


def test_train_publishes_a_complete_version(published):
    version = published / "tiny" / "1"
    assert (published / "tiny" / "latest").read_text().strip() == "1"
    for name in [
        "generator.keras",
        "schema.json",
        "metadata.json",
        "model_card.md",
        "fidelity.json",
        "marginals.png",
        "error_heatmap.png",
        "temperature.png",
        "losses.png",
    ]:
        assert (version / name).is_file(), name
    meta = json.loads((version / "metadata.json").read_text())
    assert meta["rows"] == 1500 and meta["data_fingerprint"].startswith("sha256:")
    assert meta["versions"]["keras"] and meta["seed"] == 0 and meta["epochs"] == 2
    assert meta["version"] == "1" and "v1" in (version / "model_card.md").read_text()
    assert meta["fidelity"]["mean_column_tvd"] < 0.5
    assert not (published / "tiny" / ".checkpoints").exists()


def test_sample_streams_each_format(published, tmp_path, capsys):
    reg = str(published)
    out = tmp_path / "rows.csv"
    assert main(["sample", "tiny", "-n", "20000", "--registry", reg, "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 20000 and list(df.columns) == ["colour", "size", "flag"]
    assert main(["sample", "tiny", "-n", "5", "--registry", reg, "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and set(json.loads(lines[0])) == {"colour", "size", "flag"}
    pq = tmp_path / "rows.parquet"
    assert (
        main(
            [
                "sample",
                "tiny",
                "-n",
                "300",
                "--registry",
                reg,
                "--format",
                "parquet",
                "--out",
                str(pq),
            ]
        )
        == 0
    )
    assert len(pd.read_parquet(pq)) == 300


def test_sample_is_reproducible_and_conditional(published, tmp_path):
    reg = str(published)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        assert (
            main(
                [
                    "sample",
                    "tiny",
                    "-n",
                    "500",
                    "--seed",
                    "3",
                    "--registry",
                    reg,
                    "--out",
                    str(path),
                ]
            )
            == 0
        )
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.csv"
    assert (
        main(
            [
                "sample",
                "tiny",
                "-n",
                "400",
                "--registry",
                reg,
                "--out",
                str(c),
                "--where",
                "colour=red|blue",
                "--where",
                "flag=True",
            ]
        )
        == 0
    )
    df = pd.read_csv(c)
    assert len(df) == 400 and df["colour"].isin(["red", "blue"]).all() and df["flag"].all()


@pytest.mark.backend_agnostic
def test_models_lists_the_registry(published, capsys):
    assert main(["models", "--registry", str(published)]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "NAME" in out
    assert main(["models", "--registry", str(published), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing[0]["name"] == "tiny" and listing[0]["versions"] == ["1"]


def test_plot_temperature(tmp_path):
    out = tmp_path / "t.png"
    assert main(["plot", "temperature", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _bad(tmp_path, capsys, argv, match):
    registry = tmp_path / "reg"
    code = main([*argv, "--registry", str(registry)])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert match in err, err
    assert not registry.exists() or not any(registry.rglob("generator.keras"))
    return err


def _write(tmp_path, name, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "name, content, match",
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b\n", "no rows"),
        ("one.csv", b"a,b\nx,y\n", "at least 2 rows"),
        ("latin1.csv", "a\ncaf\xe9\nthé\n".encode("latin-1"), "not valid UTF-8"),
        ("blank.csv", b"a,b\n,\n,\n", "No usable columns"),
        ("data.xlsx", b"whatever", "Unknown data format"),
        ("bad.jsonl", b"{not json}\n", "Cannot parse"),
    ],
)
def test_bad_data_files(tmp_path, capsys, name, content, match):
    path = _write(tmp_path, name, content)
    _bad(tmp_path, capsys, ["train", path, "--name", "m", *FAST], match)


@pytest.mark.backend_agnostic
def test_missing_file_and_directory(tmp_path, capsys):
    _bad(tmp_path, capsys, ["train", str(tmp_path / "nope.csv"), "--name", "m"], "not found")
    _bad(tmp_path, capsys, ["train", str(tmp_path), "--name", "m"], "directory")


@pytest.mark.backend_agnostic
def test_cardinality_cap_names_the_column(tmp_path, capsys):
    rows = "\n".join(f"{i},x" for i in range(50))
    path = _write(tmp_path, "wide.csv", f"id,k\n{rows}\n".encode())
    err = _bad(
        tmp_path, capsys, ["train", path, "--name", "m", "--max-categories", "10", *FAST], "'id'"
    )
    assert "50" in err


@pytest.mark.backend_agnostic
def test_bad_config(tmp_path, capsys, csv_file):
    toml = _write(tmp_path, "c.toml", b"epochs = 2\nbogus = 1\n")
    _bad(tmp_path, capsys, ["train", str(csv_file), "--name", "m", "--config", toml], "bogus")
    toml = _write(tmp_path, "d.toml", b"[model]\nlearning_rat = 0.1\n")
    _bad(
        tmp_path, capsys, ["train", str(csv_file), "--name", "m", "--config", toml], "learning_rat"
    )
    yaml = _write(tmp_path, "e.yaml", b"epochs: [1, 2\n")
    _bad(tmp_path, capsys, ["train", str(csv_file), "--name", "m", "--config", yaml], "parse")
    _bad(tmp_path, capsys, ["train", str(csv_file), "--name", "m", "--epochs", "0"], "epochs")
    _bad(tmp_path, capsys, ["train", str(csv_file), "--name", "m", "--set", "model.loss=x"], "loss")
    _bad(tmp_path, capsys, ["train", str(csv_file), "--name", "../x"], "Invalid model name")
    _bad(
        tmp_path,
        capsys,
        ["train", str(csv_file), "--name", "m", "--columns", "nope"],
        "Unknown column",
    )


def test_sample_errors(published, tmp_path, capsys):
    reg = ["--registry", str(published)]
    for argv, match in [
        (["sample", "ghost", "-n", "3"], "No model named"),
        (["sample", "tiny", "-n", "3", "--version", "9"], "no version"),
        (["sample", "tiny", "-n", "3", "--where", "colour=purple"], "Unknown label"),
        (["sample", "tiny", "-n", "3", "--where", "nope"], "COLUMN=LABEL"),
        (["sample", "tiny", "-n", "3", "--format", "parquet"], "needs --out"),
    ]:
        assert main([*argv, *reg]) == 1
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.glob(".*"))


@pytest.mark.backend_agnostic
def test_usage_error_exit_code(capsys):
    assert main(["train"]) == 2
    assert main(["frobnicate"]) == 2


# Reading stdin is training.data's (test_ingest); the same CLI training runs under JAX in
# `published`, and in a child process in test_training_resume.
@pytest.mark.backend_agnostic
@pytest.mark.slow
def test_stdin_csv_via_subprocess(tmp_path):
    data = dependent_frame(300).to_csv(index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "training",
            "train",
            "-",
            "--name",
            "piped",
            "--registry",
            str(tmp_path),
            *FAST,
        ],
        input=data,
        text=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "piped" / "1" / "generator.keras").is_file()
