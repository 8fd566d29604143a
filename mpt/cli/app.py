"""The Typer application every command module registers on, and the one error style.

Every expected failure (a missing or unreadable file, a bad annotation, an incomplete or corrupt
cache, bad weights, a bad option value) prints one line ``error: <what, where, why>`` to stderr and
exits 1, without a traceback; ``MPT_DEBUG=1`` shows the traceback instead. The handling lives in
the root group's ``main``, so ``mpt``, ``python -m mpt`` and tests driving the app with Typer's
``CliRunner`` all see the same behaviour.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

import typer
from typer.core import TyperGroup

# click's exceptions, wherever this typer takes them from (typer >= 0.24 vendors click)
_click = sys.modules[typer.BadParameter.__module__]
UsageError, ClickException = _click.UsageError, _click.ClickException

# FFmpeg's decoder log ("moov atom not found", "overread 8") would precede the one error line, and
# the error says the same in words; OpenCV reads this when it opens its first video. MPT_DEBUG keeps it.
if os.environ.get("MPT_DEBUG", "") in ("", "0"):
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

# What a user can cause and fix: files, formats, settings. (Anything else is a bug and keeps its
# traceback.)
EXPECTED = (ValueError, OSError, KeyError, RuntimeError)


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return f"missing key {text}" if isinstance(err, KeyError) else text


def fail(message: str) -> None:
    """Stop with ``error: message`` and exit 1 (for checks made in a command itself)."""
    raise ClickException(message)


def check_choice(value: str, choices: Sequence[str], option: str) -> str:
    """The same check of a choice in every command: one error line naming the option and the choices."""
    if value not in choices:
        fail(f"{option} {value!r} is not one of {', '.join(choices)}")
    return value


def check_device(device: str) -> str:
    """The same check of --device in every command that runs a model: auto, cpu, cuda or cuda:N."""
    if not (device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        fail(f"--device {device!r} is not one of auto, cpu, cuda, cuda:N")
    return device


class MptGroup(TyperGroup):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .help import apply

        apply(self)  # every command's example, docs page and option panels (mpt/cli/help.py)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        debug = os.environ.get("MPT_DEBUG", "") not in ("", "0")
        try:
            rv = super().main(args=args, prog_name=prog_name or "mpt", complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except typer.Exit as err:
            code = err.exit_code
        except typer.Abort:
            print("error: interrupted", file=sys.stderr)
            code = 130
        except UsageError as err:
            if type(err).__name__ == "NoArgsIsHelpError":  # bare `mpt` / `mpt datasets`: show the help
                print(err.format_message())
                code = 0
            else:
                if debug:
                    raise
                cmd = err.ctx.command_path if err.ctx else "mpt"
                print(f"error: {' '.join(err.format_message().split())} (see `{cmd} --help`)", file=sys.stderr)
                code = 1
        except ClickException as err:
            if debug:
                raise
            print(f"error: {' '.join(err.format_message().split())}", file=sys.stderr)
            code = 1
        except EXPECTED as err:
            if debug:
                raise
            print(f"error: {one_line(err)}", file=sys.stderr)
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="mpt",
    cls=MptGroup,
    help="Motion Prompt Tuning for micro-expression recognition: read datasets, preprocess "
    "them into HDF5 caches, train and evaluate leave-one-subject-out, apply and explain trained models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
datasets_app = typer.Typer(help="Inspect micro-expression datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
