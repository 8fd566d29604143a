"""``mpt explain``: figures of what a run's models looked at, written into ``RUN_DIR/explain``.

Per explained clip, ``<subject>/<clip>.png``: the rank image with the Grad-CAM map of the
predicted class, the motion prompts' temporal Gaussians over the magnified frames, the true and
predicted labels (``train/explain_plots.clip_figure``). A clip is explained by the model of the
fold that held its subject out (so the model never saw it), unless ``model`` names another
fold or ``final``; the figure says when the model saw the clip in training.

Per run: ``gradcam_by_class.png`` (the mean map per true class over the explained clips) and
``tsne.png``, a t-SNE of the head's input features: with a final model, one panel of every clip
under it; otherwise one panel per LOSO fold (at most ``MAX_TSNE_PANELS``, the first by fold
index), each fold's held-out clips embedded together with that fold's training clips.

Maps and Gaussians come from ``train/explain.py``; this module reads the run folder and the
cache it was trained on, groups clips by model (each checkpoint is loaded once), and writes.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from mpt_core.device import resolve_device

from train.explain import ExplainError
from train.runs import FINAL  # the model trained on every clip

MAX_TSNE_PANELS = 12
BATCH = 16  # clips per forward pass


@dataclass(frozen=True)
class ClipRef:
    """One cache row to explain, and the model that explains it."""

    row: int
    subject: str
    clip: str
    label: int
    model: str  # a fold's subject, or "final"

    @property
    def held_out(self) -> bool:
        return self.model != FINAL and self.model == self.subject


@dataclass
class ExplainResult:
    out: Path
    clip_figures: list[Path] = field(default_factory=list)
    by_class: Path | None = None
    tsne: Path | None = None
    tsne_panels: list[str] = field(default_factory=list)  # one title per panel drawn
    page: Path | None = None  # the run's report.html, rewritten with the gallery (default --out only)
    seconds: float = 0.0


# helpers

def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in str(text)) or "_"


def choose_clips(index, records: list[dict], names: list[str] | None, model: str | None, has_final: bool) -> list[ClipRef]:
    """The clips to explain and the model of each. Without ``names``: every held-out clip of the
    finished folds (every clip when the run has only a final model). A name is a clip name (all
    subjects' clips of that name) or ``subject/clip``."""
    subjects = [str(s) for s in index.subjects]
    clip_names = [str(c) for c in index.clips]
    folds = {str(r["subject"]): r for r in records}
    if model is not None and model != FINAL and model not in folds:
        known = ", ".join(list(folds)[:8]) or "none"
        raise ExplainError(f"--model {model!r}: no finished fold of that subject in the run (folds: {known}; or final)")
    if model == FINAL and not has_final:
        raise ExplainError("--model final: the run has no final.safetensors (train with --final)")
    if not folds and not has_final:
        raise ExplainError("the run has no finished fold and no final model: nothing to explain")
    rows = sorted(int(i) for r in records for i in r["rows"]) if folds else list(range(len(subjects)))
    if names:
        wanted, found = set(names), set()
        chosen = []
        for i in range(len(subjects)):
            keys = {clip_names[i], f"{subjects[i]}/{clip_names[i]}"} & wanted
            if keys:
                chosen.append(i)
                found |= keys
        missing = sorted(wanted - found)
        if missing:
            raise ExplainError(f"--clips: no clip named {', '.join(missing[:5])} in the run's cache "
                               f"(names look like {clip_names[0]} or {subjects[0]}/{clip_names[0]})")
        rows = chosen
    refs = []
    for i in rows:
        own = model or (subjects[i] if subjects[i] in folds else FINAL)
        if own == FINAL and not has_final:
            raise ExplainError(f"clip {subjects[i]}/{clip_names[i]}: its fold ({subjects[i]}) has not finished "
                               "and the run has no final model; pass --model SUBJECT")
        refs.append(ClipRef(i, subjects[i], clip_names[i], int(index.labels[i]), own))
    return refs


def read_clips(f, rows) -> tuple[torch.Tensor, torch.Tensor]:
    """Cache rows (any order) -> image (B, 3, S, S) uint8, motion (B, T, 3, S, S)."""
    rows = np.asarray(rows, dtype=np.int64)
    uniq, inverse = np.unique(rows, return_inverse=True)  # h5py reads increasing indices only
    rank = torch.from_numpy(f["rank"][uniq][inverse])
    motion = torch.from_numpy(f["motion"][uniq][inverse])
    return rank.permute(0, 3, 1, 2), motion.permute(0, 1, 4, 2, 3)


def _load(run, name: str, device, weights):
    from mpt_core.model import load_checkpoint

    path = run.weights_path(FINAL) if name == FINAL else run.fold_weight_files()[name]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no weights file given")
        model, _ = load_checkpoint(path, map_location=device, weights=weights)
    return model


# the workflow

class ClassMeans:
    """Running per-class sums of rank images and of unit-scaled, upsampled Grad-CAM maps."""

    def __init__(self):
        self.rank, self.cam, self.count = {}, {}, {}

    def add(self, label: int, rank: np.ndarray, cam: np.ndarray) -> None:
        from train.explain_plots import unit, upsample_map

        up = unit(upsample_map(cam, rank.shape[0]))
        self.rank[label] = self.rank.get(label, 0) + rank.astype(np.float64) / 255
        self.cam[label] = self.cam.get(label, 0) + up
        self.count[label] = self.count.get(label, 0) + 1

    def means(self) -> tuple[dict, dict, dict]:
        return ({c: v / self.count[c] for c, v in self.rank.items()},
                {c: v / self.count[c] for c, v in self.cam.items()}, dict(self.count))


def explain_clips(model, refs: list[ClipRef], f, *, out: Path, classes, describe=None, means: ClassMeans) -> list[Path]:
    """One figure per clip of ``refs`` with ``model`` (the model they name), in batches."""
    from train.explain import gaussian_weights, gradcam, has_gaussians
    from train.explain_plots import clip_figure

    paths = []
    for a in range(0, len(refs), BATCH):
        batch = refs[a:a + BATCH]
        image, motion = read_clips(f, [r.row for r in batch])
        cam, probs = gradcam(model, image, motion)
        cam, probs = cam.cpu().numpy(), probs.cpu().numpy()
        mu, sigma, w = (g.cpu().numpy() for g in gaussian_weights(model, motion)) if has_gaussians(model) \
            else ([None] * len(batch),) * 3
        for i, r in enumerate(batch):
            rank, frames = image[i].permute(1, 2, 0).numpy(), motion[i].permute(0, 2, 3, 1).numpy()
            path = out / safe_name(r.subject) / f"{safe_name(r.clip)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            clip_figure(path, rank=rank, cam=cam[i], motion=frames, mu=mu[i], sigma=sigma[i], weights=w[i],
                        classes=classes, label=r.label, probs=probs[i], subject=r.subject, clip=r.clip,
                        model_name="final model (all clips)" if r.model == FINAL else f"fold {r.model}",
                        held_out=r.held_out, description=describe(r, frames) if describe is not None else None)
            means.add(r.label, rank, cam[i])
            paths.append(path)
    return paths


def motion_describer(index) -> Callable[[ClipRef, np.ndarray], str | None]:
    """The region motion description of a cache clip, from its T magnified frames: onset = the first
    normalised frame, apex = the normalised frame nearest the annotated apex (or the frame of most
    motion where the apex is unknown). The regions are placed from the 68 landmarks fitted on the
    onset frame as ``mpt describe`` places them on a face crop (``describe_clip_frames(landmarks=
    "detect")``); only where no landmarks fit: Haar's eyes, else the canonical eye positions."""
    from mpt.describe import describe_clip_frames

    def describe(ref: ClipRef, motion: np.ndarray) -> str | None:
        T = len(motion)
        onset, apex, offset = (int(a[ref.row]) for a in (index.onset, index.apex, index.offset))
        apex_index = None
        if apex >= 0 and offset > onset:
            apex_index = min(T - 1, max(1, round((apex - onset) / (offset - onset) * (T - 1))))
        try:
            d = describe_clip_frames(motion, landmarks="detect", apex_index=apex_index)
        except ValueError as err:  # a description is a help, never a reason to stop the figures
            return f"(no motion description: {err})"
        return "On the magnified frames (displacements amplified by alpha): " + d.text

    return describe


def explain_run(run_dir, *, clips: list[str] | None = None, model: str | None = None, out=None,
                device: str = "auto", weights=None, tsne: bool = True,
                describe: Callable[[ClipRef, np.ndarray], str | None] | str | None = "motion",
                progress: bool = True) -> ExplainResult:
    """Write the explanation figures of the run in ``run_dir`` into ``out`` (default
    ``run_dir/explain``). ``describe(ref, motion (T, S, S, 3) uint8)`` returns the region motion
    description printed on each clip's figure; "motion" (the default) is ``motion_describer``, None
    leaves it out."""
    from mpt_core.cache import cache_index, open_cache
    from train.explain import head_features
    from train.explain_plots import class_figure
    from train.runs import RunFolder

    t0 = time.perf_counter()
    run = RunFolder(run_dir)
    config = run.config()
    if config.get("task", "emotion") != "emotion" or config.get("protocol", "loso") != "loso":
        raise ExplainError(f"{run.path}: mpt explain reads leave-one-subject-out emotion runs; this run is "
                           f"task {config.get('task', 'emotion')}, protocol {config.get('protocol', 'loso')}")
    classes = list(config["classes"])
    records = run.fold_records()
    has_final = run.weights_path(FINAL).is_file()
    out = Path(out) if out is not None else run.path / "explain"
    dev = resolve_device(device)
    cache_path = Path(config["cache"])
    if not cache_path.is_file():
        raise ExplainError(f"{run.path}: the run's cache {cache_path} is missing; explanations need its clips")

    result = ExplainResult(out=out)
    means = ClassMeans()
    with open_cache(cache_path) as f:
        index = cache_index(f)
        if index.meta.cache_key != config.get("cache_key"):
            raise ExplainError(f"{cache_path}: cache key {index.meta.cache_key}, but the run in {run.path} was "
                               f"trained on {config.get('cache_key')}")
        refs = choose_clips(index, records, clips, model, has_final)
        if describe == "motion":
            describe = motion_describer(index)
        n = len(index.labels)
        if not tsne:
            panel_models = []
        elif has_final:
            panel_models = [FINAL]
        else:
            panel_models = [str(r["subject"]) for r in records[:MAX_TSNE_PANELS]]
        features = {}
        out.mkdir(parents=True, exist_ok=True)
        for name in dict.fromkeys([r.model for r in refs] + panel_models):  # each model loaded once
            mine = [r for r in refs if r.model == name]
            if progress:
                what = [f"{len(mine)} clip(s)"] * bool(mine) + ["t-SNE features"] * (name in panel_models)
                print(f"explain: model {name}: {', '.join(what)}", flush=True)
            m = _load(run, name, dev, weights)
            result.clip_figures += explain_clips(m, mine, f, out=out, classes=classes, describe=describe, means=means)
            if name in panel_models:
                features[name] = torch.cat([head_features(m, *read_clips(f, np.arange(a, min(a + BATCH, n)))).cpu()
                                            for a in range(0, n, BATCH)]).numpy()
            del m

    held = sum(r.held_out for r in refs)
    note = (f"{len(refs)} clips, {held} explained by the fold model that held them out"
            + ("" if held == len(refs) else f", {len(refs) - held} by a model that saw them in training"))
    mean_rank, mean_cam, counts = means.means()
    result.by_class = out / "gradcam_by_class.png"
    class_figure(result.by_class, mean_rank=mean_rank, mean_cam=mean_cam, counts=counts, classes=classes, note=note)
    if panel_models:
        result.tsne = out / "tsne.png"
        result.tsne_panels = tsne_panels(result.tsne, features, subjects=np.array([str(s) for s in index.subjects]),
                                         labels=np.asarray(index.labels, dtype=int), classes=classes,
                                         n_folds=len(records))
    if out.resolve() == (run.path / "explain").resolve() and (run.path / "report.html").is_file():
        from train.report import refresh_page

        result.page = refresh_page(run.path)  # the page shows explain/'s figures
    result.seconds = time.perf_counter() - t0
    return result


def tsne_panels(path: Path, features: dict[str, np.ndarray], *, subjects, labels, classes, n_folds: int) -> list[str]:
    """Draw tsne.png from each model's features of every clip; returns the panel titles."""
    from train.explain import tsne_2d
    from train.explain_plots import tsne_figure

    panels = []
    for name, feats in sorted(features.items(), key=lambda kv: (kv[0] != FINAL, kv[0])):  # folds in order
        test = np.zeros(len(labels), bool) if name == FINAL else subjects == name
        title = (f"final model: all {len(labels)} clips (every one seen in training)" if name == FINAL else
                 f"fold {name}: {int(test.sum())} held out, {int((~test).sum())} train")
        panels.append({"title": title, "xy": tsne_2d(feats), "labels": labels, "test": test})
    if FINAL in features:
        title = ("t-SNE of the head's input features (class token after the backbone norm) under the final "
                 "model, trained on every clip: one panel, no clip is held out")
    else:
        shown = (f"showing the first {len(panels)} of {n_folds} folds" if n_folds > len(panels)
                 else f"all {len(panels)} folds")
        title = ("t-SNE of the head's input features (class token after the backbone norm), one panel per LOSO fold:"
                 f" the fold's model embeds its training clips (dots) and held-out clips (stars); {shown}")
    tsne_figure(path, panels=panels, classes=classes, title=title)
    return [p["title"] for p in panels]
