"""`VAEConfig`: every hyper-parameter of a `CategoricalVAE`, validated and JSON round-trippable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from discrete_gan.config import TableOptions, check_table_options
from discrete_gan.validation import check_bool, check_float, check_int, check_units

__all__ = ["DEFAULT_VAE_TEMPERATURE", "VAEConfig"]

# Jang et al. (2017, §4.2) anneal the latent temperature as max(0.5, exp(-r t)), updated every
# N steps. Our runs are 2,000 to 10,000 updates (`default_epochs`), not their 10^5: r = 3e-4
# reaches the floor of 0.5 after about 2,300 steps.
DEFAULT_VAE_TEMPERATURE = {
    "class_name": "ExponentialDecayTemperature",
    "config": {"initial": 1.0, "rate": 3e-4, "minimum": 0.5, "update_every": 100},
}


@dataclass(frozen=True)
class VAEConfig(TableOptions):
    """Hyper-parameters of the Gumbel-Softmax VAE (Jang et al. 2017, §4.2) for tables.

    The encoder maps a row's one-hot vector to the logits of `latent_variables` categorical
    latents of `latent_categories` classes each; a Gumbel-Softmax sample of them (soft, or
    straight-through with `hard`) at the annealed `temperature` feeds the decoder, which
    gives each column a softmax block (`autoregressive`: each column given the earlier
    ones, as the GAN's generator does). The loss is the negative ELBO,
    `-E_q[log p(x | z)] + kl_weight * KL(q(z | x) || uniform)`; with `kl_weight` 1 it is a
    bound on `-log p(x)` (the score the model serves). `ema_momentum` > 0 averages the
    weights over the last updates (with a warm-up, written into the networks when `fit`
    ends): minibatch noise otherwise moves the learned frequencies by about
    `sqrt(p (1 - p) / batch_size)`.

    The table options (`missing`, `max_categories`, `split_above`, rare-label protection)
    mean what they mean for `GANConfig`; both families share the schema code.
    """

    latent_variables: int = 16
    latent_categories: int = 8
    encoder_units: tuple[int, ...] = (128, 128)
    decoder_units: tuple[int, ...] = (128, 128)
    batch_size: int = 512
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    kl_weight: float = 1.0
    ema_momentum: float = 0.99
    hard: bool = True
    autoregressive: bool = True
    temperature: Any = field(default_factory=lambda: dict(DEFAULT_VAE_TEMPERATURE))
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for name in ("latent_variables", "batch_size"):
            check_int(name, getattr(self, name), 1)
        check_int("latent_categories", self.latent_categories, 2)
        for name in ("encoder_units", "decoder_units"):
            object.__setattr__(self, name, check_units(name, getattr(self, name)))
        check_float("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        check_float("beta_1", self.beta_1, 0.0, 1.0)
        check_float("beta_2", self.beta_2, 0.0, 1.0)
        check_float("kl_weight", self.kl_weight, 0.0, 1e6)
        check_float("ema_momentum", self.ema_momentum, 0.0, 1.0, high_open=True)
        check_bool("hard", self.hard)
        check_table_options(self)

    @property
    def latent_dim(self) -> int:
        """Width of the flattened latent, `latent_variables * latent_categories`."""
        return self.latent_variables * self.latent_categories
