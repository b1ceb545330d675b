"""POST /models/{name}/sample: JSON (capped), or CSV / NDJSON streamed in bounded memory.

Rows are rendered from code chunks by `discrete_gan.formats`, the same rules as the CLI's
output: labels exactly as the model stores them. The seed that drew the rows (fresh from OS
entropy when the request has none) is in the JSON body's `seed` and, for every format, in the
`X-Seed` header; the same model version, seed, n and conditions give the same rows.

Unconditional requests that fit one compiled call go to the model version's `MicroBatcher`,
which shares calls between concurrent requests (each still gets exactly its own rows). The
endpoint is a coroutine so that such a request costs no worker thread while it waits: only
work that blocks (a lazy load of an older version, conditional draws, large draws and their
rendering) runs in the thread pool.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import numpy as np
from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from api.deps import get_metrics, get_store, resolve_model
from api.metrics import Metrics
from api.routers.models import NAME
from api.schemas import Format, SampleRequest, SampleResponse
from api.security import require_api_key
from api.settings import Settings, get_settings
from api.store import LoadedModel, ModelStore
from discrete_gan import seeding
from discrete_gan.conditional import ConditionError
from discrete_gan.draws import Draw, RelaxedStream
from discrete_gan.sampling import RelaxedUnavailable
from discrete_gan.schema import TableSchema

router = APIRouter(tags=["sampling"], dependencies=[Depends(require_api_key)])

MEDIA = {
    Format.csv: "text/csv; charset=utf-8",
    Format.ndjson: "application/x-ndjson",
    Format.json: "application/json",
}
# Rows rendered on the event loop itself; larger bodies are rendered in the thread pool.
_RENDER_INLINE_CELLS = 20_000


def _relaxed(schema: TableSchema, vectors: np.ndarray) -> list[dict[str, list[float]]]:
    """Per row, per column, the relaxed vector (rounded to 6 decimals)."""
    blocks = [np.round(b.astype("float64"), 6).tolist() for b in schema.split(vectors)]
    return [dict(zip(schema.names, row, strict=True)) for row in zip(*blocks)]


def _check(req: SampleRequest, settings: Settings) -> None:
    cap = settings.max_rows_json if req.format == Format.json else settings.max_rows_stream
    if req.n > cap:
        hint = " Use format=csv or ndjson to stream more rows." if req.format == Format.json else ""
        raise HTTPException(422, detail=f"n={req.n} exceeds the limit of {cap} rows.{hint}")
    if req.relaxed and req.format == Format.csv:
        raise HTTPException(422, detail="relaxed=true needs format=json or ndjson")
    if req.conditions and req.relaxed:
        raise HTTPException(422, detail="relaxed=true cannot be combined with conditions")
    if req.conditions and req.n > settings.max_rows_json:
        raise HTTPException(
            422, detail=f"Conditional sampling returns at most {settings.max_rows_json} rows"
        )


def _csv(loaded: LoadedModel, draw: Draw, rows) -> Iterator[str]:
    writer = loaded.csv_writer
    yield writer.header()
    for codes in draw:
        rows.inc(len(codes))
        yield writer.rows(codes)


def _ndjson(loaded: LoadedModel, draw: Draw | RelaxedStream, rows) -> Iterator[str]:
    writer = loaded.ndjson_writer
    if isinstance(draw, Draw):
        for codes in draw:
            rows.inc(len(codes))
            yield writer.rows(codes)
        return
    for chunk in draw:
        rows.inc(len(chunk.codes))
        extra = ['"_relaxed": ' + json.dumps(r) for r in _relaxed(draw.schema, chunk.vectors)]
        yield writer.rows(chunk.codes, extra)


def _json(loaded: LoadedModel, seed: int, codes: np.ndarray, extra: dict | None = None) -> str:
    """The JSON body: metadata, then the rows rendered from pre-computed label texts."""
    head = {
        "model": loaded.name,
        "version": loaded.version,
        "seed": seed,
        "n": len(codes),
        "columns": [str(c) for c in loaded.model.schema.names],
        **(extra or {}),
    }
    text = json.dumps(head, ensure_ascii=False, allow_nan=False)
    return text[:-1] + ', "rows": ' + loaded.json_writer.rows(codes) + "}"


def _json_draw(loaded: LoadedModel, draw: Draw | RelaxedStream, rows) -> str:
    schema = loaded.model.schema
    extra: dict = {}
    if isinstance(draw, Draw):
        codes = draw.codes()
        if draw.acceptance_rate is not None:
            extra["acceptance_rate"] = draw.acceptance_rate
    else:
        chunks = list(draw)
        codes = np.concatenate([c.codes for c in chunks])
        extra["relaxed"] = _relaxed(schema, np.concatenate([c.vectors for c in chunks]))
    rows.inc(len(codes))
    return _json(loaded, draw.seed, codes, extra)


def _start(loaded: LoadedModel, req: SampleRequest) -> Draw | RelaxedStream:
    model = loaded.model
    try:  # conditional draws are computed here, so bad conditions fail before any byte
        if req.relaxed:
            return model.iter_relaxed(req.n, req.seed, temperature=req.temperature)
        return model.draw(req.n, req.seed, where=req.conditions)
    except (ConditionError, RelaxedUnavailable) as e:
        raise HTTPException(422, detail=str(e)) from None


@router.post(
    "/models/{name}/sample",
    response_model=SampleResponse,
    response_model_exclude_none=True,
    summary="Sample rows with the original category labels",
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        404: {"description": "unknown model or version"},
        422: {"description": "invalid request, impossible or unknown conditions, n over the cap"},
    },
)
async def sample(
    req: SampleRequest,
    name: str = NAME,
    store: ModelStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    metrics: Metrics = Depends(get_metrics),
):
    _check(req, settings)
    # One reference for the whole request; a lazy load of an older version blocks.
    try:
        loaded = store.peek(name, req.version)
    except ValueError:  # resolve_model answers it with a 422
        loaded = None
    if loaded is None:
        loaded = await run_in_threadpool(resolve_model, store, name, req.version)
    rows = metrics.rows.labels(loaded.name)
    batcher = loaded.batcher
    if batcher is not None and not (req.relaxed or req.conditions) and batcher.accepts(req.n):
        seed = seeding.resolve_seed(req.seed)
        codes = await asyncio.wrap_future(batcher.submit(req.n, seed))
        rows.inc(len(codes))
        headers = {"X-Model-Version": loaded.version, "X-Seed": str(seed)}
        if req.format == Format.json:
            if codes.size <= _RENDER_INLINE_CELLS:
                body = _json(loaded, seed, codes)
            else:
                body = await run_in_threadpool(_json, loaded, seed, codes)
        else:
            writer = loaded.csv_writer if req.format == Format.csv else loaded.ndjson_writer
            render = writer.rows if req.format == Format.ndjson else _csv_text(writer)
            if codes.size <= _RENDER_INLINE_CELLS:
                body = render(codes)
            else:
                body = await run_in_threadpool(render, codes)
        return Response(body, media_type=MEDIA[req.format], headers=headers)
    draw = await run_in_threadpool(_start, loaded, req)
    headers = {"X-Model-Version": loaded.version, "X-Seed": str(draw.seed)}
    if req.format == Format.csv:
        return StreamingResponse(
            _csv(loaded, draw, rows), media_type=MEDIA[req.format], headers=headers
        )
    if req.format == Format.ndjson:
        return StreamingResponse(
            _ndjson(loaded, draw, rows), media_type=MEDIA[req.format], headers=headers
        )
    # Built from validated data: the response is not re-validated row by row.
    body = await run_in_threadpool(_json_draw, loaded, draw, rows)
    return Response(body, media_type=MEDIA[req.format], headers=headers)


def _csv_text(writer):
    return lambda codes: writer.header() + writer.rows(codes)
