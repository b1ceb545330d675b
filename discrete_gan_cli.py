"""The `discrete-gan` command: a thin dispatcher to the training job and the service.

`train`, `sample`, `generate`, `models`, `plot` and `demo` go to `training.cli`; `serve` goes
to `api.cli`. Imports happen only for the chosen command, so `discrete-gan --help` is instant
and the service never imports the training job (nor the reverse). `--debug` may come before or
after the command.

Quiet start-up: TensorFlow writes its C++ logs (absl's "All log messages before
absl::InitializeLog()", cpu_feature_guard, oneDNN) straight to file descriptor 2, at import
and at its first operation, so Python cannot filter them. Each command's `main` parses its
arguments first (`--help` and usage errors never import Keras) and then calls
`import_backend_quietly`: `TF_CPP_MIN_LOG_LEVEL=3` unless the user set it (it also covers
child processes, e.g. `generate`'s workers), and fd 2 pointed at /dev/null while Keras and its
backend import, restored right after so our own messages and errors still show. With
`--debug`, nothing is changed and the backend's logs appear.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

USAGE = """usage: discrete-gan [--debug] COMMAND [ARGS...]

Learn categorical tables with a Gumbel-Softmax GAN and serve them.

commands:
  train    train a model on a CSV/Parquet/JSONL table and publish it to the registry
  sample   write synthetic rows from a published model
  generate write many rows as partition files (process pool or Ray), resumably
  models   list the models in the registry
  plot     explanatory figures (e.g. `plot temperature`)
  demo     train the built-in demo model if missing, then serve it
  serve    run the HTTP sampling service

options:
  --debug  show tracebacks and the backend's own logs (any command)

Run `discrete-gan COMMAND --help` for a command's options.
"""

TRAINING_COMMANDS = ("train", "sample", "generate", "models", "plot")
HELP = ("-h", "--help")


@contextlib.contextmanager
def _stderr_silenced():
    """Points file descriptor 2 at /dev/null for the block, then restores it: TensorFlow's
    C++ logging writes there at import, below Python's `sys.stderr`."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_backend_quietly() -> None:
    """Imports Keras and its backend with their start-up logs silenced (see the module's
    docstring); a no-op once Keras is imported."""
    if "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import keras  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = False
    while argv and argv[0] == "--debug":
        debug = True
        argv.pop(0)
    if not argv or argv[0] in (*HELP, "help"):
        print(USAGE, end="")
        return 0
    if argv[0] == "--version":
        from discrete_gan import __version__

        print(f"discrete-gan {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if debug:
        rest = [*rest, "--debug"]
    if command == "serve":
        from api.cli import main as serve_main

        return serve_main(rest, prepare=import_backend_quietly)
    if command == "demo":
        return _demo(rest)
    if command in TRAINING_COMMANDS:
        from training.cli import main as training_main

        return training_main([command, *rest], prepare=import_backend_quietly)
    print(f"discrete-gan: unknown command {command!r}. Run `discrete-gan --help`.", file=sys.stderr)
    return 2


def _demo(args: list[str]) -> int:
    """`demo [--registry DIR] [serve options]`: ensure the demo model exists, then serve it."""
    from training.cli import main as training_main

    parser = argparse.ArgumentParser(prog="discrete-gan demo", add_help=False)
    parser.add_argument("--registry")
    parser.add_argument("--debug", action="store_true")
    known, _ = parser.parse_known_args(args)
    if any(a in HELP for a in args):
        print(
            "usage: discrete-gan demo [--registry DIR] [--host HOST] [--port PORT]\n\n"
            "Trains the built-in demo model into the registry if it is missing, then runs the\n"
            "service on it (see `discrete-gan serve --help` for the service options)."
        )
        return 0
    demo_args = ["demo"]
    if known.registry is not None:
        demo_args += ["--registry", known.registry]
    if known.debug:
        demo_args.append("--debug")
    code = training_main(demo_args, prepare=import_backend_quietly)
    if code != 0:
        return code
    from api.cli import main as serve_main

    return serve_main(args, prepare=import_backend_quietly)


if __name__ == "__main__":
    sys.exit(main())
