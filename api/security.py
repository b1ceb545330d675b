"""Optional API key: when `Settings.api_key` is set, requests must send it in X-API-Key."""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Security
from fastapi.security import APIKeyHeader

from api.settings import Settings, get_settings

__all__ = ["require_api_key"]

_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def require_api_key(
    key: str | None = Security(_header), settings: Settings = Depends(get_settings)
) -> None:
    if settings.api_key is None:
        return
    if key is None or not hmac.compare_digest(key.encode(), settings.api_key.encode()):
        raise HTTPException(status_code=401, detail="Missing or invalid API key (X-API-Key)")
