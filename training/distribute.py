"""Data-parallel training across devices with `keras.distribution` (JAX backend).

`discrete-gan train ... --devices all|N` replicates the generator and the discriminator on N
devices and splits every global batch across them (`keras.distribution.DataParallel`): the
trainer shards each batch along its first axis, runs the compiled train step on all devices at
once, and XLA all-reduces the gradients, so the replicas take identical steps and their weights
stay identical. One device (the default) is today's single-device path, untouched.

Several hosts join through `keras.distribution.initialize()`, which reads the
`KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
`KERAS_DISTRIBUTION_PROCESS_ID` environment variables; every host runs the same command.

Keras 3 supports distribution on JAX only (TensorFlow's `MultiWorkerMirroredStrategy` is not
supported by Keras 3), so asking for more than one device under another backend is an error
that says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import keras

__all__ = ["DeviceError", "data_parallel"]


class DeviceError(ValueError):
    """The requested devices cannot be used (backend, count, batch size)."""


def _count(devices: int | str, available: int) -> int:
    if devices == "all":
        return available
    if devices > available:
        raise DeviceError(
            f"Invalid value for `--devices`. Expected at most the {available} device(s) this "
            f"process sees. Received: devices={devices}"
        )
    return devices


@contextlib.contextmanager
def data_parallel(devices: int | str, batch_size: int) -> Iterator[int]:
    """Within the block, models built and trained run data-parallel on `devices`.

    Args:
        devices: "all" or a number of devices >= 1; 1 leaves Keras as it is.
        batch_size: the global batch, which must split evenly across the devices.

    Yields:
        The number of devices used.
    """
    if devices == 1:
        yield 1
        return
    backend = keras.backend.backend()
    if backend != "jax":
        raise DeviceError(
            f"Multi-device training needs the JAX backend (KERAS_BACKEND=jax): Keras 3 "
            f"distributes training on JAX only. Received: devices={devices} with backend "
            f"{backend!r}"
        )
    if os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        keras.distribution.initialize()
    available = keras.distribution.list_devices()
    count = _count(devices, len(available))
    if count == 1:
        yield 1
        return
    if batch_size % count:
        raise DeviceError(
            f"Invalid value for `--batch-size`. Expected a multiple of the {count} devices. "
            f"Received: batch_size={batch_size}"
        )
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=available[:count]))
    try:
        yield count
    finally:
        keras.distribution.set_distribution(previous)
