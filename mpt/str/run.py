"""``mpt str``: spot-then-recognize on a long-video corpus under leave-one-subject-out, scored as
MEGC 2023 does (``mpt_core.strs``).

1. The run is checked first: trained on this corpus's micro-expression clips (``mpt preprocess
   cas2|samm-lv``), with classes the corpus's labels map to (a preset or class names of that
   corpus), and a fold model for every subject whose micro-expressions it trained on.
2. Every video is spotted (``mpt.spot.run.spot_dataset``): p for subject S is chosen on the other
   subjects' videos, as ``mpt spot --dataset`` does.
3. Per video, the spotted and annotated micro-expression intervals are paired by the MEGC matching
   (IoU >= 0.5, one-to-one); spotted macro-expressions and annotated macro-expressions take no part.
4. Each spotted micro-expression interval of subject S is classified by the fold model that held S
   out (its frames onset..offset, aligned as the run's cache aligned its faces, through
   ``inference.predict_clip``). A subject with no micro-expression of the run's classes was in no
   training set at all: its intervals (false positives only, which the analysis never reads) are
   classified by the mean of all fold models.
5. STRS and its parts from the per-interval records; ``OUT/str.json`` holds them all.
"""

from __future__ import annotations

import json
from pathlib import Path

from mpt.rawclip import warn

from .folds import FoldModels, StrInputError, face_of_cache

ENSEMBLE = "ensemble"


# helpers


def _labels(name: str):
    """(the corpus's label field of an interval, every label it uses)."""
    if name == "cas2":
        from preprocess.readers.cas2 import OBJECTIVE

        return (lambda i: i.objective), OBJECTIVE
    from preprocess.readers.samm_lv import EMOTIONS

    return (lambda i: i.emotion), EMOTIONS


def check_run(name: str, run: Path, config: dict) -> dict[str, str]:
    """{corpus label: run class}; StrInputError when the run was trained on another corpus or its
    classes are not this corpus's."""
    from preprocess.readers.common import resolve_preset
    from preprocess.records import DatasetError

    trained = config.get("dataset")
    if trained != name:
        raise StrInputError(f"{run}: trained on {trained}'s clips, not {name}'s; mpt str needs a run trained on the "
                            f"micro-expressions of the corpus it scores (mpt preprocess {name}; mpt train --fold all)")
    protocol, task = config.get("protocol", "loso"), config.get("task", "emotion")
    if protocol != "loso" or task != "emotion":
        raise StrInputError(f"{run}: a {protocol} run of the {task} task; mpt str needs a leave-one-subject-out run "
                            "of the emotion classes (mpt train --fold all), so each subject has the model that held "
                            "it out")
    _, known = _labels(name)
    classes = config["classes"]
    try:
        _, merged = resolve_preset(name, list(classes), "", known)
    except DatasetError as err:
        raise StrInputError(f"{run}: the run's classes {', '.join(classes)} cannot be mapped to {name}'s labels "
                            f"({', '.join(known)}): {err}") from None
    return merged


def _interval(i) -> dict:
    return {"name": i.name, "onset": i.onset, "apex": i.apex, "offset": i.offset}


def _progress(total: int, label: str, enabled: bool):
    from rich.progress import Progress

    bar = Progress(disable=not enabled, transient=True)
    return bar, bar.add_task(label, total=total)


# the command


def run_str(name: str, root, run, annotations=None, *, out=None, device: str = "auto", progress: bool = True,
            step: int | None = None, tracker: str = "landmarks") -> dict:
    """Spot, classify with the held-out fold models, score; writes ``out/str.json`` (default
    ``RUN/str-NAME``) and returns its object."""
    from mpt.rawclip import FaceAlignError
    from mpt.spot.run import spot_dataset
    from mpt_core.fileio import atomic_write
    from mpt_core.strs import pair_intervals, str_scores
    from preprocess.inputs import InputError
    from preprocess.readers import read_dataset, read_long_videos
    from train.runs import RunFolder

    root, run = Path(root), Path(run)
    folder = RunFolder(run)
    if not folder.config_path.is_file():
        raise StrInputError(f"{run}: not a run folder (no config.json); pass the folder `mpt train` wrote")
    config = folder.config()
    merged = check_run(name, run, config)
    classes = tuple(config["classes"])
    label_of, _ = _labels(name)
    trained = sorted({c.subject for c in read_dataset(name, root, annotations, classes=list(classes)).clips})
    folds = {r["subject"] for r in folder.fold_records()}
    missing = [s for s in trained if s not in folds]
    if missing:
        raise StrInputError(f"{run}: no fold model for subject(s) {', '.join(missing)} of {name} (folds: "
                            f"{', '.join(sorted(folds)) or 'none'}); each subject's intervals are classified by the "
                            "model that held it out: train those folds (mpt train --fold SUBJECT --resume)")
    face, face_note = face_of_cache(config)
    models = FoldModels(run, device=device)

    spotted = spot_dataset(name, root, annotations, progress=progress, step=step, tracker=tracker)
    index = read_long_videos(name, root, annotations, strict=True)
    results = {(v["subject"], v["video"]): v for v in spotted["videos"]}

    records, todo = [], []
    for video in index.videos:
        res = results[(video.subject, video.video)]
        spots = [i for i in res["intervals"] if i["type"] == "micro"]
        truth = [i for i in video.intervals if i.type == "micro"]
        for s, t, value in pair_intervals([(i["onset"], i["offset"]) for i in spots],
                                          [(i.onset, i.offset) for i in truth]):
            label = "" if t is None else label_of(truth[t]).strip().lower()
            rec = {"subject": video.subject, "video": video.video,
                   "truth": None if t is None else merged.get(label, label),
                   "prediction": None, "iou": value, "model": None, "probabilities": None,
                   "spotted": None if s is None else spots[s], "annotated": None if t is None else _interval(truth[t])}
            if rec["annotated"] is not None:
                rec["annotated"]["label"] = label
            records.append(rec)
            if s is not None:
                todo.append((rec, video))
    bar, task = _progress(len(todo), f"classify {len(todo)} spotted micro-expression(s)", progress)
    with bar:
        for rec, video in todo:
            subject = video.subject if video.subject in models.weights else None
            i = rec["spotted"]
            try:
                entry = models.classify(subject, str(video.folder), i["onset"], i["offset"], video.fps, face)
                rec["prediction"], rec["probabilities"] = entry["prediction"], entry["probabilities"]
            except (FaceAlignError, InputError) as err:
                warn(f"{video.key} {i['onset']}..{i['offset']}: not classified ({err}); counted as a wrong class")
                rec["prediction"], rec["error"] = "", str(err)
            rec["model"] = video.subject if subject is not None else ENSEMBLE
            bar.advance(task)

    scores = str_scores(records, classes)
    subjects = sorted({v.subject for v in index.videos})
    result = {"dataset": name, "root": str(root), "run": str(run), "classes": list(classes), **scores,
              "folds": {s: {"p": spotted["folds"][s]["p"], "model": s if s in models.weights else ENSEMBLE}
                        for s in subjects},
              "faces": face_note, "changed": spotted["changed"], "intervals": records}
    out = Path(out) if out is not None else run / f"str-{name}"
    out.mkdir(parents=True, exist_ok=True)
    result["out"] = str(out / "str.json")
    atomic_write(out / "str.json", lambda p: p.write_text(json.dumps(result, indent=1) + "\n"))
    return result
