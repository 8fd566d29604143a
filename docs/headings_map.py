"""Where each section of the long README (before the documentation site) lives now.

    python docs/headings_map.py [REV]      # REV: the commit whose README to read (default 3c77ca2, the last long one)

Prints one line per heading of that README: the heading, then the page under docs/ (or README.md) holding a
heading of the same text, or the renamed one listed in RENAMED. Exits 1 if a section has no home.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LONG_README = "3c77ca2"
RENAMED = {  # old heading -> (page, new heading)
    "Commands": ("docs/getting-started.md", "Your first real corpus"),
    "CAS(ME)³ Part A": ("docs/corpora/casme3.md", "CAS(ME)³ Part A"),
    "Layout": ("docs/layout.md", "Layout"),
    "Errors": ("docs/guide/errors.md", "Errors, output paths and locks"),  # and a short section in the README
}


def headings(text: str) -> list[str]:
    out, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"#{1,6} (.+)", line)):
            out.append(m.group(1).strip())
    return out


def homes() -> dict[str, str]:
    found = {}
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        for h in headings(path.read_text()):
            found.setdefault(h, path.relative_to(REPO).as_posix())
    return found


def main(argv=None) -> int:
    rev = (argv or sys.argv[1:] or [LONG_README])[0]
    old = subprocess.run(["git", "show", f"{rev}:README.md"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    where, missing = homes(), []
    for h in headings(old):
        if h in RENAMED:
            page, new = RENAMED[h]
            ok = new in headings((REPO / page).read_text())
            line = f"{h}  ->  {page} ({new!r})"
        else:
            ok = h in where
            line = f"{h}  ->  {where.get(h, 'MISSING')}"
        print(line)
        if not ok:
            missing.append(h)
    if missing:
        print(f"error: {len(missing)} section(s) of the old README have no page: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
