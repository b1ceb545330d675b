"""The model families, by name: their config and model classes, and loading either from disk.

An artifact's `metadata.json` names its family ("gan" when absent: saved before there was a
second one), so `api/` and `training/` load any model with `load_model` and never branch on
the family themselves, except to offer what only one family does (`CategoricalVAE.score`).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from discrete_gan.validation import check_choice

__all__ = ["DEFAULT_FAMILY", "FAMILIES", "config_class", "family_of", "load_model", "model_class"]

DEFAULT_FAMILY = "gan"
FAMILIES = ("gan", "vae")
_CONFIGS = {"gan": "discrete_gan.config:GANConfig", "vae": "discrete_gan.vae_config:VAEConfig"}
_MODELS = {
    "gan": "discrete_gan.synthesizer:CategoricalGAN",
    "vae": "discrete_gan.vae:CategoricalVAE",
}


def _resolve(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def config_class(family: str) -> type:
    """`GANConfig` for "gan", `VAEConfig` for "vae" (importing no Keras model code)."""
    return _resolve(_CONFIGS[check_choice("family", family, FAMILIES)])


def model_class(family: str) -> type:
    """`CategoricalGAN` for "gan", `CategoricalVAE` for "vae"."""
    return _resolve(_MODELS[check_choice("family", family, FAMILIES)])


def family_of(metadata: dict) -> str:
    """The family an artifact's metadata names; ArtifactError for an unknown one."""
    family = metadata.get("family", DEFAULT_FAMILY)
    if family not in FAMILIES:
        from discrete_gan.artifacts import ArtifactError

        raise ArtifactError(
            f"Unknown model family {family!r}. Known families: {', '.join(FAMILIES)}"
        )
    return family


def load_model(directory: str | os.PathLike):
    """Loads a saved model of any family (safe_mode=True), as its family's class."""
    from discrete_gan.artifacts import read_metadata

    return model_class(family_of(read_metadata(directory))).load(directory)
