"""The project's rule for bad input, as the CLI tests check it: exit 1, one line on stderr that starts
with ``error: ``, no traceback."""


def one_error_line(result, *needles, quiet: bool = False) -> str:
    """The error line of a CliRunner ``result``, after checking the rule; each of ``needles`` must be in
    it. ``quiet``: nothing on stdout either."""
    assert result.exit_code == 1, result.output
    if quiet:
        assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
