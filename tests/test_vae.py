"""The VAE family: fit, sample, score, save and load (`discrete_gan.vae`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import TOY_P, VAE_TINY, dependent_frame, toy_frame

from discrete_gan import CategoricalGAN, CategoricalVAE, VAEConfig, load_model
from discrete_gan.artifacts import ArtifactError
from discrete_gan.vae import ScoreError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_vae():
    """A tiny CategoricalVAE fitted on `dependent_frame` (a few seconds)."""
    model = CategoricalVAE(seed=0, **VAE_TINY)
    model.fit(dependent_frame(), epochs=20)
    return model


def test_config_round_trips_and_rejects_bad_values():
    config = VAEConfig(latent_variables=3, encoder_units=(16, 8))
    assert VAEConfig.from_dict(config.to_dict()) == config
    assert config.to_dict()["encoder_units"] == [16, 8]
    assert config.latent_dim == 3 * config.latent_categories
    with pytest.raises(ValueError, match="Unknown configuration key.*noise_dim"):
        VAEConfig.from_dict({"noise_dim": 4})
    with pytest.raises(ValueError, match="latent_categories"):
        VAEConfig(latent_categories=1)
    with pytest.raises(ValueError, match="kl_weight"):
        VAEConfig(kl_weight=-1.0)


@pytest.mark.slow
def test_toy_reaches_tvd_001_with_defaults():
    """The seed toy, p = [.1, .2, .2, .2, .3], through the VAE at default settings."""
    model = CategoricalVAE(seed=0)
    history = model.fit(toy_frame())
    learned = model.probabilities()["letter"]
    tvd = 0.5 * sum(abs(learned[c] - p) for c, p in zip("abcde", TOY_P, strict=True))
    assert tvd <= 0.01, learned
    assert {"loss", "nll", "kl", "temperature"} <= set(history.history)
    # the ELBO of the toy is at most its entropy, 1.557 nats, in magnitude at least that
    assert history.history["loss"][-1] == pytest.approx(1.557, abs=0.03)
    assert history.history["temperature"][-1] < history.history["temperature"][0]


def test_learns_a_dependency_and_honours_conditions(tiny_vae):
    rows = tiny_vae.sample(4000, seed=1)
    big_given_red = (rows["size"][rows["colour"] == "red"] == 2).mean()
    big_given_other = (rows["size"][rows["colour"] != "red"] == 2).mean()
    assert big_given_red > big_given_other + 0.4  # data: 0.9 vs 0.15
    red = tiny_vae.sample(300, seed=2, where={"colour": "red"})
    assert len(red) == 300 and (red["colour"] == "red").all()
    given = tiny_vae.probabilities(given={"colour": "red"})["size"]
    assert given[2] == pytest.approx(0.9, abs=0.1)


def test_sampling_is_seeded_and_prefix_stable(tiny_vae):
    a = tiny_vae.sample(600, seed=5)
    pd.testing.assert_frame_equal(tiny_vae.sample(300, seed=5), a.head(300))
    tail = tiny_vae.sample(300, seed=5, start=300)
    pd.testing.assert_frame_equal(tail.reset_index(drop=True), a.iloc[300:].reset_index(drop=True))
    fresh = tiny_vae.sample(600)
    assert fresh.attrs["seed"] != 5 and not fresh.equals(tiny_vae.sample(600))


def test_same_seed_same_model():
    df = dependent_frame(600)
    a = CategoricalVAE(seed=3, **VAE_TINY)
    a.fit(df, epochs=1)
    b = CategoricalVAE(seed=3, **VAE_TINY)
    b.fit(df, epochs=1)
    pd.testing.assert_frame_equal(a.sample(200, seed=0), b.sample(200, seed=0))
    np.testing.assert_array_equal(a.score(df.head(20)), b.score(df.head(20)))


def test_elbo_is_finite_nonpositive_and_row_wise(tiny_vae):
    df = dependent_frame(50, seed=9)
    scores = tiny_vae.score(df)
    assert scores.shape == (50,) and np.isfinite(scores).all() and (scores <= 0).all()
    alone = np.array([tiny_vae.score(df.iloc[[i]])[0] for i in (0, 17, 49)])
    np.testing.assert_allclose(alone, scores[[0, 17, 49]], rtol=1e-5)
    sampled = tiny_vae.score(df, n_samples=16, seed=1)
    assert np.isfinite(sampled).all() and (sampled <= 0).all()
    np.testing.assert_array_equal(sampled, tiny_vae.score(df, n_samples=16, seed=1))
    # 4^4 = 256 latent configurations: the default is exact, and 4,000 draws agree with it
    many = tiny_vae.score(df.head(5), n_samples=4000, seed=2)
    np.testing.assert_allclose(many, scores[:5], atol=0.1)


def test_score_errors_name_the_column_and_label(tiny_vae):
    bad = pd.DataFrame({"colour": ["red", "purple"], "size": [1, 2], "flag": [True, False]})
    with pytest.raises(ScoreError, match="colour.*purple"):
        tiny_vae.score(bad)
    with pytest.raises(ScoreError, match=r"lack the model's column\(s\) \['size', 'flag'\]"):
        tiny_vae.score(pd.DataFrame({"colour": ["red"]}))
    with pytest.raises(ValueError, match="n_samples"):
        tiny_vae.score(dependent_frame(5), n_samples=0)


def _numpy_elbo(model: CategoricalVAE, rows: np.ndarray) -> np.ndarray:
    """The exact ELBO of one-hot `rows` from the weights alone: dense layers, layer norm,
    ReLU and softmax heads written out in numpy, every latent configuration enumerated."""

    def mlp(model_, x):
        for layer in model_.layers:
            w = [np.asarray(v, "float64") for v in layer.get_weights()]
            if isinstance(layer, keras.layers.Dense):
                x = x @ w[0] + w[1]
            elif isinstance(layer, keras.layers.LayerNormalization):
                mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
                x = (x - mean) / np.sqrt(var + layer.epsilon) * w[0] + w[1]
            elif isinstance(layer, keras.layers.ReLU):
                x = np.maximum(x, 0.0)
        return x

    def log_softmax(x):
        x = x - x.max(-1, keepdims=True)
        return x - np.log(np.exp(x).sum(-1, keepdims=True))

    c = model.config
    n, k = c.latent_variables, c.latent_categories
    latent = model.encoder.get_layer("latent")
    kernel, bias = (np.asarray(v.numpy(), "float64") for v in (latent.kernel, latent.bias))
    logq = log_softmax((mlp(model.encoder, rows) @ kernel + bias).reshape(len(rows), n, k))
    kl = (np.exp(logq) * (logq + np.log(k))).sum((1, 2))
    heads = model.generator.get_layer("heads")
    h_kernel, h_bias = (np.asarray(v.numpy(), "float64") for v in (heads.kernel, heads.bias))
    cards = heads.cardinalities
    grid = np.indices((k,) * n).reshape(n, -1).T
    expected = np.zeros(len(rows))
    for config in grid:
        z = np.eye(k)[config].reshape(1, n * k)
        logits = mlp(model.generator, z) @ h_kernel + h_bias
        ll, start = np.zeros(len(rows)), 0
        for card in cards:
            block = log_softmax(logits[:, start : start + card])
            ll = ll + (rows[:, start : start + card] * block).sum(-1)
            start += card
        q = np.exp(logq[:, np.arange(n), config].sum(-1))
        expected += q * ll
    return expected - kl


def test_elbo_matches_an_independent_numpy_evaluation():
    model = CategoricalVAE(
        seed=1,
        latent_variables=2,
        latent_categories=3,
        encoder_units=(8,),
        decoder_units=(8,),
        autoregressive=False,
        batch_size=64,
    )
    df = dependent_frame(400)
    model.fit(df, epochs=2)
    rows = model.trainer.one_hot(model.schema.encode(df.head(30)))
    expected = _numpy_elbo(model, np.asarray(keras.ops.convert_to_numpy(rows), "float64"))
    np.testing.assert_allclose(model.score(df.head(30)), expected, rtol=1e-4, atol=1e-4)


def test_save_load_round_trip(tiny_vae, tmp_path):
    tiny_vae.save(tmp_path / "m")
    assert (tmp_path / "m" / "encoder.keras").is_file()
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["family"] == "vae" and meta["config"]["latent_variables"] == 4
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, CategoricalVAE)
    pd.testing.assert_frame_equal(loaded.sample(777, seed=3), tiny_vae.sample(777, seed=3))
    df = dependent_frame(40, seed=4)
    np.testing.assert_allclose(loaded.score(df), tiny_vae.score(df), rtol=1e-6)
    assert loaded.probabilities(n_samples=4096) == tiny_vae.probabilities(n_samples=4096)
    with pytest.raises(ArtifactError, match="'vae' model"):
        CategoricalGAN.load(tmp_path / "m")
    (tmp_path / "m" / "encoder.keras").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="encoder.keras"):
        load_model(tmp_path / "m")


def test_a_loaded_model_trains_further(tiny_vae, tmp_path):
    tiny_vae.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    before = loaded.score(dependent_frame(200, seed=5)).mean()
    loaded.fit(dependent_frame(), epochs=4)
    assert loaded.score(dependent_frame(200, seed=5)).mean() > before - 0.05


def test_columns_drawn_in_two_levels():
    """A 40-label column past `split_above` is drawn as bucket then label, as in the GAN."""
    rng = np.random.default_rng(0)
    sku = rng.integers(0, 40, size=3000)
    df = pd.DataFrame({"sku": [f"s{i:02d}" for i in sku], "kind": np.where(sku < 10, "a", "b")})
    model = CategoricalVAE(seed=0, split_above=16, rare_min_count=0, **VAE_TINY)
    model.fit(df, epochs=10)
    assert model.layout.splits
    rows = model.sample(2000, seed=1)
    determined = (rows["kind"] == np.where(rows["sku"].str[1:].astype(int) < 10, "a", "b")).mean()
    assert determined > 0.9
    scores = model.score(df.head(10))
    assert np.isfinite(scores).all() and (scores <= 0).all()


@pytest.mark.slow
def test_model_saved_under_one_backend_loads_under_the_other(tiny_vae, tmp_path):
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    tiny_vae.save(tmp_path / "m")
    df = dependent_frame(20, seed=6)
    df.to_csv(tmp_path / "rows.csv", index=False)
    code = (
        "import json, pandas as pd; from discrete_gan import load_model;"
        f"m = load_model({str(tmp_path / 'm')!r});"
        f"rows = pd.read_csv({str(tmp_path / 'rows.csv')!r});"
        "df = m.sample(2000, seed=1);"
        "print(json.dumps([df['colour'].value_counts(normalize=True).to_dict(),"
        " m.score(rows).tolist()]))"
    )
    env = {**os.environ, "KERAS_BACKEND": other, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    freq, scores = json.loads(out.stdout.strip().splitlines()[-1])
    for label, p in tiny_vae.probabilities()["colour"].items():
        assert freq.get(label, 0.0) == pytest.approx(p, abs=0.05)
    np.testing.assert_allclose(scores, tiny_vae.score(df), rtol=1e-4, atol=1e-4)


def test_scoring_a_protected_label_scores_the_placeholder():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"a": [*rng.choice(["x", "y"], 500), "r1", "r2"], "b": rng.choice(["u", "v"], 502)}
    )
    model = CategoricalVAE(seed=0, **VAE_TINY)
    model.fit(df, epochs=2)
    assert "r1" not in model.schema.columns[0].categories
    scores = model.score(pd.DataFrame({"a": ["r1", "never", "_RARE_", "x"], "b": ["u"] * 4}))
    assert scores[0] == scores[1] == scores[2] < scores[3]
    with pytest.raises(ScoreError, match="'b'.*zz"):
        model.score(pd.DataFrame({"a": ["x"], "b": ["zz"]}))
