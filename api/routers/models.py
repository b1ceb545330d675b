"""Model listing, details, learned probabilities, and an explicit registry rescan.

Columns with many labels are listed as their top labels plus one `other` entry (see
`api.labels`), in the model's description and in its learned probabilities alike.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Query

from api.deps import get_store, resolve_model
from api.labels import DEFAULT_TOP, FULL_LABELS, cut, top_indices
from api.schemas import ProbabilitiesResponse
from api.security import require_api_key
from api.store import LoadedModel, ModelStore
from discrete_gan.conditional import ConditionError, split_labels
from discrete_gan.formats import json_label

router = APIRouter(tags=["models"], dependencies=[Depends(require_api_key)])

NAME = Path(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="model name")
VERSION = Query(None, pattern=r"^[1-9][0-9]{0,8}$", description="default: latest")
MAX_TOP = 100_000
TOP = Query(
    None,
    ge=1,
    le=MAX_TOP,
    description=f"list at most this many labels per column (an int from 1 to {MAX_TOP:,}), "
    "the most likely first, and the rest as `other`; default: every label of a column with "
    f"at most {FULL_LABELS} labels, the top {DEFAULT_TOP} of a larger one",
)


class Rank(StrEnum):
    probability = "probability"
    frequency = "frequency"


def _summary(loaded) -> dict:
    meta = loaded.model.metadata
    return {
        "name": loaded.name,
        "version": loaded.version,
        "family": loaded.family,
        "columns": loaded.model.schema.names,
        "rows": meta.get("rows"),
        "created": meta.get("created"),
        "fidelity": meta.get("fidelity"),
    }


@router.get("/models", summary="Loaded models (latest versions), each with its family")
def list_models(store: ModelStore = Depends(get_store)) -> dict:
    snapshot = store.snapshot
    return {
        "models": [_summary(snapshot.models[n]) for n in sorted(snapshot.models)],
        "refused": snapshot.failed,
    }


def _column(column, top: int | None) -> dict:
    """A schema column: every label (code order), or the top ones by training frequency."""
    out = {"name": column.name, "dtype": column.dtype, "cardinality": column.cardinality}
    keep = cut(column.cardinality, top)
    if keep is None:
        out["categories"] = [json_label(x) for x in column.categories]
        out["frequencies"] = list(column.frequencies)
        return out
    frequencies = np.asarray(column.frequencies, dtype=np.float64)
    index = top_indices(frequencies, keep)
    out["categories"] = [json_label(column.categories[i]) for i in index]
    out["frequencies"] = frequencies[index].tolist()
    out["other"] = {"labels": column.cardinality - keep, "frequency": _rest(frequencies, index)}
    return out


def _rest(values: np.ndarray, index: np.ndarray) -> float:
    """The total of `values` outside `index`."""
    rest = np.ones(len(values), bool)
    rest[index] = False
    return float(values[rest].sum())


@router.get("/models/{name}", summary="A model's schema, metadata and versions")
def get_model(
    name: str = NAME,
    version: str | None = VERSION,
    top: int | None = TOP,
    store: ModelStore = Depends(get_store),
) -> dict:
    """Every column's cardinality with its labels and training frequencies: all of them for
    a column with at most 100 labels (in code order), else the top 50 by training frequency
    (most frequent first) and `other`: `{"labels": how many more, "frequency": their total}`.
    `top=N` lists at most N labels of every column."""
    loaded = resolve_model(store, name, version)
    return {
        **_summary(loaded),
        "versions": store.registry.versions(name),
        "schema": [_column(c, top) for c in loaded.model.schema.columns],
        "metadata": loaded.model.metadata,
    }


def _parse_given(given: list[str]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for item in given:
        column, sep, labels = item.partition(":")
        if not sep or not column:
            raise HTTPException(422, detail=f"Invalid given={item!r}: expected column:label")
        parts = split_labels(labels)
        out[column] = parts if len(parts) > 1 else parts[0]
    return out or None


def _learned(loaded: LoadedModel, seed: int, conditions: dict | None) -> dict[str, np.ndarray]:
    """`{column: learned probabilities in code order}`, cached with the loaded version (a pure
    function of the version, the seed and the conditions)."""

    def compute() -> dict[str, np.ndarray]:
        probs = loaded.model.probabilities(seed=seed, given=conditions)
        return {
            c.name: np.array([probs[c.name][k] for k in c.categories], dtype=np.float64)
            for c in loaded.model.schema.columns
        }

    key = (seed, repr(sorted((c, repr(v)) for c, v in (conditions or {}).items())))
    return loaded.probabilities.get_or_compute(key, compute)


@router.get(
    "/models/{name}/probabilities",
    response_model=ProbabilitiesResponse,
    summary="Learned probabilities per column (top labels of large columns), optionally given "
    "conditions",
)
def probabilities(
    name: str = NAME,
    version: str | None = VERSION,
    given: list[str] = Query(
        [],
        description="condition column:label (label may be a|b; \\| for a literal bar); "
        "repeatable; labels match exactly as the model stores them",
        max_length=32,
    ),
    top: int | None = TOP,
    by: Rank = Query(
        Rank.probability,
        description="which labels are the top ones of a cut column: the most probable under "
        "the model (and the conditions), or the most frequent in the training data (the same "
        "labels `/models/{name}` lists)",
    ),
    seed: int = Query(0, ge=0, le=2**31 - 1),
    store: ModelStore = Depends(get_store),
) -> dict:
    """`P(column = label | given)` for every column. A column with at most 100 labels comes
    whole, in code order; a larger one as its top 50 labels, most probable first, and, under
    `other`, how many labels are left out and their total probability. `top=N` cuts every
    column with more than N labels to its top N."""
    loaded = resolve_model(store, name, version)
    conditions = _parse_given(given)
    try:
        learned = _learned(loaded, seed, conditions)
    except ConditionError as e:
        raise HTTPException(422, detail=str(e)) from None
    listed, other = {}, {}
    for column in loaded.model.schema.columns:
        values = learned[column.name]
        keep = cut(column.cardinality, top)
        if keep is None:
            index = range(column.cardinality)
        else:
            rank = values if by == Rank.probability else column.frequencies
            index = top_indices(np.asarray(rank, dtype=np.float64), keep)
            other[column.name] = {
                "labels": column.cardinality - keep,
                "probability": _rest(values, index),
            }
        listed[column.name] = [
            {"label": json_label(column.categories[i]), "probability": float(values[i])}
            for i in index
        ]
    return {
        "model": loaded.name,
        "version": loaded.version,
        "given": conditions,
        "probabilities": listed,
        "other": other,
    }


@router.post("/admin/reload", summary="Rescan the registry now (new versions swap in atomically)")
def reload(store: ModelStore = Depends(get_store)) -> dict:
    snapshot = store.rescan()
    return {
        "models": {n: m.version for n, m in sorted(snapshot.models.items())},
        "refused": snapshot.failed,
    }
