"""The shared argument checks: one rule per kind of value, one wording."""

import numpy as np
import pytest

from discrete_gan import GANConfig
from discrete_gan.gan import GumbelGAN
from discrete_gan.models import build_discriminator, build_generator
from discrete_gan.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_optional_int,
    check_temperature,
    check_units,
)


@pytest.mark.backend_agnostic
def test_ints():
    assert check_int("n", 3, 1) == 3 and type(check_int("n", np.int64(3), 1)) is int
    for bad in (0, True, 1.0, "2", None):
        with pytest.raises(ValueError, match=r"Invalid value for `n`\. Expected an int >= 1\."):
            check_int("n", bad, 1)
    with pytest.raises(ValueError, match=r"an int in \[0, 5\]\. Received: n=6"):
        check_int("n", 6, 0, 5)
    assert check_optional_int("k", None, 1) is None
    with pytest.raises(ValueError, match="None or an int >= 2"):
        check_optional_int("k", 1, 2)


@pytest.mark.backend_agnostic
def test_floats_and_temperatures():
    assert check_float("p", 1, 0.0, 1.0) == 1.0
    with pytest.raises(ValueError, match=r"a float in \[0.0, 1.0\)"):
        check_float("p", 1.0, 0.0, 1.0, high_open=True)
    for bad in (float("nan"), float("inf"), True, "0.5"):
        with pytest.raises(ValueError, match="Invalid value for `p`"):
            check_float("p", bad, 0.0)
    with pytest.raises(ValueError, match=r"Expected a float > 0.0\. Received: temperature=0"):
        check_temperature(0)
    assert check_temperature(np.float32(0.5)) == 0.5


@pytest.mark.backend_agnostic
def test_bools_choices_units():
    assert check_bool("hard", np.bool_(True)) is True
    with pytest.raises(ValueError, match="Expected a bool"):
        check_bool("hard", 1)
    with pytest.raises(ValueError, match=r"one of \('a', 'b'\)"):
        check_choice("loss", "c", ("a", "b"))
    assert check_units("units", [8, 4]) == (8, 4)
    for bad in ("12", [0], [1.5], 3):
        with pytest.raises(ValueError, match="a list of ints >= 1"):
            check_units("units", bad)


def test_ema_momentum_has_one_rule_everywhere():
    """GANConfig accepted ema_momentum up to 0.9999 and GumbelGAN anything below 1."""
    GANConfig(ema_momentum=0.99999)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"ema_momentum.*\[0.0, 1.0\)"):
            GANConfig(ema_momentum=bad)
    generator = build_generator([2, 3], noise_dim=4, hidden_units=(4,))
    discriminator = build_discriminator(5, (4,))
    with pytest.raises(ValueError, match=r"ema_momentum.*\[0.0, 1.0\)"):
        GumbelGAN(generator, discriminator, 4, ema_momentum=1.0)
