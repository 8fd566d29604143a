"""Run the documentation's example commands and write their real output into ``docs/examples/``.

The pages include these files (``--8<-- "examples/NAME.txt"``), so what a page shows is what the command
printed the last time this script ran, never text pasted by hand. Every example runs on small synthetic
data made by the examples before it, in one work folder, with paths relative to it.

    python docs/examples.py                 # run every example, rewrite docs/examples/*.txt
    python docs/examples.py --fast --check  # run the fast ones, write nothing: what CI does (tests/test_docs.py)
    python docs/examples.py --only train    # one example and the ones it needs

An example fails when its command exits non-zero or its output lacks the words it must show; the script
then exits 1 naming the example, the command and the last lines it printed. Slow examples (``fast=False``:
the demo, a sweep) are refreshed by running the script without ``--fast``; CI runs only the fast ones.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "examples"


@dataclass(frozen=True)
class Example:
    name: str  # the file docs/examples/NAME.txt
    args: tuple[str, ...]  # after `mpt`; {key} is replaced by a value an earlier example captured
    expect: tuple[str, ...] = ()  # words the output must contain
    needs: tuple[str, ...] = ()  # examples that must run first
    capture: dict = field(default_factory=dict)  # key -> regex over the output; group 1 is kept for later examples
    find: dict = field(default_factory=dict)  # key -> glob in the work folder after the run; the first match is kept
    copy: dict = field(default_factory=dict)  # file in the work folder -> file under docs/ (a figure the pages show)
    screenshot: dict = field(default_factory=dict)  # page in the work folder -> PNG under docs/ (headless Chromium)
    fast: bool = True
    shown: bool = True  # False: set-up only, its output is not written


SYNTH = ("synth", "data", "--subjects", "4", "--clips-per-subject", "6", "--size", "64", "--seed", "3")
CODING = "data/CASME2-coding-synth.xlsx"
TRAIN = ("--backbone", "vit_tiny_patch16_224", "--depth", "2", "--img-size", "64", "--motion-size", "16",
         "--epochs", "4", "--lr", "0.003", "--device", "cpu", "--precision", "fp32", "--fold-batch", "4")

EXAMPLES: tuple[Example, ...] = (
    Example("synth", SYNTH, expect=(CODING,), find={"clip": "data/Cropped/sub01/*"}),
    Example("datasets-summary", ("datasets", "summary", "casme2", "--root", "data", "--annotations", CODING),
            expect=("24 clips", "4 subjects"), needs=("synth",)),
    Example("preprocess", ("preprocess", "casme2", "--root", "data", "--annotations", CODING, "--size", "64",
                           "--alpha", "60", "--cache-dir", "cache", "--jobs", "2"),
            expect=("cache/casme2-",), needs=("synth",), capture={"cache": r"(cache/casme2-[0-9a-f]+\.h5)\s*$"}),
    Example("model-info", ("model-info", "--backbone", "vit_tiny_patch16_224", "--depth", "2", "--img-size", "64"),
            expect=("trainable",)),
    Example("train", ("train", "--cache", "{cache}", "--out", "runs/example", "--fold", "all", "--resume", *TRAIN),
            expect=("UF1",), needs=("preprocess",)),
    Example("report", ("report", "runs/example"), expect=("F1 (%)",), needs=("train",)),
    Example("predict", ("predict", "{clip}", "--run", "runs/example", "--model", "sub01",
                        "--fps", "200"),
            expect=("sub01",), needs=("train",)),
    # describe and instruct measure at 224 px: a corpus of 224 px faces (the examples above use 64 px)
    Example("synth-224", ("synth", "faces", "--subjects", "6", "--clips-per-subject", "6", "--seed", "5"),
            expect=("faces/CASME2-coding-synth.xlsx",), find={"face_clip": "faces/Cropped/sub01/*"}, shown=False),
    Example("describe", ("describe", "{face_clip}", "--fps", "200"), expect=("AU",), needs=("synth-224",)),
    Example("instruct", ("instruct", "casme2", "--root", "faces", "--annotations", "faces/CASME2-coding-synth.xlsx",
                         "--out", "instruct", "--holdout", "sub01,sub02", "--no-progress"),
            expect=("AU families confirmed by motion",), needs=("synth-224",)),
    Example("preprocess-flow", ("preprocess", "casme2", "--root", "data", "--annotations", CODING, "--flow",
                                "--cache-dir", "cache", "--jobs", "2"),
            expect=("cache/casme2-flow-",), needs=("synth",),
            capture={"flow": r"(cache/casme2-flow-[0-9a-f]+\.h5)\s*$"}),
    Example("train-baseline", ("train", "--cache", "{flow}", "--model", "flow-grid", "--out", "runs/flow-grid",
                               "--fold", "all", "--resume"), expect=("F1",), needs=("preprocess-flow",)),
    Example("synth-cas2", ("synth", "lv", "--layout", "cas2", "--subjects", "2", "--videos-per-subject", "1",
                           "--seconds", "8", "--seed", "4"), expect=("lv",), find={"video": "lv/rawpic/*/*"}),
    Example("spot-dataset", ("spot", "--dataset", "cas2", "--root", "lv", "--eval"), expect=("F1",),
            needs=("synth-cas2",)),
    Example("spot-plot", ("spot", "{video}", "--plot", "spot.png"), expect=("interval(s)",), needs=("synth-cas2",),
            copy={"spot.png": "spot-synthetic.png"}),
    Example("demo", ("demo", "--out", "runs/demo"), expect=("UF1",), fast=False,
            screenshot={"runs/demo/run/report.html": "demo-report.png"}),
)


class ExampleFailed(RuntimeError):
    pass


def screenshot(page: Path) -> bytes:
    """A PNG of the top of ``page`` in headless Chromium (the report tests' driver, tests/browser.py)."""
    sys.path.insert(0, str(DOCS.parent / "tests"))
    from browser import visit

    return visit(page, width=1100, height=1125).screenshot


def order(examples, only=None) -> list[Example]:
    """The examples to run, each after the ones it needs (``only``: that one and what it needs)."""
    by_name = {e.name: e for e in examples}
    wanted = [by_name[only]] if only else list(examples)
    done, out = set(), []

    def visit(e):
        if e.name in done:
            return
        for n in e.needs:
            visit(by_name[n])
        done.add(e.name)
        out.append(e)

    for e in wanted:
        visit(e)
    return out


def run_one(example: Example, work: Path, values: dict) -> str:
    args = [a.format(**values) for a in example.args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120", "NO_COLOR": "1", "MPT_DEBUG": ""}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mpt", *args], cwd=work, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    text = (proc.stdout + proc.stderr).replace(str(work) + os.sep, "")
    command = "mpt " + shlex.join(args)
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-8:])
        raise ExampleFailed(f"example {example.name!r}: `{command}` exited {proc.returncode}:\n{tail}")
    missing = [w for w in example.expect if w not in text]
    if missing:
        raise ExampleFailed(f"example {example.name!r}: `{command}` printed none of {missing}:\n{text[-800:]}")
    for key, pattern in example.capture.items():
        match = re.search(pattern, text, re.MULTILINE)
        if not match:
            raise ExampleFailed(f"example {example.name!r}: no {key} in its output ({pattern})")
        values[key] = match.group(1)
    for key, pattern in example.find.items():
        found = sorted(work.glob(pattern))
        if not found:
            raise ExampleFailed(f"example {example.name!r}: nothing matches {pattern} after it ran")
        values[key] = found[0].relative_to(work).as_posix()
    print(f"  {example.name}: ok ({seconds:.1f} s)", file=sys.stderr)
    return f"$ {command}\n{text.rstrip()}\n"


def run_examples(examples, *, work: Path, write: bool, fast: bool = False, only: str | None = None) -> list[str]:
    """Run the examples in order; return their names. Raises ExampleFailed at the first failure."""
    todo = [e for e in order(examples, only) if e.fast or not fast]
    values, names = {}, []
    for e in todo:
        text = run_one(e, work, values)
        if write and e.shown:
            OUT.mkdir(exist_ok=True)
            (OUT / f"{e.name}.txt").write_text(text)
        if write:
            for src, dst in e.copy.items():
                shutil.copyfile(work / src.format(**values), DOCS / dst)
            for page, dst in e.screenshot.items():
                (DOCS / dst).write_bytes(screenshot(work / page.format(**values)))
        names.append(e.name)
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the examples fast enough for CI")
    parser.add_argument("--check", action="store_true", help="run them, write nothing")
    parser.add_argument("--only", help="one example (and those it needs)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mpt-examples-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            names = run_examples(EXAMPLES, work=work, write=not args.check, fast=args.fast, only=args.only)
        except ExampleFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"{len(names)} example(s) ran: {', '.join(names)}" + ("" if args.check else f"; outputs in {OUT}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
