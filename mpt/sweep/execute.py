"""Carry out a sweep plan: build the caches, then train the runs, locally or as Ray tasks.

Both executors call the same two task functions. A task writes only into its own cache (the cache
build is atomic and holds an inter-process lock, so two tasks that need one cache build it once)
or its own run folder (``run_loso`` locks it and resumes it), plus its own log file
``OUT/logs/<id>.log``; ``OUT/caches.json``, ``OUT/results.json`` and ``OUT/tables.md`` are written by
the driver alone. So a killed sweep, or a retried Ray task, leaves nothing half-written, and the
next sweep reuses every finished cache and run and resumes the unfinished ones.

Ray (imported only here, only when asked for): ``ray=True`` starts a local cluster
(``ray.init(num_cpus=...)``), ``ray_address`` joins a running one (``ray.init(address=...)``, as for
a Slurm allocation). A cache build is a task with as many CPUs as its preprocessing jobs; a run is
a task with one GPU when the cluster has GPUs (and the run's device is not "cpu"), else one CPU,
and depends on its cache's task. Workers import this package: on a cluster of several machines,
every node needs the same environment (the usual case on a Slurm cluster's shared file system).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from mpt.outputs import claimed_folder

from .plan import BUILD, EXISTS, CacheJob, Plan, RunJob, plan_sweep, record_cache
from .spec import SpecError, SweepSpec
from .tables import write_tables

EXPECTED = (ValueError, OSError, RuntimeError, KeyError)  # a failed run; anything else is a bug


class SweepError(ValueError):
    """Some caches or runs of a sweep failed; the others are finished and in the tables."""


@dataclass
class SweepResult:
    plan: Plan  # as it was before this sweep ran
    built: list = field(default_factory=list)  # cache keys built by this sweep
    reused: list = field(default_factory=list)  # cache keys found complete
    trained: list = field(default_factory=list)  # run ids trained (or finished) by this sweep
    failed: dict = field(default_factory=dict)  # cache key or run id -> one-line error
    results: dict | None = None  # OUT/results.json


# the tasks (module level, so Ray workers import them by name)

@contextlib.contextmanager
def _logged(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        yield


def build_cache_task(job: CacheJob, log: Path) -> tuple[str, bool]:
    """Build (or reuse) one cache; returns its path and whether this call wrote it."""
    from preprocess.pipeline import build_cache

    start = time.time()
    with _logged(log):
        path = build_cache(**job.build_kwargs(), progress=False)
    return str(path), path.stat().st_mtime >= start


def train_task(run: RunJob, cache: str, log: Path) -> dict:
    """Train (or resume) one run and write its report; returns its pooled metrics."""
    from train.loop import run_loso
    from train.report import write_report

    start = time.perf_counter()
    with _logged(log):
        resume = (run.folder / "config.json").is_file()  # decided here, so a retried task resumes
        folder = run_loso(cache, train_settings=replace(run.config.train, seed=run.seed),
                          model_settings=run.config.model, out=run.folder, weights=run.config.weights,
                          resume=resume, progress=False, **run.config.run)
        res = write_report(folder)
    if res.get("task") == "au":
        return {"mean_f1": res["mean_f1"], "seconds": time.perf_counter() - start}
    return {"accuracy": res["accuracy"], "uf1": res["uf1"], "uar": res["uar"],
            "seconds": time.perf_counter() - start}


def _one_line(err: BaseException) -> str:
    cause = getattr(err, "cause", None)  # a Ray task error carries the task's own exception
    err = cause if isinstance(cause, BaseException) else err
    return " ".join(str(err).split()) or type(err).__name__


# progress

class _Progress:
    """One bar for the sweep (runs done / total) plus one printed line per finished run."""

    def __init__(self, total: int, enabled: bool, echo):
        self.total, self.done, self.echo, self.bar = total, 0, echo, None
        if enabled and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("{task.description}"), console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("", total=total)

    def now(self, text: str) -> None:
        if self.bar:
            self.bar.update(self.task, description=text)

    def finished(self, run_id: str, res: dict | None, error: str | None = None) -> None:
        self.done += 1
        if error:
            self.echo(f"[{self.done}/{self.total}] {run_id}: FAILED: {error}")
        else:
            figures = (f"mean AU F1 {100 * (res['mean_f1'] or 0):.2f}" if "mean_f1" in res else
                       f"Acc {100 * res['accuracy']:.2f} UF1 {100 * res['uf1']:.2f} UAR {100 * res['uar']:.2f}")
            self.echo(f"[{self.done}/{self.total}] {run_id}: {figures} ({res['seconds']:.0f} s)")
        if self.bar:
            self.bar.advance(self.task)

    def close(self) -> None:
        if self.bar:
            self.bar.stop()


# the sweep

def run_sweep(spec: SweepSpec, out, *, ray: bool = False, ray_address: str | None = None,
              ray_cpus: int | None = None, progress: bool = True, echo=print) -> SweepResult:
    """Build every needed cache and train every unfinished run of ``spec`` into ``out``, then write
    ``out/results.json`` and ``out/tables.md``. Raises SweepError (after writing the tables) if any
    cache or run failed."""
    out = Path(out)
    if plan_sweep(spec, out).to_build() and not spec.root.is_dir():
        raise SpecError(f"{spec.where('data', 'root')}: root {spec.root} is not a folder")
    with claimed_folder(out, "--out", kind="sweep", roots=[spec.root],
                        files=["results.json", "tables.md", "tables.tex", "caches.json"]):
        plan = plan_sweep(spec, out)  # again, under the lock
        result = SweepResult(plan=plan)
        todo = plan.todo()
        caches = [plan.caches[k] for k in dict.fromkeys(r.cache for r in todo)]
        echo(f"sweep: {len(plan.runs)} runs ({len(todo)} to train), {len(caches)} caches needed "
             f"({sum(plan.cache_states[c.key] == BUILD for c in caches)} to build); logs in {out / 'logs'}")
        bar = _Progress(len(todo), progress, echo)
        try:
            if ray or ray_address:
                _ray(plan, caches, todo, result, bar, address=ray_address, cpus=ray_cpus)
            else:
                _local(plan, caches, todo, result, bar)
        finally:
            bar.close()
        result.results = write_tables(plan_sweep(spec, out))
    echo(f"tables: {out / 'tables.md'}; results: {out / 'results.json'}")
    if result.failed:
        first = next(iter(result.failed.items()))
        raise SweepError(f"{len(result.failed)} cache(s)/run(s) failed, the rest is in {out / 'tables.md'}; "
                         f"first: {first[0]}: {first[1]} (see {out / 'logs'})")
    return result


def _log(plan: Plan, name: str) -> Path:
    return plan.out / "logs" / f"{name}.log"


def _cache_done(plan: Plan, job: CacheJob, path: str, wrote: bool, result: SweepResult, echo) -> None:
    record_cache(plan.out, job.key, Path(path))
    (result.built if wrote else result.reused).append(job.key)
    if wrote or plan.cache_states[job.key] != EXISTS:
        echo(f"cache {'built' if wrote else 'reused'}: {job.describe()} -> {path}")


def _local(plan: Plan, caches: list, todo: list, result: SweepResult, bar: _Progress) -> None:
    paths = {}
    for job in caches:
        bar.now(f"cache {job.key}")
        try:
            paths[job.key], wrote = build_cache_task(job, _log(plan, f"cache-{job.key}"))
            _cache_done(plan, job, paths[job.key], wrote, result, bar.echo)
        except EXPECTED as err:
            result.failed[f"cache {job.key}"] = _one_line(err)
    for run in todo:
        bar.now(run.id)
        if run.cache not in paths:
            bar.finished(run.id, None, f"its cache {run.cache} failed")
            result.failed[run.id] = f"its cache {run.cache} failed"
            continue
        try:
            res = train_task(run, paths[run.cache], _log(plan, run.id))
        except EXPECTED as err:
            result.failed[run.id] = _one_line(err)
            bar.finished(run.id, None, result.failed[run.id])
            continue
        result.trained.append(run.id)
        bar.finished(run.id, res)


def start_ray(address: str | None = None, cpus: int | None = None) -> bool:
    """Join the cluster at ``address`` or start a local one; returns whether this call connected."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    return True


def _ray(plan: Plan, caches: list, todo: list, result: SweepResult, bar: _Progress, *, address, cpus) -> None:
    import ray

    connected = start_ray(address, cpus)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        node_cpus = max(int(n["Resources"].get("CPU", 1)) for n in ray.nodes() if n.get("Alive", True))
        build, train = ray.remote(build_cache_task), ray.remote(train_task)
        pending, cache_refs = {}, {}
        for job in caches:  # two results: the path (which the runs wait for) and whether it was written
            jobs = min(job.jobs or node_cpus, node_cpus)
            path_ref, wrote_ref = build.options(num_cpus=jobs, num_returns=2).remote(
                replace(job, jobs=jobs), _log(plan, f"cache-{job.key}"))
            cache_refs[job.key] = path_ref
            pending[wrote_ref] = (job, path_ref)
        for run in todo:  # each waits for its cache's task: Ray passes the task's result (the path)
            on_gpu = gpus and run.config.train.device != "cpu"
            options = {"num_gpus": 1, "num_cpus": 1} if on_gpu else {"num_cpus": 1}
            pending[train.options(**options).remote(run, cache_refs[run.cache], _log(plan, run.id))] = run
        bar.now(f"on Ray ({'%d GPUs' % gpus if gpus else '%d CPUs' % ray.cluster_resources().get('CPU', 0)})")
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(ready[0])
            try:
                value = ray.get(ready[0])
                if isinstance(item, tuple):
                    item, value = item[0], (ray.get(item[1]), value)
            except Exception as err:  # a RayTaskError wrapping the task's exception, or a lost worker
                if isinstance(item, tuple):
                    result.failed[f"cache {item[0].key}"] = _one_line(err)
                else:
                    result.failed[item.id] = _one_line(err)
                    bar.finished(item.id, None, result.failed[item.id])
                continue
            if isinstance(item, CacheJob):
                _cache_done(plan, item, value[0], value[1], result, bar.echo)
            else:
                result.trained.append(item.id)
                bar.finished(item.id, value)
    finally:
        if connected:
            ray.shutdown()
