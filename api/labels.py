"""Which labels of a column a response lists: all of them, or the top N and "other".

A column with thousands to a million labels cannot be sent whole on every request (nor drawn
by a browser), so responses about such columns list only their top labels and summarise the
rest as one `other` entry: how many labels it holds and their total mass. The rule, shared by
`/models/{name}` and `/models/{name}/probabilities`:

- without `top`, a column with at most `FULL_LABELS` labels is listed whole, in the model's
  code order (as before), and a larger one is cut to its `DEFAULT_TOP` top labels;
- with `top=N`, every column with more than N labels is cut to its top N.

A cut column lists its labels most likely first (ties in code order), and only a cut column
has an `other` entry.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_TOP", "FULL_LABELS", "cut", "top_indices"]

FULL_LABELS = 100
DEFAULT_TOP = 50


def cut(cardinality: int, top: int | None) -> int | None:
    """How many labels of a column to list, or None for all of them (in code order)."""
    limit = DEFAULT_TOP if top is None and cardinality > FULL_LABELS else top
    return limit if limit is not None and limit < cardinality else None


def top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest `values`, largest first, ties in position order.

    O(n) selection before sorting only the `k` kept, so a million labels cost milliseconds.
    """
    values = np.asarray(values, dtype=np.float64)
    if k >= len(values):
        keep = np.arange(len(values))
    else:
        threshold = np.partition(values, len(values) - k)[len(values) - k]
        above = np.flatnonzero(values > threshold)
        ties = np.flatnonzero(values == threshold)[: k - len(above)]
        keep = np.concatenate([above, ties])
    return keep[np.lexsort((keep, -values[keep]))]
