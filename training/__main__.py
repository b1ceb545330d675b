"""`python -m training COMMAND ...`: the same commands as `discrete-gan` minus `serve`."""

import sys

from training.cli import main

sys.exit(main())
