import pytest

from discrete_gan import GANConfig

# Configuration checks and defaults: nothing is built or trained.
pytestmark = pytest.mark.backend_agnostic


def test_round_trip_and_replace():
    config = GANConfig(noise_dim=4, generator_units=[8, 8], loss="wgan-gp")
    assert GANConfig.from_dict(config.to_dict()) == config
    assert config.replace(pac=2, batch_size=64).pac == 2


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(noise_dim=0), "noise_dim"),
        (dict(loss="hinge"), "loss"),
        (dict(batch_size=100, pac=3), "multiple of pac"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(ema_momentum=1.5), "ema_momentum"),
        (dict(missing="zero"), "missing"),
        (dict(temperature=-1.0), "temperature"),
        (dict(generator_units=[8, -1]), "generator_units"),
        (dict(rare_min_count=-1), "rare_min_count"),
        (dict(rare_min_count=2.5), "rare_min_count"),
        (dict(rare_mode="drop"), "rare_mode"),
        (dict(rare_placeholder=""), "rare_placeholder"),
        (dict(rare_placeholder=None), "rare_placeholder"),
    ],
)
def test_rejects_bad_values(changes, match):
    with pytest.raises(ValueError, match=match):
        GANConfig(**changes)


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match="Unknown configuration key.*bogus"):
        GANConfig.from_dict({"bogus": 1, "noise_dim": 3})


def test_the_cli_trains_with_the_library_defaults():
    """`discrete-gan train` with no flags and `CategoricalGAN()` are one configuration: the same
    GANConfig (but the job's column cap, `--max-categories`) and the same number of epochs."""
    import inspect

    from discrete_gan import CategoricalGAN
    from discrete_gan.config import DEFAULT_EPOCHS, GANConfig, default_epochs
    from training.config import DEFAULT_MAX_CATEGORIES, JobConfig

    job = JobConfig()
    assert job.model == GANConfig(max_categories=DEFAULT_MAX_CATEGORIES)
    assert job.model.replace(max_categories=None) == GANConfig()
    assert job.epochs is None  # both resolve it with default_epochs(steps per epoch)
    assert default_epochs(20) == DEFAULT_EPOCHS and default_epochs(1954) == 6
    assert inspect.signature(CategoricalGAN.fit).parameters["epochs"].default is None
