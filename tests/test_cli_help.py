"""Every command's --help: a one-line summary, an example, the documentation page that exists, and (for a
command with more than ten options) every option in a named panel."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

import mpt.cli as cli
from mpt.cli.help import DOCS, HELP, commands

GROUP = typer.main.get_command(cli.app)
LEAVES = dict(commands(GROUP))


def test_every_command_has_an_example_and_a_page():
    assert set(LEAVES) == set(HELP), f"without help: {set(LEAVES) - set(HELP)}; stale: {set(HELP) - set(LEAVES)}"
    for path, (example, page) in HELP.items():
        assert example.startswith("mpt " + path.replace(" run", "")), (path, example)
        assert (DOCS / page).is_file(), f"{path}: docs/{page} does not exist"


@pytest.mark.parametrize("path", sorted(HELP))
def test_help_shows_summary_example_and_page(path):
    out = CliRunner().invoke(cli.app, [*path.split(), "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    example, page = HELP[path]
    assert "Example: " + example in text
    assert f"docs/{page}" in text
    summary = LEAVES[path].help.strip().split("\n\n")[0]
    assert "\n" not in summary and len(summary) <= 110, f"{path}: the first paragraph is not one line: {summary!r}"


@pytest.mark.parametrize("path", sorted(p for p, c in LEAVES.items()
                                        if sum(x.param_type_name == "option" for x in c.params) > 11))
def test_long_option_lists_are_grouped(path):
    options = [p for p in LEAVES[path].params if p.param_type_name == "option" and p.opts[0] != "--help"]
    loose = [p.opts[0] for p in options if not getattr(p, "rich_help_panel", None)]
    assert loose == [], f"{path}: options in no panel (add them to mpt/cli/help.py PANELS): {loose}"
    assert len({p.rich_help_panel for p in options}) >= 2
