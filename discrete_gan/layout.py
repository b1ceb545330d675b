"""`ModelLayout`: how a table's columns map onto the generator's columns.

A column with K labels costs the generator a `(features, K)` projection and the discriminator a
`(K, units)` one per row and step, and the Gumbel noise, softmax and one-hot of every row are
K wide: at 100,000 labels that is most of the step, and sampling becomes dense over K per row.
So a column with more than `split_above` labels is drawn in two levels (a two-level softmax,
as in Goodman 2001 and Morin & Bengio 2005, here with Gumbel-Softmax at each level): its labels
are ranked by training frequency and cut into `B = ceil(K / S)` buckets of `S = ceil(sqrt(K))`
labels, so bucket 0 holds the most frequent labels; the generator draws the bucket, then the
label's position in it ("member") given the bucket (`AutoregressiveGumbelSoftmaxHeads`'s nested
columns). `p(label) = p(bucket) p(member | bucket)` exactly, and each level is about sqrt(K)
wide. Split columns are drawn first, largest first, so that the columns an identifier
determines (an ID's group, a postcode's region) are drawn given it.

The layout is a pure function of the schema (labels, frequencies) and `split_above`, so it is
never stored: an artifact's schema and config give it back. Codes in the user's layout are
`(n, n_columns)` in schema order; in the model's layout `(n, n_model_columns)` in chain order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from discrete_gan.schema import TableSchema

__all__ = ["ModelLayout", "Split"]


@dataclass(frozen=True)
class Split:
    """One two-level column: `size` labels per bucket, `buckets` buckets, the rank maps."""

    labels: int
    size: int
    buckets: int
    code_of_rank: np.ndarray  # (labels,) schema code of the label at frequency rank r
    rank_of_code: np.ndarray  # (labels,) inverse

    @classmethod
    def of(cls, frequencies) -> Split:
        freqs = np.asarray(frequencies, "float64")
        k = len(freqs)
        size = math.isqrt(k - 1) + 1  # ceil(sqrt(k))
        code_of_rank = np.argsort(-freqs, kind="stable").astype(np.int64)
        rank_of_code = np.empty(k, np.int64)
        rank_of_code[code_of_rank] = np.arange(k)
        return cls(k, size, -(-k // size), code_of_rank, rank_of_code)

    def labels_of(self, buckets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Schema codes `(m, size)` of every position of each row's bucket, and validity."""
        ranks = np.asarray(buckets, np.int64)[:, None] * self.size + np.arange(self.size)
        valid = ranks < self.labels
        return self.code_of_rank[np.minimum(ranks, self.labels - 1)], valid


class ModelLayout:
    """The generator's columns for a schema: whole columns, or bucket + member pairs.

    Args:
        schema: the table's `TableSchema`.
        split_above: columns with more labels than this are split (None: never).
    """

    def __init__(self, schema: TableSchema, split_above: int | None = None):
        self.schema = schema
        cards = schema.cardinalities
        big = [] if split_above is None else [j for j, k in enumerate(cards) if k > split_above]
        big.sort(key=lambda j: (-cards[j], j))
        self.order = big + [j for j in range(len(cards)) if j not in set(big)]
        self.splits: dict[int, Split] = {}
        self.first: dict[int, int] = {}  # schema column -> its first model column
        self.cardinalities: list[int] = []
        for j in self.order:
            self.first[j] = len(self.cardinalities)
            if j in big:
                split = Split.of(schema.columns[j].frequencies)
                self.splits[j] = split
                self.cardinalities += [split.buckets, split.size]
            else:
                self.cardinalities.append(cards[j])
        self.offsets = [int(x) for x in np.cumsum([0, *self.cardinalities[:-1]])]

    @property
    def identity(self) -> bool:
        """True when model codes are the schema's codes (no split, schema order)."""
        return not self.splits and self.order == list(range(len(self.order)))

    @property
    def nested(self) -> list[list[int]]:
        """`[member model column, labels]` per split column, for the generator's heads."""
        return [[self.first[j] + 1, s.labels] for j, s in self.splits.items()]

    @property
    def total_dim(self) -> int:
        return sum(self.cardinalities)

    def block(self, m: int) -> slice:
        """Model column m's slice of a flat `(..., total_dim)` model vector."""
        return slice(self.offsets[m], self.offsets[m] + self.cardinalities[m])

    # ------------------------------------------------------------ codes
    def to_model(self, codes: np.ndarray) -> np.ndarray:
        """Schema codes `(n, n_columns)` -> model codes `(n, n_model_columns)`.

        The identity layout returns `codes` themselves; otherwise the codes come in the
        narrowest unsigned type that holds the model's columns. A training table is held in
        this layout for the whole run, so it is never widened to int32 here (10M rows x 20
        columns would be 800 MB): batches are widened as they are drawn.
        """
        codes = np.asarray(codes)
        if self.identity:
            return codes
        dtype = np.min_scalar_type(max(self.cardinalities) - 1)
        out = np.empty((len(codes), len(self.cardinalities)), dtype)
        for j in self.order:
            m = self.first[j]
            if j in self.splits:
                split = self.splits[j]
                rank = split.rank_of_code[codes[:, j]]
                out[:, m], out[:, m + 1] = rank // split.size, rank % split.size
            else:
                out[:, m] = codes[:, j]
        return out

    def from_model(self, codes: np.ndarray) -> np.ndarray:
        """Model codes `(n, n_model_columns)` -> schema codes `(n, n_columns)` int32."""
        codes = np.asarray(codes)
        if self.identity:
            return codes.astype(np.int32, copy=False)
        out = np.empty((len(codes), len(self.order)), np.int32)
        for j in self.order:
            m = self.first[j]
            if j in self.splits:
                split = self.splits[j]
                rank = codes[:, m].astype(np.int64) * split.size + codes[:, m + 1]
                out[:, j] = split.code_of_rank[np.minimum(rank, split.labels - 1)]
            else:
                out[:, j] = codes[:, m]
        return out

    # ------------------------------------------------------- frequencies
    @property
    def marginals(self) -> np.ndarray:
        """Training frequencies of every model label, `(total_dim,)`.

        A bucket's frequency is its labels' sum; a member position's is the sum over buckets
        of the label at that position (the marginal of the position variable).
        """
        parts = []
        for j in self.order:
            freqs = np.asarray(self.schema.columns[j].frequencies, "float64")
            if j in self.splits:
                split = self.splits[j]
                ranked = np.zeros(split.buckets * split.size)
                ranked[: split.labels] = freqs[split.code_of_rank]
                grid = ranked.reshape(split.buckets, split.size)
                parts += [grid.sum(axis=1), grid.sum(axis=0)]
            else:
                parts.append(freqs)
        return np.concatenate(parts)

    def member_log_frequencies(self, j: int) -> np.ndarray:
        """`log p(member | bucket)` in the data, `(buckets, size)`, for split column j.

        The member biases start there (as TabularARGN starts its softmax biases at the
        empirical log-frequencies), so a fresh model already draws each label at its training
        frequency within its bucket; empty positions get 0 (they are masked).
        """
        split = self.splits[j]
        freqs = np.asarray(self.schema.columns[j].frequencies, "float64")
        ranked = np.zeros(split.buckets * split.size)
        ranked[: split.labels] = freqs[split.code_of_rank]
        grid = np.maximum(ranked.reshape(split.buckets, split.size), 1e-12)
        log = np.log(grid) - np.log(grid.sum(axis=1, keepdims=True))
        log[~(np.arange(split.buckets * split.size) < split.labels).reshape(grid.shape)] = 0.0
        return log

    # -------------------------------------------------------- conditions
    def model_masks(
        self, masks: dict[int, np.ndarray]
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Schema masks `{column: bool (K,)}` -> model masks, and the exactness filters.

        A split column's allowed labels become a bucket mask (buckets holding any) and a
        member mask (positions allowed in any of them). That is exactly the allowed set when
        it lies in one bucket or is a product of buckets and positions; otherwise the second
        dict holds the column's schema mask, which the caller applies to the drawn rows (a
        rejection that keeps the draws exact).
        """
        out: dict[int, np.ndarray] = {}
        filters: dict[int, np.ndarray] = {}
        for j, mask in masks.items():
            m = self.first[j]
            if j not in self.splits:
                out[m] = mask
                continue
            split = self.splits[j]
            ranked = np.zeros(split.buckets * split.size, bool)
            ranked[: split.labels] = np.asarray(mask, bool)[split.code_of_rank]
            grid = ranked.reshape(split.buckets, split.size)
            buckets, members = grid.any(axis=1), grid.any(axis=0)
            valid = (np.arange(grid.size) < split.labels).reshape(grid.shape)
            product = np.outer(buckets, members) & valid
            out[m], out[m + 1] = buckets, members
            if not np.array_equal(product, grid):
                filters[j] = np.asarray(mask, bool)
        return out, filters

    def accept(self, codes: np.ndarray, filters: dict[int, np.ndarray]) -> np.ndarray:
        """bool `(n,)`: model-code rows whose labels pass every filter of `model_masks`."""
        keep = np.ones(len(codes), bool)
        if filters:
            user = self.from_model(codes)
            for j, mask in filters.items():
                keep &= mask[user[:, j]]
        return keep

    def accumulate(self, total: np.ndarray, codes: np.ndarray, values, weight) -> None:
        """Adds `weight @ values` per model column into schema-flat `total` `(total_dim,)`.

        `values[m]` `(n, k_m)` is model column m's distribution per row (drawn one-hot or
        probabilities given the row's earlier labels). A split column contributes through its
        member values given the row's drawn bucket (an unbiased estimate of each label's
        probability: `P(label) = E[1(bucket) p(member | bucket)]`); its bucket values are
        implied.
        """
        blocks = self.schema.blocks
        weight = np.asarray(weight, "float64")
        for j in self.order:
            m = self.first[j]
            if j not in self.splits:
                total[blocks[j]] += weight @ values[m]
                continue
            labels, valid = self.splits[j].labels_of(codes[:, m])
            contribution = weight[:, None] * np.asarray(values[m + 1], "float64")
            np.add.at(total[blocks[j]], labels[valid], contribution[valid])
