"""`python -m benchmarks {toy,seedport,table,bn,throughput,digits,elbo_auc,all} [options]`.

`toy` is our seed-toy runs; `seedport` is the same plus the seed tutorial's GAN side by side
(and the plot); `digits` is the 8x8-digits picture benchmark (GAN and VAE, with its plots);
`elbo_auc` the VAE's ELBO ranking of real vs shuffled rows; `all` runs seedport, table, bn,
throughput, digits and elbo_auc. `hc` is the high-cardinality
benchmark (`benchmarks.high_cardinality`, its own options: `python -m benchmarks hc --help`).

Each benchmark writes `benchmarks/results/NAME_BACKEND.{md,json}` (date, machine, load,
versions) and prints the Markdown. The backend is Keras's (set KERAS_BACKEND=jax to compare).
`--quick` runs small settings (about 2 minutes in all); the defaults are the figures of record.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BENCHMARKS = ("toy", "seedport", "table", "bn", "throughput", "digits", "elbo_auc")
BN_METHODS = ("default", "tuned", "vae", "cli", "ctgan", "argn")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("benchmark", choices=(*BENCHMARKS, "all"))
    p.add_argument("--seeds", type=int, default=5, help="seeds for the toy benchmarks")
    p.add_argument("--quick", action="store_true", help="small settings (smoke / CI)")
    p.add_argument(
        "--backend",
        dest="note",
        default=None,
        metavar="NOTE",
        help="free-text note stored with the results (e.g. machine state)",
    )
    p.add_argument(
        "--networks",
        default="asia,alarm,child,insurance",
        help="comma-separated pgmpy networks for `bn` (default: %(default)s; the wider "
        "hailfinder and water are bundled too: asia,alarm,child,insurance,hailfinder,water)",
    )
    p.add_argument(
        "--tables",
        default="digits,child",
        help="comma-separated tables for `elbo_auc`: digits and/or pgmpy networks "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--port-epochs",
        type=int,
        default=None,
        help="epochs of the seed tutorial port (default 200, 20 with --quick)",
    )
    p.add_argument(
        "--ctgan-python",
        default=None,
        metavar="PYTHON",
        help="interpreter with `ctgan` installed (default: this one, if it has it)",
    )
    p.add_argument(
        "--ctgan-epochs",
        type=int,
        default=None,
        help="CTGAN epochs in `bn` (default 300 as published, 30 with --quick)",
    )
    p.add_argument("--no-ctgan", action="store_true", help="skip CTGAN even if installed")
    p.add_argument(
        "--argn-python",
        default=None,
        metavar="PYTHON",
        help="interpreter with `mostlyai-engine` installed, for TabularARGN in `bn` "
        "(default: this one, if it has it)",
    )
    p.add_argument(
        "--argn-epochs",
        type=int,
        default=None,
        help="TabularARGN max_epochs in `bn` (default 100, its own default; 10 with --quick)",
    )
    p.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated subset of `bn` methods: {','.join(BN_METHODS)} (default: all; "
        "ctgan and argn run only where installed)",
    )
    p.add_argument("--tag", default="", help="suffix for the results file names")
    p.add_argument("--out", type=Path, default=None, help="results folder")
    return p


def _toy(args: argparse.Namespace, with_port: bool) -> None:
    from benchmarks.report import plot_toy, toy_sections
    from benchmarks.results import RESULTS_DIR, write_results
    from benchmarks.toy import run_toy

    toy = run_toy(seeds=args.seeds)
    port = _port(args) if with_port else None
    data: dict[str, Any] = {"toy": toy, "seed_port": port}
    md, _ = write_results(
        "toy" + args.tag,
        "Seed toy (issue #2 bar)",
        toy_sections(toy, port),
        data,
        out_dir=args.out,
        note=args.note,
    )
    plot = plot_toy(toy, port, md.with_suffix(".png"))
    _show(md, plot or (args.out or RESULTS_DIR))


def _port(args: argparse.Namespace) -> list[dict[str, Any]]:
    from dataclasses import asdict

    from benchmarks.seed_port import run_seed_port

    epochs = args.port_epochs or (20 if args.quick else 200)
    return [asdict(run_seed_port(seed, epochs=epochs)) for seed in range(args.seeds)]


def _table(args: argparse.Namespace) -> None:
    from benchmarks.report import table_sections
    from benchmarks.results import write_results
    from benchmarks.table import run_table

    table = run_table(rows=5000 if args.quick else 10_000, epochs=10 if args.quick else 50)
    md, _ = write_results(
        "table" + args.tag,
        "10-column BN table (issue #2 bar)",
        table_sections(table),
        table,
        out_dir=args.out,
        note=args.note,
    )
    _show(md)


def _ctgan(args: argparse.Namespace) -> str | None:
    from benchmarks.ctgan_runner import ctgan_python

    return None if args.no_ctgan else ctgan_python(args.ctgan_python)


def _bn_methods(text: str | None) -> set[str]:
    chosen = {m.strip() for m in (text or ",".join(BN_METHODS)).split(",") if m.strip()}
    unknown = sorted(chosen - set(BN_METHODS))
    if unknown or not chosen:
        raise ValueError(
            f"Invalid value for `--methods`. Expected a comma-separated subset of "
            f"{','.join(BN_METHODS)}. Received: {text!r}"
        )
    return chosen


def _bn(args: argparse.Namespace) -> None:
    from benchmarks.argn_runner import argn_python

    networks = tuple(n.strip() for n in args.networks.split(",") if n.strip())
    chosen = _bn_methods(args.methods)
    ctgan = _ctgan(args) if "ctgan" in chosen else None
    argn = argn_python(args.argn_python) if "argn" in chosen else None
    explicit = set() if args.methods is None else chosen
    for name, found, flag in (("ctgan", ctgan, "--ctgan-python"), ("argn", argn, "--argn-python")):
        if name in explicit and found is None:
            raise ValueError(f"`--methods {name}`: not installed here; pass {flag} PATH")

    from benchmarks.bn_likelihood import METHODS, VAE_METHODS, run_bn  # imports Keras: late
    from benchmarks.report import bn_sections
    from benchmarks.results import write_results

    methods = {k: v for k, v in METHODS.items() if k.split("(")[1].rstrip(")") in chosen}
    bn = run_bn(
        networks,
        quick=args.quick,
        ctgan=ctgan,
        ctgan_epochs=args.ctgan_epochs,
        methods=methods,
        vae_methods=VAE_METHODS if "vae" in chosen else {},
        cli="cli" in chosen,
        argn=argn,
        argn_epochs=args.argn_epochs,
    )
    md, _ = write_results(
        "bn_likelihood" + args.tag,
        "Bayesian-network likelihood (issue #5)",
        bn_sections(bn),
        bn,
        out_dir=args.out,
        note=args.note,
    )
    _show(md)


def _throughput(args: argparse.Namespace) -> None:
    from benchmarks.report import throughput_sections
    from benchmarks.results import write_results
    from benchmarks.throughput import run_throughput

    tp = run_throughput(
        epochs=3 if args.quick else 10, ctgan=_ctgan(args), ctgan_epochs=2 if args.quick else 10
    )
    md, _ = write_results(
        "throughput" + args.tag,
        "Throughput (issue #5)",
        throughput_sections(tp),
        tp,
        out_dir=args.out,
        note=args.note,
    )
    _show(md)


def _digits(args: argparse.Namespace) -> None:
    from benchmarks.digits import run_digits
    from benchmarks.report import digits_sections
    from benchmarks.results import RESULTS_DIR, write_results

    out = args.out or RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    digits = run_digits(epochs=10 if args.quick else None, plot_dir=out)
    md, _ = write_results(
        "digits" + args.tag,
        "8x8 digits, GAN and VAE (issue #11)",
        digits_sections(digits),
        digits,
        out_dir=out,
        note=args.note,
    )
    _show(md, *digits["pictures"].values())


def _elbo_auc(args: argparse.Namespace) -> None:
    from benchmarks.elbo_auc import run_elbo_auc
    from benchmarks.report import elbo_auc_sections
    from benchmarks.results import write_results

    tables = tuple(t.strip() for t in args.tables.split(",") if t.strip())
    if not tables:
        raise ValueError(f"Invalid value for `--tables`. Received: {args.tables!r}")
    result = run_elbo_auc(tables, quick=args.quick)
    md, _ = write_results(
        "elbo_auc" + args.tag,
        "ELBO ranking: real vs shuffled rows (issue #11)",
        elbo_auc_sections(result),
        result,
        out_dir=args.out,
        note=args.note,
    )
    _show(md)


def _show(md: Path, *extra: Any) -> None:
    print(md.read_text())
    print(f"written: {md}, {md.with_suffix('.json')}", *extra)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hc"]:
        from benchmarks.high_cardinality import main as high_cardinality

        return high_cardinality(argv[1:])
    args = _parser().parse_args(argv)
    if args.seeds < 1:
        print("error: --seeds must be >= 1", file=sys.stderr)
        return 2
    runners = {
        "toy": lambda a: _toy(a, with_port=False),
        "seedport": lambda a: _toy(a, with_port=True),
        "table": _table,
        "bn": _bn,
        "throughput": _throughput,
        "digits": _digits,
        "elbo_auc": _elbo_auc,
    }
    chosen = [b for b in BENCHMARKS if b != "toy"] if args.benchmark == "all" else [args.benchmark]
    try:
        for name in chosen:
            runners[name](args)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
