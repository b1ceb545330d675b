"""Service settings from the environment (prefix DISCRETE_GAN_), via a cached dependency."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Everything the service reads from its environment; tests override `get_settings`."""

    model_config = SettingsConfigDict(env_prefix="DISCRETE_GAN_", extra="ignore")

    registry: str = Field("registry", description="model registry directory")
    api_key: str | None = Field(None, description="if set, required in the X-API-Key header")
    max_rows_json: int = Field(100_000, ge=1, description="largest n for format=json")
    max_rows_stream: int = Field(10_000_000, ge=1, description="largest n for csv/ndjson")
    max_body_bytes: int = Field(65_536, ge=1024, description="largest request body")
    max_score_rows: int = Field(10_000, ge=1, description="most rows one score request may send")
    max_score_samples: int = Field(
        1024, ge=1, description="largest n_samples (draws of q(z|x) per row) a score request asks"
    )
    max_score_body_bytes: int = Field(
        8 << 20, ge=1024, description="largest body of a score request (rows as JSON or CSV)"
    )
    rescan_interval_s: float = Field(5.0, ge=0, description="registry rescan period; 0 = off")
    cors_origins: list[str] = Field(default_factory=list, description="CORS origins; [] = off")
    warmup: bool = Field(True, description="compile each model's sampler when it loads")
    batching: bool = Field(
        True, description="merge concurrent unconditional sample requests into shared calls"
    )
    batch_window_ms: float = Field(
        1.0, ge=0, le=1000, description="how long a batch waits for more requests to join"
    )
    batch_max_rows: int = Field(
        8192, ge=256, description="most rows one shared call computes (requests over it run alone)"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
