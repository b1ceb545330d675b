"""Model listing, details, learned probabilities, and an explicit registry rescan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from api.deps import get_store, resolve_model
from api.schemas import ProbabilitiesResponse
from api.security import require_api_key
from api.store import ModelStore
from discrete_gan.conditional import ConditionError, split_labels
from discrete_gan.formats import json_label

router = APIRouter(tags=["models"], dependencies=[Depends(require_api_key)])

NAME = Path(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="model name")
VERSION = Query(None, pattern=r"^[1-9][0-9]{0,8}$", description="default: latest")


def _summary(loaded) -> dict:
    meta = loaded.model.metadata
    return {
        "name": loaded.name,
        "version": loaded.version,
        "columns": loaded.model.schema.names,
        "rows": meta.get("rows"),
        "created": meta.get("created"),
        "fidelity": meta.get("fidelity"),
    }


@router.get("/models", summary="Loaded models (latest versions)")
def list_models(store: ModelStore = Depends(get_store)) -> dict:
    snapshot = store.snapshot
    return {
        "models": [_summary(snapshot.models[n]) for n in sorted(snapshot.models)],
        "refused": snapshot.failed,
    }


@router.get("/models/{name}", summary="A model's schema, metadata and versions")
def get_model(
    name: str = NAME, version: str | None = VERSION, store: ModelStore = Depends(get_store)
) -> dict:
    loaded = resolve_model(store, name, version)
    schema = loaded.model.schema
    return {
        **_summary(loaded),
        "versions": store.registry.versions(name),
        "schema": [
            {
                "name": c.name,
                "dtype": c.dtype,
                "categories": [json_label(x) for x in c.categories],
                "frequencies": list(c.frequencies),
            }
            for c in schema.columns
        ],
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


@router.get(
    "/models/{name}/probabilities",
    response_model=ProbabilitiesResponse,
    summary="Learned probabilities per column, optionally given conditions",
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
    seed: int = Query(0, ge=0, le=2**31 - 1),
    store: ModelStore = Depends(get_store),
) -> dict:
    loaded = resolve_model(store, name, version)
    conditions = _parse_given(given)
    key = (seed, repr(sorted((c, repr(v)) for c, v in (conditions or {}).items())))
    try:  # a pure function of (version, seed, conditions): cached with the loaded version
        probs = loaded.probabilities.get_or_compute(
            key, lambda: loaded.model.probabilities(seed=seed, given=conditions)
        )
    except ConditionError as e:
        raise HTTPException(422, detail=str(e)) from None
    return {
        "model": loaded.name,
        "version": loaded.version,
        "given": conditions,
        "probabilities": {
            col: [{"label": json_label(k), "probability": p} for k, p in column.items()]
            for col, column in probs.items()
        },
    }


@router.post("/admin/reload", summary="Rescan the registry now (new versions swap in atomically)")
def reload(store: ModelStore = Depends(get_store)) -> dict:
    snapshot = store.rescan()
    return {
        "models": {n: m.version for n, m in sorted(snapshot.models.items())},
        "refused": snapshot.failed,
    }
