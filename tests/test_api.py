"""The service through TestClient: every endpoint, every client error (never a 5xx)."""

import functools
import json
import shutil

import keras
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from discrete_gan.registry import Registry


def publish(registry: Registry, name: str, model) -> str:
    staging = registry.staging_dir(name)
    model.save(staging / "model")
    ref = registry.publish(name, staging / "model")
    shutil.rmtree(staging, ignore_errors=True)
    return ref.version


def wide_frame(seed: int = 0):
    """`code`: 300 labels seen 10 to 32 times each (c000 the most often); `hundred`: exactly
    100 labels; `colour`: 3."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    counts = 32 - (np.arange(300) * 7) % 23
    counts[0] = 60
    code = np.repeat([f"c{i:03d}" for i in range(300)], counts)
    n = len(code)
    return pd.DataFrame(
        {
            "code": rng.permutation(code),
            "hundred": np.arange(n) % 100,
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )


@functools.cache
def trained_wide():
    """A tiny model of `wide_frame`, trained once per test session."""
    from conftest import TINY

    from discrete_gan import CategoricalGAN

    model = CategoricalGAN(seed=0, **TINY)
    model.fit(wide_frame(), epochs=1)
    return model


@pytest.fixture(scope="module")
def registry(trained_tiny, tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("reg"))
    publish(reg, "tiny", trained_tiny)
    # a tampered model: a Lambda layer in generator.keras
    publish(reg, "evil", trained_tiny)
    path = reg.resolve("evil").path / "generator.keras"
    x = keras.Input((3,))
    path.unlink()
    keras.Model(x, keras.layers.Lambda(lambda t: t + 1)(x)).save(path)
    # a truncated model and one without a schema
    publish(reg, "cut", trained_tiny)
    g = reg.resolve("cut").path / "generator.keras"
    g.write_bytes(g.read_bytes()[:1000])
    publish(reg, "noschema", trained_tiny)
    (reg.resolve("noschema").path / "schema.json").unlink()
    publish(reg, "wide", trained_wide())
    return reg


@pytest.fixture(scope="module")
def client(registry):
    app = create_app(Settings(registry=str(registry.root), rescan_interval_s=0, max_rows_json=5000))
    with TestClient(app) as c:
        yield c


def test_health_ready_and_broken_models_refused(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["models"] == ["tiny", "wide"]
    assert set(body["refused"]) == {"evil", "cut", "noschema"}
    assert "Refused to load" in body["refused"]["evil"]


@pytest.mark.backend_agnostic
def test_models_and_details(client):
    listing = client.get("/models").json()
    assert [m["name"] for m in listing["models"]] == ["tiny", "wide"]
    assert listing["models"][0]["columns"] == ["colour", "size", "flag"]
    detail = client.get("/models/tiny").json()
    assert detail["versions"] == ["1"]
    assert detail["schema"][0]["name"] == "colour"
    assert detail["schema"][0]["categories"] == ["blue", "green", "red"]
    assert detail["schema"][1]["categories"] == [1, 2]


def test_sample_json_is_reproducible(client):
    a = client.post("/models/tiny/sample", json={"n": 50, "seed": 7}).json()
    b = client.post("/models/tiny/sample", json={"n": 50, "seed": 7}).json()
    assert a == b and a["n"] == 50 and len(a["rows"]) == 50 and a["version"] == "1"
    assert all(r[0] in ("red", "green", "blue") and r[1] in (1, 2) for r in a["rows"])
    assert isinstance(a["rows"][0][2], bool)


def test_sample_relaxed_vectors(client):
    body = client.post(
        "/models/tiny/sample", json={"n": 4, "relaxed": True, "temperature": 0.5}
    ).json()
    assert len(body["relaxed"]) == 4
    first = body["relaxed"][0]
    assert set(first) == {"colour", "size", "flag"} and len(first["colour"]) == 3
    assert abs(sum(first["colour"]) - 1) < 1e-4


def test_sample_streams_csv_and_ndjson(client):
    r = client.post("/models/tiny/sample", json={"n": 20000, "format": "csv", "seed": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().split("\n")
    assert lines[0] == "colour,size,flag" and len(lines) == 20001
    r = client.post("/models/tiny/sample", json={"n": 3, "format": "ndjson", "relaxed": True})
    rows = [json.loads(line) for line in r.text.strip().split("\n")]
    assert (
        len(rows) == 3 and "_relaxed" in rows[0] and rows[0]["colour"] in ("red", "green", "blue")
    )


def test_conditional_sampling_and_probabilities(client):
    body = client.post(
        "/models/tiny/sample",
        json={"n": 200, "conditions": {"colour": ["red", "blue"], "flag": True}},
    ).json()
    assert all(r[0] in ("red", "blue") and r[2] is True for r in body["rows"])
    assert 0 < body["acceptance_rate"] <= 1
    probs = client.get("/models/tiny/probabilities").json()["probabilities"]
    assert abs(sum(e["probability"] for e in probs["colour"]) - 1) < 1e-4
    given = client.get("/models/tiny/probabilities", params={"given": "colour:red"}).json()
    red = {e["label"]: e["probability"] for e in given["probabilities"]["colour"]}
    assert red["red"] == pytest.approx(1.0)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "payload, status, fragment",
    [
        ({"n": 0}, 422, "greater than or equal"),
        ({"n": 10**6}, 422, "exceeds the limit"),
        ({"n": 5, "seed": -1}, 422, "seed"),
        ({"n": 5, "temperature": 0}, 422, "temperature"),
        ({"n": 5, "format": "xml"}, 422, "format"),
        ({"n": 5, "version": "../1"}, 422, "version"),
        ({"n": 5, "version": "7"}, 404, "no version"),
        ({"n": 5, "bogus": 1}, 422, "bogus"),
        ({"n": 5, "relaxed": True, "format": "csv"}, 422, "relaxed"),
        ({"n": 5, "conditions": {"colour": "purple"}}, 422, "Unknown label"),
        ({"n": 5, "conditions": {"shape": "x"}}, 422, "Unknown column"),
        ({"n": 5, "conditions": {"colour": []}}, 422, "Empty list"),
        ("not json", 422, ""),
    ],
)
def test_sample_errors_are_4xx_with_a_message(client, payload, status, fragment):
    if isinstance(payload, str):
        r = client.post(
            "/models/tiny/sample", content=payload, headers={"content-type": "application/json"}
        )
    else:
        r = client.post("/models/tiny/sample", json=payload)
    assert r.status_code == status, r.text
    assert fragment in json.dumps(r.json())


def test_unknown_and_unsafe_names(client):
    assert client.post("/models/ghost/sample", json={"n": 1}).status_code == 404
    assert client.post("/models/evil/sample", json={"n": 1}).status_code == 404
    for name in ["..", ".hidden", "a%2Fb", "%2E%2E"]:
        r = client.get(f"/models/{name}")
        if name == "..":  # the client resolves /models/.. to /, the web page
            assert r.headers["content-type"].startswith("text/html")
            continue
        assert r.status_code in (404, 422), (name, r.status_code)
    r = client.get("/models/tiny/probabilities", params={"given": "colour"})
    assert r.status_code == 422 and "column:label" in r.json()["detail"]


@pytest.mark.backend_agnostic
def test_body_size_limit(client):
    big = {"n": 1, "conditions": {"colour": ["red"] * 20000}}
    r = client.post("/models/tiny/sample", json=big)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_metrics_exposes_counters(client):
    client.post("/models/tiny/sample", json={"n": 10})
    text = client.get("/metrics").text
    assert 'discrete_gan_requests_total{method="POST",route="/models/{name}/sample"' in text
    assert "discrete_gan_request_seconds_bucket" in text
    assert 'discrete_gan_rows_generated_total{model="tiny"}' in text
    assert "discrete_gan_models_loaded 2.0" in text


# Authentication is HTTP only; the service loading these models runs under JAX in `client`.
@pytest.mark.backend_agnostic
def test_api_key(registry):
    app = create_app(Settings(registry=str(registry.root), rescan_interval_s=0, api_key="s3cret"))
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/models").status_code == 401
        assert c.get("/models", headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.get("/models", headers={"X-API-Key": "s3cret"}).status_code == 200


@pytest.mark.backend_agnostic
def test_empty_registry_is_not_ready(tmp_path):
    with TestClient(create_app(Settings(registry=str(tmp_path / "none")))) as c:
        r = c.get("/ready")
        assert r.status_code == 503 and r.json()["ready"] is False
        assert c.get("/models").json()["models"] == []


@pytest.mark.backend_agnostic
def test_cors_off_by_default(client):
    r = client.get("/models", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


@pytest.fixture(scope="module")
def infinite(tmp_path_factory):
    """A service whose model has the float labels inf and -inf (from typed data)."""
    import pandas as pd
    from conftest import TINY

    from discrete_gan import CategoricalGAN

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.choice([1.5, np.inf, -np.inf], 600), "k": rng.choice(["a", "b"], 600)}
    )
    model = CategoricalGAN(seed=0, **TINY)
    model.fit(frame, epochs=2)
    reg = Registry(tmp_path_factory.mktemp("inf"))
    publish(reg, "inf", model)
    app = create_app(Settings(registry=str(reg.root), rescan_interval_s=0))
    with TestClient(app) as c:
        yield c


def _strict_json(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


# Labels (here the floats inf and -inf) never reach the backend, which sees integer codes; the
# train / serve path the `infinite` service takes runs under JAX in `client`.
@pytest.mark.backend_agnostic
def test_non_finite_float_labels_are_valid_json_everywhere(infinite):
    """inf/-inf labels answered 500 (Starlette refuses non-finite floats) and NDJSON wrote the
    non-JSON token Infinity."""
    detail = infinite.get("/models/inf")
    assert detail.status_code == 200
    assert _strict_json(detail.text)["schema"][0]["categories"] == ["-inf", 1.5, "inf"]
    body = infinite.post("/models/inf/sample", json={"n": 300, "seed": 1})
    assert body.status_code == 200
    assert {r[0] for r in _strict_json(body.text)["rows"]} == {"-inf", 1.5, "inf"}
    lines = infinite.post(
        "/models/inf/sample", json={"n": 300, "seed": 1, "format": "ndjson"}
    ).text.splitlines()
    assert {_strict_json(line)["x"] for line in lines} == {"-inf", 1.5, "inf"}
    csv = infinite.post("/models/inf/sample", json={"n": 300, "seed": 1, "format": "csv"}).text
    assert {line.split(",")[0] for line in csv.splitlines()[1:]} == {"-inf", "1.5", "inf"}
    probs = infinite.get("/models/inf/probabilities", params={"given": "x:inf"})
    assert probs.status_code == 200
    given = {e["label"]: e["probability"] for e in _strict_json(probs.text)["probabilities"]["x"]}
    assert given["inf"] == pytest.approx(1.0)
    body = infinite.post("/models/inf/sample", json={"n": 20, "conditions": {"x": "-inf"}})
    assert {r[0] for r in _strict_json(body.text)["rows"]} == {"-inf"}
    body = infinite.post("/models/inf/sample", json={"n": 20, "conditions": {"x": 1.5}})
    assert {r[0] for r in body.json()["rows"]} == {1.5}


def test_chunked_body_over_the_limit_is_413(client):
    """A body without Content-Length (chunked) over the limit got 400 from body parsing."""

    def chunks():
        yield b'{"n": 5, "seed": 1, "conditions": {"colour": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    r = client.post(
        "/models/tiny/sample", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def small():
        yield b'{"n": 3, '
        yield b'"seed": 2}'

    r = client.post(
        "/models/tiny/sample", content=small(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200 and r.json()["n"] == 3


@pytest.mark.backend_agnostic
def test_float_label_matches_a_json_integer_condition(infinite):
    """`1` in JSON names the float label 1.0; here 1.5 has no integer twin, so use the CLI's
    text form too."""
    body = infinite.post("/models/inf/sample", json={"n": 10, "conditions": {"x": "1.5"}})
    assert {r[0] for r in body.json()["rows"]} == {1.5}


# ---------------------------------------------------------------- columns with many labels
@pytest.mark.backend_agnostic
def test_large_columns_are_described_by_their_top_labels(client):
    """/models/{name} listed every label of every column (a million-label column made a
    response of tens of megabytes)."""
    schema = {c["name"]: c for c in client.get("/models/wide").json()["schema"]}
    code, hundred, colour = schema["code"], schema["hundred"], schema["colour"]
    assert [c["cardinality"] for c in (code, hundred, colour)] == [300, 100, 3]
    # at most 100 labels: every label in code order, as before, and no `other`
    model = trained_wide()
    columns = {c.name: c for c in model.schema.columns}
    assert hundred["categories"] == list(columns["hundred"].categories) and "other" not in hundred
    assert sorted(hundred["categories"]) == list(range(100)) and len(hundred["frequencies"]) == 100
    assert colour["categories"] == list(columns["colour"].categories)
    # more: the 50 most frequent in training, most frequent first (ties in code order), and
    # the rest as `other`
    column = columns["code"]
    frequency = dict(zip(column.categories, column.frequencies))
    expected = sorted(column.categories, key=lambda k: -frequency[k])[:50]
    assert code["categories"] == expected and code["categories"][0] == "c000"
    assert code["frequencies"] == [frequency[k] for k in expected]
    assert code["frequencies"] == sorted(code["frequencies"], reverse=True)
    assert code["other"]["labels"] == 250
    assert code["other"]["frequency"] + sum(code["frequencies"]) == pytest.approx(1.0)
    # top=N cuts every column with more than N labels
    cut = client.get("/models/wide", params={"top": 2}).json()["schema"]
    assert [len(c["categories"]) for c in cut] == [2, 2, 2]
    assert [c["other"]["labels"] for c in cut] == [298, 98, 1]
    assert cut[2]["other"]["frequency"] == pytest.approx(min(colour["frequencies"]))


def test_probabilities_of_large_columns_are_the_top_labels_and_other(client):
    model = trained_wide()
    learned = model.probabilities()
    body = client.get("/models/wide/probabilities").json()
    probs, other = body["probabilities"], body["other"]
    assert set(other) == {"code"}  # only the cut column
    assert [e["label"] for e in probs["hundred"]] == list(learned["hundred"])  # whole, code order
    code = probs["code"]
    assert len(code) == 50
    ranked = sorted(learned["code"], key=lambda k: -learned["code"][k])
    assert [e["label"] for e in code] == ranked[:50]
    assert [e["probability"] for e in code] == pytest.approx(
        [learned["code"][k] for k in ranked[:50]]
    )
    assert other["code"]["labels"] == 250
    assert other["code"]["probability"] == pytest.approx(
        sum(learned["code"][k] for k in ranked[50:])
    )
    assert other["code"]["probability"] + sum(e["probability"] for e in code) == pytest.approx(
        1.0, abs=1e-5
    )
    # explicit top: every column with more labels is cut, small ones too
    body = client.get("/models/wide/probabilities", params={"top": 1}).json()
    assert {c: len(v) for c, v in body["probabilities"].items()} == {
        "code": 1,
        "hundred": 1,
        "colour": 1,
    }
    assert body["other"]["colour"]["labels"] == 2
    body = client.get("/models/wide/probabilities", params={"top": 100_000}).json()
    assert len(body["probabilities"]["code"]) == 300 and body["other"] == {}
    # by=frequency: the labels /models/{name} lists, in its order
    described = client.get("/models/wide").json()["schema"][0]["categories"]
    body = client.get("/models/wide/probabilities", params={"by": "frequency"}).json()
    assert [e["label"] for e in body["probabilities"]["code"]] == described


def test_top_labels_under_conditions(client):
    model = trained_wide()
    r = client.get("/models/wide/probabilities", params={"given": "code:c007", "top": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["given"] == {"code": "c007"}
    assert body["probabilities"]["code"][0] == {"label": "c007", "probability": pytest.approx(1.0)}
    assert body["other"]["code"] == {"labels": 295, "probability": pytest.approx(0.0, abs=1e-6)}
    learned = model.probabilities(given={"code": "c007"})["colour"]
    assert {e["label"]: e["probability"] for e in body["probabilities"]["colour"]} == pytest.approx(
        learned
    )
    given = client.get("/models/wide/probabilities", params={"given": "hundred:7|8"}).json()
    assert set(given["other"]) == {"code"} and len(given["probabilities"]["hundred"]) == 100


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"top": 0}, "greater than or equal to 1"),
        ({"top": -3}, "greater than or equal to 1"),
        ({"top": "ten"}, "valid integer"),
        ({"top": 1.5}, "valid integer"),
        ({"top": 10**6}, "less than or equal to 100000"),
        ({"by": "magic"}, "'probability' or 'frequency'"),
    ],
)
def test_bad_top_is_a_422_that_says_why(client, params, fragment):
    r = client.get("/models/wide/probabilities", params=params)
    assert r.status_code == 422 and fragment in json.dumps(r.json()), r.text
    assert r.json()["detail"][0]["loc"] == ["query", next(iter(params))]
    if "top" in params:
        assert client.get("/models/wide", params=params).status_code == 422


@pytest.mark.backend_agnostic
def test_learned_probability_cache_is_bounded_in_floats():
    from api.store import _LRU

    cache = _LRU(100, max_weight=10, weigh=len)
    for i in range(5):
        cache.get_or_compute(i, lambda: [0] * 4)
    assert len(cache) == 2  # 2 x 4 floats fit in 10, a third does not
    calls = []
    cache.get_or_compute("huge", lambda: calls.append(1) or [0] * 11)
    assert len(cache) == 2 and calls == [1]  # too heavy to keep: returned, not cached
    cache.get_or_compute(4, lambda: calls.append(2))
    assert calls == [1]  # still cached
