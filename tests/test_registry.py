import pytest

from discrete_gan.registry import Registry, validate_name, validate_version


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["", "..", ".hidden", "a/b", "a\\b", "../etc", "x" * 65, "a b"])
def test_rejects_unsafe_names(name):
    with pytest.raises(ValueError, match="Invalid model name"):
        validate_name(name)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("version", ["0", "-1", "1.0", "../1", "latest", "", True])
def test_rejects_bad_versions(version):
    with pytest.raises(ValueError, match="Invalid model version"):
        validate_version(version)


@pytest.mark.backend_agnostic
def test_accepts_reasonable_names():
    for name in ["demo", "census-2024", "a.b_c", "A1"]:
        assert validate_name(name) == name


def test_publish_versions_and_latest(trained_tiny, tmp_path):
    reg = Registry(tmp_path / "reg")
    assert reg.names() == [] and reg.latest("demo") is None
    for expected in ("1", "2"):
        staging = reg.staging_dir("demo")
        trained_tiny.save(staging / "model")
        ref = reg.publish("demo", staging / "model")
        assert ref.version == expected and (ref.path / "generator.keras").is_file()
    assert reg.names() == ["demo"]
    assert reg.versions("demo") == ["1", "2"]
    assert reg.latest("demo") == "2"
    assert reg.resolve("demo").version == "2"
    assert reg.resolve("demo", "1").path.name == "1"
    assert reg.metadata("demo")["format_version"] == 1
    reg.set_latest("demo", 1)
    assert reg.latest("demo") == "1"
    assert reg.clean_staging("demo") == 2  # the two emptied staging parents


@pytest.mark.backend_agnostic
def test_resolve_and_publish_errors(tmp_path):
    reg = Registry(tmp_path)
    with pytest.raises(KeyError, match="No model named"):
        reg.resolve("ghost")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="incomplete model"):
        reg.publish("demo", empty)
    with pytest.raises(ValueError, match="Invalid model name"):
        reg.resolve("../x")
    assert reg.names() == []
