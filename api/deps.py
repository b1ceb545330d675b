"""Dependencies shared by the routers: the app's model store and metrics."""

from __future__ import annotations

from fastapi import HTTPException, Request

from api.metrics import Metrics
from api.store import LoadedModel, ModelNotFound, ModelStore

__all__ = ["get_metrics", "get_store", "resolve_model"]


# Coroutines, though they never await: FastAPI runs a plain `def` dependency in the thread pool,
# a hop that costs more than the lookup itself on every request.
async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def resolve_model(store: ModelStore, name: str, version: str | None) -> LoadedModel:
    """The loaded model, or 404/422 with a clear message."""
    try:
        return store.get(name, version)
    except ModelNotFound as e:
        raise HTTPException(status_code=404, detail=str(e)) from None
    except ValueError as e:  # invalid name or version
        raise HTTPException(status_code=422, detail=str(e)) from None
