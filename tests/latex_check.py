"""Check a LaTeX table fragment: compile it when pdflatex exists, else check its structure (always)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

_UNESCAPED = re.compile(r"(?<!\\)[%#_]")


def _strip_comments(line: str) -> str:
    return "" if line.lstrip().startswith("%") else line


def check_fragment(tex: str) -> list[list[str]]:
    """Assert booktabs structure of every ``table`` in ``tex``; return the header and body rows (cells)
    of all tabulars, in order (group rows with \\multicolumn are checked, not returned)."""
    lines = [_strip_comments(line) for line in tex.splitlines()]
    body = "\n".join(lines)
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", body):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} does not close the open environment"
    assert not stack, f"unclosed environments: {stack}"
    depth = 0
    for i, c in enumerate(body):
        if c in "{}" and (i == 0 or body[i - 1] != "\\"):
            depth += 1 if c == "{" else -1
            assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    rows_out = []
    for block in re.findall(r"\\begin\{tabular\}\{([lrc]+)\}(.*?)\\end\{tabular\}", body, flags=re.S):
        spec, inner = block
        width = len(spec)
        inner_lines = [line.strip() for line in inner.strip().splitlines() if line.strip()]
        rules = [line for line in inner_lines if line in (r"\toprule", r"\midrule", r"\bottomrule")]
        assert rules == [r"\toprule", r"\midrule", r"\bottomrule"], f"booktabs rules out of order: {rules}"
        assert inner_lines[0] == r"\toprule" and inner_lines[-1] == r"\bottomrule"
        for line in inner_lines:
            if line in rules or line.startswith(r"\cmidrule"):
                continue
            assert line.endswith(r"\\"), f"row does not end with \\\\: {line}"
            cells = [c.strip() for c in re.split(r"(?<!\\)&", line[:-2])]
            spans = sum(int(m.group(1)) if (m := re.match(r"\\multicolumn\{(\d+)\}", c)) else 1 for c in cells)
            assert spans == width, f"{spans} columns in a {width}-column tabular: {line}"
            for c in cells:
                assert not _UNESCAPED.search(c), f"unescaped special character in {c!r}"
            if not any(c.startswith(r"\multicolumn") for c in cells):
                rows_out.append(cells)
    assert rows_out, "no tabular found"
    assert r"\caption{" in body
    return rows_out


def compile_if_possible(tex: str) -> bool:
    """Compile ``tex`` as a fragment in an article with booktabs; returns False when no pdflatex exists."""
    exe = shutil.which("pdflatex")
    if exe is None:
        return False
    doc = "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + tex + "\n\\end{document}\n"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.tex").write_text(doc)
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:]
    return True
