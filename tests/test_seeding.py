"""Reproducible AND random: a seed repeats a draw exactly, no seed gives fresh rows and says
which seed it used, and every random stream is independent of the others."""

from __future__ import annotations

import io

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import TINY, dependent_frame
from fastapi.testclient import TestClient
from scipy import stats

from api.main import create_app
from api.settings import Settings
from discrete_gan import CategoricalGAN, seeding
from discrete_gan.registry import Registry
from training.cli import main


@pytest.mark.backend_agnostic
def test_stream_ids_are_unique_and_streams_differ():
    ids = list(seeding.STREAMS.values())
    assert len(set(ids)) == len(ids)
    seeds = {seeding.stream_seed(0, s) for s in seeding.STREAMS}
    assert len(seeds) == len(seeding.STREAMS)
    assert seeding.stream_seed(0, "noise") == seeding.stream_seed(0, "noise")
    assert seeding.stream_seed(0, "noise") != seeding.stream_seed(1, "noise")
    assert seeding.stream_seed(0, "data_order", 3) != seeding.stream_seed(0, "data_order", 4)
    keys = seeding.block_keys(2**63 - 1, "sample.noise", 10, 5)
    assert keys.shape == (5, 2) and keys.dtype == np.uint32
    np.testing.assert_array_equal(keys[2:], seeding.block_keys(2**63 - 1, "sample.noise", 12, 3))


@pytest.mark.backend_agnostic
def test_seed_validation_and_fresh_seeds():
    fresh = {seeding.resolve_seed(None) for _ in range(50)}
    assert len(fresh) == 50 and all(0 <= s < 2**53 for s in fresh)
    assert seeding.resolve_seed(2**63 - 1) == 2**63 - 1
    for bad in (-1, 2**63, 1.5, True, "3"):
        with pytest.raises(ValueError, match="seed"):
            seeding.resolve_seed(bad)
    with pytest.raises(ValueError, match="stream"):
        seeding.stream_seed(0, "nope")


def test_training_streams_are_independent():
    """The heads' Gumbel noise and the GAN's input noise once shared a key: the normal
    draws' radius and the uniforms were rank-correlated at -1.0."""
    model = CategoricalGAN(seed=0, **TINY)
    model.encode(dependent_frame(100))
    model.build()
    gan = model.gan
    states = [
        keras.ops.convert_to_numpy(g.state).tolist()
        for g in (gan.noise_seed, gan.penalty_seed, gan.heads.seed_generator)
    ]
    assert len({tuple(s) for s in states}) == 3
    z = keras.ops.convert_to_numpy(keras.random.normal((4096, 8), seed=gan.noise_seed))
    u = keras.ops.convert_to_numpy(keras.random.uniform((4096, 8), seed=gan.heads.seed_generator))
    rho = stats.spearmanr(np.linalg.norm(z, axis=1), u[:, 0]).statistic
    assert abs(rho) < 0.1, rho
    dropout = CategoricalGAN(seed=0, dropout=0.5, **TINY)
    dropout.encode(dependent_frame(100))
    dropout.build()
    layer = dropout.gan.discriminator.get_layer("dropout_0")
    assert layer.seed == seeding.stream_seed(0, "dropout") != seeding.stream_seed(0, "gumbel")


def test_library_unseeded_draws_differ_and_report_their_seed(trained_tiny):
    a, b = trained_tiny.sample(300), trained_tiny.sample(300)
    assert a.attrs["seed"] != b.attrs["seed"] and not a.equals(b)
    pd.testing.assert_frame_equal(trained_tiny.sample(300, seed=a.attrs["seed"]), a)
    stream = trained_tiny.iter_samples(1000)
    frames = pd.concat(list(stream), ignore_index=True)
    pd.testing.assert_frame_equal(trained_tiny.sample(1000, seed=stream.seed), frames)
    relaxed = trained_tiny.iter_relaxed(10)
    chunk = next(iter(relaxed))
    pd.testing.assert_frame_equal(chunk.frame, trained_tiny.sample(10, seed=relaxed.seed))
    result = trained_tiny.sample_where(50, {"colour": "red"})
    again = trained_tiny.sample_where(50, {"colour": "red"}, seed=result.seed)
    np.testing.assert_array_equal(result.codes, again.codes)
    assert CategoricalGAN(**TINY).seed != CategoricalGAN(**TINY).seed


def test_cli_unseeded_samples_differ_and_the_printed_seed_repeats_them(
    trained_tiny, tmp_path, capsys
):
    reg = Registry(tmp_path / "reg")
    reg.publish_model("m", lambda target, version: trained_tiny.save(target))
    args = ["sample", "m", "-n", "200", "--registry", str(reg.root)]
    outs, seeds = [], []
    for _ in range(2):
        assert main(args) == 0
        captured = capsys.readouterr()
        outs.append(captured.out)
        seeds.append(int(captured.err.strip().rsplit("seed: ", 1)[1]))
    assert outs[0] != outs[1] and seeds[0] != seeds[1]
    assert main([*args, "--seed", str(seeds[1])]) == 0
    assert capsys.readouterr().out == outs[1]


def test_http_unseeded_samples_differ_and_the_reported_seed_repeats_them(trained_tiny, tmp_path):
    reg = Registry(tmp_path / "reg")
    reg.publish_model("m", lambda target, version: trained_tiny.save(target))
    app = create_app(Settings(registry=str(reg.root), rescan_interval_s=0))
    with TestClient(app) as client:
        a = client.post("/models/m/sample", json={"n": 200}).json()
        b = client.post("/models/m/sample", json={"n": 200}).json()
        assert a["seed"] != b["seed"] and a["rows"] != b["rows"]
        again = client.post("/models/m/sample", json={"n": 200, "seed": a["seed"]}).json()
        assert again["rows"] == a["rows"]
        big = client.post("/models/m/sample", json={"n": 2**62, "seed": 2**63 - 1})
        assert big.status_code == 422  # n over the cap, seed in range
        r = client.post("/models/m/sample", json={"n": 300, "format": "csv"})
        seed = int(r.headers["x-seed"])
        again = client.post("/models/m/sample", json={"n": 300, "format": "csv", "seed": seed})
        assert again.text == r.text
        frame = pd.read_csv(io.StringIO(r.text))
        assert len(frame) == 300
