"""POST /models/{name}/sample: JSON (capped), or CSV / NDJSON streamed in bounded memory."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
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

router = APIRouter(tags=["sampling"], dependencies=[Depends(require_api_key)])

MEDIA = {Format.csv: "text/csv; charset=utf-8", Format.ndjson: "application/x-ndjson"}


def _records(frame: pd.DataFrame) -> list[list]:
    """Rows as JSON-ready lists: Python scalars (object columns box them), missing as None."""
    return frame.astype(object).where(frame.notna(), None).to_numpy().tolist()


def _relaxed(loaded: LoadedModel, vectors: np.ndarray) -> list[dict[str, list[float]]]:
    out, start = [], 0
    blocks = []
    for col in loaded.model.schema.columns:
        blocks.append((col.name, start, start + col.cardinality))
        start += col.cardinality
    for row in vectors:
        out.append({name: [round(float(p), 6) for p in row[a:b]] for name, a, b in blocks})
    return out


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


def _chunks(loaded: LoadedModel, req: SampleRequest) -> Iterator[tuple[pd.DataFrame, object]]:
    if req.conditions:
        result = loaded.model.sample_where(req.n, req.conditions, seed=req.seed)
        yield loaded.model.schema.decode(result.codes), result
        return
    for item in loaded.model.iter_samples(
        req.n, req.seed, temperature=req.temperature, relaxed=req.relaxed
    ):
        yield item if req.relaxed else (item, None)


def _stream(loaded, req, metrics, first, chunks) -> Iterator[str]:
    frame, extra = first
    index = 0
    while frame is not None:
        metrics.rows.labels(loaded.name).inc(len(frame))
        if req.format == Format.csv:
            yield frame.to_csv(index=False, header=index == 0, lineterminator="\n")
        else:
            columns = list(frame.columns)
            relaxed = _relaxed(loaded, extra) if req.relaxed else None
            lines = []
            for i, row in enumerate(_records(frame)):
                record = dict(zip(columns, row))
                if relaxed is not None:
                    record["_relaxed"] = relaxed[i]
                lines.append(json.dumps(record))
            yield "\n".join(lines) + "\n"
        index += 1
        frame, extra = next(chunks, (None, None))


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
    chunks = _chunks(loaded, req)
    try:
        first = next(chunks)  # errors (bad conditions) surface before any byte is sent
    except ConditionError as e:
        raise HTTPException(422, detail=str(e)) from None
    if req.format != Format.json:
        headers = {"X-Model-Version": loaded.version}
        return StreamingResponse(
            _stream(loaded, req, metrics, first, chunks),
            media_type=MEDIA[req.format],
            headers=headers,
        )
    frames, extras = [first[0]], [first[1]]
    for frame, extra in chunks:
        frames.append(frame)
        extras.append(extra)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    metrics.rows.labels(loaded.name).inc(len(frame))
    body = {
        "model": loaded.name,
        "version": loaded.version,
        "seed": req.seed,
        "n": len(frame),
        "columns": [str(c) for c in frame.columns],
        "rows": _records(frame),
    }
    if req.relaxed:
        body["relaxed"] = _relaxed(loaded, np.concatenate(extras))
    if req.conditions:
        body["acceptance_rate"] = extras[0].acceptance_rate
    # Built from validated data: skip re-validating up to max_rows_json rows in the response.
    return JSONResponse(body)
