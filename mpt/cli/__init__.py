"""The ``mpt`` command line. Each ``*_cmd.py`` module here only parses and validates arguments, then
calls one library function; heavy imports happen inside the commands. Errors: see ``app.py``."""

import importlib
import pkgutil

from .app import app

# Every command module registers itself on ``app`` when imported.
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")):
    importlib.import_module(f"{__name__}.{_module}")


def main() -> None:
    app()
