"""Labels come back exactly as written: CSV in, CLI and service out, in every format.

The rule, with rare-label protection on (the default): a label seen in at least 7 training
rows (above every per-column threshold, 5 to 7) comes back byte for byte; a label seen in
fewer than 5 comes back only as the placeholder `_RARE_`. With `--keep-rare`, every label
comes back byte for byte, however rare.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.main import create_app
from api.settings import Settings
from discrete_gan import CategoricalGAN
from training.cli import main

# `backend_agnostic` below (the TensorFlow pass only, scripts/test.sh): labels never reach the
# backend, which sees integer codes, and the train / sample / serve path these tests take runs
# under JAX in test_training_cli, test_api and test_rare_training. Loading the legacy model runs
# in both passes.
SPECIAL = ["TRUE", "FALSE", "None", "NA", "N/A", "null", "NaN", "007", "07", "7", "1", "1.0"]
SPECIAL += [" a ", "b ", " c", "x,y", 'q"uote', "line\nbreak", "cr\rx", "crlf\r\n", "ünï", "日本"]
SPECIAL += ["inf", "-inf", "#", "'", "\t"]
TRAIN = ["--quiet", "--no-tensorboard", "--batch-size", "64", "--steps-per-epoch", "25"]
TRAIN += ["--epochs", "4", "--set", "model.generator_units=[32]"]
TRAIN += ["--set", "model.discriminator_units=[32]", "--set", "model.noise_dim=8"]

PLACEHOLDER = "_RARE_"
label = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6),
).filter(lambda x: x != PLACEHOLDER)
columns = st.lists(st.lists(label, min_size=2, max_size=5, unique=True), min_size=1, max_size=2)


def _planted(j: int) -> str:
    """The label planted in one row of column `j`: under every threshold, so protected."""
    return f"planted-once-{j}"


def _write_csv(
    path: Path, table: list[list[str]], seed: int, repeat: int = 12, plant: bool = True
) -> list[list[str]]:
    """Each column's labels repeated (at least) `repeat` times, shuffled, and with `plant`
    one cell of column j replaced by `_planted(j)`; written with Excel-style CRLF lines."""
    rng = np.random.default_rng(seed)
    rows = repeat * max(len(c) for c in table)
    cells = [rng.permutation(np.resize(np.array(c, dtype=object), rows)) for c in table]
    if plant:
        for j, column in enumerate(cells):
            column[0] = _planted(j)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow([f"col {j}" for j in range(len(table))])
        writer.writerows(zip(*cells, strict=True))
    return cells


def _read_text_csv(data: bytes, names: list[str]) -> dict[str, list]:
    table = pc.read_csv(
        io.BytesIO(data),
        parse_options=pc.ParseOptions(newlines_in_values=True),
        convert_options=pc.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return {n: table.column(n).to_pylist() for n in names}


def _check(returned: dict[str, list], table: list[list[str]], placeholder: bool = True) -> None:
    """Every label of `table` comes back byte for byte, and nothing else but the placeholder
    (for the planted labels) when protection is on."""
    for j, labels in enumerate(table):
        got = returned[f"col {j}"]
        allowed = {*labels, PLACEHOLDER} if placeholder else set(labels)
        assert set(got) <= allowed, set(got) - allowed  # byte for byte; rare: the placeholder
        assert set(labels) <= set(got), set(labels) - set(got)  # every kept label comes back
        assert _planted(j) not in got


def _round_trip(
    tmp: Path, table: list[list[str]], capsys, repeat: int = 12, keep_rare: bool = False
) -> None:
    data, reg = tmp / "data.csv", tmp / "reg"
    _write_csv(data, table, seed=len(table), repeat=repeat, plant=not keep_rare)
    extra = ["--keep-rare", "--holdout", "0"] if keep_rare else []
    args = ["train", str(data), "--name", "m", "--registry", str(reg), *TRAIN, *extra]
    assert main(args) == 0
    protected = not keep_rare
    names = [f"col {j}" for j in range(len(table))]
    sample = ["sample", "m", "-n", "3000", "--registry", str(reg), "--seed", "1"]
    assert main([*sample, "--out", str(tmp / "s.csv")]) == 0
    _check(_read_text_csv((tmp / "s.csv").read_bytes(), names), table, protected)
    assert main([*sample, "--format", "jsonl", "--out", str(tmp / "s.jsonl")]) == 0
    records = [json.loads(x) for x in (tmp / "s.jsonl").read_text("utf-8").splitlines()]
    _check({n: [r[n] for r in records] for n in names}, table, protected)
    assert main([*sample, "--format", "parquet", "--out", str(tmp / "s.parquet")]) == 0
    _check(pq.read_table(tmp / "s.parquet").to_pydict(), table, protected)
    capsys.readouterr()

    app = create_app(Settings(registry=str(reg), rescan_interval_s=0))
    with TestClient(app) as client:
        body = client.post("/models/m/sample", json={"n": 3000, "seed": 1}).json()
        _check(
            {n: [r[j] for r in body["rows"]] for j, n in enumerate(body["columns"])},
            table,
            protected,
        )
        r = client.post("/models/m/sample", json={"n": 3000, "seed": 1, "format": "csv"})
        _check(_read_text_csv(r.content, names), table, protected)
        r = client.post("/models/m/sample", json={"n": 3000, "seed": 1, "format": "ndjson"})
        records = [json.loads(x) for x in r.text.splitlines()]
        _check({n: [rec[n] for rec in records] for n in names}, table, protected)
        detail = client.get("/models/m").json()
        for j, labels in enumerate(table):
            stored = [*labels, PLACEHOLDER] if protected else labels
            assert sorted(detail["schema"][j]["categories"]) == sorted(stored)


@pytest.mark.backend_agnostic
@pytest.mark.slow
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(table=columns)
@example(table=[SPECIAL[:15], SPECIAL[15:]])
def test_csv_labels_round_trip_byte_for_byte(tmp_path_factory, capsys, table):
    """Labels seen 11 times or more come back exactly; one planted once comes back only as
    the placeholder."""
    _round_trip(tmp_path_factory.mktemp("labels"), table, capsys)


@pytest.mark.backend_agnostic
@pytest.mark.slow
def test_rare_labels_round_trip_byte_for_byte_with_keep_rare(tmp_path, capsys):
    """With --keep-rare, labels seen 3 times each (under every threshold) come back exactly."""
    _round_trip(tmp_path, [SPECIAL[:10], SPECIAL[10:20]], capsys, repeat=3, keep_rare=True)


@pytest.mark.backend_agnostic
def test_na_values_name_missing_spellings(tmp_path, capsys):
    data = tmp_path / "d.csv"
    # 20 rows a label: above every rare-label threshold, after the held-out rows too
    data.write_text("c,k\n" + "NA,x\nNULL,y\nNone,x\n,y\n" * 20, encoding="utf-8")
    reg = str(tmp_path / "reg")
    args = ["train", str(data), "--registry", reg, *TRAIN]
    assert main([*args, "--name", "plain"]) == 0
    assert main([*args, "--name", "na", "--na-values", "NA", "--na-values", "NULL"]) == 0
    plain = CategoricalGAN.load(tmp_path / "reg" / "plain" / "1").schema.column("c")
    na = CategoricalGAN.load(tmp_path / "reg" / "na" / "1").schema.column("c")
    assert plain.categories == ("NA", "NULL", "None", None)
    assert na.categories == ("None", None)


def _typed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    ints = pd.array(rng.choice([1, 2, 3], n), dtype="Int64")
    ints[rng.random(n) < 0.2] = pd.NA
    return pd.DataFrame(
        {
            "flag": rng.random(n) < 0.4,
            "count": ints,
            "code": rng.choice(["007", "07", "7"], n),
            "ratio": rng.choice([0.5, 1.0, 2.5], n),
        }
    )


@pytest.mark.backend_agnostic
def test_parquet_and_jsonl_keep_their_types(tmp_path, capsys):
    frame = _typed_frame()
    frame.to_parquet(tmp_path / "d.parquet")
    reg = str(tmp_path / "reg")
    assert (
        main(["train", str(tmp_path / "d.parquet"), "--name", "p", "--registry", reg, *TRAIN]) == 0
    )
    out = tmp_path / "s.parquet"
    assert (
        main(
            [
                "sample",
                "p",
                "-n",
                "2000",
                "--registry",
                reg,
                "--format",
                "parquet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pq.read_table(out)
    assert table.schema.field("flag").type == pa.bool_()
    assert table.schema.field("count").type == pa.int64() and table.column("count").null_count
    assert table.schema.field("code").type == pa.string()
    assert set(table.column("code").to_pylist()) == {"007", "07", "7"}
    assert set(table.column("ratio").to_pylist()) == {0.5, 1.0, 2.5}
    out = tmp_path / "s.jsonl"
    assert (
        main(
            ["sample", "p", "-n", "500", "--registry", reg, "--format", "jsonl", "--out", str(out)]
        )
        == 0
    )
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert {type(r["flag"]) for r in records} == {bool}
    assert {type(r["count"]) for r in records} == {int, type(None)}
    assert {type(r["code"]) for r in records} == {str}

    lines = [json.dumps({"a": "007", "b": 1, "c": "1"}), json.dumps({"a": "7", "b": 2, "c": 1})]
    (tmp_path / "d.jsonl").write_text("\n".join(lines * 40) + "\n")
    assert main(["train", str(tmp_path / "d.jsonl"), "--name", "j", "--registry", reg, *TRAIN]) == 0
    schema = CategoricalGAN.load(tmp_path / "reg" / "j" / "1").schema
    assert schema.column("a").categories == ("007", "7")
    assert [type(x) for x in schema.column("c").categories] == [int, str]  # 1 and "1"
    capsys.readouterr()
    lines = [json.dumps({"b": 1}), json.dumps({"b": 1.0})]
    (tmp_path / "e.jsonl").write_text("\n".join(lines * 40) + "\n")
    assert main(["train", str(tmp_path / "e.jsonl"), "--name", "e", "--registry", reg]) == 1
    assert "1 and 1.0" in capsys.readouterr().err


@pytest.mark.backend_agnostic
def test_conditions_match_the_stored_text_exactly(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("code,k\n" + "007,x\n07,y\n7,x\n1.0,y\n1,x\n" * 20)
    reg = str(tmp_path / "reg")
    assert main(["train", str(data), "--name", "c", "--registry", reg, *TRAIN]) == 0
    model = CategoricalGAN.load(tmp_path / "reg" / "c" / "1")
    for wanted in ["007", "07", "7", "1", "1.0"]:
        assert set(model.sample(200, seed=0, where={"code": wanted})["code"]) == {wanted}
    with pytest.raises(ValueError, match="Unknown label"):
        model.sample(5, where={"code": 7})  # a number never names a text label
    out = tmp_path / "s.csv"
    args = ["sample", "c", "-n", "100", "--registry", reg, "--out", str(out), "--where"]
    assert main([*args, "code=007"]) == 0
    assert set(_read_text_csv(out.read_bytes(), ["code"])["code"]) == {"007"}
    app = create_app(Settings(registry=reg, rescan_interval_s=0))
    with TestClient(app) as client:
        body = client.post("/models/c/sample", json={"n": 50, "conditions": {"code": "07"}}).json()
        assert {r[0] for r in body["rows"]} == {"07"}
        probs = client.get("/models/c/probabilities", params={"given": "code:1.0"}).json()
        p = {e["label"]: e["probability"] for e in probs["probabilities"]["code"]}
        assert p["1.0"] == pytest.approx(1.0) and p["1"] == 0.0


def test_legacy_model_loads_with_its_labels_intact():
    """A model saved before exact text labels (schema format 1, typed labels) still loads."""
    model = CategoricalGAN.load(Path(__file__).parent / "data" / "legacy_v1_model")
    assert model.schema.column("code").categories == ("007", "07", "7", "None", "TRUE")
    assert model.schema.column("flag").categories == (False, True)
    assert model.schema.column("size").categories == (1, 2, 3)
    assert model.schema.column("ratio").categories == (0.5, 1.0, 2.5)
    frame = model.sample(300, seed=1)
    assert set(frame["code"]) <= {"007", "07", "7", "None", "TRUE"}
    assert frame["flag"].dtype == bool and set(frame["size"]) <= {1, 2, 3}
