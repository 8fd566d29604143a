"""Composites of any corpora: one cache over several datasets, their classes met through a class map.

``mpt preprocess composite --parts casme2,samm,smic,casme3 --classes 3class`` reads each part with
its own reader (any name in ``readers.READERS`` except megc2019, itself a composite with an official
clip list), keeps the clips whose class the map gathers, and writes one cache. Subjects are prefixed
with their part (``casme2/sub01``, ``casme3/spNO.1``), so LOSO folds never merge two corpora's
subjects and the cache's ``source`` column records each clip's corpus, as for MEGC2019.

Where the parts live: ``--root`` holds one folder per part, named after it (``root/casme2``), or a
parts file (TOML) names them::

    classes = "3class"                  # optional; --classes wins

    [casme2]
    root = "/data/CASME2"               # relative paths are relative to the parts file
    annotations = "/data/CASME2/CASME2-coding-20190701.xlsx"   # optional, as for the part's reader
    classes = ["disgust", "repression", "happiness", "surprise"]  # optional: the reader's selection

    [casme3]
    root = "/data/casme3"
    max_seconds = 10                    # casme3 only

A part's reader is asked for every emotion of its corpus that the map gathers (a reader that
declares no ``EMOTIONS``/``CLASSES`` is read with its default selection, and clips of classes the
map does not gather are left out, counted in a warning). Whole-frame parts (CAS(ME)^3, raw CASME II
or SMIC) get face alignment (``--landmarks``, ``--track`` as for one corpus), cropped parts do not, unless
``--face`` says otherwise for all.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from mpt_core.classmap import ClassMap, ClassMapError, load_class_map

from .records import DatasetError, DatasetIndex

COMPOSITE = "composite"
NOT_PARTS = {"megc2019": "megc2019 is a composite with an official clip list; list its parts (casme2,samm,smic)"}
PART_KEYS = ("root", "annotations", "classes", "max_seconds")


@dataclass(frozen=True)
class Part:
    name: str  # a reader's name
    root: Path
    annotations: Path | None = None
    classes: tuple[str, ...] | None = None  # the reader's selection; None: every emotion the map gathers
    max_seconds: float | None = None


# helpers


def _readers() -> dict:
    from .readers import READERS

    return READERS


def _declared_labels(name: str) -> tuple[str, ...] | None:
    """Every label the part's reader can give (its module's EMOTIONS, else CLASSES), if it declares them."""
    module = sys.modules[_readers()[name].__module__]
    return getattr(module, "EMOTIONS", None) or getattr(module, "CLASSES", None)


def parse_parts(text: str) -> list[str]:
    """``"casme2,samm"`` -> names, checked against the readers (distinct, not megc2019)."""
    names = [p.strip().lower() for p in str(text).split(",") if p.strip()]
    known = [n for n in _readers() if n not in NOT_PARTS]
    for n in names:
        if n in NOT_PARTS:
            raise DatasetError(f"composite: part {n!r}: {NOT_PARTS[n]}")
        if n not in known:
            raise DatasetError(f"composite: unknown part {n!r}: choose among {', '.join(known)}")
    if len(names) < 2 or len(set(names)) != len(names):
        raise DatasetError(f"composite: --parts {text!r}: name at least two distinct corpora")
    return names


def read_parts_file(path: Path) -> tuple[dict[str, dict], str | None]:
    """{part: its table} and the file's ``classes`` (or None) from a parts TOML file."""
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{path}: unreadable parts file ({' '.join(str(err).split())})") from None
    classes = data.pop("classes", None)
    if classes is not None and not isinstance(classes, str):
        raise DatasetError(f"{path}: classes must be a class map name or file, got {classes!r}")
    out = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise DatasetError(f"{path}: {name!r} must be a table [{name}] with root (and annotations, classes)")
        unknown = sorted(set(table) - set(PART_KEYS))
        if unknown:
            raise DatasetError(f"{path}: [{name}]: unknown key(s) {', '.join(unknown)} (known: {', '.join(PART_KEYS)})")
        resolved = dict(table)
        for key in ("root", "annotations"):
            if key in resolved:
                if not isinstance(resolved[key], str):
                    raise DatasetError(f"{path}: [{name}] {key} must be a path, got {resolved[key]!r}")
                resolved[key] = (path.parent / resolved[key]).resolve()
        out[name.lower()] = resolved
    return out, classes


def resolve_parts(names: list[str], root: Path | None, tables: dict[str, dict]) -> list[Part]:
    """One ``Part`` per name: its table in the parts file, else ``root/<name>``."""
    extra = sorted(set(tables) - set(names))
    if extra:
        raise DatasetError(f"composite: the parts file describes {', '.join(extra)}, not in --parts {','.join(names)}")
    parts = []
    for name in names:
        table = tables.get(name, {})
        where = table.get("root") or (Path(root) / name if root is not None else None)
        if where is None:
            raise DatasetError(f"composite: no root for part {name}: give --root (holding {name}/) or [{name}] root")
        if not Path(where).is_dir():
            raise DatasetError(f"composite: part {name}: root {where} is not a folder")
        classes = table.get("classes")
        if isinstance(classes, str):
            classes = [classes]
        parts.append(Part(name, Path(where), table.get("annotations"),
                          tuple(classes) if classes is not None else None, table.get("max_seconds")))
    return parts


# the composite index


def read_composite(parts: list[Part], class_map: str | ClassMap, *, strict: bool = False
                   ) -> tuple[DatasetIndex, dict[str, DatasetIndex]]:
    """The composite's index (dataset ``composite``, subjects prefixed with their part) and each part's own."""
    from .readers import read_dataset

    try:
        cmap = class_map if isinstance(class_map, ClassMap) else load_class_map(class_map)
    except ClassMapError as err:
        raise DatasetError(str(err)) from None
    clips, skipped, warnings, own = [], [], [], {}
    for part in parts:
        selection = part.classes
        if selection is None:
            declared = _declared_labels(part.name)
            selection = tuple(e for e in declared if cmap.target(e)) if declared else None
        else:
            unmapped = [c for c in selection if cmap.target(c) is None]
            if unmapped:
                raise DatasetError(f"composite: part {part.name}: class(es) {', '.join(unmapped)} map to nothing "
                                   f"in class map {cmap.name} (its classes: {', '.join(cmap.classes)})")
        index = read_dataset(part.name, part.root, part.annotations, strict=strict,
                             classes=list(selection) if selection else None, max_seconds=part.max_seconds)
        own[part.name] = index
        left_out: Counter[str] = Counter()
        for c in index.clips:
            target = cmap.target(c.label)
            if target is None:
                left_out[c.label] += 1
                continue
            clips.append(replace(c, dataset=COMPOSITE, subject=f"{part.name}/{c.subject}", label=target,
                                 label_index=cmap.classes.index(target)))
        skipped += [replace(p, clip=f"{part.name}/{p.clip}") for p in index.skipped]
        warnings += [f"{part.name}: {w}" for w in index.warnings]
        if left_out:
            per = ", ".join(f"{k} {v}" for k, v in left_out.most_common())
            warnings.append(f"{part.name}: {sum(left_out.values())} clip(s) of classes class map {cmap.name} does not "
                            f"gather, left out: {per}")
    return DatasetIndex(COMPOSITE, cmap.classes, clips, skipped, warnings), own


def part_table(index: DatasetIndex, names: list[str], class_map) -> str:
    """What each part gives: clips, subjects and clips per class."""
    name = class_map.name if isinstance(class_map, ClassMap) else class_map
    lines = [f"composite of {', '.join(names)}; classes {', '.join(index.classes)} (class map {name}):"]
    for part in names:
        mine = [c for c in index.clips if c.subject.split("/", 1)[0] == part]
        per = Counter(c.label for c in mine)
        lines.append(f"  {part}: {len(mine)} clips, {len({c.subject for c in mine})} subjects ("
                     + ", ".join(f"{c} {per[c]}" for c in index.classes) + ")")
    return "\n".join(lines)


def build_composite_cache(parts: list[Part], class_map: str, *, settings, cache_dir="cache", jobs=None,
                          strict: bool = False, force: bool = False, progress: bool = True,
                          face: str | None = None, landmarks: str = "68", track: bool = False) -> Path:
    """Read every part, then write (or reuse) the composite's cache; returns its path."""
    from mpt_core.fileio import file_sha256
    from mpt_core.names import FACE_MODES

    from .identity import input_identity
    from .pipeline import build_cache_from_index

    from .face.align import FaceOptions

    if face is not None and face not in FACE_MODES:
        raise ValueError(f"face mode {face!r}: choose one of {', '.join(FACE_MODES)}")
    index, own = read_composite(parts, class_map, strict=strict)
    print(part_table(index, [p.name for p in parts], class_map), file=sys.stderr, flush=True)
    faces = {p.name: FaceOptions(method=face or ("auto" if own[p.name].whole_frames else "none"), landmarks=landmarks,
                                 track=track and own[p.name].whole_frames) for p in parts}
    identity = input_identity(index, strict=strict)
    identity["class_map"] = load_class_map(class_map).to_dict()
    identity["parts"] = [
        {"name": p.name, "root": str(p.root.resolve()),
         "annotations": None if p.annotations is None else {"path": str(Path(p.annotations).resolve()),
                                                           "sha256": file_sha256(p.annotations)},
         "face": faces[p.name].identity()}
        for p in parts
    ]
    return build_cache_from_index(index, settings=settings, cache_dir=cache_dir, jobs=jobs, strict=strict,
                                  force=force, progress=progress, identity=identity, face=faces)


__all__ = ["COMPOSITE", "Part", "build_composite_cache", "parse_parts", "read_composite",
           "read_parts_file", "resolve_parts"]
