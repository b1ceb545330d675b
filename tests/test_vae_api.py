"""A VAE and a GAN served side by side: every endpoint for both, and scoring rows (VAE only)."""

from __future__ import annotations

import functools
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import VAE_TINY, dependent_frame
from fastapi.testclient import TestClient
from test_api import publish

from api.main import create_app
from api.rows import LabelIndex
from api.settings import Settings
from discrete_gan.registry import Registry
from discrete_gan.schema import TableSchema

MAX_ROWS = 3000
MAX_SAMPLES = 64


@functools.cache
def trained_vae(seed: int = 0, epochs: int = 3):
    """A tiny CategoricalVAE of `dependent_frame` (str, int and bool labels), once a session."""
    from discrete_gan import CategoricalVAE

    model = CategoricalVAE(seed=seed, **VAE_TINY)
    model.fit(dependent_frame(seed=seed), epochs=epochs)
    return model


@pytest.fixture(scope="module")
def registry(trained_tiny, tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("vaereg"))
    publish(reg, "gan", trained_tiny)
    publish(reg, "vae", trained_vae(1, 1))  # version 1: another model
    publish(reg, "vae", trained_vae())  # version 2, the latest
    return reg


@pytest.fixture(scope="module")
def client(registry):
    settings = Settings(
        registry=str(registry.root),
        rescan_interval_s=0,
        max_score_rows=MAX_ROWS,
        max_score_samples=MAX_SAMPLES,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def rows_of(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).to_dict(orient="records")


def score_json(client, name: str = "vae", **body):
    return client.post(f"/models/{name}/score", json=body)


def score_csv(client, text: str, name: str = "vae", **params):
    return client.post(
        f"/models/{name}/score",
        content=text.encode(),
        params=params,
        headers={"content-type": "text/csv; charset=utf-8"},
    )


# ---------------------------------------------------------------- both families, every endpoint
def test_models_report_their_family(client):
    listing = client.get("/models").json()
    assert {m["name"]: m["family"] for m in listing["models"]} == {"gan": "gan", "vae": "vae"}
    assert listing["refused"] == {}
    vae = client.get("/models/vae").json()
    assert vae["family"] == "vae" and vae["version"] == "2" and vae["versions"] == ["1", "2"]
    assert vae["metadata"]["family"] == "vae"
    assert [c["name"] for c in vae["schema"]] == ["colour", "size", "flag"]
    assert client.get("/models/vae", params={"version": "1"}).json()["family"] == "vae"
    assert client.get("/models/gan").json()["family"] == "gan"


@pytest.mark.parametrize("name", ["gan", "vae"])
def test_sampling_works_for_both_families(client, name, trained_tiny):
    model = trained_vae() if name == "vae" else trained_tiny
    body = client.post(f"/models/{name}/sample", json={"n": 50, "seed": 7}).json()
    assert body["rows"] == model.sample(50, seed=7).astype(object).values.tolist()
    csv = client.post(f"/models/{name}/sample", json={"n": 300, "seed": 7, "format": "csv"})
    lines = csv.text.strip().split("\n")
    assert lines[0] == "colour,size,flag" and len(lines) == 301
    nd = client.post(f"/models/{name}/sample", json={"n": 5, "seed": 1, "format": "ndjson"})
    assert [set(json.loads(x)) for x in nd.text.splitlines()] == [{"colour", "size", "flag"}] * 5
    relaxed = client.post(f"/models/{name}/sample", json={"n": 3, "relaxed": True}).json()
    assert abs(sum(relaxed["relaxed"][0]["colour"]) - 1) < 1e-4
    where = client.post(
        f"/models/{name}/sample", json={"n": 40, "seed": 2, "conditions": {"colour": "red"}}
    ).json()
    assert {r[0] for r in where["rows"]} == {"red"} and 0 < where["acceptance_rate"] <= 1


@pytest.mark.parametrize("name", ["gan", "vae"])
def test_probabilities_card_and_dependence_work_for_both_families(client, name, trained_tiny):
    model = trained_vae() if name == "vae" else trained_tiny
    probs = client.get(f"/models/{name}/probabilities").json()["probabilities"]
    learned = model.probabilities()
    for column, entries in probs.items():
        assert {e["label"]: e["probability"] for e in entries} == pytest.approx(learned[column])
    given = client.get(f"/models/{name}/probabilities", params={"given": "colour:blue"}).json()
    blue = {e["label"]: e["probability"] for e in given["probabilities"]["colour"]}
    assert blue["blue"] == pytest.approx(1.0)
    assert client.get(f"/models/{name}/card").json()["files"] == []  # saved by hand: no card
    dependence = client.get(f"/models/{name}/dependence", params={"n": 1000}).json()
    assert dependence["columns"] == ["colour", "size", "flag"]
    assert np.allclose(np.diag(dependence["matrix"]), 1.0)


def test_reload_keeps_both_families(client):
    assert client.post("/admin/reload").json() == {
        "models": {"gan": "1", "vae": "2"},
        "refused": {},
    }


# ---------------------------------------------------------------- scoring
def test_score_json_and_csv_give_the_same_finite_nonpositive_numbers(client):
    """Rows sampled from the service as JSON and as CSV (the same seed: the same rows) score
    the same: CSV's text "2" and "True" name the int and bool labels."""
    sampled = client.post("/models/vae/sample", json={"n": 200, "seed": 3}).json()
    records = [dict(zip(sampled["columns"], row, strict=True)) for row in sampled["rows"]]
    csv = client.post("/models/vae/sample", json={"n": 200, "seed": 3, "format": "csv"}).text
    by_json = score_json(client, rows=records)
    by_csv = score_csv(client, csv)
    assert by_json.status_code == 200 and by_csv.status_code == 200, (by_json.text, by_csv.text)
    a, b = by_json.json(), by_csv.json()
    assert a["scores"] == b["scores"] and len(a["scores"]) == 200
    assert {k: a[k] for k in ("model", "version", "family", "unit", "bound", "seed")} == {
        "model": "vae",
        "version": "2",
        "family": "vae",
        "unit": "nats",
        "bound": "ELBO (lower bound on log p(row))",
        "seed": 0,
    }
    assert a["n_samples"] is None and a["exact"] is True  # 4 ** 4 = 256 configurations
    scores = np.array(a["scores"])
    assert np.isfinite(scores).all() and (scores <= 0).all()
    # the library's own scores of the same rows (float32 networks: batch shapes round apart)
    frame = pd.DataFrame(sampled["rows"], columns=sampled["columns"])
    assert scores == pytest.approx(trained_vae().score(frame), rel=1e-5, abs=1e-5)


def test_score_is_seeded_and_row_independent(client):
    frame = dependent_frame(60, seed=11)
    rows = rows_of(frame)
    first = score_json(client, rows=rows, n_samples=16, seed=5).json()
    again = score_json(client, rows=rows, n_samples=16, seed=5).json()
    other = score_json(client, rows=rows, n_samples=16, seed=6).json()
    assert first["scores"] == again["scores"] and first["exact"] is False
    assert first["n_samples"] == 16 and first["seed"] == 5
    assert first["scores"] != other["scores"]  # 16 draws of q: the seed matters
    for i in (0, 17, 59):
        alone = score_json(client, rows=[rows[i]], n_samples=16, seed=5).json()["scores"]
        assert alone == pytest.approx([first["scores"][i]], rel=1e-6, abs=1e-6)
    # a likely row scores above an unlikely one (red is mostly size 2, blue mostly size 1)
    likely, unlikely = (
        {"colour": "red", "size": 2, "flag": False},
        {"colour": "blue", "size": 2, "flag": True},
    )
    pair = score_json(client, rows=[likely, unlikely]).json()["scores"]
    assert pair[0] > pair[1]


def test_score_honours_the_version_in_the_body_or_the_query(client):
    rows = rows_of(dependent_frame(10, seed=2))
    latest = score_json(client, rows=rows).json()
    old = score_json(client, rows=rows, version="1").json()
    assert latest["version"] == "2" and old["version"] == "1"
    assert old["scores"] == pytest.approx(trained_vae(1, 1).score(pd.DataFrame(rows)), abs=1e-5)
    assert old["scores"] != latest["scores"]
    csv = pd.DataFrame(rows).to_csv(index=False)
    assert score_csv(client, csv, version="1").json()["scores"] == old["scores"]
    assert score_csv(client, csv, seed=0).json()["scores"] == latest["scores"]


def test_text_labels_match_as_conditions_do(client):
    """CSV text names a label whose text form it is ("2" names 2, "True" names True), and a
    JSON string does too; "02" or "true " name nothing."""
    typed = score_json(client, rows=[{"colour": "red", "size": 2, "flag": True}]).json()
    text = score_json(client, rows=[{"colour": "red", "size": "2", "flag": "True"}]).json()
    lower = score_json(client, rows=[{"colour": "red", "size": "2", "flag": "true"}]).json()
    csv = score_csv(client, "flag,colour,size\nTrue,red,2\n").json()  # any column order
    assert typed["scores"] == text["scores"] == lower["scores"] == csv["scores"]
    for bad, label in [
        ("red,02,True", "'02'"),
        ("red,2,true ", "'true '"),
        ("Red,2,True", "'Red'"),
    ]:
        r = score_csv(client, f"colour,size,flag\n{bad}\n")
        assert r.status_code == 422 and label in r.json()["detail"], r.text


def test_scoring_a_gan_is_a_409_that_names_the_family_and_the_way_out(client):
    r = score_json(client, name="gan", rows=[{"colour": "red", "size": 2, "flag": True}])
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "family 'gan'" in detail and "cannot score rows" in detail
    assert "--family vae" in detail
    assert score_csv(client, "colour,size,flag\nred,2,True\n", name="gan").status_code == 409
    assert score_json(client, name="ghost", rows=[{"colour": "red"}]).status_code == 404


@pytest.mark.parametrize(
    "body, status, fragments",
    [
        ({"rows": [{"colour": "purple", "size": 2, "flag": True}]}, 422, ["'colour'", "'purple'"]),
        (
            {
                "rows": [
                    {"colour": "red", "size": 2, "flag": True},
                    {"colour": "red", "size": 7, "flag": None},
                ]
            },
            422,
            ["'size'", "7 (row 1)"],
        ),
        ({"rows": [{"colour": "red", "size": 2, "flag": None}]}, 422, ["'flag'", "missing"]),
        ({"rows": [{"colour": "red", "size": 2}]}, 422, ["Row 0", "lacks", "flag"]),
        ({"rows": [{"colour": "red", "size": 2, "flag": True, "x": 1}]}, 422, ["unknown", "'x'"]),
        ({"rows": []}, 422, ["No rows"]),
        (
            {"rows": [{"colour": "red", "size": 2, "flag": True}], "n_samples": 0},
            422,
            ["n_samples", "greater than or equal to 1"],
        ),
        (
            {"rows": [{"colour": "red", "size": 2, "flag": True}], "n_samples": MAX_SAMPLES + 1},
            422,
            [f"exceeds the limit of {MAX_SAMPLES}"],
        ),
        ({"rows": [{"colour": "red", "size": 2, "flag": True}], "seed": -1}, 422, ["seed"]),
        (
            {"rows": [{"colour": "red", "size": 2, "flag": True}], "version": "9"},
            404,
            ["no version"],
        ),
        (
            {"rows": [{"colour": "red", "size": 2, "flag": True}], "version": "../1"},
            422,
            ["version"],
        ),
        ({"rows": [{"colour": "red", "size": 2, "flag": True}], "bogus": 1}, 422, ["bogus"]),
        ({"rows": [{"colour": ["red"], "size": 2, "flag": True}]}, 422, ["rows"]),
        ({"rows": "colour,size"}, 422, ["rows"]),
        ([1, 2], 422, ["body"]),
    ],
)
def test_score_errors_are_4xx_with_a_message(client, body, status, fragments):
    r = client.post("/models/vae/score", json=body)
    assert r.status_code == status, r.text
    text = json.dumps(r.json())
    assert all(f in text for f in fragments), text


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"", "empty"),
        (b"colour,size,flag\n", "No rows"),
        (b"colour,size,flag\nred,2\n", "Malformed CSV"),
        (b"colour,size,colour\nred,2,red\n", "twice"),
        (b"colour,,flag\nred,2,True\n", "empty name"),
        (b"colour,size,flag\nr\xe9d,2,True\n", "not valid UTF-8"),
        (b"colour,size\nred,2\n", "lack column(s) ['flag']"),
        (b"colour,size,flag,shape\nred,2,True,x\n", "Unknown column(s) ['shape']"),
        (b'colour,size,flag\n"red,2,True\n', "Malformed CSV"),
    ],
)
def test_malformed_csv_is_a_422_that_says_why(client, raw, fragment):
    r = client.post("/models/vae/score", content=raw, headers={"content-type": "text/csv"})
    assert r.status_code == 422 and fragment in r.json()["detail"], r.text


def test_other_bodies_and_conflicting_parameters_are_refused(client):
    row = {"colour": "red", "size": 2, "flag": True}
    r = client.post("/models/vae/score", content=b"colour=red", headers={"content-type": "x/y"})
    assert r.status_code == 415 and "text/csv" in r.json()["detail"]
    r = client.post(
        "/models/vae/score", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "json" in r.text.lower()
    r = client.post("/models/vae/score", json={"rows": [row], "seed": 1}, params={"seed": 2})
    assert r.status_code == 422 and "seed is given twice" in r.json()["detail"]
    same = client.post("/models/vae/score", json={"rows": [row], "seed": 1}, params={"seed": 1})
    assert same.status_code == 200 and same.json()["seed"] == 1
    r = score_csv(client, "colour,size,flag\nred,2,True\n", n_samples=MAX_SAMPLES + 1)
    assert r.status_code == 422 and "exceeds the limit" in r.json()["detail"]
    r = score_csv(client, "colour,size,flag\nred,2,True\n", n_samples=0)
    assert r.status_code == 422


def test_row_limit_and_bodies_larger_than_the_sampling_limit(client):
    """The score endpoint takes bodies over the 64 KiB sampling limit (its rows), up to
    `max_score_rows` rows."""
    frame = dependent_frame(MAX_ROWS + 1, seed=4)
    rows = rows_of(frame.head(MAX_ROWS))
    assert len(json.dumps({"rows": rows})) > 65_536
    ok = score_json(client, rows=rows)
    assert ok.status_code == 200 and len(ok.json()["scores"]) == MAX_ROWS
    assert score_csv(client, frame.head(MAX_ROWS).to_csv(index=False)).json() == ok.json()
    r = score_csv(client, frame.to_csv(index=False))
    assert r.status_code == 422 and f"limit of {MAX_ROWS} rows" in r.json()["detail"]
    r = score_json(client, rows=rows_of(frame))
    assert r.status_code == 422 and f"limit of {MAX_ROWS} rows" in r.json()["detail"]
    # other endpoints keep the small limit
    big = {"n": 1, "conditions": {"colour": ["red"] * 20000}}
    assert client.post("/models/vae/sample", json=big).status_code == 413


def test_score_body_limit(registry):
    app = create_app(
        Settings(
            registry=str(registry.root),
            rescan_interval_s=0,
            warmup=False,
            max_score_body_bytes=2048,
        )
    )
    with TestClient(app) as c:
        rows = rows_of(dependent_frame(200))
        r = c.post("/models/vae/score", json={"rows": rows})
        assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_metrics_count_scored_rows(client):
    assert score_json(client, rows=rows_of(dependent_frame(7))).status_code == 200
    text = client.get("/metrics").text
    assert 'discrete_gan_requests_total{method="POST",route="/models/{name}/score"' in text
    line = next(x for x in text.splitlines() if x.startswith("discrete_gan_rows_scored_total"))
    assert 'model="vae"' in line and float(line.split()[-1]) >= 7


def test_openapi_documents_the_score_endpoint(client):
    operation = client.get("/openapi.json").json()["paths"]["/models/{name}/score"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert "409" in operation["responses"]
    assert "GAN" in operation["responses"]["409"]["description"]


# ---------------------------------------------------------------- label matching
def test_label_index_matches_as_code_of_does():
    """The text lookups agree with `Column.code_of` on mixed, typed and tricky labels."""
    frame = pd.DataFrame(
        {
            "mixed": pd.Series([7, "7", 2.0, True, "007", None, 2.5, "x"] * 3, dtype=object),
            "ints": [1, 2, 7, 10, 100, 7, 1, 2] * 3,
            "floats": [1.0, 2.5, float("inf"), -0.5, 3.0, 1.0, 2.5, 1e20] * 3,
            "bools": [True, False] * 12,
        }
    )
    schema = TableSchema.from_dataframe(frame, missing="category")
    index = LabelIndex(schema)
    labels = ["7", "007", "1", "1.0", "2", "2.0", "True", "true", "TRUE", "False", "false",
              "2.5", "inf", "-0.5", "3", "3.0", "1e20", "100000000000000000000", "", " 7", "x",
              "X", 7, 1, 1.0, True, False, 2.5, None, float("nan"), 10, 10.0, "10"]  # fmt: skip
    for j, column in enumerate(schema.columns):
        for label in labels:
            assert index.code(j, label) == column.code_of(label), (column.name, label)
    codes = index.encode({"mixed": ["7", 7], "ints": ["7", 7], "floats": ["1", 1], "bools":
                          ["true", True]})  # fmt: skip
    assert (codes[0, 1:] == codes[1, 1:]).all()
    mixed = schema.columns[0]  # text names the text label "7", the int 7 the int label
    assert [mixed.categories[c] for c in codes[:, 0]] == ["7", 7]
    assert [type(mixed.categories[c]) for c in codes[:, 0]] == [str, int]


# ---------------------------------------------------------------- a real server
@pytest.mark.slow
def test_real_uvicorn_server_serves_a_vae_and_a_gan_side_by_side(registry):
    from test_api_e2e import uvicorn_server

    from discrete_gan.client import Client, ClientError

    with uvicorn_server(registry.root, rescan_interval_s="0") as base, Client(base) as c:
        assert {m["name"]: m["family"] for m in c.models()} == {"gan": "gan", "vae": "vae"}
        for name in ("gan", "vae"):
            frame = c.sample(name, 100, seed=4)
            assert frame.shape == (100, 3)
            assert sum(c.probabilities(name)["colour"].values()) == pytest.approx(1.0, abs=1e-4)
        rows = c.sample("vae", 120, seed=9)
        scores = c.score("vae", rows)
        assert scores.shape == (120,) and np.isfinite(scores).all() and (scores <= 0).all()
        chunked = c.score("vae", rows, batch_size=50)  # three requests, one version
        assert chunked == pytest.approx(scores, rel=1e-6, abs=1e-6)
        text = c.sample("vae", 20_001, seed=9).head(120)  # streamed CSV: labels as text
        assert (text.values != rows.values).any()  # "2" is not 2 ...
        assert c.score("vae", text).tolist() == scores.tolist()  # ... yet names it
        raw = io.StringIO(text.to_csv(index=False)).getvalue()
        import httpx

        r = httpx.post(
            f"{base}/models/vae/score",
            content=raw.encode(),
            headers={"content-type": "text/csv"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["scores"] == scores.tolist()
        with pytest.raises(ClientError) as info:
            c.score("gan", rows.head(3))
        assert info.value.status == 409 and "--family vae" in info.value.detail
        with pytest.raises(ClientError) as info:
            c.score("vae", [{"colour": "mauve", "size": 1, "flag": True}])
        assert info.value.status == 422 and "'mauve'" in info.value.detail
        assert math.isfinite(c.score("vae", rows.head(1), n_samples=8, seed=3)[0])
