"""Leave-one-subject-out training (METHOD.md section 3): ``run_loso`` into a run folder (``runs.py``).

Per fold: a fresh model (seeded with ``seed + fold index``), Adam on the trainable parameters
only, cross-entropy, a fixed number of epochs, then one evaluation of the **last** epoch on the
held-out subject. Nothing is selected by looking at the test subject. Optionally (``final``) one
more model on every clip, seeded with ``seed + number of folds``, with the same settings and epoch
count: the model ``mpt predict`` applies by default; it has no test set and is never in the metrics.

The cache is opened once (``ClipSource``, or ``FlowSource`` for a baseline network). ``run_loso`` returns the run folder; the caller writes
the report (``train/report.py``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mpt_core.device import resolve_device
from mpt_core.model.baseline import is_handcrafted

from .data import ClipSource, open_source
from .foldbatch import fold_batch_refusal
from .au import THRESHOLD, positive_weights
from .folds import Fold, select_folds
from .protocols import plan_protocol, qualified_subjects
from .runs import FINAL, RunFolder, make_config, rng_state, set_rng_state
from .settings import TrainSettings
from .step import predict, resolve_precision
from .trainers import FoldBatch, OneFold, auto_fold_batch


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; the message names the fold and the step."""


# helpers

def final_fold(n_clips: int, n_folds: int) -> Fold:
    """The final model's "fold": every clip trains, none is held out; seeded after the LOSO folds."""
    return Fold(n_folds, FINAL, np.arange(n_clips), np.arange(0))


def fold_subjects(fold: Fold, source: ClipSource, test: ClipSource) -> tuple[list[str], list[str]]:
    """The subjects a fold trained on and was tested on; across two caches (the cross protocol) each
    with its corpus (``casme2/sub01``), so the lists compare across corpora."""
    if test is source:
        return sorted(set(source.subjects[fold.train].tolist())), sorted(set(source.subjects[fold.test].tolist()))
    train = qualified_subjects(source.subjects[fold.train], source.index.sources[fold.train])
    tested = qualified_subjects(test.subjects[fold.test], test.index.sources[fold.test])
    return sorted(set(train.tolist())), sorted(set(tested.tolist()))


def fold_record(fold: Fold, source: ClipSource, settings: TrainSettings, *, probs, losses, seconds,
                eval_seconds, counts, fold_batch: int, test_source: ClipSource | None = None) -> dict:
    test = test_source or source
    labels = test.labels[fold.test]
    if test.multilabel:  # AU detection: each AU present where its probability reaches the threshold
        preds = (probs >= THRESHOLD).long() if len(probs) else torch.zeros(0, len(test.classes), dtype=torch.long)
        positives = (source.labels[fold.train] == 1).sum(0).astype(int).tolist()
        extra, accuracy = {"train_positives": dict(zip(test.classes, positives))}, None
    else:
        preds = probs.argmax(1) if len(probs) else torch.zeros(0, dtype=torch.long)
        extra, accuracy = {}, float((preds.numpy() == labels).mean()) if len(labels) else None
    train_subjects, test_subjects = fold_subjects(fold, source, test)
    return {
        "subject": fold.subject, "index": fold.index, "epochs": settings.epochs,
        "clips": test.clips[fold.test].tolist(), "rows": fold.test.tolist(),
        "labels": labels.tolist(), "predictions": preds.tolist(), "probabilities": probs.tolist(),
        "accuracy": accuracy, **extra,
        "train_subjects": train_subjects, "test_subjects": test_subjects,
        "loss_curve": losses, "train_clips": len(fold.train), "test_clips": len(fold.test),
        "seconds": {"train": seconds, "eval": eval_seconds},
        "train_clips_per_s": len(fold.train) * settings.epochs / seconds if seconds else None,
        "parameters": counts, "precision": settings.precision, "fold_batch": fold_batch,
    }


def save_fold_weights(run: RunFolder, fold: Fold, model, settings: TrainSettings, record: dict) -> None:
    from mpt_core.model import save_checkpoint

    save_checkpoint(run.weights_path(fold.name), model, fold=fold.index, subject=fold.subject,
                    epochs=settings.epochs, accuracy=record["accuracy"], precision=settings.precision,
                    final=fold.subject == FINAL)


def evaluate_fold(model, fold: Fold, source: ClipSource, settings: TrainSettings) -> tuple[torch.Tensor, float]:
    t0 = time.perf_counter()
    batches = [predict(model, b.image, b.motion, settings.precision, source.multilabel).cpu()
               for b in source.batches(fold.test, settings.eval_batch_size)]
    probs = torch.cat(batches) if batches else torch.zeros(0, len(source.classes))
    return probs, time.perf_counter() - t0


def non_finite(fold: Fold, n_folds: int, loss: float, epoch: int, step: int, steps_per_epoch: int) -> NonFiniteLoss:
    return NonFiniteLoss(f"fold {fold.index + 1}/{n_folds} (index {fold.index}, subject {fold.subject}): "
                         f"loss is {loss} at epoch {epoch + 1}, step {step + 1} (global step "
                         f"{epoch * steps_per_epoch + step + 1}); try a lower --lr")


# the loop: one group of folds (one fold is a group of one)

def train_group(folds: list[Fold], source: ClipSource, *, settings: TrainSettings, model_settings, weights,
                device: torch.device, run: RunFolder, n_folds: int, start: int = 0,
                progress: bool = True, test_source: ClipSource | None = None) -> list[dict]:
    """Train ``folds`` together from epoch ``start`` (each resumes from its partial checkpoint, which
    must be at ``start``), then evaluate each on its held-out subject; returns their records.

    Each fold keeps its own seed (``seed + fold index``), shuffles, flips, steps per epoch, weights and
    Adam state, whether it trains alone (``OneFold``) or with others over one shared frozen backbone
    (``FoldBatch``: at step j fold f contributes its own j-th batch; a fold whose epoch has no batch
    left takes no step). Folds resumed from different epochs are never grouped (``fold_groups``).
    ``test_source``: the cache the folds' test rows index (the cross protocol), else ``source``.
    """
    N = len(folds)
    trainer = (OneFold if N == 1 else FoldBatch)(model_settings, weights, [settings.seed + f.index for f in folds],
                                                 device, settings.lr, settings.optimizer, settings.weight_decay)
    gens = [torch.Generator().manual_seed(settings.seed + f.index) for f in folds]  # shuffles and flips
    counts = trainer.counts
    if N == 1:
        print(f"{_label(folds[0], n_folds)} train {len(folds[0].train)} clips, test "
              f"{len(folds[0].test)} | trainable params: {counts['trainable']:,} || all params: {counts['total']:,} "
              f"|| trainable%: {100 * counts['trainable'] / counts['total']:.4f}", flush=True)
    losses, seconds = [[] for _ in folds], [0.0] * N
    for i, fold in enumerate(folds):
        ck = run.load_partial(fold.name)
        if ck is None:
            fit_inputs(trainer.model(i), source, fold, settings.eval_batch_size)
        else:
            if ck["epoch"] != start:
                raise ValueError(f"{run.partial_path(fold.name)}: at epoch {ck['epoch']}, the group resumes at {start}")
            trainer.load(i, ck, run.partial_path(fold.name))
            set_rng_state(ck["rng"], gens[i])
            losses[i], seconds[i] = ck["losses"], ck["seconds"]
    if N > 1:
        print(f"folds {', '.join(f.subject for f in folds)} trained together (fold batch of {N}) | trainable params "
              f"per fold: {counts['trainable']:,} || all params: {counts['total']:,}"
              + (f" | resuming after epoch {start}" if start else ""), flush=True)
    elif start:
        print(f"  resuming {folds[0].subject} after epoch {start}", flush=True)

    pos_weights = None  # AU detection: each fold's AU weights from its own training clips
    if source.multilabel:
        pos_weights = [torch.from_numpy(positive_weights(source.labels[f.train])).to(device) for f in folds]
    steps = [math.ceil(len(f.train) / settings.batch_size) for f in folds]
    name = f"fold {folds[0].subject}" if N == 1 else f"folds {folds[0].subject}..{folds[-1].subject}"
    bar = Bar(name, settings.epochs * max(steps), start * max(steps), progress)
    for epoch in range(start, settings.epochs):
        t0 = time.perf_counter()
        iters = [iter(source.batches(f.train[torch.randperm(len(f.train), generator=g).numpy()], settings.batch_size))
                 for f, g in zip(folds, gens)]
        totals, seen = [0.0] * N, [0] * N
        for step in range(max(steps)):
            images, motions, labels, rows = [None] * N, [None] * N, [None] * N, [0] * N
            for i, it in enumerate(iters):
                b = next(it, None) if step < steps[i] else None
                if b is not None:
                    images[i], motions[i], labels[i], rows[i] = b.image, b.motion, b.label, len(b.rows)
                    if settings.flip:
                        images[i], motions[i], _ = source.hflip(b.image, b.motion, gens[i])
            loss = trainer.step(images, motions, labels, rows, settings.precision, pos_weights)
            for i, n in enumerate(rows):
                if n and not math.isfinite(loss[i]):
                    bar.close()
                    raise non_finite(folds[i], n_folds, loss[i], epoch, step, steps[i])
                totals[i] += loss[i] * n
                seen[i] += n
            bar.advance(sum(loss[i] for i in range(N) if rows[i]) / max(1, sum(1 for n in rows if n)),
                        sum(seen) / (time.perf_counter() - t0), epoch + 1, settings.epochs)
        wall = time.perf_counter() - t0
        for i, fold in enumerate(folds):
            losses[i].append(totals[i] / seen[i])
            seconds[i] += wall / N  # a group's wall time, shared
            run.save_partial(fold.name, {"epoch": epoch + 1, **trainer.state(i), "rng": rng_state(gens[i]),
                                         "losses": losses[i], "seconds": seconds[i]})
    bar.close()

    records = []
    for i, fold in enumerate(folds):
        model = trainer.model(i)
        probs, eval_seconds = evaluate_fold(model, fold, test_source or source, settings)
        record = fold_record(fold, source, settings, probs=probs, losses=losses[i], seconds=seconds[i],
                             eval_seconds=eval_seconds, counts=counts, fold_batch=N, test_source=test_source)
        save_fold_weights(run, fold, model, settings, record)
        run.finish(fold.name, record)  # written last: marks the fold as done
        records.append(record)
    return records


def fit_inputs(model, source: ClipSource, fold: Fold, batch_size: int) -> None:
    """A model that standardises its inputs (a baseline network: ``fit_inputs``) takes its statistics from
    the fold's training clips only, before its first step; a resumed fold has them in its checkpoint."""
    fit = getattr(model, "fit_inputs", None)
    if fit is not None:
        fit(torch.cat([b.image for b in source.batches(fold.train, batch_size)]))


def _label(fold: Fold, n_folds: int) -> str:
    if fold.subject == FINAL:
        return "final model (every clip)"
    return f"fold {fold.index + 1}/{n_folds} [{fold.subject}]"


class Bar:
    """A rich progress bar with loss and clips/s (silent when ``enabled`` is False)."""

    def __init__(self, name: str, total: int, completed: int, enabled: bool):
        self.p = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("epoch {task.fields[epoch]} loss {task.fields[loss]} {task.fields[rate]} clips/s"),
                          TimeRemainingColumn(), transient=False)
        self.p.start()
        self.task = self.p.add_task(name, total=total, completed=completed, epoch="-", loss="-", rate="-")

    def advance(self, loss: float, rate: float, epoch: int, epochs: int) -> None:
        if self.p:
            self.p.update(self.task, advance=1, loss=f"{loss:.4f}", rate=f"{rate:.1f}", epoch=f"{epoch}/{epochs}")

    def close(self) -> None:
        if self.p:
            self.p.stop()
            self.p = None


def fold_groups(todo: list[Fold], run: RunFolder, settings: TrainSettings, model_settings,
                device) -> list[tuple[int, list[Fold]]]:
    """The folds to train, in groups trained together (``--fold-batch``), each with the epoch it resumes
    from: groups of up to N folds that resume from the same epoch; groups of one when N is 1 or the
    variant trains the backbone."""
    n = settings.fold_batch
    refusal = fold_batch_refusal(model_settings) if n != 1 else None
    if refusal:
        print(f"{refusal}, so the folds are trained one by one (--fold-batch ignored)", flush=True)
        n = 1
    if n == 0:
        n = auto_fold_batch(model_settings, settings.batch_size, len(todo), device)
        print(f"--fold-batch auto: {n} fold(s) at a time", flush=True)
    by_start: dict[int, list[Fold]] = {}
    for f in todo:
        by_start.setdefault((run.load_partial(f.name) or {}).get("epoch", 0), []).append(f)
    if n == 1:  # in the folds' own order, each from its own epoch
        return [(next(s for s, g in by_start.items() if f in g), [f]) for f in todo]
    return [(start, group[i:i + n]) for start, group in sorted(by_start.items()) for i in range(0, len(group), n)]


# the run

def run_loso(cache, *, train_settings: TrainSettings, model_settings, out, folds="all", weights=None,
             resume: bool = False, progress: bool = True, final: bool = False, final_only: bool = False,
             protocol: str = "loso", test_cache=None, class_map=None, task: str = "emotion", aus=None) -> Path:
    """Train and evaluate the chosen folds of ``cache`` into the run folder ``out``; with ``final`` (or
    ``final_only``, which skips the folds) also the model on every clip.

    ``protocol`` (``train/protocols.py``): ``loso`` (a fold per subject), ``lodo`` (a fold per part of a
    composite cache) or ``cross`` (train on every clip of ``cache``, test on every clip of ``test_cache``,
    classes matched through ``class_map``). ``task``: ``emotion`` (the cache's classes) or ``au`` (one
    output per AU of ``aus``, from the clips' AU strings). ``model_settings.num_classes`` and ``frames``
    are taken from the cache and the task. Finished folds of a resumed run are not recomputed; an
    unfinished one continues from its last saved epoch. Returns the run folder (the caller writes the report).
    """
    run = RunFolder(out)
    created = not run.path.exists()
    run.lock()  # a second mpt train into the same folder stops here
    try:
        device = resolve_device(train_settings.device)
        source = open_source(cache, model_settings, device, train_settings)
        test_source = None
        if test_cache is not None:
            test_source = open_source(test_cache, model_settings, device, train_settings)
        if protocol == "cross" and (final or final_only):
            raise ValueError("--final: the cross protocol's one model already trains on every clip of --cache "
                             "(its weights are the fold's); drop --final")
        plan = plan_protocol(source, test_source, protocol=protocol, task=task, aus=aus, class_map=class_map)
        meta = source.meta
        model_settings = replace(model_settings, num_classes=len(plan.classes), frames=meta.frames)
        train_settings = replace(train_settings, precision=resolve_precision(train_settings.precision, device))
        all_folds = plan.folds
        chosen = [] if final_only else select_folds(all_folds, folds)  # a bad --fold fails before any file
        if final or final_only:
            every = final_fold(len(source), len(all_folds))
            chosen.append(replace(every, train=every.train[plan.keep[every.train]]))
        config = {**make_config(meta, train_settings, model_settings, weights, folds=not final_only,
                                final=final or final_only), **plan.config, "classes": list(plan.classes),
                  "n_eval_clips": int(sum(len(f.test) for f in all_folds))}
        run.start(config, resume=resume)
        for note in plan.notes:
            print(note if note.startswith("warning: ") else f"note: {note}", flush=True)
        if is_handcrafted(model_settings):  # features + a linear classifier, fitted per fold (train/handcrafted.py)
            fit_handcrafted(run, source, train_settings, model_settings, chosen, len(all_folds), test_source)
        else:
            _train(run, source, train_settings, model_settings, weights, device, chosen, len(all_folds), progress,
                   test_source, protocol)
    except BaseException:
        run.unlock()
        if created and not run.config_path.exists():  # failed before writing anything: leave no folder
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    run.unlock()
    return run.path


def _unfinished(chosen, run, n_folds) -> list:
    """The chosen folds the run has not finished; a finished one is said and skipped."""
    todo = []
    for fold in chosen:
        if run.is_done(fold.name):
            print(f"{_label(fold, n_folds)} already done, skipped", flush=True)
        else:
            todo.append(fold)
    return todo


def fit_handcrafted(run, source, settings, model_settings, chosen, n_folds, test_source) -> None:
    """The hand-crafted baselines: each unfinished fold fitted on its training clips, scored once on its
    test subject, recorded like a network's fold (its epochs field is 1: one fit)."""
    from .handcrafted import FeatureFits

    todo = _unfinished(chosen, run, n_folds)
    fits = FeatureFits(source, model_settings, test_source) if todo else None
    for fold in todo:
        fit = fits.fit(fold, settings.seed + fold.index)
        record = fold_record(fold, source, settings, probs=fit["probs"], losses=[], seconds=fit["seconds"],
                             eval_seconds=fit["eval_seconds"], counts=fit["counts"], fold_batch=1,
                             test_source=test_source)
        record["features"] = fit["features"]
        fits.save(run, fold, fit)
        run.finish(fold.name, record)  # written last: marks the fold as done
        acc = record["accuracy"]
        print(f"{_label(fold, n_folds)} train {len(fold.train)} clips, test {len(fold.test)}"
              + (f": accuracy {100 * acc:.1f} %" if acc is not None else ""), flush=True)


def _train(run, source, train_settings, model_settings, weights, device, chosen, n_folds, progress, test_source,
           protocol):
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(train_settings.deterministic, warn_only=True)
    try:
        mode = "resident on the device" if source.resident else "streamed from disk"
        unit = "subjects" if protocol == "loso" else f"{protocol} fold{'s' if n_folds > 1 else ''}"
        what = (f"backbone {model_settings.backbone} {'weights ' + str(weights) if weights else 'RANDOM (no --weights given)'}"
                if model_settings.model == "mpt" else f"model {model_settings.model}")
        print(f"cache {source.meta.path} ({source.meta.n_clips} clips, {n_folds} {unit}, "
              f"{source.nbytes / 1e9:.2f} GB, {mode}); device {device}, {train_settings.precision}; "
              f"{len(chosen)} model(s) to train; {what}", flush=True)
        todo = _unfinished(chosen, run, n_folds)
        for start, group in fold_groups(todo, run, train_settings, model_settings, device):
            train_group(group, source, settings=train_settings, model_settings=model_settings, weights=weights,
                        device=device, run=run, n_folds=n_folds, start=start, progress=progress,
                        test_source=test_source)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
