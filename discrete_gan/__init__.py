"""discrete-gan: learn categorical tables with a Gumbel-Softmax GAN (Keras 3) and serve them.

The library never reads environment variables, prints, or imports web frameworks; the
`training` job and the `api` service build on it through the on-disk artifact.
"""

__version__ = "0.1.0"

from discrete_gan.config import GANConfig  # noqa: E402
from discrete_gan.distributions import (  # noqa: E402
    RelaxedOneHotCategorical,
    gumbel_max_sample,
    gumbel_softmax,
    sample_gumbel,
    straight_through,
)
from discrete_gan.layers import GumbelSoftmaxHeads  # noqa: E402
from discrete_gan.schema import Column, TableSchema  # noqa: E402
from discrete_gan.synthesizer import CategoricalGAN  # noqa: E402

__all__ = [
    "CategoricalGAN",
    "Column",
    "GANConfig",
    "GumbelSoftmaxHeads",
    "RelaxedOneHotCategorical",
    "TableSchema",
    "__version__",
    "gumbel_max_sample",
    "gumbel_softmax",
    "sample_gumbel",
    "straight_through",
]
