"""Command line of the training job (`discrete-gan train|sample|generate|models|plot|demo`).

A thin layer: argparse in, library calls, and every library error caught once in `main` and
turned into one `error: ...` line on stderr and a non-zero exit code (`--debug` shows the
traceback instead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from discrete_gan.config import DEFAULT_EPOCHS, DEFAULT_MAX_STEPS, GANConfig
from discrete_gan.families import DEFAULT_FAMILY, FAMILIES
from discrete_gan.vae_config import VAEConfig
from training.config import (
    DEFAULT_MAX_CATEGORIES,
    ConfigError,
    JobConfig,
    load_config,
    merge,
    parse_override,
)

__all__ = ["main"]

EXIT_ERROR, EXIT_USAGE = 1, 2
DEFAULT_REGISTRY = "registry"


def _debug_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and the backend's own logs",
    )
    return parent


def _registry_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        default=os.environ.get("DISCRETE_GAN_REGISTRY", DEFAULT_REGISTRY),
        help="model registry directory (env DISCRETE_GAN_REGISTRY; default: %(default)s)",
    )


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        parents=[_debug_parent()],
        help="train a model on a table and publish it",
        description="Train a model of a table of categorical columns (a Gumbel-Softmax GAN, or "
        "with --family vae a Gumbel-Softmax VAE) and publish it to REGISTRY/NAME/VERSION. "
        "Options left unset come from --config, then from the built-in defaults shown here.",
    )
    p.add_argument("data", help="CSV, TSV, Parquet or JSON Lines file, or - for CSV on stdin")
    p.add_argument("--name", required=True, help="model name (letters, digits, _ - .)")
    _registry_arg(p)
    p.add_argument(
        "--config",
        help="TOML or YAML file: job keys (family among them) at top level, the family's model "
        "keys in [model]",
    )
    p.add_argument(
        "--family",
        choices=list(FAMILIES),
        help=f"model family: gan (Gumbel-Softmax GAN) or vae (Gumbel-Softmax VAE, which can "
        f"also score rows); [model] and --set model.KEY take that family's keys (default: "
        f"config key family, else {DEFAULT_FAMILY})",
    )
    p.add_argument(
        "--format",
        choices=["csv", "tsv", "parquet", "jsonl"],
        help="data format (default: from the file suffix; csv for stdin)",
    )
    p.add_argument("--columns", help="comma-separated columns to model (default: all)")
    p.add_argument(
        "--na-values",
        action="append",
        metavar="TEXT",
        help="CSV/TSV: a cell spelled TEXT is missing, besides an empty cell (repeatable; "
        "default: only empty cells; every other cell is a label exactly as written)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        help=f"passes over the data (default: {DEFAULT_EPOCHS}, fewer past "
        f"{DEFAULT_MAX_STEPS:,} updates of a batch)",
    )
    p.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: rows/batch)")
    p.add_argument("--batch-size", type=int, help="rows per batch (default: 512)")
    p.add_argument(
        "--learning-rate",
        type=float,
        help=f"Adam learning rate (default: {_model_default('learning_rate'):g} for the GAN, "
        f"{_model_default('learning_rate', 'vae'):g} for the VAE)",
    )
    p.add_argument(
        "--seed",
        type=int,
        help="seed of every training stream (default: fresh from OS entropy, printed on stderr)",
    )
    p.add_argument(
        "--max-categories",
        type=int,
        help="refuse columns with more categories than this (default: "
        + ("no limit" if DEFAULT_MAX_CATEGORIES is None else str(DEFAULT_MAX_CATEGORIES))
        + ")",
    )
    p.add_argument(
        "--keep-rare",
        action="store_true",
        default=None,
        help="keep every label, however rare (turns rare-label protection off: by default a "
        "label seen in fewer than k training rows, k drawn per column from "
        f"{_model_default('rare_min_count')} to {_model_default('rare_min_count') + 2}, is "
        "stored nowhere and never sampled; config key model.rare_min_count, 0 = off)",
    )
    p.add_argument(
        "--rare-placeholder",
        metavar="TEXT",
        help="the label rare labels' rows train as (default: "
        f"{_model_default('rare_placeholder')})",
    )
    p.add_argument(
        "--rare-mode",
        choices=["placeholder", "sample"],
        help="placeholder: rare labels' rows train as the placeholder; sample: as a draw of the "
        f"column's kept labels (default: {_model_default('rare_mode')})",
    )
    p.add_argument("--checkpoint-every", type=int, help="epochs between checkpoints (default: 5)")
    p.add_argument(
        "--patience",
        type=int,
        help="stop after this many epochs without fidelity gain (default: off)",
    )
    p.add_argument("--min-delta", type=float, help="fidelity gain that counts (default: 0)")
    p.add_argument("--max-time", type=float, help="stop after this many seconds (default: off)")
    p.add_argument(
        "--holdout",
        metavar="FRACTION",
        help="share of rows kept out of training (a seeded split) to measure memorisation: the "
        "model card reports the exact-copy rate and DCR share against them (default: 0.1; 0 "
        "trains on every row; a resumed run keeps its own split)",
    )
    p.add_argument(
        "--devices",
        metavar="N|all",
        help="train data-parallel on N devices (or all): each batch is split across them "
        "(JAX backend, GAN family only; default: 1)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config key, e.g. --set model.pac=4 --set model.loss=wgan-gp (GAN), "
        "--set model.latent_variables=8 (VAE)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last checkpoint of NAME (after a crash or kill)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-tensorboard", action="store_true", help="skip TensorBoard logs")


def _other_parsers(sub) -> None:
    debug = _debug_parent()
    s = sub.add_parser(
        "sample", parents=[debug], help="write synthetic rows from a published model"
    )
    s.add_argument("name", help="model name")
    s.add_argument("-n", type=int, required=True, help="number of rows")
    _registry_arg(s)
    s.add_argument("--version", help="model version (default: latest)")
    s.add_argument(
        "--seed",
        type=int,
        help="sampling seed (default: fresh from OS entropy); the seed used is printed on "
        "stderr, and the same model version, seed, -n and --where give the same rows",
    )
    s.add_argument(
        "--format",
        choices=["csv", "jsonl", "parquet"],
        default="csv",
        help="output format (default: %(default)s)",
    )
    s.add_argument("--out", help="output file (default: stdout; written atomically)")
    s.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=LABEL",
        help="keep only rows with COLUMN=LABEL (repeatable; LABEL may be a|b|c, write \\| for a "
        "| inside a label); a label matches exactly as the model stores it",
    )
    m = sub.add_parser("models", parents=[debug], help="list the models in the registry")
    _registry_arg(m)
    m.add_argument("--json", action="store_true", help="machine-readable output")
    pl = sub.add_parser("plot", parents=[debug], help="explanatory figures")
    pl.add_argument(
        "figure",
        choices=["temperature"],
        help="temperature: Gumbel-Softmax samples and expectation at tau = 0.1, 1, 5, 100",
    )
    pl.add_argument("--out", default="temperature.png", help="PNG path (default: %(default)s)")
    d = sub.add_parser("demo", parents=[debug], help="train the built-in demo model if missing")
    _registry_arg(d)


def _generate_parser(sub) -> None:
    g = sub.add_parser(
        "generate",
        parents=[_debug_parent()],
        help="write many synthetic rows as partition files (process pool or Ray), resumably",
        description="Write ROWS synthetic rows of a published model to DIR as part-NNNNN files "
        "plus manifest.json. Without --where, the partitions concatenated are the first ROWS "
        "rows of `discrete-gan sample NAME -n ROWS --seed S`, for any --partitions and "
        "--engine. Rerunning the same command completes an interrupted run.",
    )
    g.add_argument("name", help="model name")
    g.add_argument("-n", type=int, required=True, help="number of rows")
    g.add_argument("--out", required=True, metavar="DIR", help="output directory")
    g.add_argument(
        "--format", choices=["parquet", "csv"], default="parquet", help="default: %(default)s"
    )
    g.add_argument(
        "--seed",
        type=int,
        help="sampling seed (default: that of the same job in DIR, else fresh; printed)",
    )
    g.add_argument("--partitions", type=int, default=1, help="files to write (default: 1)")
    g.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: a process pool of min(partitions, CPUs); ray: a Ray cluster "
        "(default: %(default)s)",
    )
    g.add_argument("--address", help="Ray cluster to join (default: start a local one)")
    _registry_arg(g)
    g.add_argument("--version", help="model version (default: latest)")
    g.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=LABEL",
        help="keep only rows with COLUMN=LABEL, as in `sample` (conditional rows come in "
        "seeded segments of 65,536 rows; see the docs)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace another job's files in DIR")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="discrete-gan", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _other_parsers(sub)
    _generate_parser(sub)
    return parser


def _fraction(flag: str, text: str) -> float:
    """A flag's text as a float; range checks are JobConfig's."""
    try:
        return float(text)
    except ValueError:
        raise ConfigError(
            f"Invalid value for `{flag}`. Expected a number in [0, 1). Received: {text!r}"
        ) from None


def _model_default(name: str, family: str = "gan"):
    """A family config's field default, read without building a config (that imports Keras)."""
    return _CONFIGS[family].__dataclass_fields__[name].default


_CONFIGS = {"gan": GANConfig, "vae": VAEConfig}


def _devices(text: str | None) -> int | str | None:
    if text is None or text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(
            f"Invalid value for `--devices`. Expected an int >= 1 or 'all'. Received: {text!r}"
        ) from None


def _check_family_flags(family: str, flags: dict[str, object], names: dict[str, str]) -> None:
    """Refuses a flag given for a model key the family's config lacks (a GAN-only option with
    --family vae), naming the flag: otherwise the error would name a key the user never typed."""
    fields = _CONFIGS[family].__dataclass_fields__
    for key, value in flags.items():
        if value is None or not key.startswith("model."):
            continue
        if key.removeprefix("model.") not in fields:
            raise ConfigError(
                f"{names[key]} is an option of another model family; the {family!r} family "
                f"has no `{key.removeprefix('model.')}`"
            )


# the flag behind each model key set from the command line (for errors)
_FLAG_NAMES = {
    "model.max_categories": "--max-categories",
    "model.batch_size": "--batch-size",
    "model.learning_rate": "--learning-rate",
    "model.rare_min_count": "--keep-rare",
    "model.rare_placeholder": "--rare-placeholder",
    "model.rare_mode": "--rare-mode",
}


def job_config(args: argparse.Namespace) -> JobConfig:
    """File config, then explicit flags and --set overrides, validated.

    The family is `--family`, else the config file's `family`, else the GAN; model flags
    map onto that family's config (`_check_family_flags` refuses one it lacks).
    """
    data = load_config(args.config)
    if args.family is not None:
        data = {**data, "family": args.family}
    family = data.get("family", DEFAULT_FAMILY)
    flags = {
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "seed": args.seed,
        "model.max_categories": args.max_categories,
        "na_values": args.na_values,
        "checkpoint_every": args.checkpoint_every,
        "patience": args.patience,
        "min_delta": args.min_delta,
        "max_time": args.max_time,
        "holdout": None if args.holdout is None else _fraction("--holdout", args.holdout),
        "devices": _devices(args.devices),
        "columns": args.columns.split(",") if args.columns else None,
        "model.batch_size": args.batch_size,
        "model.learning_rate": args.learning_rate,
        "model.rare_min_count": 0 if args.keep_rare else None,
        "model.rare_placeholder": args.rare_placeholder,
        "model.rare_mode": args.rare_mode,
    }
    if isinstance(family, str) and family in _CONFIGS:  # else JobConfig.from_dict names it
        _check_family_flags(family, flags, _FLAG_NAMES)
    for key, value in flags.items():
        if value is not None:
            data = merge(data, key.split("."), value)
    for text in args.set:
        path, value = parse_override(text)
        data = merge(data, path, value)
    return JobConfig.from_dict(data)


def cmd_train(args: argparse.Namespace) -> int:
    from discrete_gan.registry import Registry, validate_name
    from training.data import load_training_data
    from training.job import run_training

    validate_name(args.name)
    config = job_config(args)

    def load():  # CSV/TSV/Parquet: streamed into int codes (an EncodedTable)
        return load_training_data(
            args.data,
            args.format,
            config.na_values,
            config.columns,
            missing=config.model.missing,
            max_categories=config.model.max_categories,
        )

    verbose = 0 if args.quiet else (1 if sys.stderr.isatty() else 2)
    ref = run_training(  # handed the loader, the job frees the table it no longer needs
        load,
        args.name,
        Registry(args.registry),
        config,
        resume=args.resume,
        verbose=verbose,
        tensorboard=not args.no_tensorboard,
    )
    print(f"published {ref.name} version {ref.version} at {ref.path}")
    return 0


def _conditions(texts: list[str]) -> dict:
    from discrete_gan.conditional import split_labels

    given: dict = {}
    for text in texts:
        column, sep, label = text.partition("=")
        if not sep or not column:
            raise ValueError(f"Invalid --where {text!r}: expected COLUMN=LABEL")
        labels = split_labels(label)
        given[column] = labels if len(labels) > 1 else labels[0]
    return given


def cmd_sample(args: argparse.Namespace) -> int:
    from discrete_gan import load_model
    from discrete_gan.registry import Registry
    from training.output import write_draw

    if args.n < 0:
        raise ValueError(f"-n must be >= 0, got {args.n}")
    if args.format == "parquet" and args.out in (None, "-"):
        raise ValueError("Parquet output needs --out PATH (it cannot stream to stdout)")
    where = _conditions(args.where) if args.where else None
    ref = Registry(args.registry).resolve(args.name, args.version)
    model = load_model(ref.path)  # either family
    draw = model.draw(args.n, seed=args.seed, where=where)
    rows = write_draw(draw, args.format, args.out)
    target = f" to {args.out}" if args.out else ""
    print(
        f"wrote {rows} rows of {ref.name} v{ref.version}{target}; seed: {draw.seed}",
        file=sys.stderr,
    )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from training.generate import run_cli

    return run_cli(args, _conditions(args.where) if args.where else None)


def cmd_models(args: argparse.Namespace) -> int:
    from discrete_gan.artifacts import ArtifactError
    from discrete_gan.registry import Registry

    registry = Registry(args.registry)
    listing = []
    for name in registry.names():
        try:
            meta = registry.metadata(name)
        except (ArtifactError, KeyError) as e:
            meta = {"error": str(e)}
        listing.append(
            {
                "name": name,
                "family": meta.get("family", DEFAULT_FAMILY) if "error" not in meta else None,
                "latest": registry.latest(name),
                "versions": registry.versions(name),
                "rows": meta.get("rows"),
                "columns": len(meta.get("columns", [])),
                "created": meta.get("created"),
                "mean_column_tvd": meta.get("fidelity", {}).get("mean_column_tvd"),
            }
        )
    if args.json:
        print(json.dumps(listing, indent=2))
    elif not listing:
        print(f"no models in {registry.root}")
    else:
        print(
            f"{'NAME':20} {'FAMILY':6} {'LATEST':>6} {'VERSIONS':>8} {'ROWS':>8} {'COLS':>4} "
            f"{'TVD':>7}  CREATED"
        )
        for m in listing:
            tvd = "-" if m["mean_column_tvd"] is None else f"{m['mean_column_tvd']:.4f}"
            print(
                f"{m['name']:20} {m['family'] or '-':6} {m['latest']:>6} {len(m['versions']):>8} "
                f"{m['rows'] or '-':>8} "
                f"{m['columns']:>4} {tvd:>7}  {m['created'] or '-'}"
            )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from discrete_gan import plots

    path = plots.save(plots.temperature_demo(), Path(args.out))
    print(f"wrote {path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from discrete_gan.registry import Registry
    from training.demo import DEMO_NAME, ensure_demo

    if Registry(args.registry).latest(DEMO_NAME) is None:
        print("training the demo model (8 columns, 10k rows; about a minute)...", file=sys.stderr)
    ref, trained = ensure_demo(Registry(args.registry), verbose=2 if sys.stderr.isatty() else 0)
    state = "trained and published" if trained else "already present"
    print(f"demo model {state}: {ref.path}", file=sys.stderr)
    return 0


COMMANDS = {
    "train": cmd_train,
    "sample": cmd_sample,
    "generate": cmd_generate,
    "models": cmd_models,
    "plot": cmd_plot,
    "demo": cmd_demo,
}


def main(argv: list[str] | None = None, prepare: Callable[[], None] | None = None) -> int:
    """Runs one command; returns the process exit code.

    `prepare` (the `discrete-gan` dispatcher's `import_backend_quietly`) runs once the
    arguments are parsed, unless `--debug`: so `--help` and usage errors never start Keras,
    and a command's backend imports without its C++ start-up logs.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if e.code in (0, None) else EXIT_USAGE
    if prepare is not None and not getattr(args, "debug", False):
        prepare()
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if getattr(args, "debug", False):
            raise
        if not isinstance(e, ConfigError | ValueError | KeyError | OSError | RuntimeError):
            message = f"{type(e).__name__}: {e}"
        else:
            message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f"error: {message.splitlines()[0] if message else type(e).__name__}", file=sys.stderr)
        return EXIT_ERROR
