"""Temperature schedules for the Gumbel-Softmax relaxation.

A schedule maps a training step to a temperature. `__call__` works on an integer scalar tensor
with `keras.ops` only (no Python branching on values), so a compiled train step traces once
and reads the step from a variable; `value` gives the same number in plain Python for plots
and logs. Jang et al. (2017, §4.2) anneal `tau = max(tau_min, tau0 * exp(-r t))`, updating
every N steps, with tau_min = 0.5, r in {1e-5, 1e-4}, N in {500, 1000}.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from discrete_gan.validation import check_float, check_int, check_temperature

__all__ = [
    "ConstantTemperature",
    "ExponentialDecayTemperature",
    "LinearTemperature",
    "TemperatureSchedule",
    "deserialize",
    "get",
    "serialize",
]


class TemperatureSchedule:
    """Base class: `schedule(step)` -> float32 scalar tensor; `schedule.value(step)` -> float."""

    def __call__(self, step):
        raise NotImplementedError

    def value(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> TemperatureSchedule:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="discrete_gan")
class ConstantTemperature(TemperatureSchedule):
    """A fixed temperature."""

    def __init__(self, value: float = 1.0):
        self.temperature = check_temperature(value, "value")

    def __call__(self, step):
        return ops.convert_to_tensor(self.temperature, "float32")

    def value(self, step: int) -> float:
        return self.temperature

    def get_config(self) -> dict:
        return {"value": self.temperature}


@keras.saving.register_keras_serializable(package="discrete_gan")
class ExponentialDecayTemperature(TemperatureSchedule):
    """`tau = max(minimum, initial * exp(-rate * t))`, `t = update_every * floor(step / N)`."""

    def __init__(
        self,
        initial: float = 1.0,
        rate: float = 1e-4,
        minimum: float = 0.5,
        update_every: int = 1,
    ):
        self.initial = check_temperature(initial, "initial")
        self.minimum = check_temperature(minimum, "minimum")
        rate = check_float("rate", rate, 0.0)
        if self.minimum > self.initial:
            raise ValueError(
                "Invalid value for `minimum`. Expected minimum <= initial. "
                f"Received: minimum={minimum}, initial={initial}"
            )
        self.rate = float(rate)
        self.update_every = check_int("update_every", update_every, 1)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        t = ops.floor(step / self.update_every) * self.update_every
        return ops.maximum(self.minimum, self.initial * ops.exp(-self.rate * t))

    def value(self, step: int) -> float:
        t = (int(step) // self.update_every) * self.update_every
        return max(self.minimum, self.initial * math.exp(-self.rate * t))

    def get_config(self) -> dict:
        return {
            "initial": self.initial,
            "rate": self.rate,
            "minimum": self.minimum,
            "update_every": self.update_every,
        }


@keras.saving.register_keras_serializable(package="discrete_gan")
class LinearTemperature(TemperatureSchedule):
    """Linear from `initial` to `final` over `steps` steps, then constant at `final`."""

    def __init__(self, initial: float = 1.0, final: float = 0.5, steps: int = 1000):
        self.initial = check_temperature(initial, "initial")
        self.final = check_temperature(final, "final")
        self.steps = check_int("steps", steps, 1)

    def __call__(self, step):
        frac = ops.minimum(ops.cast(step, "float32") / self.steps, 1.0)
        return ops.convert_to_tensor(self.initial + (self.final - self.initial) * frac, "float32")

    def value(self, step: int) -> float:
        frac = min(int(step) / self.steps, 1.0)
        return self.initial + (self.final - self.initial) * frac

    def get_config(self) -> dict:
        return {"initial": self.initial, "final": self.final, "steps": self.steps}


_CLASSES = {
    c.__name__: c for c in (ConstantTemperature, ExponentialDecayTemperature, LinearTemperature)
}


def serialize(schedule: TemperatureSchedule) -> dict:
    """`{"class_name": ..., "config": {...}}`, JSON-able."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> TemperatureSchedule:
    """Inverse of `serialize`; accepts only this module's schedule classes."""
    if not isinstance(config, dict) or config.get("class_name") not in _CLASSES:
        raise ValueError(
            f"Invalid temperature schedule. Expected {{'class_name': one of {sorted(_CLASSES)}, "
            f"'config': {{...}}}}. Received: {config!r}"
        )
    return _CLASSES[config["class_name"]].from_config(config.get("config", {}))


def get(identifier: Any) -> TemperatureSchedule:
    """A schedule from a schedule, a float (constant) or a serialized dict."""
    if isinstance(identifier, TemperatureSchedule):
        return identifier
    if isinstance(identifier, int | float) and not isinstance(identifier, bool):
        return ConstantTemperature(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        "Invalid temperature. Expected a float > 0, a TemperatureSchedule or a serialized "
        f"schedule dict. Received: {identifier!r}"
    )
