"""`discrete-gan generate`: many rows from a published model, in partitions, resumable.

A row of an unconditional draw is a pure function of (model version, seed, row index) (see
`discrete_gan.sampling`), so ROWS rows in P partitions are P independent tasks
`(model, seed, first row, rows)`: partition `i` holds rows `i * ROWS // P` up to, not
including, `(i + 1) * ROWS // P`, and is computed with `model.draw(rows, seed,
start=first)`. Whatever P, whichever engine, the partitions concatenated are the first ROWS
rows of `discrete-gan sample NAME -n ROWS --seed S`, and each file is byte for byte what any
other run of the same job writes.

Engines: "local" runs the tasks on a process pool (spawned, `min(P, os.cpu_count())`
processes; one process runs them in the calling process), "ray" on a Ray cluster
(`ray.init(address)`, or an embedded local cluster) through a Ray Data actor pool. Either way
the model is loaded once per worker, and each worker writes its own partition files, so with
Ray the output directory must be on storage every node sees.

Conditions (`where`) draw by rejection (`model.sample_where`), which is not
row-indexable: row r can only be found by drawing every row before it. So conditional rows
come in segments of `segment_rows` (65,536) rows: segment `k` is the first rows of
`draw(segment_rows, seed_k, where=where)`, with `seed_0 = seed` and, for `k >= 1`, `seed_k`
derived from `(seed, k)` by the "generate.segments" stream. A partition draws the segments it
overlaps (at most `segment_rows` extra rows of work each). Hence, for conditional jobs:
the rows do NOT depend on P or the engine, and ROWS rows are a prefix of any longer job's;
the first `segment_rows` rows equal `discrete-gan sample --where ... --seed S`; past them they
differ from `sample` (which draws all its rows from one seed), and they depend on
`segment_rows`, which the manifest records.

The output directory holds `part-00000.parquet` ... (or `.csv`, each with its header line)
and `manifest.json`, which is written last: model, version, the generator's sha256, seed,
rows, partitions, format, conditions, segment_rows, columns, and per file its rows, first
row, sha256 and bytes. Every file appears by an atomic rename. While a job runs, the files
finished so far are recorded in `.manifest.partial.json`; rerunning the same job skips every
partition whose file is present with the recorded sha256 and size, and writes the rest.
A different job (model, version, seed, rows, partitions, format or conditions) is refused in
a directory that holds another job's files, unless `overwrite` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ENGINES",
    "FORMATS",
    "MANIFEST",
    "SEGMENT_ROWS",
    "GenerateError",
    "GenerateResult",
    "Job",
    "Task",
    "generate",
    "partition_chunks",
    "plan_partitions",
    "segment_seed",
]

FORMATS = ("parquet", "csv")
ENGINES = ("local", "ray")
SEGMENT_ROWS = 65_536
MANIFEST = "manifest.json"
PROGRESS = ".manifest.partial.json"
MANIFEST_VERSION = 1
RAY_HINT = "pip install 'discrete-gan[ray]'"
# The fields of a manifest that say which rows its files hold: two jobs that agree on them
# write identical files.
IDENTITY = (
    "model",
    "version",
    "generator_sha256",
    "seed",
    "rows",
    "partitions",
    "format",
    "conditions",
    "segment_rows",
)


class GenerateError(ValueError):
    """A generation job cannot run as asked; the message says why in one line."""


@dataclass(frozen=True)
class Task:
    """One partition: `rows` rows from row `first_row`, written to `file` (a name in DIR)."""

    index: int
    first_row: int
    rows: int
    file: str


@dataclass(frozen=True)
class Job:
    """Everything that determines the bytes of a job's files (the manifest minus `files`)."""

    model: str
    version: str
    generator_sha256: str
    seed: int
    rows: int
    partitions: int
    format: str
    conditions: dict | None
    segment_rows: int | None
    columns: list[str] = field(default_factory=list)

    def tasks(self) -> list[Task]:
        width = max(5, len(str(self.partitions - 1)))
        bounds = plan_partitions(self.rows, self.partitions)
        return [
            Task(i, first, rows, f"part-{i:0{width}d}.{self.format}")
            for i, (first, rows) in enumerate(bounds)
        ]

    def identity(self) -> dict:
        return {k: getattr(self, k) for k in IDENTITY}


@dataclass
class GenerateResult:
    """What a `generate` call did.

    Attributes:
        job: the job (its `seed` is the one used, fresh when none was given).
        directory: the output directory.
        written: indices of the partitions written by this call.
        skipped: indices of the partitions found complete and kept.
        seconds: wall time of the call.
        workers: peak resident memory (bytes) of each worker process, by pid.
        engine: "local" or "ray".
    """

    job: Job
    directory: Path
    written: list[int]
    skipped: list[int]
    seconds: float
    workers: dict[int, int]
    engine: str


def plan_partitions(rows: int, partitions: int) -> list[tuple[int, int]]:
    """`(first row, rows)` of each partition: sizes differ by at most one row."""
    cuts = [i * rows // partitions for i in range(partitions + 1)]
    return [(cuts[i], cuts[i + 1] - cuts[i]) for i in range(partitions)]


def segment_seed(seed: int, segment: int) -> int:
    """The seed of conditional segment `segment` of a job seeded with `seed` (segment 0: seed)."""
    from discrete_gan import seeding

    if segment == 0:
        return seed
    rng = seeding.stream_rng(seed, "generate.segments", segment)
    return int(rng.integers(0, seeding.MAX_SEED, endpoint=True))


def partition_chunks(model, job: Job, first_row: int, rows: int) -> Iterator[np.ndarray]:
    """int32 code chunks `(m, n_columns)` of rows `first_row, ..., first_row + rows - 1`."""
    if not job.conditions:
        yield from model.draw(rows, job.seed, start=first_row)
        return
    size, end, row = job.segment_rows, first_row + rows, first_row
    while row < end:
        segment = row // size
        start = segment * size
        stop = min(end, start + size)
        draw = model.draw(stop - start, segment_seed(job.seed, segment), where=job.conditions)
        yield draw.codes()[row - start :]
        row = stop


# ---------------------------------------------------------------- files
def _sha256(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise GenerateError(f"Cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise GenerateError(f"Cannot read {path}: not a JSON object")
    return data


def _ours(name: str) -> bool:
    """Whether a directory entry is a file this module writes (or a temporary of one)."""
    return (
        name in (MANIFEST, PROGRESS)
        or (name.startswith("part-") and name.endswith(tuple(f".{f}" for f in FORMATS)))
        or name.startswith((".part-", f".{MANIFEST}.", f".{PROGRESS}."))
    )


def _clear(directory: Path) -> None:
    """Removes this module's files from `directory`, and nothing else."""
    for entry in directory.iterdir():
        if _ours(entry.name) and entry.is_file():
            entry.unlink()


def _describe(old: dict, new: dict) -> str:
    keys = [k for k in IDENTITY if old.get(k) != new.get(k)]
    return ", ".join(f"{k} {old.get(k)!r} (this run: {new.get(k)!r})" for k in keys[:3])


# ---------------------------------------------------------------- workers
def _task_entry(model, job: Job, task: Task, directory: Path) -> dict:
    """Writes one partition file (atomically) and returns its manifest entry."""
    from discrete_gan.draws import Draw
    from training.output import write_draw

    path = directory / task.file
    draw = Draw(
        job.seed,
        task.rows,
        model.schema,
        lambda: partition_chunks(model, job, task.first_row, task.rows),
    )
    write_draw(draw, job.format, str(path))
    digest, size = _sha256(path)
    return {
        "index": task.index,
        "path": task.file,
        "rows": task.rows,
        "first_row": task.first_row,
        "sha256": digest,
        "bytes": size,
        "pid": os.getpid(),
        "max_rss": peak_rss(),
    }


def peak_rss() -> int:
    """This process's peak resident memory in bytes: Linux's VmHWM (its own address space;
    `ru_maxrss` would keep the peak of the parent a spawned worker was forked from, or that a
    `subprocess` child inherited through vfork + exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _load_model(path: str, backend: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = backend  # before Keras is imported: rows differ by backend
    from discrete_gan import load_model

    return load_model(path)  # either family


_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, backend: str, job: dict, directory: str) -> None:
    _WORKER.update(
        model=_load_model(model_path, backend), job=_job_from(job), directory=Path(directory)
    )


def _run_task(task: dict) -> dict:
    w = _WORKER
    return _task_entry(w["model"], w["job"], Task(**task), w["directory"])


def _job_from(d: dict) -> Job:
    return Job(**{k: d[k] for k in Job.__dataclass_fields__})


class _RayPartitionWriter:
    """A Ray Data actor: loads the model once, then writes each partition it is given."""

    def __init__(self, model_path: str, backend: str, job: dict, directory: str):
        self.model = _load_model(model_path, backend)
        self.job, self.directory = _job_from(job), Path(directory)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        entries = [
            _task_entry(
                self.model,
                self.job,
                Task(int(i), int(first), int(rows), str(name)),
                self.directory,
            )
            for i, first, rows, name in zip(
                batch["index"], batch["first_row"], batch["rows"], batch["file"], strict=True
            )
        ]
        return {k: np.array([e[k] for e in entries]) for k in entries[0]}


# ---------------------------------------------------------------- engines
def _run_local(tasks, workers, model_path, backend, job, directory, on_done) -> None:
    if workers == 1:
        model = _load_model(model_path, backend)
        for task in tasks:
            on_done(_task_entry(model, job, task, directory))
        return
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    init = (model_path, backend, asdict(job), str(directory))
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=init
    ) as pool:
        pending = {pool.submit(_run_task, asdict(t)) for t in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    on_done(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise GenerateError(f"--engine ray needs Ray, which is not installed: {RAY_HINT}") from None
    return ray


def _run_ray(tasks, workers, model_path, backend, job, directory, on_done, address) -> None:
    import logging

    ray = _import_ray()
    for logger in ("ray", "ray.data"):  # keep the command's stderr to its own lines
        logging.getLogger(logger).setLevel(logging.WARNING)
    started = not ray.is_initialized()
    if started:
        env = {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if address is None:  # an embedded cluster runs this checkout's code
            root = str(Path(__file__).resolve().parents[1])
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                object_store_memory=200 * 2**20,
                log_to_driver=False,
                logging_level=logging.WARNING,
                runtime_env={"env_vars": env},
            )
        else:
            ray.init(
                address=address,
                log_to_driver=False,
                logging_level=logging.WARNING,
                runtime_env={"env_vars": env},
            )
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        items = [asdict(t) for t in tasks]
        # from_items + an actor pool: on few CPUs, a read task competing with the actors for
        # a CPU (ray.data.range(...).map_batches(..., concurrency=n)) can deadlock.
        ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            _RayPartitionWriter,
            fn_constructor_args=(model_path, backend, asdict(job), str(directory)),
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(workers, len(items))),
            num_cpus=1,
        )
        for row in ds.iter_rows():
            on_done({k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()})
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------- the job
def _conditions_json(where: Mapping[str, Any] | None) -> dict | None:
    if not where:
        return None
    from discrete_gan.formats import json_label

    out = {}
    for column, wanted in where.items():
        if isinstance(wanted, list | tuple | set | frozenset):
            out[str(column)] = [json_label(x) for x in wanted]
        else:
            out[str(column)] = json_label(wanted)
    return json.loads(json.dumps(out, allow_nan=False))


def _check(name: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise GenerateError(f"Invalid value for `{name}`. Expected {expected}. Received: {value!r}")


def generate(
    registry,
    name: str,
    rows: int,
    out: str | os.PathLike,
    *,
    fmt: str = "parquet",
    seed: int | None = None,
    partitions: int = 1,
    engine: str = "local",
    address: str | None = None,
    version: str | None = None,
    where: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    segment_rows: int = SEGMENT_ROWS,
    log: Callable[[str], None] | None = None,
) -> GenerateResult:
    """Writes `rows` rows of model `name` (a `Registry` entry) to `out` in `partitions` files.

    Args:
        registry: a `discrete_gan.registry.Registry`.
        name, version: the model and its version (default: latest).
        rows: rows in all, >= 0.
        out: output directory (created if missing).
        fmt: "parquet" or "csv".
        seed: sampling seed; None reuses the seed of the same job already in `out`, else
            draws a fresh one (reported in the result and the manifest).
        partitions: number of files, 1 to max(1, rows).
        engine: "local" (process pool) or "ray" (Ray cluster at `address`, or embedded).
        where: conditions `{column: label or [labels]}` (see the module doc for what stays
            invariant then).
        overwrite: replace another job's files in `out` instead of refusing.
        workers: worker processes or actors (default: min(partitions, os.cpu_count())).
        segment_rows: rows per conditional segment (conditional jobs only).
        log: called with one line per event worth telling (e.g. `print` to stderr).

    Raises:
        GenerateError: bad arguments, or `out` holds another job's files.
    """
    from discrete_gan import seeding
    from discrete_gan.artifacts import GENERATOR_FILE, SCHEMA_FILE
    from discrete_gan.conditional import parse_conditions
    from discrete_gan.schema import TableSchema

    started = time.monotonic()
    _check("rows", rows, type(rows) is int and rows >= 0, "an int >= 0")
    _check("fmt", fmt, fmt in FORMATS, f"one of {FORMATS}")
    _check("engine", engine, engine in ENGINES, f"one of {ENGINES}")
    most = max(1, rows)
    _check(
        "partitions",
        partitions,
        type(partitions) is int and 1 <= partitions <= most,
        f"an int from 1 to {most} (the number of rows)",
    )
    if workers is not None:
        _check("workers", workers, type(workers) is int and workers >= 1, "an int >= 1")
    _check(
        "segment_rows",
        segment_rows,
        type(segment_rows) is int and segment_rows >= 1,
        "an int >= 1",
    )
    if address is not None and engine != "ray":
        raise GenerateError("--address names a Ray cluster: use it with --engine ray")
    if engine == "ray":
        _import_ray()
    if seed is not None:
        seed = seeding.resolve_seed(seed)
    ref = registry.resolve(name, version)
    schema = TableSchema.from_json((ref.path / SCHEMA_FILE).read_text(encoding="utf-8"))
    if where:
        parse_conditions(schema, where)  # unknown columns and labels fail before any work
    directory = Path(out)
    if directory.exists() and not directory.is_dir():
        raise GenerateError(f"--out {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)

    conditions = _conditions_json(where)
    job = Job(
        model=ref.name,
        version=ref.version,
        generator_sha256=_sha256(ref.path / GENERATOR_FILE)[0],
        seed=-1,
        rows=rows,
        partitions=partitions,
        format=fmt,
        conditions=conditions,
        segment_rows=segment_rows if conditions else None,
        columns=schema.names,
    )
    previous = _read_json(directory / MANIFEST) or _read_json(directory / PROGRESS)
    if previous is not None and not isinstance(previous.get("seed"), int):
        if not overwrite:
            raise GenerateError(
                f"{directory} holds a {MANIFEST} that is not a `discrete-gan generate` manifest;"
                " use another --out directory or --overwrite"
            )
        previous = None
    if seed is None and previous is not None:
        same = {k: v for k, v in job.identity().items() if k != "seed"}
        if all(previous.get(k) == v for k, v in same.items()):
            seed = previous["seed"]  # an unseeded rerun resumes the job it interrupted
            if log:
                log(f"resuming the job in {directory} with its seed {seed}")
    job = Job(**{**asdict(job), "seed": seeding.resolve_seed(seed)})
    done = _previous_files(directory, job, previous, overwrite)

    tasks = job.tasks()
    todo = [t for t in tasks if t.index not in done]
    progress = {**asdict(job), "format_version": MANIFEST_VERSION}
    entries: dict[int, dict] = dict(done)
    rss: dict[int, int] = {}

    def on_done(entry: dict) -> None:
        pid, peak = entry.pop("pid"), entry.pop("max_rss")
        rss[pid] = max(rss.get(pid, 0), peak)
        entries[entry.pop("index")] = entry
        files = [entries[i] for i in sorted(entries)]
        _write_json(directory / PROGRESS, {**progress, "files": files})

    if todo:
        _write_json(
            directory / PROGRESS, {**progress, "files": [entries[i] for i in sorted(entries)]}
        )
        n_workers = min(workers or min(len(todo), os.cpu_count() or 1), len(todo))
        import keras

        backend = keras.backend.backend()
        args = (todo, n_workers, str(ref.path), backend, job, directory, on_done)
        if engine == "ray":
            _run_ray(*args, address)
        else:
            _run_local(*args)
    manifest = {
        "format_version": MANIFEST_VERSION,
        **asdict(job),
        "files": [entries[t.index] for t in tasks],
    }
    _write_json(directory / MANIFEST, manifest)
    (directory / PROGRESS).unlink(missing_ok=True)
    return GenerateResult(
        job,
        directory,
        written=[t.index for t in todo],
        skipped=sorted(done),
        seconds=time.monotonic() - started,
        workers=rss,
        engine=engine,
    )


def _previous_files(directory: Path, job: Job, previous: dict | None, overwrite: bool) -> dict:
    """Entries of the partitions already complete in `directory`, after checking (or, with
    `overwrite`, clearing) what the directory holds."""
    if (
        previous is not None
        and previous.get("format_version", MANIFEST_VERSION) == MANIFEST_VERSION
    ):
        same = all(previous.get(k) == v for k, v in job.identity().items())
    else:
        same = False
    if not same:
        others = [e.name for e in directory.iterdir()]
        if previous is not None and not overwrite:
            raise GenerateError(
                f"{directory} holds another generation job ({_describe(previous, job.identity())}"
                "); use another --out directory, the same options, or --overwrite"
            )
        if others and previous is None and not overwrite:
            raise GenerateError(
                f"{directory} is not empty and holds no {MANIFEST}; use an empty or new --out "
                "directory, or --overwrite"
            )
        _clear(directory)
        return {}
    for entry in directory.iterdir():  # temporaries of an interrupted run
        if entry.name.startswith((".part-", f".{MANIFEST}.", f".{PROGRESS}.")):
            entry.unlink(missing_ok=True)
    planned = {t.index: t for t in job.tasks()}
    by_path = {t.file: t for t in planned.values()}
    done = {}
    for entry in previous.get("files") or []:
        task = by_path.get(entry.get("path")) if isinstance(entry, dict) else None
        if (
            task is None
            or entry.get("rows") != task.rows
            or entry.get("first_row") != task.first_row
        ):
            continue
        path = directory / task.file
        if not path.is_file() or path.stat().st_size != entry.get("bytes"):
            continue
        if _sha256(path)[0] == entry.get("sha256"):
            done[task.index] = {
                k: entry[k] for k in ("path", "rows", "first_row", "sha256", "bytes")
            }
    return done


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_cli(args, where: dict | None) -> int:
    """`discrete-gan generate` (called by `training.cli`)."""
    from discrete_gan.registry import Registry

    if args.n < 0:
        raise GenerateError(f"-n must be >= 0, got {args.n}")
    result = generate(
        Registry(args.registry),
        args.name,
        args.n,
        args.out,
        fmt=args.format,
        seed=args.seed,
        partitions=args.partitions,
        engine=args.engine,
        address=args.address,
        version=args.version,
        where=where,
        overwrite=args.overwrite,
        log=_stderr,
    )
    job = result.job
    kept = f", {len(result.skipped)} already complete" if result.skipped else ""
    _stderr(
        f"wrote {job.rows} rows of {job.model} v{job.version} to {result.directory} in "
        f"{job.partitions} partition(s) ({len(result.written)} written{kept}; "
        f"{result.seconds:.1f} s); seed: {job.seed}"
    )
    return 0
