"""The `discrete-gan` command: a thin dispatcher to the training job and the service.

`train`, `sample`, `models`, `plot` and `demo` go to `training.cli`; `serve` goes to `api.cli`.
Imports happen only for the chosen command, so `discrete-gan --help` is instant and the
service never imports the training job (nor the reverse).
"""

from __future__ import annotations

import sys

USAGE = """usage: discrete-gan COMMAND [ARGS...]

Learn categorical tables with a Gumbel-Softmax GAN and serve them.

commands:
  train    train a model on a CSV/Parquet/JSONL table and publish it to the registry
  sample   write synthetic rows from a published model
  models   list the models in the registry
  plot     explanatory figures (e.g. `plot temperature`)
  demo     train the built-in demo model if missing, then serve it
  serve    run the HTTP sampling service

Run `discrete-gan COMMAND --help` for a command's options.
"""

TRAINING_COMMANDS = ("train", "sample", "models", "plot")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    if argv[0] == "--version":
        from discrete_gan import __version__

        print(f"discrete-gan {__version__}")
        return 0
    command = argv[0]
    if command == "serve":
        from api.cli import main as serve_main

        return serve_main(argv[1:])
    if command == "demo":
        return _demo(argv[1:])
    if command in TRAINING_COMMANDS:
        from training.cli import main as training_main

        return training_main(argv)
    print(f"discrete-gan: unknown command {command!r}. Run `discrete-gan --help`.", file=sys.stderr)
    return 2


def _demo(args: list[str]) -> int:
    """`demo [--registry DIR] [serve options]`: ensure the demo model exists, then serve it."""
    from training.cli import main as training_main

    registry = []
    if "--registry" in args:
        i = args.index("--registry")
        registry = args[i : i + 2]
    if any(a in ("-h", "--help") for a in args):
        print(
            "usage: discrete-gan demo [--registry DIR] [--host HOST] [--port PORT]\n\n"
            "Trains the built-in demo model into the registry if it is missing, then runs the\n"
            "service on it (see `discrete-gan serve --help` for the service options)."
        )
        return 0
    code = training_main(["demo", *registry])
    if code != 0:
        return code
    from api.cli import main as serve_main

    return serve_main(args)


if __name__ == "__main__":
    sys.exit(main())
