"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import get_metrics, get_store
from api.metrics import Metrics
from api.store import ModelStore

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness", response_model=dict)
def health() -> dict:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: at least one model is loaded")
def ready(store: ModelStore = Depends(get_store)):
    snapshot = store.snapshot
    body = {
        "ready": bool(snapshot.models),
        "models": sorted(snapshot.models),
        "refused": snapshot.failed,
    }
    return JSONResponse(body, status_code=200 if snapshot.models else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(metrics: Metrics = Depends(get_metrics), store: ModelStore = Depends(get_store)):
    metrics.models.set(len(store.snapshot.models))
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
