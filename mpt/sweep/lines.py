"""Where each key sits in a TOML text, so that a spec error can name its line.

``tomllib`` returns values without positions. ``key_lines`` scans the text once (strings, comments,
inline tables and arrays, ``[section]`` and ``[[array.of.tables]]`` headers) and records the line of
every key under its path: ``("table", 1, "vary", "alpha")`` is the ``alpha`` key of the inline table
``vary`` in the second ``[[table]]``; ``("table", 0, "rows", 2, "variant")`` is the ``variant`` of the
third inline table in the array ``rows``. Sections are keyed by name and occurrence (``[data]`` is
``("data", 0)``); keys before any header belong to ``("", 0)``.
"""

from __future__ import annotations

import re

_BARE = r"[A-Za-z0-9_-]+"
_PART = rf"(?:{_BARE}|\"[^\"\n]*\"|'[^'\n]*')"
_KEY = re.compile(rf"({_PART}(?:[ \t]*\.[ \t]*{_PART})*)[ \t]*=")
_HEADER = re.compile(rf"(\[\[?)[ \t]*({_PART}(?:[ \t]*\.[ \t]*{_PART})*)[ \t]*\]\]?")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(_PART, dotted))


def _skip_string(text: str, i: int) -> int:
    """Index just after the string literal starting at ``i``."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3)
        return len(text) if end < 0 else end + 3
    j = i + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return j + 1


def key_lines(text: str) -> dict[tuple, int]:
    """``(section, occurrence, *key path) -> 1-based line`` for every header and key of ``text``."""
    out: dict[tuple, int] = {("", 0): 1}
    seen: dict[str, int] = {}
    section: tuple = ("", 0)
    stack: list[dict] = []  # open inline tables / arrays: {"kind", "path", "index"}
    expect_key, pending, i, line = True, (), 0, 1
    while i < len(text):
        c = text[i]
        if c == "\n":
            line, i = line + 1, i + 1
            expect_key = expect_key or not stack
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if not stack and expect_key and c == "[":
            m = _HEADER.match(text, i)
            if m:
                name = ".".join(_parts(m.group(2)))
                section = (name, seen.get(name, 0))
                seen[name] = section[1] + 1
                out[section] = line
                i = m.end()
                continue
        if expect_key:
            m = _KEY.match(text, i)
            expect_key = False
            if m:
                prefix = stack[-1]["path"] if stack else ()
                pending = prefix + _parts(m.group(1))
                out[section + pending] = line
                i = m.end()
                continue
        if c in "\"'":
            end = _skip_string(text, i)
            line += text.count("\n", i, end)
            i = end
            continue
        if c == "{":
            top = stack[-1] if stack else None
            path = top["path"] + (top["index"],) if top and top["kind"] == "array" else pending
            stack.append({"kind": "table", "path": path, "index": 0})
            out.setdefault(section + path, line)
            expect_key = True
        elif c == "[":
            top = stack[-1] if stack else None
            path = top["path"] + (top["index"],) if top and top["kind"] == "array" else pending
            stack.append({"kind": "array", "path": path, "index": 0})
        elif c in "}]" and stack:
            stack.pop()
        elif c == "," and stack:
            if stack[-1]["kind"] == "table":
                expect_key = True
            else:
                stack[-1]["index"] += 1
        i += 1
    return out


def find_line(lines: dict[tuple, int], section: str, occurrence: int = 0, *path) -> int | None:
    """The line of ``path`` in the section, or of its nearest enclosing key, or of the section header."""
    for n in range(len(path), -1, -1):
        hit = lines.get((section, occurrence) + tuple(path[:n]))
        if hit is not None:
            return hit
    return None
