"""Conditional generation: training-by-sampling pairs, and exact conditional sampling.

Training (CTGAN's idea, written our own way): a fraction of the real rows of each epoch is
drawn *for* a (column, category) pair — column uniform, category with probability
proportional to log(1 + count) by default — so rare categories are seen often; the generator
gets that pair as a one-hot condition and is penalised when its output disagrees.

Sampling with conditions `{column: label or [labels]}` returns rows that satisfy ALL conditions,
drawn from the model's learned conditional distribution:

- Given noise `z`, the generator's columns are independent categoricals. So
  `P(x | C) ∝ P(z) · prod_a P_a(S_a | z) · prod_a [p_a(x_a | z) / P_a(S_a | z)]`: keep each
  noise draw with probability `prod_a P_a(S_a | z)` (exact rejection on `z`, lower variance
  than rejecting rows), then draw each conditioned column from its softmax restricted to the
  allowed labels (Gumbel-max with the other labels masked).
- With an autoregressive generator, columns are drawn in order, each given `z` and the labels
  before it: `P(x | C) ∝ prod_j p_j(x_j | x_<j, z) · prod_a 1[x_a ∈ S_a]`. Each conditioned
  column is drawn from its softmax restricted to `S_a` along the chain, and the row is kept with
  probability `prod_a P_a(S_a | x_<a, z)`: the ratio of target to proposal, at most 1, so the
  rejection is exact again (with `prod_a P_a(S_a | z)` as the special case of independence).
- With a conditional generator, one condition (the least likely one, the "anchor") is fed as the
  generator's condition vector instead: its label is drawn from the learned marginal restricted
  to the allowed set, and that column is fixed to it. The rest is as above.

- A two-level column (`discrete_gan.layout`) is conditioned through its bucket and member
  columns: the allowed labels' buckets, and the positions allowed in any of them. When the
  allowed labels are not such a product (several labels in different buckets), drawn rows
  outside them are rejected too, which keeps the draw exact.

Draws are batched, seeded per chunk, bounded in total draws, and report the acceptance rate;
an unknown column or label, or conditions the model gives (practically) zero probability, raise
`ConditionError` with a message that says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from discrete_gan import seeding
from discrete_gan.sampling import Sampler
from discrete_gan.schema import TableSchema
from discrete_gan.validation import check_choice, check_int

__all__ = [
    "ConditionError",
    "ConditionalResult",
    "conditional_probabilities",
    "parse_conditions",
    "sample_conditional",
    "split_labels",
    "training_pairs",
]

WEIGHTINGS = ("log", "frequency", "uniform")


class ConditionError(ValueError):
    """Conditions name an unknown column/label, or are too unlikely under the model to sample."""


def training_pairs(
    codes: np.ndarray,
    cardinalities: list[int],
    n: int,
    rng: np.random.Generator,
    fraction: float = 0.5,
    weighting: str = "log",
) -> tuple[np.ndarray, np.ndarray]:
    """Chooses `n` training rows and their conditions (training-by-sampling).

    Args:
        codes: int codes `(rows, columns)` of the training table.
        cardinalities: categories per column.
        n: number of (row, condition) pairs.
        rng: numpy generator (seeded by the caller).
        fraction: share of pairs that carry a condition; the rest are uniform rows with -1.
        weighting: category choice within a column: "log" (∝ log(1 + count)), "frequency"
            (∝ count) or "uniform" (over observed categories).

    Returns:
        `(row_index (n,), condition_index (n,))`: a real row, and the flat one-hot position
        `offset(column) + category` it was drawn for (that row has that category), or -1.
    """
    check_choice("weighting", weighting, WEIGHTINGS)
    rows = rng.integers(0, len(codes), size=n)
    index = np.full(n, -1, dtype="int32")
    conditioned = rng.random(n) < fraction
    columns = rng.integers(0, len(cardinalities), size=n)
    offset = 0
    for j, k in enumerate(cardinalities):
        chosen = np.flatnonzero(conditioned & (columns == j))
        counts = np.bincount(codes[:, j], minlength=k)
        weights = {"log": np.log1p(counts), "frequency": counts, "uniform": counts > 0}[weighting]
        weights = weights / weights.sum()
        cats = rng.choice(k, size=len(chosen), p=weights)
        order = np.argsort(codes[:, j], kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pick = starts[cats] + (rng.random(len(chosen)) * counts[cats]).astype(np.int64)
        rows[chosen] = order[pick]
        index[chosen] = offset + cats
        offset += k
    return rows, index


def split_labels(text: str) -> list[str]:
    """`"a|b\\|c"` -> `["a", "b|c"]`: how a condition written as text lists several labels.

    `|` separates labels; `\\|` is a literal bar and `\\\\` a literal backslash; any other
    character, a backslash before it included, is kept as written.
    """
    labels, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char if char in "|\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            labels.append("".join(current))
            current = []
        else:
            current.append(char)
    labels.append("".join(current) + ("\\" if escaped else ""))
    return labels


def parse_conditions(schema: TableSchema, given: Mapping[str, Any]) -> dict[int, np.ndarray]:
    """`{column: label | [labels]}` -> `{column position: boolean mask over its categories}`.

    Raises ConditionError naming an unknown column or label, or an empty label list.
    """
    if not isinstance(given, Mapping) or not given:
        raise ConditionError("Conditions must be a non-empty mapping {column: label or [labels]}")
    out: dict[int, np.ndarray] = {}
    for name, wanted in given.items():
        if name not in schema.names:
            raise ConditionError(f"Unknown column {name!r}. Known columns: {schema.names}")
        j = schema.names.index(name)
        col = schema.columns[j]
        labels = list(wanted) if isinstance(wanted, list | tuple | set | frozenset) else [wanted]
        if not labels:
            raise ConditionError(f"Empty list of labels for column {name!r}")
        mask = np.zeros(col.cardinality, bool)
        for label in labels:
            code = col.code_of(label)
            if code is None:
                shown = ", ".join(map(repr, col.categories[:20]))
                more = f" (and {col.cardinality - 20} more)" if col.cardinality > 20 else ""
                raise ConditionError(
                    f"Unknown label {label!r} for column {name!r}. Known labels: {shown}{more}"
                )
            mask[code] = True
        out[j] = mask
    return out


@dataclass
class ConditionalResult:
    """Codes `(n, columns)` satisfying the conditions, how many noise draws it took, and the
    seed that drew them (which repeats them exactly with the same n and conditions)."""

    codes: np.ndarray
    drawn: int
    accepted: int
    seed: int

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.drawn if self.drawn else 0.0


class _Plan:
    """Per-chunk machinery shared by sampling and conditional probabilities."""

    def __init__(self, sampler: Sampler, schema: TableSchema, masks: dict[int, np.ndarray]):
        self.sampler, self.masks, self.layout = sampler, masks, sampler.layout
        self.filters: dict[int, np.ndarray] = {}
        self.offsets = np.asarray(schema.offsets)
        self.blocks = schema.blocks
        self.cards = schema.cardinalities
        if self.layout is not None:  # work in the generator's columns (see `ModelLayout`)
            self.masks, self.filters = self.layout.model_masks(masks)
            self.offsets = np.asarray(self.layout.offsets)
            self.blocks = [self.layout.block(m) for m in range(len(self.layout.cardinalities))]
            self.cards = self.layout.cardinalities
        self.anchor: int | None = None
        if sampler.condition_dim:
            marg = sampler.mean_probabilities(
                sampler.chunk_size, seed=0
            )  # fixed: a property of the model
            mass = {j: marg[self._block(j)][m].sum() for j, m in masks.items()}
            self.anchor = min(mass, key=mass.get)
            allowed = marg[self._block(self.anchor)] * masks[self.anchor]
            self.anchor_p = allowed / allowed.sum() if allowed.sum() > 0 else None

    def _block(self, j: int) -> slice:
        return self.blocks[j]

    def _anchor(self, seed: int, i: int):
        """(anchor labels (m,) or None, condition vectors (m, condition_dim) or None)."""
        if self.anchor is None:
            return None, None
        if self.anchor_p is None:
            raise ConditionError("The conditions have zero probability under this model")
        rng = seeding.stream_rng(seed, "conditional.draws", i, 0)
        m = self.sampler.chunk_size
        anchor_labels = rng.choice(len(self.anchor_p), size=m, p=self.anchor_p)
        cond = np.zeros((m, self.sampler.condition_dim), "float32")
        cond[np.arange(m), self.offsets[self.anchor] + anchor_labels] = 1.0
        return anchor_labels, cond

    def chain(self, seed: int, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Autoregressive generators: (codes (m, columns), probabilities, acceptance weights).

        Conditioned columns are drawn along the chain from their allowed labels (the anchor
        from its single drawn label); the weight is the product of the allowed labels'
        probabilities at the conditioned, non-anchor columns.
        """
        anchor_labels, cond = self._anchor(seed, i)
        mask = np.ones(sum(self.cards), "float32")
        for j, allowed in self.masks.items():
            mask[self._block(j)] = allowed
        if anchor_labels is not None:
            mask = np.repeat(mask[None], len(anchor_labels), axis=0)
            block = mask[:, self._block(self.anchor)]
            block[:] = 0.0
            block[np.arange(len(anchor_labels)), anchor_labels] = 1.0
        codes, probs, mass = self.sampler.masked_chunk(seed, i, mask, cond)
        weight = np.ones(len(codes))
        for j in self.weighted:
            weight *= mass[:, j]
        if self.filters:
            weight *= self.layout.accept(codes, self.filters)
        return codes, probs, weight

    @property
    def filtered(self) -> list[int]:
        """Model columns whose drawn labels the exactness filters look at."""
        if not self.filters:
            return []
        return [self.layout.first[j] + 1 for j in self.filters]

    def user_codes(self, codes: np.ndarray) -> np.ndarray:
        return codes if self.layout is None else self.layout.from_model(codes)

    @property
    def weighted(self) -> list[int]:
        """Conditioned columns whose allowed mass enters the acceptance weight."""
        return sorted(j for j in self.masks if j != self.anchor)

    def chunk(self, seed: int, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(per-row probabilities (m, sum(k)), acceptance weights (m,), anchor labels or None)."""
        anchor_labels, cond = self._anchor(seed, i)
        probs = self.sampler.probabilities_chunk(seed, i, cond)
        weight = np.ones(len(probs))
        for j, mask in self.masks.items():
            if j != self.anchor:
                weight *= probs[:, self._block(j)][:, mask].sum(axis=1)
        return probs, weight, anchor_labels

    def restricted(self, probs: np.ndarray, j: int, anchor_labels) -> np.ndarray:
        """Column j's distribution per row, restricted to the allowed labels and renormalised."""
        block = probs[:, self._block(j)]
        if j == self.anchor:
            return np.eye(self.cards[j])[anchor_labels]
        if j in self.masks:
            block = block * self.masks[j]
            block = block / np.maximum(block.sum(axis=1, keepdims=True), 1e-300)
        return block


def sample_conditional(
    sampler: Sampler,
    schema: TableSchema,
    n: int,
    given: Mapping[str, Any],
    seed: int | None = None,
    max_draws: int = 2_000_000,
) -> ConditionalResult:
    """`n` rows of codes drawn from the learned distribution given `given` (see module doc).

    `seed` None draws a fresh seed (reported in the result). Raises ConditionError if fewer
    than `n` rows were accepted within `max_draws` noise draws, saying the acceptance rate.
    """
    n = check_int("n", n, 0)
    seed = seeding.resolve_seed(seed)
    plan = _Plan(sampler, schema, parse_conditions(schema, given))
    kept = [np.zeros((0, len(plan.cards)), "int32")]
    drawn, accepted, i = 0, 0, 0
    chain = sampler.autoregressive
    while accepted < n:
        if drawn >= max_draws:
            rate = accepted / drawn
            raise ConditionError(
                f"Conditions {dict(given)!r} are too unlikely under this model: accepted "
                f"{accepted} of {drawn} draws (acceptance rate {rate:.2e}); asked for {n} rows"
            )
        if chain:
            codes, _, weight = plan.chain(seed, i)
            rng = seeding.stream_rng(seed, "conditional.draws", i, 1)
            keep = rng.random(len(weight)) < weight
            kept.append(codes[keep].astype("int32"))
            drawn += len(weight)
            accepted += len(kept[-1])
            i += 1
            continue
        probs, weight, anchor_labels = plan.chunk(seed, i)  # independent heads: no layout
        rng = seeding.stream_rng(seed, "conditional.draws", i, 1)
        keep = rng.random(len(weight)) < weight
        codes = np.empty((int(keep.sum()), len(plan.cards)), "int32")
        for j in range(len(plan.cards)):
            labels = None if anchor_labels is None else anchor_labels[keep]
            p = plan.restricted(probs[keep], j, labels)
            gumbel = -np.log(-np.log(rng.uniform(np.finfo(float).tiny, 1.0, size=p.shape)))
            codes[:, j] = np.argmax(np.log(p + 1e-300) + gumbel, axis=1)
        kept.append(codes)
        drawn += len(weight)
        accepted += len(codes)
        i += 1
    return ConditionalResult(plan.user_codes(np.concatenate(kept)[:n]), drawn, accepted, seed)


def conditional_probabilities(
    sampler: Sampler,
    schema: TableSchema,
    given: Mapping[str, Any],
    n_samples: int = 32768,
    seed: int = 0,
) -> np.ndarray:
    """Flat `P(column = label | given)` `(sum(k),)`, each column block summing to 1.

    The exact expectation of what `sample_conditional` draws, estimated over seeded noise:
    `sum_z w(z) p_restricted(. | z) / sum_z w(z)` with `w` the acceptance weights.
    """
    plan = _Plan(sampler, schema, parse_conditions(schema, given))
    total = np.zeros(sum(plan.cards))
    weight_sum = 0.0
    chunks = max(1, -(-n_samples // sampler.chunk_size))
    if sampler.autoregressive:
        return _chain_probabilities(plan, chunks, seed, given)
    for i in range(chunks):
        probs, weight, anchor_labels = plan.chunk(seed, i)
        for j in range(len(plan.cards)):
            restricted = plan.restricted(probs, j, anchor_labels)
            total[plan._block(j)] += weight @ restricted
        weight_sum += weight.sum()
    if weight_sum <= 0:
        raise ConditionError(f"Conditions {dict(given)!r} have zero probability under this model")
    return total / weight_sum


def _one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(codes), k))
    out[np.arange(len(codes)), codes] = 1.0
    return out


def _chain_probabilities(plan: _Plan, chunks: int, seed: int, given: Mapping[str, Any]):
    """`conditional_probabilities` for an autoregressive generator.

    A column after the last weighted condition is averaged through its probabilities given the
    row's earlier labels (no later factor of the weight depends on it, so this is the exact
    conditional expectation, with less variance than counting labels); the last weighted
    column through its restricted probabilities; any earlier column, and the anchor, through
    its drawn labels.
    """
    weighted = plan.weighted
    last = max([*weighted, *plan.filtered, -1])
    restricted_last = last in weighted and last not in plan.filtered
    total = np.zeros(sum(plan.cards) if plan.layout is None else plan.layout.schema.total_dim)
    weight_sum = 0.0
    for i in range(chunks):
        codes, probs, weight = plan.chain(seed, i)
        columns = []
        for j, k in enumerate(plan.cards):
            block = plan._block(j)
            if j != plan.anchor and j > last:
                values = probs[:, block]
            elif j != plan.anchor and j == last and restricted_last:
                values = probs[:, block] * plan.masks[j]
                values = values / np.maximum(values.sum(axis=1, keepdims=True), 1e-300)
            else:  # the anchor, and columns the weight depends on: their drawn labels
                values = _one_hot(codes[:, j], k)
            columns.append(values)
        if plan.layout is None:
            for j, values in enumerate(columns):
                total[plan._block(j)] += weight @ values
        else:
            plan.layout.accumulate(total, codes, columns, weight)
        weight_sum += weight.sum()
    if weight_sum <= 0:
        raise ConditionError(f"Conditions {dict(given)!r} have zero probability under this model")
    return total / weight_sum
