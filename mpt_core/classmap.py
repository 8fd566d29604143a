"""Class maps: how the class names of different corpora meet in one set of classes.

Used where two corpora must agree on their classes: a composite cache built from several corpora
(``mpt preprocess composite``) and the cross-dataset protocol (``mpt train --test-cache``). A map
is a preset name (``3class``: negative, positive, surprise, as in MEGC 2019) or a file, TOML or
JSON::

    ignore = ["others", "other"]        # names deliberately left out (optional)

    [classes]                           # target class = the names it gathers, in label order
    negative = ["disgust", "repression", "anger", "contempt", "fear", "sadness", "sad"]
    positive = ["happiness", "happy"]
    surprise = ["surprise"]

Names are compared in lower case. A target class also gathers its own name (a cache whose classes
already are negative/positive/surprise maps onto itself). A name claimed by two targets, or both
claimed and ignored, is an error; a name the map does not know maps to nothing (``None``), and the
caller decides whether that is an error (a test cache's class) or a clip left out (a composite part).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# MEGC 2019's three classes over every corpus's emotion names (CASME II, SAMM, SMIC, CAS(ME)^3 spellings).
# Unlike MEGC 2019's official list, CASME II's sadness and fear count as negative here (that list left
# them out); `mpt preprocess megc2019` keeps the official list, and a composite part can narrow its
# reader's selection (`classes` in the parts file).
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "3class": {
        "negative": ("anger", "contempt", "disgust", "fear", "repression", "sad", "sadness"),
        "positive": ("happiness", "happy"),
        "surprise": ("surprise",),
    },
}


class ClassMapError(ValueError):
    """A class map that cannot be used; the message names it and why."""


@dataclass(frozen=True)
class ClassMap:
    name: str  # the preset's name or the file's path
    classes: tuple[str, ...]  # target classes, in label-index order
    members: dict[str, str] = field(default_factory=dict)  # source name (lower case) -> target class
    ignore: tuple[str, ...] = ()

    def target(self, name: str) -> str | None:
        """The target class of a source class name, or None (unknown or ignored)."""
        return self.members.get(str(name).strip().lower())

    def ignored(self, name: str) -> bool:
        return str(name).strip().lower() in self.ignore

    def to_dict(self) -> dict:
        """What results.json records."""
        gathered = {c: sorted(s for s, t in self.members.items() if t == c) for c in self.classes}
        return {"name": self.name, "classes": list(self.classes), "members": gathered, "ignore": list(self.ignore)}


def build_class_map(name: str, classes: dict, ignore=()) -> ClassMap:
    """A ``ClassMap`` from {target: [source names]}; ClassMapError naming ``name`` when inconsistent."""
    if not isinstance(classes, dict) or not classes:
        raise ClassMapError(f"class map {name}: no classes (expected a [classes] table: target = [names])")
    members: dict[str, str] = {}
    targets = []
    for target, sources in classes.items():
        t = str(target).strip().lower()
        if not t or t in targets:
            raise ClassMapError(f"class map {name}: target class {target!r} empty or given twice")
        if isinstance(sources, str) or not all(isinstance(s, str) for s in sources):
            raise ClassMapError(f"class map {name}: class {target!r} must list names, got {sources!r}")
        targets.append(t)
        for s in sources:
            s = s.strip().lower()
            if members.get(s, t) != t:
                raise ClassMapError(f"class map {name}: {s!r} is claimed by both {members[s]!r} and {t!r}")
            members[s] = t
    for t in targets:
        if members.setdefault(t, t) != t:
            raise ClassMapError(f"class map {name}: target class {t!r} is also gathered by {members[t]!r}")
    if isinstance(ignore, str) or not all(isinstance(s, str) for s in ignore):
        raise ClassMapError(f"class map {name}: ignore must be a list of names, got {ignore!r}")
    ignored = tuple(s.strip().lower() for s in ignore)
    both = [s for s in ignored if s in members]
    if both:
        raise ClassMapError(f"class map {name}: {', '.join(both)} both mapped and ignored")
    return ClassMap(name, tuple(targets), members, ignored)


def load_class_map(spec: str | Path) -> ClassMap:
    """A preset name (see ``PRESETS``) or a .toml/.json file; ClassMapError when unusable."""
    text = str(spec)
    if text in PRESETS:
        return build_class_map(text, {k: list(v) for k, v in PRESETS[text].items()})
    path = Path(text)
    if not path.is_file():
        raise ClassMapError(f"class map {text!r}: neither a preset ({', '.join(PRESETS)}) nor a file")
    try:
        raw = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import tomllib

            data = tomllib.loads(raw)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ClassMapError(f"class map {path}: unreadable ({' '.join(str(err).split())})") from None
    if not isinstance(data, dict):
        raise ClassMapError(f"class map {path}: expected a table with classes (and ignore)")
    unknown = sorted(set(data) - {"classes", "ignore"})
    if unknown:
        raise ClassMapError(f"class map {path}: unknown key(s) {', '.join(unknown)} (known: classes, ignore)")
    return build_class_map(str(path), data.get("classes"), data.get("ignore", ()))
