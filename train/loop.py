"""Leave-one-subject-out training (METHOD.md section 3): ``run_loso`` and its run folder.

Per fold: a fresh model (seeded with ``seed + fold index``), Adam on the trainable parameters
only, cross-entropy, a fixed number of epochs, then one evaluation of the **last** epoch on the
held-out subject. Nothing is selected by looking at the test subject.

Run folder::

    config.json              every setting, the cache path and its settings hash
    folds/<subject>.json     predictions, labels, probabilities, clips, loss curve, timing (= fold done)
    folds/<subject>.pt       trainable weights only (mpt_core.model.save_checkpoint)
    folds/<subject>.partial.pt  while a fold runs: trainable weights + Adam state + RNG states
                                after each epoch, so --resume continues from the last epoch
    results.json, summary.md, confusion.png, curves.png   (train/report.py)
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import torch

from mpt_core.fileio import atomic_write

from .data import ClipSource, random_hflip
from .folds import Fold, loso_folds, select_folds
from .settings import TrainSettings
from .step import predict, train_step

# Settings that change how fast a run goes but not its numbers: a resumed run may change them.
_RESUMABLE_CHANGES = {"device", "memory_budget_gb", "chunk_clips", "prefetch"}


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; the message names the fold and the step."""


# helpers

def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=1) + "\n"))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return torch.device(name)


def make_config(meta, train: TrainSettings, model_settings, weights) -> dict:
    return {
        "cache": str(Path(meta.path).resolve()),
        "cache_settings_hash": meta.settings_hash,
        "dataset": meta.dataset,
        "classes": list(meta.classes),
        "n_clips": meta.n_clips,
        "cache_settings": meta.settings,
        "train": train.to_dict(),
        "model": asdict(model_settings),
        "weights": str(Path(weights).resolve()) if weights else None,
        "torch": torch.__version__,
    }


def check_resume(old: dict, new: dict, path: Path) -> None:
    """Refuse to continue a run with another cache, other classes or other settings."""
    if old["classes"] != new["classes"]:
        raise ValueError(f"{path}: the run used classes {old['classes']}, the cache {new['cache']} "
                         f"has {new['classes']}; resume with the run's cache or use another --out")
    if old["cache_settings_hash"] != new["cache_settings_hash"]:
        raise ValueError(f"{path}: the run used a cache with settings hash {old['cache_settings_hash']}, "
                         f"{new['cache']} has {new['cache_settings_hash']}; resume with the same cache "
                         "or use another --out")
    diffs = [f"model.{k}: {old['model'].get(k)!r} -> {v!r}" for k, v in new["model"].items()
             if old["model"].get(k) != v]
    diffs += [f"train.{k}: {old['train'].get(k)!r} -> {v!r}" for k, v in new["train"].items()
              if k not in _RESUMABLE_CHANGES and old["train"].get(k) != v]
    if old.get("weights") != new["weights"]:
        diffs.append(f"weights: {old.get('weights')!r} -> {new['weights']!r}")
    if diffs:
        raise ValueError(f"{path}: --resume with settings that differ from the run's config.json "
                         f"({'; '.join(diffs)}); use the same options or another --out")


def load_trainable(model: torch.nn.Module, state: dict, where: Path) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if unexpected or trainable & set(missing):
        raise ValueError(f"{where}: does not match the model (unexpected {unexpected[:5]}, "
                         f"missing trainable {sorted(trainable & set(missing))[:5]})")


def _rng_state(gen: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "generator": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_partial(path: Path, state: dict) -> None:
    atomic_write(path, lambda p: torch.save(state, p))


# the fold

def train_fold(fold: Fold, source: ClipSource, *, settings: TrainSettings, model_settings, weights,
               device: torch.device, folds_dir: Path, n_folds: int, progress: bool = True) -> dict:
    """Train one fold (resuming from its partial checkpoint if there is one) and evaluate it."""
    from mpt_core.model import build_model, parameter_counts, save_checkpoint, trainable_state_dict

    seed = settings.seed + fold.index
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)  # shuffling and flips
    with warnings.catch_warnings():  # run_loso says once that the backbone is random
        warnings.filterwarnings("ignore", message="no weights file given")
        model = build_model(model_settings, weights=weights).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    counts = parameter_counts(model)
    print(f"fold {fold.index + 1}/{n_folds} [{fold.subject}] train {len(fold.train)} clips, test "
          f"{len(fold.test)} | trainable params: {counts['trainable']:,} || all params: {counts['total']:,} "
          f"|| trainable%: {100 * counts['trainable'] / counts['total']:.4f}", flush=True)
    optimizer = torch.optim.Adam(params, lr=settings.lr)

    partial = folds_dir / f"{fold.name}.partial.pt"
    start, losses, seconds = 0, [], 0.0
    if partial.exists():
        ck = torch.load(partial, map_location="cpu", weights_only=False)
        load_trainable(model, ck["trainable"], partial)
        optimizer.load_state_dict(ck["optimizer"])
        _set_rng_state(ck["rng"], gen)
        start, losses, seconds = ck["epoch"], ck["losses"], ck["seconds"]
        print(f"  resuming fold {fold.subject} after epoch {start}", flush=True)

    steps_per_epoch = math.ceil(len(fold.train) / settings.batch_size)
    bar = _Bar(f"fold {fold.subject}", settings.epochs * steps_per_epoch, start * steps_per_epoch, progress)
    for epoch in range(start, settings.epochs):
        t0 = time.perf_counter()
        order = fold.train[torch.randperm(len(fold.train), generator=gen).numpy()]
        total, seen = 0.0, 0
        for step, b in enumerate(source.batches(order, settings.batch_size)):
            image, motion = b.image, b.motion
            if settings.flip:
                image, motion, _ = random_hflip(image, motion, gen)
            loss = train_step(model, optimizer, image, motion, b.label).item()
            if not math.isfinite(loss):
                bar.close()
                raise NonFiniteLoss(f"fold {fold.index + 1}/{n_folds} (index {fold.index}, subject {fold.subject}): "
                                    f"loss is {loss} at epoch "
                                    f"{epoch + 1}, step {step + 1} (global step {epoch * steps_per_epoch + step + 1}); "
                                    "try a lower --lr")
            total += loss * len(b.rows)
            seen += len(b.rows)
            bar.advance(loss, seen / (time.perf_counter() - t0), epoch + 1, settings.epochs)
        losses.append(total / seen)
        seconds += time.perf_counter() - t0
        _save_partial(partial, {"epoch": epoch + 1, "trainable": trainable_state_dict(model),
                                "optimizer": optimizer.state_dict(), "rng": _rng_state(gen),
                                "losses": losses, "seconds": seconds})
    bar.close()

    t0 = time.perf_counter()
    probs = torch.cat([predict(model, b.image, b.motion).cpu()
                       for b in source.batches(fold.test, settings.eval_batch_size)])
    eval_seconds = time.perf_counter() - t0
    preds = probs.argmax(1)
    labels = source.labels[fold.test]
    record = {
        "subject": fold.subject, "index": fold.index, "epochs": settings.epochs,
        "clips": source.clips[fold.test].tolist(), "rows": fold.test.tolist(),
        "labels": labels.tolist(), "predictions": preds.tolist(), "probabilities": probs.tolist(),
        "accuracy": float((preds.numpy() == labels).mean()),
        "loss_curve": losses, "train_clips": len(fold.train), "test_clips": len(fold.test),
        "seconds": {"train": seconds, "eval": eval_seconds},
        "train_clips_per_s": len(fold.train) * settings.epochs / seconds if seconds else None,
        "parameters": counts,
    }
    save_checkpoint(folds_dir / f"{fold.name}.pt", model, fold=fold.index, subject=fold.subject,
                    accuracy=record["accuracy"], epochs=settings.epochs)
    write_json(folds_dir / f"{fold.name}.json", record)  # written last: marks the fold as done
    partial.unlink(missing_ok=True)
    return record


class _Bar:
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


# the run

def run_loso(cache, *, train_settings: TrainSettings, model_settings, out, folds="all", weights=None,
             resume: bool = False, progress: bool = True) -> Path:
    """Train and evaluate the chosen LOSO folds of ``cache`` into the run folder ``out``.

    ``model_settings.num_classes`` and ``frames`` are taken from the cache. Finished folds of a
    resumed run are not recomputed; an unfinished one continues from its last saved epoch.
    Returns the run folder.
    """
    from preprocess.cache import read_cache_meta

    from .report import write_report

    meta = read_cache_meta(cache)  # raises CacheError for a missing or incomplete cache
    model_settings = replace(model_settings, num_classes=len(meta.classes), frames=_motion_frames(meta.path))
    out = Path(out)
    folds_dir = out / "folds"
    config = make_config(meta, train_settings, model_settings, weights)
    if (out / "config.json").exists():
        if not resume:
            raise FileExistsError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        check_resume(json.loads((out / "config.json").read_text()), config, out / "config.json")
    folds_dir.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config)

    device = resolve_device(train_settings.device)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(train_settings.deterministic, warn_only=True)
    try:
        source = ClipSource(meta.path, device=device, memory_budget_gb=train_settings.memory_budget_gb,
                            chunk_clips=train_settings.chunk_clips, prefetch=train_settings.prefetch)
        all_folds = loso_folds(source.subjects)
        chosen = select_folds(all_folds, folds)
        mode = "resident on the device" if source.resident else "streamed from disk"
        print(f"cache {meta.path} ({meta.n_clips} clips, {len(all_folds)} subjects, "
              f"{source.nbytes / 1e9:.2f} GB, {mode}); device {device}; {len(chosen)} fold(s); backbone "
              f"{model_settings.backbone} {'weights ' + str(weights) if weights else 'RANDOM (no --weights given)'}",
              flush=True)
        for fold in chosen:
            if (folds_dir / f"{fold.name}.json").exists():
                print(f"fold {fold.index + 1}/{len(all_folds)} [{fold.subject}] already done, skipped", flush=True)
                continue
            train_fold(fold, source, settings=train_settings, model_settings=model_settings, weights=weights,
                       device=device, folds_dir=folds_dir, n_folds=len(all_folds), progress=progress)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    write_report(out)
    return out


def _motion_frames(path) -> int:
    import h5py

    with h5py.File(path, "r") as f:
        return int(f["motion"].shape[1])
