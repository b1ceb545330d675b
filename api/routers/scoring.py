"""POST /models/{name}/score: each row's ELBO under a VAE, rows sent as JSON or CSV.

Only a model that has a likelihood can score rows: the VAE family (`CategoricalVAE.score`,
a lower bound on `log p(row)` in nats). A GAN learns to sample and has none, so scoring with
one is a 409 that says so (the request is valid; the model it names cannot answer it).

Labels match as sampling conditions do (`api.rows`), so rows sampled from the service, as
JSON or as CSV, score as they came. Scoring is blocking inference: the route is a plain
`def`, which FastAPI runs in its thread pool; only reading the body happens on the event loop.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import get_metrics, get_store, resolve_model
from api.metrics import Metrics
from api.routers.models import NAME, VERSION
from api.rows import RowsError, columns_of_records, read_csv
from api.schemas import ScoreRequest, ScoreResponse
from api.security import require_api_key
from api.settings import Settings, get_settings
from api.store import LoadedModel, ModelStore
from discrete_gan.schema import EncodedTable
from discrete_gan.scoring import EXACT_LATENTS
from discrete_gan.vae import ScoreError

__all__ = ["router"]

router = APIRouter(tags=["scoring"], dependencies=[Depends(require_api_key)])

BOUND = "ELBO (lower bound on log p(row))"
_CSV_EXAMPLE = "colour,size,flag\nred,2,True\nblue,1,False\n"


async def _body(request: Request) -> tuple[str, bytes]:
    """The request's media type (lower case, no parameters) and its body, read on the loop."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media, await request.body()


def _parse_json(raw: bytes) -> ScoreRequest:
    try:
        return ScoreRequest.model_validate_json(raw)
    except ValidationError as e:  # the same 422 body as FastAPI's own validation
        errors = e.errors(include_url=False)
        for error in errors:
            error["loc"] = ("body", *error["loc"])
            error.pop("ctx", None)  # may hold exception objects
        raise RequestValidationError(errors) from None


def _merge(field: str, body_value, query_value):
    if body_value is not None and query_value is not None and body_value != query_value:
        raise HTTPException(
            422,
            detail=f"{field} is given twice with different values: {query_value!r} in the "
            f"query, {body_value!r} in the body",
        )
    return body_value if body_value is not None else query_value


def _scores(loaded: LoadedModel, codes: np.ndarray, n_samples: int | None, seed: int):
    """`(n_rows,)` ELBOs of the `(n_rows, n_columns)` codes (the scorer pads batches to a few
    compiled shapes itself)."""
    table = EncodedTable(codes, loaded.model.schema)
    try:
        return loaded.model.score(table, n_samples=n_samples, seed=seed)
    except ScoreError as e:
        raise HTTPException(422, detail=str(e)) from None


def _hint(loaded: LoadedModel) -> str:
    report = loaded.model.metadata.get("rare_labels") or {}
    if report.get("mode") != "placeholder":
        return ""
    return (
        f" (labels seen too rarely in training are stored as {report.get('placeholder')!r}: "
        "score them as that label)"
    )


@router.post(
    "/models/{name}/score",
    response_model=ScoreResponse,
    summary="Score rows under a VAE: each row's ELBO, a lower bound on log p(row), in nats",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ScoreRequest.model_json_schema()},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": _CSV_EXAMPLE,
                },
            },
        }
    },
    responses={
        404: {"description": "unknown model or version"},
        409: {
            "description": "the model's family cannot score rows (a GAN has no likelihood; "
            "train a VAE: `discrete-gan train ... --family vae`)"
        },
        413: {"description": "body larger than the score body limit"},
        415: {"description": "a body neither JSON nor CSV"},
        422: {
            "description": "malformed JSON or CSV, no rows, too many rows, unknown or missing "
            "columns, unknown labels (named with their column), bad n_samples or seed"
        },
    },
)
def score(
    name: str = NAME,
    version: str | None = VERSION,
    n_samples: int | None = Query(
        None, ge=1, description="draws of q(z|x) per row (CSV bodies; JSON: in the body too)"
    ),
    seed: int | None = Query(
        None, ge=0, le=2**63 - 1, description="seed of those draws (default 0)"
    ),
    body: tuple[str, bytes] = Depends(_body),
    store: ModelStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    metrics: Metrics = Depends(get_metrics),
) -> dict:
    """The ELBO of each row, in request order, from a VAE-family model.

    Send rows as JSON, `{"rows": [{"column": label, ...}, ...], "n_samples": ..., "seed":
    ..., "version": ...}`, or as CSV (`Content-Type: text/csv`, a header row naming every
    column; `n_samples`, `seed` and `version` in the query). CSV fields are labels exactly as
    written (nothing re-typed); an empty field is the missing label. Labels match as sampling
    conditions do: text names a label whose text form it is (`"7"` names the int 7).

    A row's score depends on the row, the model version and `seed` only, never on the other
    rows; by default the expectation over the latents is exact when the model has at most
    4096 latent configurations, else a mean over 64 seeded draws (`n_samples` sets the number).
    A GAN-family model cannot score rows: 409.
    """
    media, raw = body
    if media in ("", "application/json") or media.endswith("+json"):
        req = _parse_json(raw)
        fields = req.model_fields_set
        version = _merge("version", req.version, version)
        n_samples = _merge("n_samples", req.n_samples, n_samples)
        seed = _merge("seed", req.seed if "seed" in fields else None, seed)
        records = req.rows
    elif media in ("text/csv", "application/csv"):
        records = None
    else:
        raise HTTPException(
            415,
            detail=f"Unsupported Content-Type {media!r}: send rows as application/json "
            '({"rows": [...]}) or as text/csv with a header row',
        )
    seed = 0 if seed is None else seed
    if n_samples is not None and n_samples > settings.max_score_samples:
        raise HTTPException(
            422,
            detail=f"n_samples={n_samples} exceeds the limit of {settings.max_score_samples} "
            "draws per row",
        )
    loaded = resolve_model(store, name, version)
    if not callable(getattr(loaded.model, "score", None)):
        raise HTTPException(
            409,
            detail=f"Model {loaded.name!r} is of family {loaded.family!r}, which cannot score "
            "rows (a GAN learns to sample and has no likelihood). A VAE can: train one with "
            "`discrete-gan train ... --family vae`.",
        )
    index = loaded.labels
    try:
        if records is None:
            columns = read_csv(raw)
            n = len(next(iter(columns.values()), []))
        else:
            n = len(records)
        if n == 0:
            raise RowsError("No rows to score: send at least one row")
        if n > settings.max_score_rows:
            raise RowsError(
                f"{n} rows exceed the limit of {settings.max_score_rows} rows per request; "
                "send them in several requests (a row's score does not depend on the others)"
            )
        if records is not None:
            columns = columns_of_records(records, index.names)
        codes = index.encode(columns, hint=_hint(loaded))
    except RowsError as e:
        raise HTTPException(422, detail=str(e)) from None
    scores = _scores(loaded, codes, n_samples, seed)
    metrics.scored.labels(loaded.name).inc(n)
    exact = n_samples is None and loaded.model.scorer.configurations <= EXACT_LATENTS
    return {
        "model": loaded.name,
        "version": loaded.version,
        "family": loaded.family,
        "scores": [float(x) for x in scores],
        "unit": "nats",
        "bound": BOUND,
        "n_samples": n_samples,
        "exact": bool(exact),
        "seed": seed,
    }
