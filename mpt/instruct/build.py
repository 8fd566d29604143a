"""``mpt instruct``: a corpus -> a motion-grounded instruction dataset (the library function).

read the corpus (``preprocess.readers.read_dataset``, as ``mpt preprocess`` does) -> check the output
folder -> measure every clip in parallel (``measure.py``; each worker writes its clip's images and
motion JSON, the JSON last, so a clip is done once its JSON exists) -> ground the annotation in the
motion, write the conversations in both formats, the splits and the statistics (``stats.json``
last: a folder without it is unfinished).

Resuming: clips whose motion JSON exists (same clip, same measurement version) are reused; the
conversation files are rewritten every run (they are cheap, and the seed may differ). A folder made
from another dataset, class selection or measurement is refused without ``overwrite``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from mpt_core.fileio import atomic_write, file_sha256
from preprocess.pipeline import progress_bar

from .aus import parse_aus
from .conversations import clip_turns
from .formats import FORMATS, llava_record, messages_record, write_json, write_records
from .grounding import ground
from .images import write_legend, write_png
from .layout import MANIFEST, OWNED, clip_folder, image_paths, motion_file
from .measure import MeasureError, check_apex
from .splits import plan_splits, split_records
from .stats import compute_stats, markdown

MEASURE_VERSION = 4  # 3: describe's background-relative threshold and rules (issue 26); 4: the transient part (motion relative to the drift to the offset) and the AU4 group rule; bump when a clip's measurement or images change: older clips are then refused
DEFER = "defer"  # a worker's answer for a cropped clip with no face found


class InstructError(ValueError):
    """Bad input to ``mpt instruct``: the message says what, where and why."""


# helpers


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def dataset_identity(index, annotations) -> dict:
    keys = "\n".join(c.key for c in index.clips)
    ann = Path(annotations) if annotations is not None else None
    return {
        "dataset": index.dataset, "classes": list(index.classes),
        "annotations_sha256": file_sha256(ann) if ann is not None and ann.is_file() else None,
        "clips": len(index.clips), "clips_sha256": hashlib.sha256(keys.encode()).hexdigest(),
        "measure_version": MEASURE_VERSION,
    }


def prepare_output(out: Path, identity: dict, overwrite: bool) -> None:
    """Refuse a folder holding another dataset (unless ``overwrite``: then clear what mpt instruct
    wrote there); remove the previous run's final files so a crash cannot leave them looking current."""
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise InstructError(f"--out {out}: not a folder")
    old = None
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError) as err:
            raise InstructError(f"{manifest}: unreadable ({err}); pass --overwrite to start over") from None
    ours = [n for n in OWNED if (out / n).exists()]
    if (old is not None and old != identity) or (old is None and ours):
        if not overwrite:
            what = (f"an instruction set of {old.get('dataset')} ({old.get('clips')} clips, classes "
                    f"{', '.join(old.get('classes') or [])}, measurement v{old.get('measure_version')})"
                    if isinstance(old, dict) else f"files of an unfinished or foreign run ({', '.join(ours)})")
            raise InstructError(f"--out {out} already holds {what}, not this {identity['dataset']} selection "
                                f"({identity['clips']} clips); choose another folder or pass --overwrite")
        for n in OWNED:
            p = out / n
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    for n in ("stats.json", "stats.md", "llava.json", "messages.jsonl", "splits"):
        p = out / n
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json(manifest, identity)


def _done(out: Path, record) -> bool:
    path = motion_file(out, record.subject, record.clip)
    if not path.is_file():
        return False
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (saved.get("subject"), saved.get("clip"), saved.get("measure_version")) == \
        (record.subject, record.clip, MEASURE_VERSION) and all((out / p).is_file() for p in saved["images"])


def measure_and_save(record, out: Path, whole_frames: bool, face=None) -> str | None:
    """One clip: measure, write its three images, then its motion JSON. Returns an error, ``DEFER``
    (no face found in a cropped clip: measured in the second pass with ``face_priors``) or None."""
    from preprocess.records import DatasetError

    from .measure import EyesNotFound, MeasureError, measure_clip

    numbers = list(range(record.onset, record.offset + 1))
    try:
        m = measure_clip(record.frames, numbers, key=record.key, onset=record.onset, apex=record.apex,
                         offset=record.offset, whole_frames=whole_frames, fps=record.fps, face=face)
    except EyesNotFound:
        return DEFER
    except (MeasureError, DatasetError) as err:
        return str(err)
    folder = out / clip_folder(record.subject, record.clip)
    folder.mkdir(parents=True, exist_ok=True)
    from .images import flow_rgb

    images = image_paths(record.subject, record.clip)
    for rel, rgb in zip(images, (m.onset_rgb, m.apex_rgb, flow_rgb(m.flow))):
        write_png(out / rel, rgb)
    data = {
        "dataset": record.dataset, "subject": record.subject, "clip": record.clip, "label": record.label,
        "emotion": record.emotion, "aus": record.au, "fps": record.fps, "images": images, "motion": m.motion,
        "measure_version": MEASURE_VERSION,
    }
    path = motion_file(out, record.subject, record.clip)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1) + "\n"))
    return None


def face_priors(out: Path, clips) -> dict[str, tuple]:
    """For crops in which no face was found: {group: (kind, points, source)}, the median of the
    landmarks (else of the eyes) found in the same subject's other clips ("subject median"), else in
    the corpus's ("corpus median"; a MEGC2019 subject's source corpus). Dataset crops are made one way
    per corpus, so that is where its faces usually are; mpt's canonical eye places assume mpt's own
    crop, which frames faces differently."""
    import numpy as np

    found: dict[str, dict[str, list]] = {}
    for rec in clips:
        path = motion_file(out, rec.subject, rec.clip)
        if not path.is_file():
            continue
        motion = json.loads(path.read_text())["motion"]
        kind = {"landmarks": "landmarks", "detected": "eyes"}.get(motion["eyes"]["from"])
        if kind is None:
            continue
        points = motion["landmarks"] if kind == "landmarks" else motion["eyes"]["points"]
        for group in (f"subject:{rec.subject}", f"corpus:{_corpus(rec.subject)}"):
            found.setdefault(group, {}).setdefault(kind, []).append(points)
    priors = {}
    for group, by_kind in sorted(found.items()):
        kind = "landmarks" if "landmarks" in by_kind else "eyes"
        median = np.round(np.median(np.asarray(by_kind[kind], np.float64), 0), 2)
        points = median if kind == "landmarks" else tuple(tuple(float(v) for v in p) for p in median)
        priors[group] = (kind, points, f"{group.split(':')[0]} median")
    return priors


def _corpus(subject: str) -> str:
    return subject.split("/")[0] if "/" in subject else ""


def _prior_for(record, priors: dict):
    """The face prior of a crop in which none was found (``face_priors``), or "fallback"."""
    return priors.get(f"subject:{record.subject}") or priors.get(f"corpus:{_corpus(record.subject)}") or "fallback"


def _in_worker(row: int, record, out: Path, whole_frames: bool, face):
    import cv2

    cv2.setNumThreads(1)  # one thread per worker: the parallelism is across clips
    return row, measure_and_save(record, out, whole_frames, face)


def _run(todo, out: Path, whole_frames: bool, jobs: int):
    """todo: [(row, record, face)]; yields (row, error or DEFER or None) as clips finish."""
    if jobs == 1 or len(todo) <= 1:
        import cv2

        before = cv2.getNumThreads()
        cv2.setNumThreads(1)  # the same single-threaded flow as the workers: identical figures
        try:
            for row, record, face in todo:
                yield row, measure_and_save(record, out, whole_frames, face)
        finally:
            cv2.setNumThreads(before)
        return
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend="loky", inner_max_num_threads=1):
        yield from Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(_in_worker)(row, record, out, whole_frames, face) for row, record, face in todo)


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# the command


def build_instruct(name: str, root, annotations=None, *, out, classes=None, fmt: str = "both",
                   holdout: list[str] | None = None, folds: bool = False, seed: int = 0, jobs: int | None = None,
                   overwrite: bool = False, strict: bool = False, progress: bool = True,
                   max_seconds: float | None = None) -> dict:
    """Write the instruction dataset of corpus ``name`` at ``root`` into ``out``; returns the statistics
    (``stats.json``). ``strict``: a clip that cannot be measured is an error (default: skipped and listed)."""
    from preprocess.readers import read_dataset

    if fmt not in FORMATS:
        raise InstructError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    start = time.perf_counter()
    out = Path(out)
    index = read_dataset(name, root, annotations, strict=strict, classes=classes, max_seconds=max_seconds)
    if not index.clips:
        raise InstructError(f"{name}: no clips to describe ({len(index.skipped)} skipped by the reader)")
    splits_plan = plan_splits(index.subjects, holdout=holdout, folds=folds)
    prepare_output(out, dataset_identity(index, annotations), overwrite)
    write_legend(out / "images")

    skipped = [{"clip": p.clip, "reason": str(p)} for p in index.skipped]
    errors, deferred = {}, []
    for row, rec in enumerate(index.clips):  # annotation problems first: nothing runs for them
        try:
            check_apex(rec.key, rec.onset, rec.apex, rec.offset)
        except MeasureError as err:
            if strict:
                raise InstructError(f"{err}; stopped because of --strict") from None
            errors[row] = str(err)
    todo = [(row, rec) for row, rec in enumerate(index.clips) if row not in errors and not _done(out, rec)]
    with progress_bar(progress, len(todo), f"instruct {name}") as advance:
        # pass 1: every clip, its face found; pass 2: the crops with none, faces from the others (face_priors)
        for tasks in ([(row, rec, None) for row, rec in todo], None):
            if tasks is None:
                priors = face_priors(out, index.clips)
                tasks = [(row, index.clips[row], _prior_for(index.clips[row], priors)) for row in sorted(deferred)]
            results = _run(tasks, out, index.whole_frames, jobs or _cpu_count())
            try:
                for row, error in results:
                    if error == DEFER:
                        deferred.append(row)
                        continue
                    if error is not None:
                        if strict:
                            raise InstructError(f"{error}; stopped because of --strict")
                        errors[row] = error
                    advance()
            finally:
                if hasattr(results, "close"):
                    results.close()  # stops the workers if we leave early
    for row in sorted(errors):
        skipped.append({"clip": index.clips[row].key, "reason": errors[row]})
    for w in index.warnings:
        _log(f"  note: {w}")
    for s in skipped:
        _log(f"  skipped {s['clip']}: {s['reason']}")

    clips, groundings, llava, messages = [], [], [], []
    for row, rec in enumerate(index.clips):
        if row in errors:
            continue
        clip = json.loads(motion_file(out, rec.subject, rec.clip).read_text())
        g = ground(clip["motion"], parse_aus(clip["aus"]), clip["aus"])
        clips.append(clip)
        groundings.append(g)
        for turn in clip_turns(clip, g, list(index.classes), seed):
            llava.append(llava_record(clip, turn, clip["images"]))
            messages.append(messages_record(clip, turn, clip["images"]))
    if not clips:
        raise InstructError(f"{name}: no clip could be measured ({len(skipped)} skipped, listed above)")
    write_records(out, "llava", "messages", llava, messages, fmt)
    pairs = {}
    for split, test_subjects in splits_plan.items():
        pairs[split] = split_records(llava, test_subjects)
        msg_train, msg_test = split_records(messages, test_subjects)
        write_records(out / "splits" / split, "train", "train", pairs[split][0], msg_train, fmt)
        write_records(out / "splits" / split, "test", "test", pairs[split][1], msg_test, fmt)
    stats = compute_stats(dataset=name, classes=list(index.classes), clips=clips, groundings=groundings,
                          records=llava, splits=pairs, skipped=skipped, seed=seed)
    atomic_write(out / "stats.md", lambda tmp: tmp.write_text(markdown(stats)))
    write_json(out / "stats.json", stats)  # last: marks the folder finished
    frac = stats["confirmed_fraction"]
    measured = sum(row not in errors for row, _ in todo)
    _log(f"instruct {name}: {len(clips)} clips ({measured} measured, {len(clips) - measured} reused), "
         f"{len(skipped)} skipped; {len(llava)} samples; AU families confirmed by motion: "
         f"{'-' if frac is None else f'{100 * frac:.1f} %'} "
         f"({stats['confirmed_families']}/{stats['annotated_families']}); {time.perf_counter() - start:.1f} s")
    return stats
