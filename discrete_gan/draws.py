"""What sampling returns: a lazily computed draw of rows that knows the seed that drew it.

`Draw` iterates over int32 code chunks `(m, n_columns)` (the cheapest form: the service and the
CLI render them straight to CSV, JSON or Parquet, see `discrete_gan.formats`); `SampleStream`
over DataFrames with the original labels; `RelaxedStream` over `RelaxedChunk`s that add each
row's Gumbel-Softmax vectors. Each has `.seed`: the seed used, fresh from OS entropy when the
caller gave none, so any draw can be repeated exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd

from discrete_gan.schema import TableSchema

__all__ = ["Draw", "RelaxedChunk", "RelaxedStream", "SampleStream"]


class Draw:
    """`n` rows drawn with `seed`, computed chunk by chunk when iterated (bounded memory).

    Attributes:
        seed: the seed that drew the rows.
        n: number of rows.
        schema: decodes the codes to labels.
        acceptance_rate: for a conditional draw, accepted / drawn noise samples (else None).
    """

    def __init__(
        self,
        seed: int,
        n: int,
        schema: TableSchema,
        chunks: Callable[[], Iterator[np.ndarray]],
        acceptance_rate: float | None = None,
    ):
        self.seed, self.n, self.schema = seed, n, schema
        self.acceptance_rate = acceptance_rate
        self._chunks = chunks

    def __iter__(self) -> Iterator[np.ndarray]:
        """int32 code chunks `(m, n_columns)`, in row order."""
        return self._chunks()

    def codes(self) -> np.ndarray:
        """All rows as one int32 array `(n, n_columns)`."""
        chunks = list(self)
        if not chunks:
            return np.zeros((0, len(self.schema.columns)), "int32")
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def frames(self) -> SampleStream:
        """The same rows as DataFrames with the original labels and dtypes."""
        return SampleStream(self)

    def __repr__(self) -> str:
        return f"Draw(n={self.n}, seed={self.seed})"


class SampleStream:
    """An iterable of DataFrames (chunks of a `Draw`), with the draw's `seed`."""

    def __init__(self, draw: Draw):
        self.draw = draw

    @property
    def seed(self) -> int:
        return self.draw.seed

    @property
    def acceptance_rate(self) -> float | None:
        return self.draw.acceptance_rate

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for codes in self.draw:
            yield self.draw.schema.decode(codes)


class RelaxedChunk(NamedTuple):
    """A chunk of rows with their relaxed vectors.

    Attributes:
        frame: the rows' labels, `(m, n_columns)`.
        codes: int32 codes `(m, n_columns)`.
        vectors: float32 `(m, sum(k))` Gumbel-Softmax vectors, one block per column in schema
            order (`TableSchema.split` cuts them apart); `argmax` of each block is the code.
    """

    frame: pd.DataFrame
    codes: np.ndarray
    vectors: np.ndarray


class RelaxedStream:
    """An iterable of `RelaxedChunk`s, with the `seed` that drew them."""

    def __init__(
        self,
        seed: int,
        schema: TableSchema,
        chunks: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]],
    ):
        self.seed, self.schema, self._chunks = seed, schema, chunks

    def __iter__(self) -> Iterator[RelaxedChunk]:
        for codes, vectors in self._chunks():
            yield RelaxedChunk(self.schema.decode(codes), codes, vectors)
