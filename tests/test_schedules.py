import math

import keras
import numpy as np
import pytest
from keras import ops

from discrete_gan import schedules
from discrete_gan.schedules import (
    ConstantTemperature,
    ExponentialDecayTemperature,
    LinearTemperature,
)

ALL = [
    ConstantTemperature(0.7),
    ExponentialDecayTemperature(initial=2.0, rate=1e-2, minimum=0.5, update_every=10),
    LinearTemperature(initial=5.0, final=0.1, steps=100),
]


def test_exponential_matches_the_paper_formula():
    s = ExponentialDecayTemperature(initial=1.0, rate=1e-4, minimum=0.5, update_every=500)
    assert s.value(0) == 1.0
    assert s.value(499) == 1.0  # updated only every N steps
    assert s.value(500) == pytest.approx(math.exp(-1e-4 * 500))
    assert s.value(10**6) == 0.5  # floor


def test_linear_end_points():
    s = LinearTemperature(initial=5.0, final=1.0, steps=4)
    assert [s.value(t) for t in range(6)] == [5.0, 4.0, 3.0, 2.0, 1.0, 1.0]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_tensor_call_agrees_with_value(schedule):
    for step in [0, 1, 9, 10, 55, 99, 100, 10_000]:
        got = float(ops.convert_to_numpy(schedule(ops.convert_to_tensor(step, "int32"))))
        assert got == pytest.approx(schedule.value(step), rel=1e-5)


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_compiled_with_a_variable_step(schedule):
    step = keras.Variable(37, dtype="int32", trainable=False)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda: schedule(step.value))
        assert float(fn()) == pytest.approx(schedule.value(37), rel=1e-5)
    elif keras.backend.backend() == "jax":
        import jax

        fn = jax.jit(lambda s: schedule(s))
        assert float(fn(step.value)) == pytest.approx(schedule.value(37), rel=1e-5)
    else:
        pytest.skip("no compiler check for this backend")


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_config_and_serialization_round_trip(schedule):
    assert type(schedule).from_config(schedule.get_config()) == schedule
    assert schedules.deserialize(schedules.serialize(schedule)) == schedule
    assert (
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
        == schedule
    )


def test_get_accepts_float_schedule_and_dict():
    assert schedules.get(0.3) == ConstantTemperature(0.3)
    assert schedules.get(ALL[1]) is ALL[1]
    assert schedules.get(schedules.serialize(ALL[2])) == ALL[2]
    with pytest.raises(ValueError, match="Invalid temperature"):
        schedules.get("hot")
    with pytest.raises(ValueError, match="Invalid temperature schedule"):
        schedules.deserialize({"class_name": "os.system", "config": {}})


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ConstantTemperature(0), "value=0"),
        (lambda: ConstantTemperature(float("inf")), "value"),
        (lambda: ExponentialDecayTemperature(rate=-1), "rate"),
        (lambda: ExponentialDecayTemperature(initial=0.4, minimum=0.5), "minimum"),
        (lambda: ExponentialDecayTemperature(update_every=0), "update_every"),
        (lambda: LinearTemperature(steps=0), "steps"),
        (lambda: LinearTemperature(final=-2.0), "final"),
    ],
)
def test_bad_arguments_name_the_parameter(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_values_are_finite_and_positive():
    for schedule in ALL:
        values = np.array([schedule.value(t) for t in range(0, 2000, 7)])
        assert np.all(np.isfinite(values)) and np.all(values > 0)
