"""The sweep spec: base settings plus tables of settings to vary, in TOML (``mpt sweep SPEC.toml``).

    [data]         dataset, root, annotations (optional), cache_dir (default "cache")
    [preprocess]   base preprocessing: any PreprocessSettings field, classes, face, strict; jobs
    [train]        base training: any TrainSettings or ModelSettings field, weights, no_flip; seeds;
                   protocol (loso, lodo, cross), test_cache (a cache path: the cross protocol), class_map,
                   task (emotion, au), aus (for task au)
    [[table]]      name; either vary = {key = [values], ...} (the product of the lists) or
                   rows = [{key = value, ...}, ...] (one row each); optional header (the title of
                   the row column), reference (the caption of reference figures given per row), note.
                   A row of ``rows`` may also hold label, note, skip (a reason: the row is shown
                   but not run) and reference = {acc, f1, params_m}.

Keys are the ``mpt preprocess`` / ``mpt train`` option names with ``-`` written ``_`` (``img_size``,
``fold_batch = "auto"``, ``no_flip``) or the settings' field names (``prompts`` is K, ``reduction`` is
r, ``flip``). A table row may set any preprocessing or training key except the ones that change
speed but not results (``device``, ``fold_batch``, ...: those belong in ``[train]``). Relative paths
are taken from the current directory, as the commands take them. ``weights = ""`` means no weights
file (a random backbone); variants that train a random backbone (``no-pretrain``) drop the weights.

tomllib gives no positions, so every error (unknown key, bad value, bad combination) is a
``SpecError`` naming the spec file and the key's line (``lines.py``). Values are validated by
building the settings dataclasses, which raise on bad types and ranges.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from mpt_core.clip import PreprocessSettings
from mpt_core.model import VARIANT_SPECS, ModelSettings
from mpt_core.names import DATASETS, FACE_MODES, PROTOCOLS, TASKS
from train.runs import ADDED_DEFAULTS, RESUMABLE_CHANGES
from train.settings import TrainSettings

from .lines import find_line, key_lines

PREPROCESS_KEYS = tuple(f.name for f in fields(PreprocessSettings))
CACHE_KEYS = ("classes", "face", "strict")  # preprocessing keys that are not PreprocessSettings fields
MODEL_KEYS = tuple(f.name for f in fields(ModelSettings) if f.name not in ("num_classes", "frames"))  # from the cache
TRAIN_KEYS = tuple(f.name for f in fields(TrainSettings) if f.name != "seed")  # seeds: [train] seeds
SPEED_KEYS = tuple(sorted(RESUMABLE_CHANGES))  # change how fast a run goes, not its numbers
# how a run is evaluated and what it learns (mpt train --protocol, --test-cache, --class-map, --task, --aus)
RUN_DEFAULTS = {"protocol": "loso", "test_cache": None, "class_map": None, "task": "emotion", "aus": None}
RUN_KEYS = tuple(RUN_DEFAULTS)
# settings added after sweeps existed (model: MPT or a baseline; the optimiser of the baselines' recipes):
# left out of a configuration's identity at their defaults, so earlier sweeps keep their run ids
LATER_DEFAULTS = ADDED_DEFAULTS
SETTING_KEYS = PREPROCESS_KEYS + CACHE_KEYS + MODEL_KEYS + TRAIN_KEYS + ("weights",) + RUN_KEYS
ALIASES = {"no_flip": "flip"}  # mpt train --no-flip
SECTION_KEYS = {
    "data": ("dataset", "root", "annotations", "cache_dir"),
    "preprocess": PREPROCESS_KEYS + CACHE_KEYS + ("jobs",),
    "train": MODEL_KEYS + TRAIN_KEYS + ("weights", "no_flip", "seeds", "seed") + RUN_KEYS,
    "table": ("name", "vary", "rows", "header", "reference", "note", "compare"),
}
ROW_KEYS = ("label", "note", "skip", "reference")
REFERENCE_KEYS = ("acc", "f1", "params_m")


class SpecError(ValueError):
    """A sweep spec that cannot be run; the message names the file and line."""


@dataclass(frozen=True)
class Config:
    """Every setting of one configuration (a table row), the seed aside."""

    preprocess: PreprocessSettings
    classes: tuple | None
    face: str | None
    strict: bool
    model: ModelSettings
    train: TrainSettings
    weights: Path | None
    run: dict = field(default_factory=lambda: dict(RUN_DEFAULTS))  # RUN_KEYS -> value

    def flat(self) -> dict:
        """key -> value of every setting that changes results, in a fixed order (for ids and dedupe). The
        run keys appear only where they differ from their defaults, so earlier sweeps keep their ids."""
        train = {k: v for k, v in self.train.to_dict().items() if k not in SPEED_KEYS and k != "seed"
                 and not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k])}
        model = {k: getattr(self.model, k) for k in MODEL_KEYS
                 if not (k in LATER_DEFAULTS and getattr(self.model, k) == LATER_DEFAULTS[k])}
        run = {k: v for k, v in self.run.items() if v != RUN_DEFAULTS[k]}
        return {**self.preprocess.to_dict(), "classes": self.classes, "face": self.face, "strict": self.strict,
                **model, **train, "weights": self.weights, **run}


@dataclass(frozen=True)
class Row:
    label: str
    values: dict  # canonical key -> value: the settings this row gives (the base gives the rest)
    config: Config | None  # None for a skipped row
    skip: str | None = None
    note: str | None = None
    reference: dict | None = None  # {"acc", "f1", "params_m"}: figures to show beside the row


@dataclass(frozen=True)
class Table:
    name: str
    header: str  # the label column's title
    rows: tuple
    reference: str | None = None
    note: str | None = None
    compare: bool = False  # a comparison table: each row also says its input and GMACs per clip


@dataclass(frozen=True)
class SweepSpec:
    source: str
    dataset: str
    root: Path
    annotations: Path | None
    cache_dir: Path
    base: Config
    seeds: tuple
    jobs: int | None
    tables: tuple
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    def where(self, section: str, *path, occurrence: int = 0) -> str:
        line = find_line(self.lines, section, occurrence, *path)
        return f"{self.source}:{line}" if line else self.source


# helpers

def make_config(values: dict) -> Config:
    """Canonical key -> value (keys of SETTING_KEYS) to a Config; raises ValueError on a bad value."""
    def pick(keys):
        return {k: values[k] for k in keys if k in values}

    model = ModelSettings(**pick(MODEL_KEYS))
    _check_backbone(model.backbone)
    weights = values.get("weights")
    if not VARIANT_SPECS[model.variant].pretrained or model.model != "mpt":
        weights = None  # that variant (or a baseline) trains from scratch and refuses a weights file
    run = {**RUN_DEFAULTS, **pick(RUN_KEYS)}
    if run["test_cache"] is not None and "protocol" not in values:
        run["protocol"] = "cross"
    if (run["protocol"] == "cross") != (run["test_cache"] is not None):
        raise ValueError("protocol cross needs test_cache (a cache path), and test_cache goes with protocol cross")
    if run["class_map"] is not None and (run["protocol"] != "cross" or run["task"] != "emotion"):
        raise ValueError("class_map applies to protocol cross with task emotion")
    if run["aus"] is not None and run["task"] != "au":
        raise ValueError("aus applies to task au")
    return Config(preprocess=PreprocessSettings(**pick(PREPROCESS_KEYS)), classes=values.get("classes"),
                  face=values.get("face"), strict=values.get("strict", False), model=model,
                  train=TrainSettings(**pick(TRAIN_KEYS)), weights=weights, run=run)


def _check_backbone(name: str) -> None:
    from mpt_core.compat import import_timm

    if not import_timm().is_model(name):
        raise ValueError(f"backbone {name!r} is not a timm model name")


def _normalise(key: str, value):
    """One spec value to its canonical key and value (the dataclasses check the rest)."""
    if key == "no_flip":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return "flip", not value
    if key == "fold_batch" and value == "auto":
        return key, 0
    if key == "classes":
        if isinstance(value, str):
            value = [c.strip() for c in value.split(",") if c.strip()]
        if not (isinstance(value, list) and value and all(isinstance(c, str) for c in value)):
            raise ValueError(f"must be a list of class names or a comma-separated string, got {value!r}")
        return key, tuple(value)
    if key == "face" and value not in FACE_MODES:
        raise ValueError(f"must be one of {', '.join(FACE_MODES)}, got {value!r}")
    if key == "strict" and not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    if key == "protocol" and value not in PROTOCOLS:
        raise ValueError(f"must be one of {', '.join(PROTOCOLS)}, got {value!r}")
    if key == "task" and value not in TASKS:
        raise ValueError(f"must be one of {', '.join(TASKS)}, got {value!r}")
    if key == "aus":
        from mpt_core.aus import parse_au_list

        if isinstance(value, list) and all(isinstance(a, int) and not isinstance(a, bool) for a in value):
            value = ",".join(map(str, value))
        if not isinstance(value, str):
            raise ValueError(f"must be a list of AU numbers or a string such as \"1,2,4\", got {value!r}")
        return key, parse_au_list(value)
    if key in ("test_cache", "class_map"):
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be a {'file path' if key == 'test_cache' else 'preset name or file path'} "
                             f"(a string), got {value!r}")
        from mpt_core.classmap import PRESETS

        if key == "class_map" and value in PRESETS:
            return key, value
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"{value}: no such file")
        return key, path
    if key == "weights":
        if not isinstance(value, str):
            raise ValueError(f"must be a file path (a string), got {value!r}")
        if value == "":
            return key, None
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"{value}: no such file")
        return key, path
    return key, value


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# the parser

class _Reader:
    def __init__(self, text: str, source: str):
        self.source = source
        try:
            self.doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{source}: not valid TOML: {err}") from None
        self.lines = key_lines(text)

    def error(self, section: str, occurrence: int, path: tuple, message: str) -> SpecError:
        line = find_line(self.lines, section, occurrence, *path)
        where = f"{self.source}:{line}" if line else self.source
        name = f"[[{section}]] {occurrence + 1}" if section == "table" else f"[{section}]"
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return SpecError(f"{where}: {name}{' ' + key if key else ''}: {message}")

    def section(self, name: str, occurrence: int = 0, body=None) -> dict:
        body = self.doc.get(name, {}) if body is None else body
        if not isinstance(body, dict):
            raise self.error(name, occurrence, (), "must be a table")
        for key in body:
            if key not in SECTION_KEYS[name]:
                home = [s for s, keys in SECTION_KEYS.items() if key in keys and s != "table"]
                hint = (f"{key} belongs in [{home[0]}]" if home else
                        f"[{name}] keys are: {', '.join(SECTION_KEYS[name])}")
                raise self.error(name, occurrence, (key,), f"unknown key; {hint}")
        return body

    def settings(self, items: list, base: dict, locate) -> dict:
        """[(key, value)] over ``base`` -> canonical values. When the whole set is invalid, the key
        blamed is the first one whose addition makes it invalid."""
        values, canon = dict(base), []
        for key, value in items:
            try:
                name, value = _normalise(key, value)
            except ValueError as err:
                raise locate(key, str(err)) from None
            values[name] = value
            canon.append((key, name, value))
        try:
            make_config(values)
            return values
        except ValueError as err:
            trial, blame, why = dict(base), items[-1][0] if items else None, err
            for key, name, value in canon:
                trial[name] = value
                try:
                    make_config(trial)
                except ValueError as first:
                    # the whole set's message has the real values; name the first key that breaks it
                    blame, why = key, err if name in str(err) else first
                    break
            raise locate(blame, " ".join(str(why).split())) from None


def parse_spec(text: str, *, source: str = "spec.toml") -> SweepSpec:
    """Parse and validate a spec text (see the module docstring); raises SpecError naming the line."""
    r = _Reader(text, source)
    for name in r.doc:
        if name not in SECTION_KEYS:
            raise r.error(name, 0, (), "unknown section; sections are: [data], [preprocess], [train], [[table]]")
    data = r.section("data")
    for key in ("dataset", "root"):
        if key not in data:
            raise r.error("data", 0, (), f"missing key {key!r}")
    if data["dataset"] not in DATASETS:
        raise r.error("data", 0, ("dataset",), f"{data['dataset']!r} is not one of {', '.join(DATASETS)}")
    for key in ("root", "annotations", "cache_dir"):
        if key in data and not isinstance(data[key], str):
            raise r.error("data", 0, (key,), f"must be a path (a string), got {data[key]!r}")

    pre, train = r.section("preprocess"), r.section("train")
    jobs = pre.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise r.error("preprocess", 0, ("jobs",), f"must be a whole number >= 1, got {jobs!r}")
    seeds = _seeds(r, train)
    base = r.settings([(k, v) for k, v in pre.items() if k != "jobs"], {},
                      lambda k, msg: r.error("preprocess", 0, (k,), msg))
    base = r.settings([(k, v) for k, v in train.items() if k not in ("seeds", "seed")], base,
                      lambda k, msg: r.error("train", 0, (k,), msg))
    tables = r.doc.get("table", [])
    if not isinstance(tables, list) or not tables:
        raise r.error("", 0, (), "no [[table]]: add at least one table of settings to vary")
    return SweepSpec(
        source=source, dataset=data["dataset"], root=Path(data["root"]).expanduser().resolve(),
        annotations=Path(data["annotations"]).expanduser().resolve() if "annotations" in data else None,
        cache_dir=Path(data.get("cache_dir", "cache")).expanduser().resolve(), base=make_config(base),
        seeds=seeds, jobs=jobs, tables=tuple(_table(r, i, t, base) for i, t in enumerate(tables)), lines=r.lines,
    )  # fmt: skip


def load_spec(path) -> SweepSpec:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError(f"{path}: cannot read the sweep spec: {err.strerror or err}") from None
    return parse_spec(text, source=str(path))


def _seeds(r: _Reader, train: dict) -> tuple:
    if "seeds" in train and "seed" in train:
        raise r.error("train", 0, ("seed",), "give seeds = [...] or seed = N, not both")
    seeds = train.get("seeds", [train.get("seed", 0)])
    key = "seeds" if "seeds" in train else "seed"
    if not (isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise r.error("train", 0, (key,), f"must be whole numbers (seeds = [0, 1, 2]), got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise r.error("train", 0, (key,), f"repeats a seed: {seeds}")
    return tuple(seeds)


def _check_row_key(r: _Reader, i: int, path: tuple, key: str) -> None:
    if key in SPEED_KEYS or key in ("jobs", "seeds", "seed"):
        raise r.error("table", i, path, f"{key} cannot vary between rows (it changes speed or is set once); "
                      "set it in [preprocess] or [train]")
    if key not in SETTING_KEYS and key not in ALIASES:
        raise r.error("table", i, path, f"unknown setting; use a preprocessing or training key "
                      f"({', '.join(PREPROCESS_KEYS + CACHE_KEYS + MODEL_KEYS)}, weights, epochs, lr, ...)")


def _table(r: _Reader, i: int, body, base: dict) -> Table:
    body = r.section("table", i, body)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise r.error("table", i, ("name",) if "name" in body else (), "needs a name = \"...\"")
    if ("vary" in body) == ("rows" in body):
        raise r.error("table", i, (), "give either vary = {key = [values]} or rows = [{key = value}, ...]")
    for key in ("header", "reference", "note"):
        if key in body and not isinstance(body[key], str):
            raise r.error("table", i, (key,), "must be a string")
    rows = _vary_rows(r, i, body["vary"], base) if "vary" in body else _explicit_rows(r, i, body["rows"], base)
    header = body.get("header") or (" x ".join(body["vary"]) if "vary" in body else "row")
    compare = body.get("compare", False)
    if not isinstance(compare, bool):
        raise r.error("table", i, ("compare",), "must be true or false")
    return Table(name=name, header=header, rows=tuple(rows), reference=body.get("reference"), note=body.get("note"),
                 compare=compare)


def _vary_rows(r: _Reader, i: int, vary, base: dict) -> list:
    if not isinstance(vary, dict) or not vary:
        raise r.error("table", i, ("vary",), "must be an inline table of lists: vary = {alpha = [0, 20]}")
    for key, values in vary.items():
        _check_row_key(r, i, ("vary", key), key)
        if not isinstance(values, list) or not values:
            raise r.error("table", i, ("vary", key), f"must be a non-empty list of values, got {values!r}")
    rows = []
    for combo in itertools.product(*vary.values()):
        items = list(zip(vary, combo))
        values = r.settings(items, base, lambda k, msg: r.error("table", i, ("vary", k), msg))
        label = ", ".join(_fmt(v) for v in combo)
        rows.append(Row(label=label, values={k: values[ALIASES.get(k, k)] for k in vary}, config=make_config(values)))
    return rows


def _explicit_rows(r: _Reader, i: int, rows, base: dict) -> list:
    if not isinstance(rows, list) or not rows or not all(isinstance(x, dict) for x in rows):
        raise r.error("table", i, ("rows",), "must be a list of inline tables: rows = [{variant = \"mpt\"}, ...]")
    out = []
    for j, row in enumerate(rows):
        for key in ROW_KEYS:
            if key in row and key != "reference" and not isinstance(row[key], str):
                raise r.error("table", i, ("rows", j, key), f"must be a string, got {row[key]!r}")
        reference = _reference(r, i, j, row.get("reference"))
        items = [(k, v) for k, v in row.items() if k not in ROW_KEYS]
        for key, _ in items:
            _check_row_key(r, i, ("rows", j, key), key)
        values = r.settings(items, base, lambda k, msg: r.error("table", i, ("rows", j, k), msg))
        label = row.get("label") or (", ".join(f"{k}={_fmt(v)}" for k, v in items) or "base")
        skip = row.get("skip")
        given = {ALIASES.get(k, k): values[ALIASES.get(k, k)] for k, _ in items}
        out.append(Row(label=label, values=given, config=None if skip else make_config(values), skip=skip,
                       note=row.get("note"), reference=reference))
    return out


def _reference(r: _Reader, i: int, j: int, ref) -> dict | None:
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise r.error("table", i, ("rows", j, "reference"), "must be {acc = .., f1 = .., params_m = ..}")
    for key, value in ref.items():
        if key not in REFERENCE_KEYS:
            raise r.error("table", i, ("rows", j, "reference", key), f"unknown key; use {', '.join(REFERENCE_KEYS)}")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise r.error("table", i, ("rows", j, "reference", key), f"must be a number, got {value!r}")
    return {k: float(v) for k, v in ref.items()}
