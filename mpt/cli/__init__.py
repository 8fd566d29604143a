"""The ``mpt`` command line. Each module here only parses and validates arguments, then calls one
library function; heavy imports happen inside the commands. Errors: see ``app.py``."""

from .app import app

# Command modules register themselves on ``app`` when imported.
from . import datasets_cmd, synth_cmd, preprocess_cmd, model_cmd, train_cmd  # noqa: E402,F401


def main() -> None:
    app()
