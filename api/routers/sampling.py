"""POST /models/{name}/sample: JSON (capped), or CSV / NDJSON streamed in bounded memory.

Rows are rendered from code chunks by `discrete_gan.formats`, the same rules as the CLI's
output: labels exactly as the model stores them. The seed that drew the rows (fresh from OS
entropy when the request has none) is in the JSON body's `seed` and, for every format, in the
`X-Seed` header; the same model version, seed, n and conditions give the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse

from api.deps import get_metrics, get_store, resolve_model
from api.metrics import Metrics
from api.routers.models import NAME
from api.schemas import Format, SampleRequest, SampleResponse
from api.security import require_api_key
from api.settings import Settings, get_settings
from api.store import LoadedModel, ModelStore
from discrete_gan.conditional import ConditionError
from discrete_gan.draws import Draw, RelaxedStream
from discrete_gan.formats import CsvWriter, NdjsonWriter, json_rows
from discrete_gan.schema import TableSchema

router = APIRouter(tags=["sampling"], dependencies=[Depends(require_api_key)])

MEDIA = {Format.csv: "text/csv; charset=utf-8", Format.ndjson: "application/x-ndjson"}


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


def _csv(draw: Draw, rows) -> Iterator[str]:
    writer = CsvWriter(draw.schema)
    yield writer.header()
    for codes in draw:
        rows.inc(len(codes))
        yield writer.rows(codes)


def _ndjson(draw: Draw | RelaxedStream, rows) -> Iterator[str]:
    writer = NdjsonWriter(draw.schema)
    if isinstance(draw, Draw):
        for codes in draw:
            rows.inc(len(codes))
            yield writer.rows(codes)
        return
    for chunk in draw:
        rows.inc(len(chunk.codes))
        extra = ['"_relaxed": ' + json.dumps(r) for r in _relaxed(draw.schema, chunk.vectors)]
        yield writer.rows(chunk.codes, extra)


def _json(loaded: LoadedModel, req: SampleRequest, draw: Draw | RelaxedStream, rows) -> dict:
    schema = loaded.model.schema
    if isinstance(draw, Draw):
        codes, vectors = draw.codes(), None
    else:
        chunks = list(draw)
        codes = np.concatenate([c.codes for c in chunks])
        vectors = np.concatenate([c.vectors for c in chunks])
    rows.inc(len(codes))
    body = {
        "model": loaded.name,
        "version": loaded.version,
        "seed": draw.seed,
        "n": len(codes),
        "columns": [str(c) for c in schema.names],
        "rows": json_rows(schema, codes),
    }
    if vectors is not None:
        body["relaxed"] = _relaxed(schema, vectors)
    if isinstance(draw, Draw) and draw.acceptance_rate is not None:
        body["acceptance_rate"] = draw.acceptance_rate
    return body


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
def sample(
    req: SampleRequest,
    name: str = NAME,
    store: ModelStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    metrics: Metrics = Depends(get_metrics),
):
    _check(req, settings)
    loaded = resolve_model(store, name, req.version)  # one reference for the whole request
    model = loaded.model
    try:  # conditional draws are computed here, so bad conditions fail before any byte
        if req.relaxed:
            draw = model.iter_relaxed(req.n, req.seed, temperature=req.temperature)
        else:
            draw = model.draw(req.n, req.seed, where=req.conditions)
    except ConditionError as e:
        raise HTTPException(422, detail=str(e)) from None
    headers = {"X-Model-Version": loaded.version, "X-Seed": str(draw.seed)}
    rows = metrics.rows.labels(loaded.name)
    if req.format == Format.csv:
        return StreamingResponse(_csv(draw, rows), media_type=MEDIA[req.format], headers=headers)
    if req.format == Format.ndjson:
        return StreamingResponse(_ndjson(draw, rows), media_type=MEDIA[req.format], headers=headers)
    # Built from validated data: skip re-validating up to max_rows_json rows in the response.
    return JSONResponse(_json(loaded, req, draw, rows), headers=headers)
