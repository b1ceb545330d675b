"""Request and response models (validated, documented with examples in the OpenAPI schema)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Format", "SampleRequest", "SampleResponse", "ScoreRequest", "ScoreResponse"]

Label = str | int | float | bool | None


class Format(StrEnum):
    json = "json"
    csv = "csv"
    ndjson = "ndjson"


class SampleRequest(BaseModel):
    """What to sample. Same model version + seed + n (+ conditions) -> identical rows."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"n": 5, "seed": 42},
                {"n": 100000, "format": "csv"},
                {"n": 3, "relaxed": True, "temperature": 0.5},
                {"n": 10, "conditions": {"region": "north", "age_band": ["18-34", "35-54"]}},
            ]
        },
    )

    n: int = Field(..., ge=1, description="number of rows")
    seed: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="sampling seed; omitted: a fresh one from OS entropy, returned in `seed` "
        "(and the X-Seed header) so the draw can be repeated",
    )
    temperature: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description="Gumbel-Softmax temperature of the relaxed vectors "
        "(default: the model's final training temperature); labels do not depend on it",
    )
    version: str | None = Field(None, pattern=r"^[1-9][0-9]{0,8}$", description="default: latest")
    format: Format = Field(Format.json, description="json (capped), csv or ndjson (streamed)")
    relaxed: bool = Field(False, description="also return each row's Gumbel-Softmax vectors")
    conditions: dict[str, Label | list[Label]] | None = Field(
        None, description="only rows with column = label (or one of the labels), for all columns"
    )


class SampleResponse(BaseModel):
    model: str
    version: str
    seed: int = Field(description="the seed that drew these rows")
    n: int
    columns: list[str]
    rows: list[list[Any]] = Field(
        description="one list of labels per row, in `columns` order; a float label inf/-inf "
        "is sent as the string 'inf'/'-inf' (JSON has no infinities)"
    )
    relaxed: list[dict[str, list[float]]] | None = Field(
        None,
        description="per row, per column, probabilities in the order of the model's categories",
    )
    acceptance_rate: float | None = Field(None, description="with conditions: accepted/drawn")


class ProbabilityEntry(BaseModel):
    label: Any
    probability: float


class OtherProbability(BaseModel):
    labels: int = Field(description="how many labels of the column are not listed")
    probability: float = Field(description="their total probability")


class ProbabilitiesResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "survey",
                    "version": "3",
                    "given": {"region": "north"},
                    "probabilities": {
                        "region": [
                            {"label": "north", "probability": 1.0},
                            {"label": "south", "probability": 0.0},
                        ],
                        "postcode": [
                            {"label": "N1 9GU", "probability": 0.0123},
                            {"label": "N7 8AB", "probability": 0.0101},
                        ],
                    },
                    "other": {"postcode": {"labels": 28411, "probability": 0.9776}},
                }
            ]
        }
    )

    model: str
    version: str
    given: dict[str, Any] | None
    probabilities: dict[str, list[ProbabilityEntry]] = Field(
        description="per column, its labels with their learned probability: all of them in "
        "the model's code order, or (a column in `other`) its top labels, most likely first"
    )
    other: dict[str, OtherProbability] = Field(
        default_factory=dict,
        description="per column cut to its top labels, the labels left out and their total "
        "probability; columns listed whole are absent",
    )


class ScoreRequest(BaseModel):
    """Rows to score (JSON body). The same rows can come as CSV instead: see the endpoint."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"rows": [{"colour": "red", "size": 2, "flag": True}]},
                {
                    "rows": [{"colour": "red", "size": "2", "flag": "False"}],
                    "n_samples": 128,
                    "seed": 7,
                },
            ]
        },
    )

    rows: list[dict[str, Label]] = Field(
        ...,
        description="one object per row, every column of the model once; labels match as "
        "sampling conditions do (exactly as the model stores them; text names a label whose "
        'text form it is: "7" names 7); null is the missing label',
    )
    n_samples: int | None = Field(
        None,
        ge=1,
        description="draws of q(z|x) per row for the ELBO's expectation; default: exact "
        "over every latent configuration when there are at most 4096, else 64 draws",
    )
    seed: int = Field(
        0,
        ge=0,
        le=2**63 - 1,
        description="seed of those draws; a row's score depends on the row, the model "
        "version and the seed only",
    )
    version: str | None = Field(None, pattern=r"^[1-9][0-9]{0,8}$", description="default: latest")


class ScoreResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "survey",
                    "version": "2",
                    "family": "vae",
                    "scores": [-3.2368, -5.9012],
                    "unit": "nats",
                    "bound": "ELBO (lower bound on log p(row))",
                    "n_samples": None,
                    "exact": True,
                    "seed": 0,
                }
            ]
        }
    )

    model: str
    version: str
    family: str
    scores: list[float] = Field(description="per row, in request order: its ELBO (<= 0)")
    unit: str = Field(description="always nats (natural log)")
    bound: str = Field(description="what the scores are")
    n_samples: int | None = Field(
        description="draws of q(z|x) per row, as requested (null: the model's default)"
    )
    exact: bool = Field(
        description="whether the ELBO's expectation was exact (every latent configuration, "
        "weighted by q; the default when there are at most 4096) rather than a mean over draws"
    )
    seed: int
