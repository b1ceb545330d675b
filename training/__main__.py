"""`python -m training COMMAND ...`: the same commands as `discrete-gan` minus `serve`, as quiet
(the backend's C++ start-up logs only with `--debug`)."""

import sys

from discrete_gan_cli import import_backend_quietly
from training.cli import main

sys.exit(main(prepare=import_backend_quietly))
