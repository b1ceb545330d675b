"""The web page at `/`: one static HTML page with vanilla JS and CSS from `api/web/`.

Everything the page loads comes from this app (no CDN, no build step), so it works offline.
The page holds no data: it calls the JSON API from the browser, sending the API key the user
typed, so these routes need no key. Only the allow-listed files are served.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, JSONResponse

from api.settings import Settings, get_settings

router = APIRouter(include_in_schema=False)

WEB = Path(__file__).resolve().parents[1] / "web"
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
HEADERS = {
    # Only this origin, no inline script or style: the page cannot load or leak anything else.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/", response_class=FileResponse)
def index() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/web/config.json")
def config(settings: Settings = Depends(get_settings)) -> JSONResponse:
    """What the page must know before its first data call: whether to ask for a key."""
    return JSONResponse({"api_key_required": settings.api_key is not None}, headers=HEADERS)


@router.get("/web/{file}", response_class=FileResponse)
def asset(file: str) -> FileResponse:
    if file not in ASSETS:
        raise HTTPException(404, detail=f"No such file: {file!r}")
    return FileResponse(WEB / file, media_type=ASSETS[file], headers=HEADERS)
