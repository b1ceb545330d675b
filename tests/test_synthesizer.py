import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import TINY, dependent_frame

from discrete_gan import CategoricalGAN
from discrete_gan.callbacks import FidelityMonitor

ROOT = Path(__file__).resolve().parents[1]


def test_probabilities_are_distributions_over_labels(trained_tiny):
    probs = trained_tiny.probabilities(n_samples=4096)
    assert set(probs) == {"colour", "size", "flag"}
    assert set(probs["colour"]) == {"red", "green", "blue"}
    for column in probs.values():
        assert sum(column.values()) == pytest.approx(1.0, abs=1e-4)
    assert probs == trained_tiny.probabilities(n_samples=4096)


def test_save_load_round_trip_same_samples(trained_tiny, tmp_path):
    trained_tiny.save(tmp_path / "m")
    loaded = CategoricalGAN.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(777, seed=3), trained_tiny.sample(777, seed=3))
    assert loaded.schema == trained_tiny.schema
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["versions"]["backend"] == keras.backend.backend()
    assert meta["config"]["noise_dim"] == TINY["noise_dim"]
    with pytest.raises(FileExistsError):
        trained_tiny.save(tmp_path / "m")
    trained_tiny.save(tmp_path / "m", overwrite=True)


@pytest.mark.slow
def test_model_saved_under_one_backend_loads_under_the_other(trained_tiny, tmp_path):
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    trained_tiny.save(tmp_path / "m")
    code = (
        "import sys; from discrete_gan import CategoricalGAN;"
        f"m = CategoricalGAN.load({str(tmp_path / 'm')!r});"
        "df = m.sample(2000, seed=1); print(df['colour'].value_counts(normalize=True).to_json())"
    )
    env = {**os.environ, "KERAS_BACKEND": other, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    freq = json.loads(out.stdout.strip().splitlines()[-1])
    learned = trained_tiny.probabilities()["colour"]
    for label, p in learned.items():
        assert freq.get(label, 0.0) == pytest.approx(p, abs=0.05)


def test_same_seed_same_model():
    df = dependent_frame(600)
    a = CategoricalGAN(seed=3, **TINY)
    a.fit(df, epochs=1)
    b = CategoricalGAN(seed=3, **TINY)
    b.fit(df, epochs=1)
    pd.testing.assert_frame_equal(a.sample(200, seed=0), b.sample(200, seed=0))


def test_fit_accepts_arrays_and_series():
    model = CategoricalGAN(seed=0, **TINY)
    model.fit(np.array(["a", "b", "a", "c"] * 50), epochs=1)
    assert model.schema.names == ["value"]
    model2 = CategoricalGAN(seed=0, **TINY)
    model2.fit(pd.Series([1, 2, 2, 3] * 50, name="n"), epochs=1)
    assert model2.sample(10)["n"].isin([1, 2, 3]).all()


def test_callbacks_csv_logger_and_early_stopping_on_fidelity(tmp_path):
    model = CategoricalGAN(seed=0, **TINY)
    log = tmp_path / "log.csv"
    history = model.fit(
        dependent_frame(600),
        epochs=30,
        callbacks=[
            FidelityMonitor(model, n_samples=1024),
            keras.callbacks.EarlyStopping(monitor="tvd", mode="min", patience=1, min_delta=1.0),
            keras.callbacks.CSVLogger(str(log)),
        ],
    )
    assert len(history.epoch) == 2  # min_delta=1 means no epoch ever improves
    header = log.read_text().splitlines()[0].split(",")
    assert {"epoch", "d_loss", "g_loss", "tvd", "temperature"} <= set(header)


def test_errors_are_clear():
    model = CategoricalGAN(seed=0, **TINY)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.sample(3)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(dependent_frame(50), epochs=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        model.fit(pd.DataFrame({"a": ["x"]}), epochs=1)
    with pytest.raises(ValueError, match="Unknown configuration key"):
        CategoricalGAN(bogus=1)
