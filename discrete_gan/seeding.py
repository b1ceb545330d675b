"""Seeds: the one place every random stream of training and sampling is derived from.

A user seed is an int in `[0, 2**63)`. `resolve_seed(None)` draws a fresh one from the OS's
entropy (below 2**53, so a JSON client such as a browser keeps it exact) and returns it, so
every unseeded run can still be reported and repeated.

Each random stream has a name and a fixed id in `STREAMS`. Its seed is derived from the user's
seed with numpy's `SeedSequence(entropy=seed, spawn_key=(stream id, *index))`, a hash designed
so that distinct spawn keys give independent streams. So the noise `z`, the Gumbel noise, the
dropout masks, the gradient-penalty weights, the data order, training-by-sampling and the
rare-label thresholds never share a key, however often each one is drawn from (two
`keras.random.SeedGenerator`s built from the same int would advance in lock-step and draw
identical keys).

Sampling uses block keys: row `r` of a draw with seed `s` takes all its randomness from the
keys of block `r // BLOCK_ROWS` (`block_keys`), which depend only on `(s, stream, block)`. So a
row is a pure function of (weights, seed, row index), whichever request, chunk or partition it
is computed in.
"""

from __future__ import annotations

import secrets

import numpy as np

from discrete_gan.validation import check_int

__all__ = [
    "BLOCK_ROWS",
    "MAX_SEED",
    "STREAMS",
    "block_keys",
    "fresh_seed",
    "resolve_seed",
    "stream_rng",
    "stream_seed",
]

MAX_SEED = 2**63 - 1
BLOCK_ROWS = 256

# Stream ids are part of the reproducibility contract: never renumber one, only add.
STREAMS: dict[str, int] = {
    "weights": 1,
    "noise": 2,
    "gumbel": 3,
    "dropout": 4,
    "gradient_penalty": 5,
    "data_order": 6,
    "conditions": 7,
    "sample.noise": 8,
    "sample.gumbel": 9,
    "probabilities.noise": 10,
    "conditional.noise": 11,
    "conditional.draws": 12,
    "monitor.noise": 13,
    "card.sample": 14,
    "holdout": 15,
    "probabilities.gumbel": 16,
    "conditional.gumbel": 17,
    "generate.segments": 18,
    "rare_labels": 19,
    "rare_labels.sample": 20,
    "latent": 21,  # the VAE encoder's Gumbel-Softmax noise in training
    "score": 22,  # the VAE's ELBO draws of q(z | x)
}


def fresh_seed() -> int:
    """A new seed from OS entropy, in `[0, 2**53)` (exact as a JSON number everywhere)."""
    return secrets.randbelow(2**53)


def resolve_seed(seed: int | None, name: str = "seed") -> int:
    """`seed` checked to be an int in `[0, 2**63)`, or a fresh seed when it is None."""
    if seed is None:
        return fresh_seed()
    return check_int(name, seed, 0, MAX_SEED)


def _stream_id(stream: str) -> int:
    if stream not in STREAMS:
        raise ValueError(
            f"Invalid value for `stream`. Expected one of {tuple(STREAMS)}. Received: {stream!r}"
        )
    return STREAMS[stream]


def _sequence(seed: int, stream: str, index: tuple[int, ...]) -> np.random.SeedSequence:
    seed = check_int("seed", seed, 0, MAX_SEED)
    spawn = (_stream_id(stream), *(check_int("index", i, 0) for i in index))
    return np.random.SeedSequence(entropy=seed, spawn_key=spawn)


def stream_seed(seed: int, stream: str, *index: int) -> int:
    """A 31-bit int seed for `stream` (and optional integer `index`, e.g. an epoch).

    Suitable for `keras.random.SeedGenerator`, `keras.utils.set_random_seed` and layer seeds.
    """
    return int(_sequence(seed, stream, index).generate_state(1, np.uint32)[0] >> 1)


def stream_rng(seed: int, stream: str, *index: int) -> np.random.Generator:
    """A numpy `Generator` for `stream` at `index`, independent of every other stream."""
    return np.random.Generator(np.random.PCG64(_sequence(seed, stream, index)))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic): a bijective mixer."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def block_keys(seed: int, stream: str, first: int, count: int) -> np.ndarray:
    """Keys of blocks `first, ..., first + count - 1` of `stream`: uint32 `(count, 2)`.

    Each row is a two-word key for a counter-based generator (JAX's threefry key data, the
    seed of TensorFlow's stateless ops). The stream's base words come from `SeedSequence`;
    each block's key mixes in the block index with SplitMix64, vectorised, so 10 million rows
    need 40,000 keys in well under a millisecond.
    """
    first = check_int("first", first, 0)
    count = check_int("count", count, 0)
    k0, k1 = _sequence(seed, stream, ()).generate_state(2, np.uint64)
    blocks = np.arange(first, first + count, dtype=np.uint64)
    mixed = _splitmix64(k0 ^ _splitmix64(blocks ^ k1))
    words = np.stack([mixed & np.uint64(0xFFFFFFFF), mixed >> np.uint64(32)], axis=1)
    return words.astype(np.uint32)
