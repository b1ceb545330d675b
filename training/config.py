"""Job configuration: GAN hyper-parameters plus job options, from TOML/YAML and CLI overrides.

A config file has job options at the top level and GAN hyper-parameters under `[model]`:

    epochs = 200
    patience = 20
    [model]
    learning_rate = 0.0005
    pac = 4

Unknown keys are rejected by name; values are validated by `JobConfig` and `GANConfig`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discrete_gan import GANConfig

__all__ = ["ConfigError", "JobConfig", "load_config", "parse_override"]


class ConfigError(ValueError):
    """A configuration file or override is unreadable, unknown or out of range."""


@dataclass(frozen=True)
class JobConfig:
    """Options of one training run (see `discrete-gan train --help` for each)."""

    epochs: int = 100
    steps_per_epoch: int | None = None
    seed: int = 0
    columns: list[str] | None = None
    max_categories: int = 1000
    checkpoint_every: int = 5
    patience: int | None = None
    min_delta: float = 0.0
    max_time: float | None = None
    fidelity_every: int = 1
    model: GANConfig = field(default_factory=GANConfig)

    def __post_init__(self):
        for name, minimum in (("epochs", 1), ("checkpoint_every", 1), ("fidelity_every", 1)):
            _int(name, getattr(self, name), minimum)
        _int("max_categories", self.max_categories, 2)
        _int("seed", self.seed, 0)
        if self.steps_per_epoch is not None:
            _int("steps_per_epoch", self.steps_per_epoch, 1)
        if self.patience is not None:
            _int("patience", self.patience, 1)
        for name in ("min_delta", "max_time"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int | float) or not math.isfinite(value) or value < 0
            ):
                raise ConfigError(
                    f"Invalid value for `{name}`: expected a number >= 0, got {value!r}"
                )
        if self.columns is not None and (
            not isinstance(self.columns, list) or not all(isinstance(c, str) for c in self.columns)
        ):
            raise ConfigError(
                f"Invalid value for `columns`: expected a list of names, got {self.columns!r}"
            )

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> JobConfig:
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"Unknown configuration key(s): {', '.join(unknown)}. Job keys: "
                f"{', '.join(sorted(known - {'model'}))}; model keys go under [model]"
            )
        model = d.pop("model", {}) or {}
        if not isinstance(model, dict):
            raise ConfigError("`model` must be a table of GAN hyper-parameters")
        try:
            model_config = GANConfig.from_dict(
                {"max_categories": d.get("max_categories", 1000), **model}
            )
            return cls(model=model_config, **d)
        except ConfigError:
            raise
        except (TypeError, ValueError) as e:
            raise ConfigError(str(e)) from None


def _int(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(
            f"Invalid value for `{name}`: expected an int >= {minimum}, got {value!r}"
        )


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
