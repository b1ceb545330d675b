"""discrete-gan: learn categorical tables with a Gumbel-Softmax GAN or VAE (Keras 3), serve them.

The library never reads environment variables, prints, or imports web frameworks; the
`training` job and the `api` service build on it through the on-disk artifact. Names are
imported lazily, so `from discrete_gan.config import GANConfig` does not start Keras.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "CategoricalGAN": "discrete_gan.synthesizer",
    "CategoricalSynthesizer": "discrete_gan.base",
    "CategoricalVAE": "discrete_gan.vae",
    "Column": "discrete_gan.schema",
    "EncodedTable": "discrete_gan.schema",
    "GANConfig": "discrete_gan.config",
    "GumbelSoftmaxHeads": "discrete_gan.layers",
    "RelaxedOneHotCategorical": "discrete_gan.distributions",
    "TableSchema": "discrete_gan.schema",
    "VAEConfig": "discrete_gan.vae_config",
    "gumbel_max_sample": "discrete_gan.distributions",
    "gumbel_softmax": "discrete_gan.distributions",
    "load_model": "discrete_gan.families",
    "sample_gumbel": "discrete_gan.distributions",
    "straight_through": "discrete_gan.distributions",
}

__all__ = [
    "CategoricalGAN",
    "CategoricalSynthesizer",
    "CategoricalVAE",
    "Column",
    "EncodedTable",
    "GANConfig",
    "GumbelSoftmaxHeads",
    "RelaxedOneHotCategorical",
    "TableSchema",
    "VAEConfig",
    "__version__",
    "gumbel_max_sample",
    "gumbel_softmax",
    "load_model",
    "sample_gumbel",
    "straight_through",
]

if TYPE_CHECKING:
    from discrete_gan.base import CategoricalSynthesizer
    from discrete_gan.config import GANConfig
    from discrete_gan.distributions import (
        RelaxedOneHotCategorical,
        gumbel_max_sample,
        gumbel_softmax,
        sample_gumbel,
        straight_through,
    )
    from discrete_gan.families import load_model
    from discrete_gan.layers import GumbelSoftmaxHeads
    from discrete_gan.schema import Column, EncodedTable, TableSchema
    from discrete_gan.synthesizer import CategoricalGAN
    from discrete_gan.vae import CategoricalVAE
    from discrete_gan.vae_config import VAEConfig


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'discrete_gan' has no attribute {name!r}")
