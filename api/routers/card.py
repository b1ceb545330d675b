"""A model's card files and its learned pairwise dependence: what the web page shows.

The card files are written by the training job next to the model (`training/report.py`) and
are served only from a fixed allow-list, so no path is ever built from user input. The
dependence matrix is not in the card (`fidelity.json` compares sampled pairs with the data, it
does not measure how strongly columns depend on each other), so it is computed here from
seeded samples of the learned distribution and cached per loaded model.
"""

from __future__ import annotations

import threading
import weakref
from enum import StrEnum

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from api.deps import get_store, resolve_model
from api.routers.models import NAME, VERSION
from api.security import require_api_key
from api.store import ModelStore

router = APIRouter(tags=["model card"], dependencies=[Depends(require_api_key)])

MAX_COLUMNS = 40


class CardFile(StrEnum):
    """The only files of a model version directory that are served."""

    marginals = "marginals.png"
    error_heatmap = "error_heatmap.png"
    temperature = "temperature.png"
    losses = "losses.png"
    fidelity = "fidelity.json"
    model_card = "model_card.md"


MEDIA = {".png": "image/png", ".json": "application/json", ".md": "text/markdown; charset=utf-8"}


@router.get(
    "/models/{name}/card",
    summary="Which model card files this version has",
    responses={404: {"description": "unknown model or version"}},
)
def card_files(
    name: str = NAME, version: str | None = VERSION, store: ModelStore = Depends(get_store)
) -> dict:
    loaded = resolve_model(store, name, version)
    files = [f.value for f in CardFile if (loaded.path / f.value).is_file()]
    return {"model": loaded.name, "version": loaded.version, "files": files}


@router.get(
    "/models/{name}/card/{file}",
    summary="A model card file (plots, fidelity.json, model_card.md)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/png": {}, "application/json": {}, "text/markdown": {}}},
        404: {"description": "unknown model or version, or this version has no such card file"},
    },
)
def card_file(
    file: CardFile,
    name: str = NAME,
    version: str | None = VERSION,
    store: ModelStore = Depends(get_store),
) -> FileResponse:
    loaded = resolve_model(store, name, version)
    path = loaded.path / CardFile(file).value
    if not path.is_file():
        raise HTTPException(
            404,
            detail=f"Model {loaded.name!r} version {loaded.version} has no {file.value} "
            "(the training job writes the model card; models saved by hand have none)",
        )
    return FileResponse(path, media_type=MEDIA[path.suffix])


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) of two code arrays, from sparse counts.

    Counts only the label pairs that occur, so columns with very many labels cost O(n log n)
    instead of a dense contingency table; the correction keeps independent high-cardinality
    columns near 0 on a finite sample.
    """
    n = len(a)
    rows, cols = np.bincount(a), np.bincount(b)
    r, k = int((rows > 0).sum()), int((cols > 0).sum())
    if n < 2 or r < 2 or k < 2:
        return 0.0
    pairs, counts = np.unique(a.astype(np.int64) * len(cols) + b, return_counts=True)
    expected = rows[pairs // len(cols)].astype(float) * cols[pairs % len(cols)]
    phi2 = float(np.sum(counts.astype(float) ** 2 / expected)) - 1.0
    phi2 = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    r_c, k_c = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denominator = min(r_c - 1, k_c - 1)
    return float(np.sqrt(min(1.0, phi2 / denominator))) if denominator > 0 else 0.0


def _dependence(model, n: int, seed: int) -> dict:
    names = model.schema.names[:MAX_COLUMNS]
    sampled = model.draw(n, seed=seed).codes()
    codes = [sampled[:, j] for j in range(len(names))]
    matrix = np.eye(len(names))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            matrix[i, j] = matrix[j, i] = round(cramers_v(codes[i], codes[j]), 4)
    return {
        "columns": [str(c) for c in names],
        "truncated": len(model.schema.names) > MAX_COLUMNS,
        "matrix": matrix.tolist(),
    }


@router.get(
    "/models/{name}/dependence",
    summary="Pairwise dependence of the learned distribution (Cramér's V)",
    responses={404: {"description": "unknown model or version"}},
)
def dependence(
    name: str = NAME,
    version: str | None = VERSION,
    n: int = Query(20_000, ge=1_000, le=200_000, description="rows sampled for the estimate"),
    seed: int = Query(0, ge=0, le=2**31 - 1),
    store: ModelStore = Depends(get_store),
) -> dict:
    """Bias-corrected Cramér's V for every pair of columns (0 = independent, 1 = determined),
    estimated from `n` seeded rows of the learned distribution; the first 40 columns only."""
    loaded = resolve_model(store, name, version)
    with _cache_lock:
        cached = _cache.get(loaded.model, {}).get((n, seed))
    if cached is None:
        cached = _dependence(loaded.model, n, seed)
        with _cache_lock:
            entries = _cache.setdefault(loaded.model, {})
            if len(entries) >= 4:
                entries.pop(next(iter(entries)))
            entries[(n, seed)] = cached
    return {
        "model": loaded.name,
        "version": loaded.version,
        "measure": "cramers_v",
        "n": n,
        "seed": seed,
        **cached,
    }
