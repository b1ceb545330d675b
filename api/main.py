"""The ASGI app: `create_app(settings)` factory and the module-level `app` for uvicorn.

uvicorn api.main:app            # or: discrete-gan serve --registry DIR
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.metrics import Metrics, MetricsMiddleware
from api.routers import card, health, models, pages, sampling, scoring
from api.settings import Settings, get_settings
from api.store import ModelStore

__all__ = ["app", "create_app"]

log = logging.getLogger("discrete_gan.api")

# The score endpoint's path (its body is rows, so it has a body limit of its own).
SCORE_PATH = re.compile(r"/models/[^/]+/score")


class BodyLimitMiddleware:
    """Rejects request bodies over `limit` bytes with 413, whether or not Content-Length is set.

    A declared length over the limit is refused at once. Otherwise the body (chunked or not)
    is read here, at most `limit + 1` bytes of it, before the app runs: the app's own body
    parsing would turn an error raised mid-stream into a 400, so a request over the limit
    must never reach it. Bodies are small (64 KiB by default), so buffering costs nothing.
    Paths matching `special` (the score endpoint, whose body is the rows themselves) get
    their own `special_limit` instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        special: re.Pattern[str] | None = None,
        special_limit: int | None = None,
    ):
        self.app, self.default_limit = app, limit
        self.special, self.special_limit = special, special_limit

    def _limit(self, scope: Scope) -> int:
        if self.special is not None and self.special.fullmatch(scope.get("path", "")):
            return self.special_limit or self.default_limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, limit)
            return
        messages, seen = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > limit:
                await self._reject(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope, receive, send, limit: int) -> None:
        response = JSONResponse(
            {"detail": f"Request body larger than {limit} bytes"}, status_code=413
        )
        await response(scope, receive, send)


async def _rescan_forever(store: ModelStore, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(store.rescan)
        except Exception:  # keep serving; the next rescan retries
            log.exception("registry rescan failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; models load in the lifespan (a missing registry just means not ready)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = _store(settings, app.state.metrics)
        app.state.store = store
        await asyncio.to_thread(store.rescan)
        log.info("serving %d model(s) from %s", len(store.snapshot.models), settings.registry)
        task = None
        if settings.rescan_interval_s > 0:
            task = asyncio.create_task(_rescan_forever(store, settings.rescan_interval_s))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="discrete-gan",
        version=_version(),
        summary="Sample synthetic categorical rows and learned probabilities from trained "
        "models (GAN or VAE family), and score rows under a VAE.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.store = _store(settings, app.state.metrics)

    async def current_settings() -> Settings:  # a coroutine: no thread-pool hop per request
        return settings

    app.dependency_overrides[get_settings] = current_settings
    routers = (health.router, models.router, sampling.router, scoring.router, card.router)
    for router in (*routers, pages.router):
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"]
        )
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        special=SCORE_PATH,
        special_limit=settings.max_score_body_bytes,
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def _store(settings: Settings, metrics: Metrics) -> ModelStore:
    return ModelStore(
        settings.registry,
        warmup=settings.warmup,
        batching=settings.batching,
        batch_window_s=settings.batch_window_ms / 1000,
        batch_max_rows=settings.batch_max_rows,
        observe_batch=metrics.observe_batch,
    )


def _version() -> str:
    from discrete_gan import __version__

    return __version__


app = create_app()
