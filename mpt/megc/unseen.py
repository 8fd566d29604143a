"""Spot-then-recognize on an unseen set (MEGC 2024/2025 STR, ``mpt str --unseen``): a folder of long
videos nobody labelled for you, a run trained on any corpora, the challenge's files out.

1. The folder: every sub-folder is a video as numbered frames, every other file a video file
   (except tables and notes, by suffix: ``.csv``, ``.txt``, ``.json``, ... are listed as ignored);
   a video's name (its ``vid``) is the folder's name or the file's stem. The frame rate comes from
   the videos table (``--videos``: a CSV with columns ``video,fps`` and optionally ``subject`` and
   ``dataset`` = cas|samm) or, for a video file, from its header; a frame folder without a rate is
   an error (30 and 200 fps look alike to a folder). Subject: the table's, else the truth table's
   for that video, else the video's name. Dataset (which spotting file): the table's, else by
   rate (>= 100 fps: samm, else cas).
2. The run: its classes must each map to negative, positive or surprise (``mpt_core.classmap``'s
   ``3class`` map: a 3-class run maps onto itself; a 5-class CASME II run's happiness, disgust,
   repression, ... map too; a class like ``others`` cannot, and is an error). A spotted interval's
   class is the target class with the largest summed probability. The model is the run's final
   model if it has one, else the mean of its fold models: no held-out subject exists here.
3. Each video is spotted at the spotter's default threshold (``spotting.DEFAULT_P``: no labels to
   choose it on) and each spotted micro-expression classified as ``mpt predict`` classifies it
   (``timeline.spot_then_classify``), faces aligned as the run's cache aligned them.
4. Written to OUT: ``str_pred.csv``, ``cas_pred.csv`` and/or ``samm_pred.csv``
   (``mpt.megc.files``) and ``unseen.json`` (every interval with its probabilities).
5. With a truth table (``--truth``, the STR layout): scored with mpt's STRS and, beside it, the
   leaderboard's (``mpt.megc.score``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .files import STR_CLASSES, STR_FILE, part_of, read_str, write_spotting, write_str

VIDEOS_COLUMNS = ("video", "fps")
NOT_VIDEOS = frozenset({".csv", ".txt", ".json", ".md", ".xlsx", ".xls", ".zip"})  # tables and notes beside the videos
OPTIONAL_COLUMNS = ("subject", "dataset")


class UnseenError(ValueError):
    """A folder, table or run the unseen-set workflow cannot use; the message says what, where, why."""


@dataclass(frozen=True)
class UnseenVideo:
    name: str  # the challenge's vid
    path: Path
    fps: float | None
    subject: str
    part: str  # "cas" | "samm"


# helpers


def _videos_table(path: Path) -> dict[str, dict]:
    """{video: {"fps", "subject", "dataset"}} from the videos CSV."""
    try:
        rows = list(csv.DictReader(Path(path).read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UnseenError(f"{path}: unreadable videos table ({err})") from None
    header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    if not rows or not set(VIDEOS_COLUMNS) <= set(header):
        raise UnseenError(f"{path}: a videos table needs the columns {', '.join(VIDEOS_COLUMNS)} (optional: "
                          f"{', '.join(OPTIONAL_COLUMNS)}) and one row per video")
    out = {}
    for n, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name = row["video"]
        try:
            fps = float(row["fps"])
        except ValueError:
            fps = float("nan")
        if not fps > 0 or fps == float("inf"):
            raise UnseenError(f"{path}, row {n}: fps {row['fps']!r} of {name!r} is not a positive number")
        dataset = row.get("dataset", "").lower()
        if dataset not in ("", "cas", "samm"):
            raise UnseenError(f"{path}, row {n}: dataset {dataset!r} of {name!r} is not cas or samm")
        if not name or name in out:
            raise UnseenError(f"{path}, row {n}: video name {name!r} empty or given twice")
        out[name] = {"fps": fps, "subject": row.get("subject", ""), "dataset": dataset}
    return out


def _file_rate(path: Path) -> float | None:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        rate = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return rate if rate and rate > 0 else None


def list_videos(folder: Path, table: Path | None = None, truth_subjects: dict[str, str] | None = None):
    """(the videos of an unseen folder, in name order; the files left out as tables or notes, by
    suffix: a videos table kept beside the videos is not a video)."""
    from preprocess.inputs import IMAGE_SUFFIXES

    folder = Path(folder)
    if not folder.is_dir():
        raise UnseenError(f"{folder}: not a folder")
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    ignored = [p for p in entries if p.is_file() and p.suffix.lower() in NOT_VIDEOS]
    entries = [p for p in entries if p not in ignored]
    images = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if images:
        raise UnseenError(f"{folder}: holds frame images ({images[0].name}); put each video's frames in its own "
                          "sub-folder")
    rates = _videos_table(table) if table is not None else {}
    names = {}
    for p in entries:
        name = p.name if p.is_dir() else p.stem
        if name in names:
            raise UnseenError(f"{folder}: two videos named {name!r} ({names[name].name}, {p.name})")
        names[name] = p
    if not names:
        raise UnseenError(f"{folder}: no videos (frame folders or video files)")
    unknown = sorted(set(rates) - set(names))
    if unknown:
        raise UnseenError(f"{table}: video(s) {', '.join(unknown)} not in {folder}")
    out = []
    for name, p in names.items():
        row = rates.get(name, {})
        fps = row.get("fps") or (None if p.is_dir() else _file_rate(p))
        if fps is None:
            raise UnseenError(f"{p}: no frame rate: give it in a videos table (--videos, columns video,fps)"
                              if p.is_dir() else f"{p}: the video states no frame rate; give it in --videos")
        subject = row.get("subject") or (truth_subjects or {}).get(name) or name
        out.append(UnseenVideo(name, p, float(fps), subject, row.get("dataset") or part_of(float(fps))))
    return out, [p.name for p in ignored]


def three_class_map(classes) -> dict[str, str]:
    """{run class: negative|positive|surprise}; UnseenError naming the classes that map to none."""
    from mpt_core.classmap import load_class_map

    cmap = load_class_map("3class")
    mapped = {c: cmap.target(c) for c in classes}
    lost = [c for c, t in mapped.items() if t is None]
    if lost:
        raise UnseenError(f"the run's class(es) {', '.join(lost)} map to none of {', '.join(STR_CLASSES)} (MEGC's "
                          "three classes); train with classes that do (e.g. a composite or cross-dataset run with the "
                          "3class map)")
    return mapped


def _three_class(probabilities: dict, mapped: dict) -> tuple[str, dict]:
    summed = {c: 0.0 for c in STR_CLASSES}
    for c, p in probabilities.items():
        summed[mapped[c]] += p
    return max(summed, key=summed.get), summed


# the workflow


def run_unseen(folder, run, out, *, videos_table=None, truth=None, device: str = "auto",
               progress: bool = True) -> dict:
    """Spot and classify every video of ``folder`` with ``run``; write the submission to ``out``;
    score it against ``truth`` when given. Returns what ``out/unseen.json`` holds."""
    from mpt.inference import PredictError, load_run_models, predict_clip
    from mpt.str.folds import face_of_cache
    from mpt.timeline import spot_then_classify
    from mpt_core.fileio import atomic_write
    from mpt_core.megc_metric import Row, json_safe
    from train.runs import RunFolder

    from .score import score_str

    truth_rows = read_str(truth) if truth is not None else None
    truth_subjects = {r.video: r.subject for r in truth_rows or []}
    found, ignored = list_videos(folder, videos_table, truth_subjects)
    if truth_rows is not None:
        known = {(v.subject, v.name) for v in found}
        strangers = sorted({f"{r.subject}/{r.video}" for r in truth_rows if (r.subject, r.video) not in known})
        if strangers:
            raise UnseenError(f"{truth}: ground truth for video(s) {', '.join(strangers[:5])} that the folder does not "
                              "hold (subject/video as the videos table or the folder names them)")
    folder_run = RunFolder(run)
    if not folder_run.config_path.is_file():
        raise UnseenError(f"{run}: not a run folder (no config.json); pass the folder `mpt train` wrote")
    config = folder_run.config()
    if config.get("task", "emotion") != "emotion":
        raise UnseenError(f"{run}: a run of the {config.get('task')} task; spot-then-recognize needs emotion classes")
    mapped = three_class_map(config["classes"])
    face, face_note = face_of_cache(config)
    try:
        models = load_run_models(run, device=device)
    except PredictError as err:
        raise UnseenError(str(err)) from None

    results, str_rows, spot_rows = [], [], []
    for v in found:
        classify = partial(predict_clip, models, str(v.path), **face)
        entries, summary = spot_then_classify(classify, str(v.path), fps=v.fps, progress=progress)
        by_onset = {e["spot"]["onset"]: e for e in entries}
        intervals = []
        for i in summary["intervals"]:
            spot_rows.append((v.part, v.name, i["onset"], i["offset"], i["type"]))
            record = {k: i[k] for k in ("onset", "apex", "offset", "type", "score")}
            if i["type"] == "micro":
                entry = by_onset.get(i["onset"])
                if entry is None:  # not classified (the face was lost there): spotted, its class wrong
                    record["emotion"], record["error"] = "", i.get("error", "not classified")
                else:
                    record["emotion"], record["three_class"] = _three_class(entry["probabilities"], mapped)
                    record["probabilities"] = entry["probabilities"]
                str_rows.append(Row(v.subject, v.name, i["onset"], i["offset"], record["emotion"]))
            intervals.append(record)
        spot_rows.append((v.part, v.name, 0, 0, None))  # the part's file exists even with nothing spotted
        results.append({"video": v.name, "subject": v.subject, "path": str(v.path), "fps": v.fps, "dataset": v.part,
                        "p": summary["p"], "step": summary["step"], "lost": len(summary["lost"]),
                        "intervals": intervals})

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [str(write_str(out / STR_FILE, str_rows))] + [str(p) for p in write_spotting(out, spot_rows)]
    result = {"folder": str(folder), "run": str(run), "model": models.name, "classes": list(config["classes"]),
              "map": mapped, "faces": face_note, "videos": results, "ignored": ignored, "files": files}
    if truth_rows is not None:
        result["truth"] = str(truth)
        result["scores"] = json_safe(score_str(str_rows, truth_rows, STR_CLASSES))
    result["out"] = str(out / "unseen.json")
    atomic_write(out / "unseen.json", lambda p: p.write_text(json.dumps(result, indent=1) + "\n"))
    return result

