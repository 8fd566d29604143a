"""Stop a child process at an exact point of its work, then kill it: crash tests without races.

The child runs a script that wraps one function with ``halt_after``: once the predicate holds after
a call, the child sends itself SIGSTOP. The parent waits for that stop with ``waitpid(WUNTRACED)``
(no polling, no sleeps, no deadline that a slow machine could miss), then SIGKILLs it. A child that
exits instead of stopping fails the test with its stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
REPO = str(Path(__file__).resolve().parents[1])


def halt_after(owner, name: str, predicate) -> None:
    """Wrap ``owner.name``: after each call, ``predicate(calls, *args, **kwargs)`` decides whether to stop."""
    real = getattr(owner, name)
    calls = [0]

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        calls[0] += 1
        if predicate(calls[0], *args, **kwargs):
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGSTOP)
        return out

    setattr(owner, name, wrapped)


def script(setup: str, body: str) -> str:
    """A ``python -c`` program: the repository and tests on the path, ``setup`` (the halt), then ``body``."""
    return f"import sys\nsys.path[:0] = [{REPO!r}, {TESTS!r}]\nfrom halting import halt_after\n{setup}\n{body}\n"


def run_until_halted(code: str, tmp_path: Path, env: dict | None = None) -> None:
    """Start ``code``, wait until it stops itself, SIGKILL it. Fails if it exits first."""
    err_path = tmp_path / f"halted-{os.getpid()}-{len(list(tmp_path.glob('halted-*')))}.stderr"
    with open(err_path, "w") as err:  # a file, not a pipe: a full pipe would block the child before its stop
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
        _, status = os.waitpid(proc.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise AssertionError(f"the child ended (exit {proc.returncode}) before its halt point: "
                                 f"{err_path.read_text()[-2000:]}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
