import json
import shutil

import keras
import pytest

from discrete_gan.artifacts import (
    GENERATOR_FILE,
    METADATA_FILE,
    SCHEMA_FILE,
    ArtifactError,
    check_keras_version,
    load_artifact,
)


@pytest.fixture
def saved(trained_tiny, tmp_path):
    path = tmp_path / "model"
    trained_tiny.save(path)
    return path


def test_loads_a_good_artifact(saved):
    generator, schema, meta = load_artifact(saved)
    assert schema.names == ["colour", "size", "flag"]
    assert meta["format_version"] == 1
    assert sorted(p.name for p in saved.iterdir()) == sorted(
        [GENERATOR_FILE, SCHEMA_FILE, METADATA_FILE]
    )


def test_lambda_layer_is_refused(saved):
    x = keras.Input((3,))
    evil = keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x))
    (saved / GENERATOR_FILE).unlink()
    evil.save(saved / GENERATOR_FILE)
    with pytest.raises(ArtifactError, match="Refused to load"):
        load_artifact(saved)


def test_truncated_generator_is_refused(saved):
    data = (saved / GENERATOR_FILE).read_bytes()
    (saved / GENERATOR_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="not a valid .keras archive"):
        load_artifact(saved)


@pytest.mark.parametrize("missing", [SCHEMA_FILE, METADATA_FILE, GENERATOR_FILE])
def test_missing_file_is_named(saved, missing):
    (saved / missing).unlink()
    with pytest.raises(ArtifactError, match=missing):
        load_artifact(saved)


def test_unknown_format_and_bad_json(saved):
    meta = json.loads((saved / METADATA_FILE).read_text())
    (saved / METADATA_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ArtifactError, match="format_version=99"):
        load_artifact(saved)
    (saved / METADATA_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match="Unreadable"):
        load_artifact(saved)


def test_schema_generator_mismatch(saved, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    schema = json.loads((other / SCHEMA_FILE).read_text())
    schema["columns"] = schema["columns"][:1]
    (other / SCHEMA_FILE).write_text(json.dumps(schema))
    with pytest.raises(ArtifactError, match="do not match"):
        load_artifact(other)


def test_missing_directory_and_old_keras(tmp_path):
    with pytest.raises(ArtifactError, match="not found"):
        load_artifact(tmp_path / "nope")
    with pytest.raises(RuntimeError, match="keras >= 3.14"):
        check_keras_version("3.13.2")
    check_keras_version("3.14.0")
