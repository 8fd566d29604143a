"""The documentation site: it builds with ``mkdocs build --strict``, its pages render in headless Chromium with
the navigation, the search index and the API reference, the method page is METHOD.md, the README stays short
and keeps its two commands, and the example commands the pages include still run."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from browser import blank_fraction, require_chromium, visit

REPO = Path(__file__).resolve().parents[1]
METHOD = REPO.parent / "shared" / "spec" / "METHOD.md"
sys.path.insert(0, str(REPO / "docs"))
import examples  # noqa: E402  (docs/examples.py)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip("mkdocs / mkdocstrings not installed (they come with the `test` extra: pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=REPO,
                          capture_output=True, text=True, env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


def test_site_has_every_nav_page_and_a_search_index(site):
    index = json.loads((site / "search" / "search_index.json").read_text())
    locations = {d["location"].split("#")[0] for d in index["docs"]}
    for page in ("getting-started/", "guide/training/", "guide/spotting/", "corpora/casme2/", "formats/",
                 "method/", "reference/mpt_core/"):
        assert (site / page / "index.html").is_file(), page
        assert page in locations, f"{page} is not in the search index"
    # the API reference is generated from docstrings: a known function and its docstring's words are there
    api = (site / "reference" / "mpt_core" / "index.html").read_text()
    assert "rank_pool" in api and "doc-function" in api


@pytest.mark.parametrize("page, words", [
    ("", ("Motion Prompt Tuning", "Getting started")),
    ("guide/training/", ("mpt train", "Guide")),
    ("reference/train/", ("train.loop", "API reference")),
])
def test_pages_render_in_chromium_without_errors(served, page, words):
    require_chromium()
    v = visit(served + page)
    assert v.errors == [], f"{page}: the page logged errors: {v.errors}"
    outside = [u for u in v.requests if not u.startswith((served, "data:", "blob:"))]
    assert outside == [], f"{page} requested {outside}"
    assert blank_fraction(v.screenshot) < 0.97
    assert 'class="md-nav' in v.dom and 'md-search' in v.dom, "no navigation or search box"
    text = " ".join(v.text.split())
    assert all(w in text for w in words), [w for w in words if w not in text]


def test_method_page_is_method_md():
    if not METHOD.is_file():
        pytest.skip(f"{METHOD} not found (the shared folder sits beside the repository)")
    page = (REPO / "docs" / "method.md").read_text()
    body = METHOD.read_text().split("\n", 1)[1]  # the spec's own title is replaced by the page's
    assert page.endswith(body), "docs/method.md differs from ../shared/spec/METHOD.md: copy it again"


def test_readme_is_short_and_keeps_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 210
    ci = (REPO / ".ci" / "run").read_text()
    test_command = 'python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 torchvision==0.28.0 -e ".[test]"'
    assert test_command in readme and test_command in ci
    assert ".venv/bin/pip install torch==2.13.0 torchvision==0.28.0 -e . && .venv/bin/mpt demo" in readme


def test_every_page_include_exists():
    """Every ``--8<--`` include names an examples file the script writes (or another existing file)."""
    names = {e.name for e in examples.EXAMPLES if e.shown}
    for page in (REPO / "docs").rglob("*.md"):
        for line in page.read_text().splitlines():
            if line.strip().startswith("--8<--"):
                target = line.split('"')[1]
                if target.startswith("examples/"):
                    assert Path(target).stem in names, f"{page}: {target} is not made by docs/examples.py"
                    assert (REPO / "docs" / target).is_file(), f"{page}: {target} missing: run docs/examples.py"
                else:
                    assert (REPO / target).is_file(), f"{page}: {target} missing"


def test_fast_examples_run(tmp_path):
    """What the pages show still runs: every fast example exits 0 and prints its expected words."""
    ran = examples.run_examples(examples.EXAMPLES, work=tmp_path, write=False, fast=True)
    assert {"synth", "preprocess", "train", "predict", "spot-dataset"} <= set(ran)


def test_a_broken_example_fails(tmp_path):
    broken = examples.Example("broken", ("train", "--cache", "missing.h5", "--out", "runs/x"), expect=("UF1",))
    with pytest.raises(examples.ExampleFailed, match=r"example 'broken'.*exited 1"):
        examples.run_examples([broken], work=tmp_path, write=False)
    wrong_words = examples.Example("words", ("--help",), expect=("no such words anywhere",))
    with pytest.raises(examples.ExampleFailed, match="printed none of"):
        examples.run_examples([wrong_words], work=tmp_path, write=False)
    proc = subprocess.run([sys.executable, str(REPO / "docs" / "examples.py"), "--only", "model-info", "--check",
                           "--work", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
