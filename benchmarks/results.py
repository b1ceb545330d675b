"""Results files: one Markdown table + one JSON document per benchmark run, with the context
(date, machine, load, library versions) a reader needs to judge the figures."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"

__all__ = ["RESULTS_DIR", "best_of", "environment", "fmt", "markdown_table", "write_results"]


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(note: str | None = None) -> dict[str, Any]:
    """Date, machine (platform, CPU count, load average) and versions of the stack.

    The load average matters: timings on a shared machine are only comparable at equal load.
    """
    import keras

    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            "python": platform.python_version(),
            "discrete_gan": _version("discrete-gan") or _local_version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "tensorflow": _version("tensorflow-cpu") or _version("tensorflow"),
            "jax": _version("jax"),
            "numpy": _version("numpy"),
            "pandas": _version("pandas"),
            "pgmpy": _version("pgmpy"),
        },
        "note": note,
    }


def _local_version() -> str:
    from discrete_gan import __version__

    return __version__


def fmt(value: Any, digits: int = 4) -> str:
    """A table cell: floats rounded to `digits` significant places, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:.0f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A GitHub Markdown table of `rows` (dicts) restricted to `columns`, in that order."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _header(title: str, env: dict[str, Any]) -> str:
    m, v = env["machine"], env["versions"]
    lines = [
        f"# {title}",
        "",
        f"- date: {env['date']}",
        f"- machine: {m['platform']}, {m['cpu_count']} CPUs, "
        f"load average (1/5/15 min) at the end {m['loadavg_1_5_15']} "
        "(shared machine: timings are noisy)",
        f"- versions: python {v['python']}, discrete-gan {v['discrete_gan']}, keras {v['keras']} "
        f"({v['backend']} backend), tensorflow {v['tensorflow']}, jax {v['jax']}, "
        f"numpy {v['numpy']}, pandas {v['pandas']}, pgmpy {v['pgmpy']}",
    ]
    if env.get("note"):
        lines.append(f"- note: {env['note']}")
    return "\n".join(lines)


def write_results(
    name: str,
    title: str,
    sections: Sequence[tuple[str, str]],
    data: dict[str, Any],
    *,
    out_dir: str | os.PathLike | None = None,
    note: str | None = None,
) -> tuple[Path, Path]:
    """Writes `NAME_BACKEND.md` (title, context, then each `(heading, markdown)` section) and
    `NAME_BACKEND.json` (`{"environment": ..., **data}`) atomically; returns both paths."""
    env = environment(note)
    out = Path(out_dir) if out_dir is not None else RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{name}_{env['versions']['backend']}"
    body = [_header(title, env)]
    body += [f"## {heading}\n\n{text}" for heading, text in sections]
    md_path, json_path = out / f"{stem}.md", out / f"{stem}.json"
    _atomic_write(md_path, "\n\n".join(body) + "\n")
    _atomic_write(json_path, json.dumps({"environment": env, **data}, indent=2, default=_json))
    return md_path, json_path


def _json(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Fastest wall time of `repeat` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
