"""From a spec to the work: distinct caches, distinct (configuration, seed) runs, and what is done.

Every table row is a configuration; configurations are deduplicated across tables by their settings
(the base MPT row of five tables is one configuration), and each is trained once per seed. A cache
is needed per distinct preprocessing (PreprocessSettings, classes, face, strict, dataset). Runs live
in ``OUT/runs/<id>``: the id names the values that differ from the spec's base (``alpha0-mpt-seed1``)
and ends in a hash of every setting that changes results, so an id never names two configurations,
and an existing folder ending in the same hash is reused even if the base (hence the readable part)
changed. Which cache file a cache job produced is recorded in ``OUT/caches.json`` by the sweep
driver, so a dry run can say what exists without reading the dataset.

A run is done when its ``results.json`` covers every clip of its cache (every fold finished); a run
with a ``config.json`` and no complete results is resumed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from mpt_core.cache import CacheError, read_cache_meta
from mpt_core.clip import PreprocessSettings
from mpt_core.fileio import atomic_write

from .spec import Config, SweepSpec

DONE, RESUME, NEW = "done", "resume", "new"  # run states
EXISTS, BUILD, UNNEEDED = "exists", "build", "not needed"  # cache states


@dataclass(frozen=True)
class CacheJob:
    key: str  # 12 hex of what the cache is made from (not the cache file's own key)
    dataset: str
    root: Path
    annotations: Path | None
    settings: PreprocessSettings  # or FlowSettings: the flow cache of the baselines
    classes: tuple | None
    face: str | None
    strict: bool
    cache_dir: Path
    jobs: int | None

    def build_kwargs(self) -> dict:
        """The keyword arguments of ``preprocess.pipeline.build_cache``."""
        return dict(name=self.dataset, root=self.root, annotations=self.annotations, settings=self.settings,
                    cache_dir=self.cache_dir, jobs=self.jobs, strict=self.strict,
                    classes=list(self.classes) if self.classes else None, face=self.face)

    @property
    def kind(self) -> str:
        return "clip" if isinstance(self.settings, PreprocessSettings) else "flow"

    def describe(self) -> str:
        default = type(self.settings)()
        changed = {k: v for k, v in self.settings.to_dict().items() if v != default.to_dict()[k]}
        parts = [f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in changed.items()]
        parts = (["flow cache"] if self.kind == "flow" else []) + parts
        parts += [f"{k} {v}" for k, v in (("classes", self.classes), ("face", self.face)) if v]
        return f"{self.dataset}: {', '.join(parts) or 'default settings'} [{self.key}]"


@dataclass(frozen=True)
class RunJob:
    id: str
    cache: str  # CacheJob.key
    config: Config
    seed: int
    folder: Path
    state: str  # DONE, RESUME or NEW


@dataclass(frozen=True)
class Plan:
    spec: SweepSpec
    out: Path
    caches: dict  # key -> CacheJob
    cache_files: dict  # key -> recorded cache file (or None)
    cache_states: dict  # key -> EXISTS, BUILD or UNNEEDED
    runs: dict  # id -> RunJob
    rows: tuple  # per table: per row: tuple of run ids (empty for a skipped row)

    def todo(self) -> list:
        return [r for r in self.runs.values() if r.state != DONE]

    def to_build(self) -> list:
        return [self.caches[k] for k, s in self.cache_states.items() if s == BUILD]

    def needed_caches(self) -> list:
        return [self.caches[k] for k, s in self.cache_states.items() if s != UNNEEDED]


# identities

def _digest(obj, n: int) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def _jsonable(value):
    return str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value


def cache_settings(config: Config):
    """What the configuration's cache is built with: its ``PreprocessSettings`` for MPT; the default
    ``FlowSettings`` (the flow cache) for a baseline (``model_input``)."""
    from mpt_core.flow_cache import FlowSettings
    from mpt_core.model.baseline import model_input

    return config.preprocess if model_input(config.model)[0] == "clip" else FlowSettings()


def cache_identity(spec: SweepSpec, config: Config) -> dict:
    settings = cache_settings(config)
    kind = {} if isinstance(settings, PreprocessSettings) else {"kind": "flow"}
    return {"dataset": spec.dataset, "root": str(spec.root), "annotations": _jsonable(spec.annotations),
            "settings": settings.to_dict(), "classes": _jsonable(config.classes), "face": config.face,
            "strict": config.strict, **kind}


def run_identity(spec: SweepSpec, config: Config, seed: int) -> dict:
    return {"data": {"dataset": spec.dataset, "root": str(spec.root), "annotations": _jsonable(spec.annotations)},
            "settings": {k: _jsonable(v) for k, v in config.flat().items()}, "seed": seed}


def _token(key: str, value) -> str:
    if key in ("variant", "model"):
        return str(value)
    if isinstance(value, bool):
        return key if value else f"no_{key}"
    if isinstance(value, Path):
        return f"{key}-{value.name.split('.')[0]}"
    if isinstance(value, (int, float)):
        return f"{key}{value:g}"
    if isinstance(value, tuple):
        return f"{key}-{'+'.join(map(str, value))}"
    return f"{key}-{value}"


def readable_id(config: Config, base: Config, seed: int, digest: str) -> str:
    """``alpha0-mpt-seed1-<hash>``: the values that differ from the base, the variant, the seed."""
    ours, theirs = config.flat(), base.flat()
    tokens = [_token(k, v) for k, v in ours.items() if k == "variant" or theirs.get(k) != v]
    text = re.sub(r"[^A-Za-z0-9._+-]+", "_", "-".join(tokens + [f"seed{seed}"]))[:100]
    return f"{text}-{digest}"


# states

def run_state(folder: Path) -> str:
    results, config = folder / "results.json", folder / "config.json"
    if results.is_file() and config.is_file():
        try:
            config = json.loads(config.read_text())
            if json.loads(results.read_text())["clips"] == config.get("n_eval_clips", config["n_clips"]):
                return DONE
        except (ValueError, KeyError):
            pass  # a foreign or torn file: resume, which rewrites results.json
    return RESUME if config.is_file() else NEW


def read_cache_record(out: Path) -> dict:
    path = out / "caches.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError as err:
        raise ValueError(f"{path}: unreadable ({err}); delete it (caches are found again when rebuilt)") from None


def record_cache(out: Path, key: str, path: Path) -> None:
    """Note which cache file a cache job gave (called by the sweep driver only, never by tasks)."""
    record = read_cache_record(out)
    record[key] = str(path)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "caches.json", lambda p: p.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))


def _valid_cache(path: str | None, job: CacheJob) -> bool:
    if not path:
        return False
    try:
        meta = read_cache_meta(path, job.kind)
    except (CacheError, OSError, ValueError):
        return False
    return meta.settings == job.settings.to_dict()


# the plan

def plan_sweep(spec: SweepSpec, out) -> Plan:
    out = Path(out)
    runs_dir = out / "runs"
    existing = {p.name.rsplit("-", 1)[-1]: p for p in runs_dir.iterdir() if p.is_dir()} if runs_dir.is_dir() else {}
    caches, runs, rows = {}, {}, []
    for table in spec.tables:
        table_rows = []
        for row in table.rows:
            if row.config is None:
                table_rows.append(())
                continue
            key = _digest(cache_identity(spec, row.config), 12)
            c = row.config
            caches.setdefault(key, CacheJob(key, spec.dataset, spec.root, spec.annotations, cache_settings(c),
                                            c.classes, c.face, c.strict, spec.cache_dir, spec.jobs))
            ids = []
            for seed in spec.seeds:
                digest = _digest(run_identity(spec, row.config, seed), 8)
                folder = existing.get(digest) or runs_dir / readable_id(row.config, spec.base, seed, digest)
                if folder.name not in runs:
                    runs[folder.name] = RunJob(folder.name, key, row.config, seed, folder, run_state(folder))
                ids.append(folder.name)
            table_rows.append(tuple(ids))
        rows.append(tuple(table_rows))
    record = read_cache_record(out)
    files = {k: record.get(k) for k in caches}
    needed = {r.cache for r in runs.values() if r.state != DONE}
    states = {k: EXISTS if _valid_cache(files[k], job) else BUILD if k in needed else UNNEEDED
              for k, job in caches.items()}
    return Plan(spec=spec, out=out, caches=caches, cache_files=files, cache_states=states, runs=runs,
                rows=tuple(rows))


def describe_plan(plan: Plan) -> str:
    """The dry-run text: caches and runs, and which exist."""
    lines = [f"sweep {plan.spec.source} -> {plan.out}",
             f"caches: {len(plan.caches)} distinct ({sum(s == BUILD for s in plan.cache_states.values())} to build, "
             f"{sum(s == EXISTS for s in plan.cache_states.values())} exist)"]
    for key, job in plan.caches.items():
        state = plan.cache_states[key]
        where = f" {plan.cache_files[key]}" if state == EXISTS else ""
        lines.append(f"  [{state}] {job.describe()}{where}")
    counts = {s: sum(r.state == s for r in plan.runs.values()) for s in (NEW, RESUME, DONE)}
    seeds = len(plan.spec.seeds)
    lines.append(f"runs: {len(plan.runs)} ({len(plan.runs) // seeds} configurations x {seeds} seeds): "
                 f"{counts[NEW]} to train, {counts[RESUME]} to resume, {counts[DONE]} done")
    for run in plan.runs.values():
        lines.append(f"  [{run.state}] {run.id}")
    if not plan.spec.root.is_dir():
        lines.append(f"warning: root {plan.spec.root} is not a folder; the caches cannot be built from it")
    return "\n".join(lines)
