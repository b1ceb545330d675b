"""`GANConfig`: every hyper-parameter of a `CategoricalGAN`, validated and JSON round-trippable."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from discrete_gan.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_optional_int,
    check_units,
)

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_MAX_STEPS",
    "ConfigDict",
    "GANConfig",
    "TableOptions",
    "check_table_options",
    "default_epochs",
]

# Passes over the data when none are given, in the library (`CategoricalGAN.fit`) and the
# training job (`discrete-gan train`) alike: one default, measured on the user's path, capped
# by a budget of updates (`default_epochs`).
DEFAULT_EPOCHS = 100
DEFAULT_MAX_STEPS = 10_000


def default_epochs(steps_per_epoch: int) -> int:
    """Epochs when none are given: `DEFAULT_EPOCHS`, but at most `DEFAULT_MAX_STEPS` updates.

    What a model needs is updates, not passes: 100 epochs of a 10,000-row table are 2,000
    steps of 512 rows, of a million-row table 195,000 (hours on a CPU, for no measured gain
    over 10,000). Tables up to 51,200 rows train 100 epochs as before.
    """
    return max(1, min(DEFAULT_EPOCHS, -(-DEFAULT_MAX_STEPS // max(1, steps_per_epoch))))


_LOSSES = ("bce", "wgan-gp")
_MISSING = ("category", "error", "drop")
_WEIGHTINGS = ("log", "frequency", "uniform")
_RARE_MODES = ("placeholder", "sample")


class ConfigDict:
    """JSON round trip of a frozen config dataclass (tuples of units become lists)."""

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("extra", None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict):
        """Builds a config from a dict, rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(
                f"Unknown configuration key(s): {', '.join(unknown)}. "
                f"Known keys: {', '.join(sorted(known))}"
            )
        return cls(**d)

    def replace(self, **changes):
        return type(self).from_dict({**self.to_dict(), **changes})


def check_table_options(config: Any) -> None:
    """Validates the fields every family shares: the schema policies (`missing`,
    `max_categories`, `split_above`), rare-label protection, `autoregressive` and the
    latent or output `temperature` (a serialized schedule is stored for a schedule object)."""
    check_choice("missing", config.missing, _MISSING)
    check_int("rare_min_count", config.rare_min_count, 0)
    check_choice("rare_mode", config.rare_mode, _RARE_MODES)
    if not isinstance(config.rare_placeholder, str) or not config.rare_placeholder:
        raise ValueError(
            "Invalid value for `rare_placeholder`. Expected a non-empty str. "
            f"Received: rare_placeholder={config.rare_placeholder!r}"
        )
    check_bool("autoregressive", config.autoregressive)
    check_optional_int("max_categories", config.max_categories, 2)
    check_optional_int("split_above", config.split_above, 1)
    from discrete_gan import schedules

    try:
        schedule = schedules.get(config.temperature)
    except ValueError as e:
        raise ValueError(f"Invalid value for `temperature`: {e}") from None
    if isinstance(config.temperature, schedules.TemperatureSchedule):
        object.__setattr__(config, "temperature", schedules.serialize(schedule))


@dataclass(frozen=True)
class TableOptions(ConfigDict):
    """The fields every family's config shares, with one set of defaults: the schema policies
    (`missing`, `max_categories`, `split_above`) and rare-label protection (`rare_*`, see
    `GANConfig`). Validated by `check_table_options`."""

    missing: str = "category"
    max_categories: int | None = None
    split_above: int | None = 1000
    rare_min_count: int = 5
    rare_placeholder: str = "_RARE_"
    rare_mode: str = "placeholder"


@dataclass(frozen=True)
class GANConfig(TableOptions):
    """Hyper-parameters of the generator, discriminator and training loop.

    Defaults were chosen on the seed toy and Bayesian-network tables (see `benchmarks/`).
    `temperature` is a float (constant) or a serialized temperature schedule dict.
    `autoregressive` draws the columns in order, each given the earlier ones
    (`AutoregressiveGumbelSoftmaxHeads`); False gives independent heads given the noise.
    `likelihood_weight` weighs a teacher-forced term beside the adversarial loss: the mean
    per-column negative log-likelihood of the real rows under the generator's chain given
    fresh noise (`E_z log p(x | z)`, a lower bound of `log p(x)`), the full-conditional
    counterpart of the marginal term. With the chain it fits every column's conditional on the
    columns before it; the discriminator still sees sampled rows against real ones.
    Measured on the Bayesian-network tables (issue #10, `benchmarks/README.md`): chain alone
    at 100 epochs, alarm L_test gap 2.25 -> 0.64; with weight 100 and learning rate 1e-3 at
    50 epochs, 0.24 (asia 0.002, child 0.05).
    `conditional` turns on training-by-sampling (see `discrete_gan.conditional`): a share
    `condition_fraction` of training rows is drawn for a (column, category) pair chosen with
    `condition_weighting`, and the generator learns to honour a condition vector, which makes
    sampling under rare conditions efficient. Off by default: on our tables it learns the
    unconditional joint more slowly per step (rare categories are already kept by the marginal
    term), and exact conditional sampling works without it (see `discrete_gan.conditional`).
    `rare_min_count` turns on rare-label protection (`discrete_gan.rare`): a label seen in
    fewer than k training rows, k drawn per column from `rare_min_count` to
    `rare_min_count + 2`, is never stored nor emitted; its rows train as `rare_placeholder`
    (`rare_mode="placeholder"`) or as a draw from the kept labels (`rare_mode="sample"`).
    0 turns it off (every label is kept).
    """

    noise_dim: int = 32
    generator_units: tuple[int, ...] = (128, 128)
    discriminator_units: tuple[int, ...] = (256, 256)
    loss: str = "bce"
    d_steps: int = 1
    g_steps: int = 1
    pac: int = 1
    gp_weight: float = 10.0
    dropout: float = 0.0
    batch_size: int = 512
    learning_rate: float = 1e-3
    d_learning_rate: float | None = None
    beta_1: float = 0.5
    beta_2: float = 0.9
    ema_momentum: float = 0.99
    hard: bool = True
    autoregressive: bool = True
    temperature: Any = 1.0
    marginal_weight: float = 5.0
    likelihood_weight: float = 100.0
    conditional: bool = False
    condition_fraction: float = 0.5
    condition_weighting: str = "log"
    condition_weight: float = 1.0
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for name in ("noise_dim", "d_steps", "g_steps", "pac", "batch_size"):
            check_int(name, getattr(self, name), 1)
        for name in ("generator_units", "discriminator_units"):
            object.__setattr__(self, name, check_units(name, getattr(self, name)))
        check_choice("loss", self.loss, _LOSSES)
        check_choice("condition_weighting", self.condition_weighting, _WEIGHTINGS)
        check_table_options(self)
        if self.batch_size % self.pac:
            raise ValueError(
                f"Invalid value for `batch_size`. Expected a multiple of pac={self.pac}. "
                f"Received: batch_size={self.batch_size}"
            )
        check_float("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        if self.d_learning_rate is not None:
            check_float("d_learning_rate", self.d_learning_rate, 0.0, 1.0, low_open=True)
        check_float("beta_1", self.beta_1, 0.0, 1.0)
        check_float("beta_2", self.beta_2, 0.0, 1.0)
        check_float("ema_momentum", self.ema_momentum, 0.0, 1.0, high_open=True)
        check_float("gp_weight", self.gp_weight, 0.0, 1e6)
        check_float("marginal_weight", self.marginal_weight, 0.0, 1e6)
        check_float("likelihood_weight", self.likelihood_weight, 0.0, 1e6)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_float("condition_fraction", self.condition_fraction, 0.0, 1.0)
        check_float("condition_weight", self.condition_weight, 0.0, 1e6)
        check_bool("conditional", self.conditional)
        check_bool("hard", self.hard)
