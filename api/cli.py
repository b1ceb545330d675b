"""`discrete-gan serve`: run the service under uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="discrete-gan serve", description="Serve trained generators over HTTP."
    )
    p.add_argument(
        "--registry",
        default=os.environ.get("DISCRETE_GAN_REGISTRY", "registry"),
        help="model registry directory (env DISCRETE_GAN_REGISTRY; default: %(default)s)",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--api-key", help="require this key in X-API-Key (env DISCRETE_GAN_API_KEY)")
    p.add_argument("--debug", action="store_true", help="log at debug level")
    return p


def main(argv: list[str] | None = None, prepare: Callable[[], None] | None = None) -> int:
    """Serves until stopped; returns the exit code. `prepare` (the dispatcher's quiet backend
    import) runs after the arguments are checked, unless `--debug`."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if e.code in (0, None) else 2
    registry = Path(args.registry)
    if registry.exists() and not registry.is_dir():
        print(f"error: registry path is not a directory: {registry}", file=sys.stderr)
        return 1
    if not 0 < args.port < 65536 or args.workers < 1:
        print("error: --port must be 1-65535 and --workers >= 1", file=sys.stderr)
        return 1
    os.environ["DISCRETE_GAN_REGISTRY"] = str(registry)
    if args.api_key:
        os.environ["DISCRETE_GAN_API_KEY"] = args.api_key
    if prepare is not None and not args.debug:
        prepare()
    import uvicorn

    uvicorn.run(
        "api.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="debug" if args.debug else args.log_level,
    )
    return 0
