"""Job configuration: model hyper-parameters plus job options, from TOML/YAML and CLI overrides.

A config file has job options at the top level, among them the model `family` ("gan", the
default, or "vae"), and that family's hyper-parameters under `[model]` (`GANConfig` or
`discrete_gan.vae_config.VAEConfig` keys):

    epochs = 200
    patience = 20
    holdout = 0.2
    [model]
    learning_rate = 0.001
    pac = 4

    family = "vae"
    [model]
    latent_variables = 8
    kl_weight = 1.0

Unknown keys are rejected by name (for `[model]`, naming the family's known keys); values
are validated by `JobConfig` and the family's config class.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discrete_gan.families import DEFAULT_FAMILY, FAMILIES, config_class
from discrete_gan.validation import check_float, check_int, check_optional_int

__all__ = [
    "DEFAULT_MAX_CATEGORIES",
    "ConfigError",
    "JobConfig",
    "load_config",
    "parse_override",
]

# No cap on labels per column: columns past `GANConfig.split_above` labels are drawn in two
# levels (`discrete_gan.layout`). `--max-categories` is the user's own limit.
DEFAULT_MAX_CATEGORIES: int | None = None


class ConfigError(ValueError):
    """A configuration file or override is unreadable, unknown or out of range."""


@dataclass(frozen=True)
class JobConfig:
    """Options of one training run (see `discrete-gan train --help` for each).

    `epochs` None means `discrete_gan.config.default_epochs` of the run's steps per epoch
    (100, fewer past 10,000 updates), resolved when the run starts and recorded.
    `seed` None means a fresh seed from OS entropy, resolved once when the run starts and
    recorded (in checkpoints, the model's metadata and on stderr) so the run can be repeated.
    The column cap is the model's `max_categories` (`--max-categories` sets it).
    `devices` is "all" or a number of devices to train on data-parallel (JAX only; see
    `training.distribute`).
    `holdout` is the share of rows kept out of training (a seeded split, see
    `discrete_gan.privacy.holdout_split`) to measure memorisation in the model card; 0 keeps
    every row for training and reports no privacy figures.
    `family` names the model family (`discrete_gan.families.FAMILIES`); `model` is its
    config (`GANConfig` for "gan", `VAEConfig` for "vae"; None: the family's defaults).
    Multi-device training is GAN-only for now: the VAE needs `devices` 1.
    """

    epochs: int | None = None
    steps_per_epoch: int | None = None
    seed: int | None = None
    columns: list[str] | None = None
    na_values: list[str] = field(default_factory=list)
    checkpoint_every: int = 5
    patience: int | None = None
    min_delta: float = 0.0
    max_time: float | None = None
    fidelity_every: int = 1
    holdout: float = 0.1
    devices: int | str = 1
    family: str = DEFAULT_FAMILY
    model: Any = None

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ConfigError(
                f"Invalid value for `family`. Expected one of: {', '.join(FAMILIES)}. "
                f"Received: family={self.family!r}"
            )
        expected = config_class(self.family)
        if self.model is None:
            object.__setattr__(self, "model", expected(max_categories=DEFAULT_MAX_CATEGORIES))
        elif not isinstance(self.model, expected):
            raise ConfigError(
                f"The {self.family!r} family takes a {expected.__name__} as `model`. "
                f"Received: {type(self.model).__name__}"
            )
        if self.family != "gan" and self.devices != 1:
            raise ConfigError(
                f"Multi-device training (--devices) is GAN-only for now: the {self.family!r} "
                f"family trains on one device. Received: devices={self.devices!r}"
            )
        try:
            for name in ("checkpoint_every", "fidelity_every"):
                check_int(name, getattr(self, name), 1)
            check_optional_int("epochs", self.epochs, 1)
            check_optional_int("seed", self.seed, 0)
            check_optional_int("steps_per_epoch", self.steps_per_epoch, 1)
            check_optional_int("patience", self.patience, 1)
            check_float("min_delta", self.min_delta, 0.0)
            if self.max_time is not None:
                check_float("max_time", self.max_time, 0.0)
            holdout = check_float("holdout", self.holdout, 0.0, 1.0, high_open=True)
            if self.devices != "all":
                check_int("devices", self.devices, 1)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        object.__setattr__(self, "holdout", holdout)
        for name in ("columns", "na_values"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(c, str) for c in value)
            ):
                raise ConfigError(
                    f"Invalid value for `{name}`. Expected a list of strings. "
                    f"Received: {name}={value!r}"
                )

    def to_dict(self) -> dict:
        """JSON-able; `from_dict` inverts it (the family decides the model's config class)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        d["model"] = self.model.to_dict()
        return d

    def replace(self, **changes) -> JobConfig:
        return JobConfig.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, d: dict) -> JobConfig:
        d = dict(d)
        model = d.pop("model", {}) or {}
        family = d.pop("family", DEFAULT_FAMILY)  # configs before the VAE: the GAN
        if family not in FAMILIES:
            raise ConfigError(
                f"Invalid value for `family`. Expected one of: {', '.join(FAMILIES)}. "
                f"Received: family={family!r}"
            )
        if not isinstance(model, dict):
            raise ConfigError(f"`model` must be a table of {family.upper()} hyper-parameters")
        if "max_categories" in d:  # the job-level spelling of earlier versions
            model = {"max_categories": d.pop("max_categories"), **model}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"Unknown configuration key(s): {', '.join(unknown)}. Job keys: "
                f"{', '.join(sorted(known - {'model'}))}; model keys go under [model]"
            )
        model_class = config_class(family)
        model_keys = {f.name for f in dataclasses.fields(model_class)} - {"extra"}
        unknown = sorted(set(model) - model_keys)
        if unknown:
            raise ConfigError(
                f"Unknown model key(s) for the {family!r} family: {', '.join(unknown)}. "
                f"Known {family!r} model keys: {', '.join(sorted(model_keys))}"
            )
        try:
            model_config = model_class.from_dict(
                {"max_categories": DEFAULT_MAX_CATEGORIES, **model}
            )
            return cls(family=family, model=model_config, **d)
        except ConfigError:
            raise
        except (TypeError, ValueError) as e:
            raise ConfigError(str(e)) from None


def load_config(path: str | None) -> dict:
    """Reads a TOML (.toml) or YAML (.yaml/.yml) file into a dict ({} when path is None)."""
    if path is None:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Cannot read config file {path}: {e}") from None
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"Config file must end in .toml, .yaml or .yml: {path}")
    except ConfigError:
        raise
    except Exception as e:  # tomllib/yaml parse errors
        raise ConfigError(f"Cannot parse config file {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a table/mapping at the top level")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """ "model.pac=4" -> (["model", "pac"], 4). Values parse as JSON, else stay strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"Invalid --set {text!r}: expected KEY=VALUE, e.g. model.pac=4")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().split("."), value


def merge(base: dict, path: list[str], value: Any) -> dict:
    """A copy of `base` with `value` set at the nested key `path`."""
    out = dict(base)
    if len(path) == 1:
        out[path[0]] = value
    else:
        inner = out.get(path[0]) or {}
        if not isinstance(inner, dict):
            raise ConfigError(f"Cannot set {'.'.join(path)}: {path[0]} is not a table")
        out[path[0]] = merge(inner, path[1:], value)
    return out
