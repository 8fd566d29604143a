"""The MEGC files of ``mpt spot`` and ``mpt str`` results on a corpus or on single inputs, and their
scoring when read back (``mpt spot evaluate FILE``, ``mpt str --score FILE``).

A corpus video's ``vid`` is its video name (``15_0101`` in CAS(ME)^2, ``006_1`` in SAMM-LV: unique
in the corpus); a single input's is its file or folder name. CAS(ME)^2 videos go to
``cas_pred.csv``, SAMM-LV's to ``samm_pred.csv``, single inputs by frame rate.
"""

from __future__ import annotations

from pathlib import Path

from mpt_core.megc_metric import Row, json_safe

from .files import (CORPUS_PART, STR_CLASSES, STR_FILE, SubmissionError, is_spotting_file, part_of, read_spotting,
                    read_str, write_spotting, write_str)


# helpers


def _index(dataset: str, annotations, root=None):
    from preprocess.readers import read_long_videos

    return read_long_videos(dataset, root, annotations)


def corpus_str_truth(dataset: str, annotations) -> list[Row]:
    """A corpus's micro-expressions as STR ground truth, labels through the 3class map (CAS(ME)^2's
    objective classes, SAMM's and CAS(ME)^3's emotions; a label the map does not know stays as it is, and so
    is left out of the analysis)."""
    from mpt_core.classmap import load_class_map

    cmap = load_class_map("3class")
    out = []
    for v, i in _index(dataset, annotations).intervals:
        if i.type == "micro":
            label = (i.objective if dataset == "cas2" else i.emotion).strip().lower()
            out.append(Row(v.subject, v.video, i.onset, i.offset, cmap.target(label) or label))
    return out


# writers


def input_names(paths) -> list[str]:
    """Each input's vid: a video file's stem, a frame folder's name; SubmissionError when two share one."""
    names = [Path(p).stem if Path(p).is_file() else Path(p).name for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SubmissionError(f"two inputs share the name {twice[0]!r}: the submission's vid would not tell them apart")
    return names


def spot_submission(result: dict, folder: Path, dataset: str | None = None) -> list[Path]:
    """``mpt spot``'s result (a corpus's, one input's or several) as the per-dataset spotting files."""
    if dataset is not None:
        part = CORPUS_PART[dataset]
        rows = [(part, v["video"], i["onset"], i["offset"], i["type"])
                for v in result["videos"] for i in v["intervals"]]
        return write_spotting(folder, rows + [(part, "", 0, 0, None)])
    inputs = result["inputs"] if "inputs" in result else [result]
    names = input_names([r["input"] for r in inputs])
    rows = []
    for name, r in zip(names, inputs):
        part = part_of(r["fps"])
        rows += [(part, name, i["onset"], i["offset"], i["type"]) for i in r["intervals"]] + [(part, name, 0, 0, None)]
    return write_spotting(folder, rows)


def str_predictions(result: dict) -> list[Row]:
    """``mpt str``'s spotted micro-expressions with their predicted classes, video by video in the
    table's order and by onset within a video (the order a submission file has)."""
    order = list(dict.fromkeys((r["subject"], r["video"]) for r in result["intervals"]))
    spotted = [r for r in result["intervals"] if r["spotted"] is not None]
    spotted.sort(key=lambda r: (order.index((r["subject"], r["video"])), r["spotted"]["onset"]))
    return [Row(r["subject"], r["video"], r["spotted"]["onset"], r["spotted"]["offset"], r["prediction"] or "")
            for r in spotted]


def str_truth(result: dict) -> list[Row]:
    """``mpt str``'s annotated micro-expressions (labels as the run's classes), table order."""
    return [Row(r["subject"], r["video"], r["annotated"]["onset"], r["annotated"]["offset"], r["truth"])
            for r in result["intervals"] if r["annotated"] is not None]


def str_submission(result: dict, folder: Path) -> Path:
    return write_str(Path(folder) / STR_FILE, str_predictions(result))


# reading back


def evaluate_spotting_file(path, dataset: str, annotations, megc: bool = False, root=None) -> dict:
    """A spotting submission file (``vid,pred_onset,pred_offset,type``) or an ``mpt spot --csv`` file
    against a corpus's table: mpt's figures, and with ``megc`` the leaderboard's beside them."""
    from mpt.spot.evaluate import read_predictions, truth_spots
    from mpt_core.spot_metric import Spot, as_json, evaluate

    from .score import score_spotting

    index = _index(dataset, annotations, root)  # with the corpus root, intervals past a video's end are errors
    if is_spotting_file(path):
        vids = {v.video: (v.subject, v.video) for v in index.videos}
        predicted = [Spot(r.subject, r.video, r.onset, r.offset, r.label) for r in read_spotting(path, vids)]
    else:
        predicted = read_predictions(path, {(v.subject, v.video): v for v in index.videos})
    truth = truth_spots(index)
    if not megc:
        return as_json(evaluate(predicted, truth))
    return json_safe(score_spotting([Row(s.subject, s.video, s.onset, s.offset, s.type) for s in predicted],
                                    [Row(s.subject, s.video, s.onset, s.offset, s.type) for s in truth]))


def score_str_file(path, *, truth=None, dataset: str | None = None, annotations=None) -> dict:
    """An STR predictions file against an STR truth file or a corpus's table (3 classes): mpt's
    STRS and the leaderboard's."""
    from .score import score_str

    true = read_str(truth) if truth is not None else corpus_str_truth(dataset, annotations)
    pred = read_str(path)
    known = {(r.subject, r.video) for r in true}
    if dataset is not None:  # the corpus lists its videos: a prediction elsewhere is a mistake
        known |= {(v.subject, v.video) for v in _index(dataset, annotations).videos}
        strangers = sorted({f"{r.subject}/{r.video}" for r in pred if (r.subject, r.video) not in known})
        if strangers:
            raise SubmissionError(f"{path}: prediction(s) for video(s) {', '.join(strangers[:5])} that {dataset}'s "
                                  "table does not have")
    elif pred and not any((r.subject, r.video) in known for r in pred):  # a truth file lists only annotated videos
        raise SubmissionError(f"{path}: no prediction names a subject/video of {truth}")
    return {"predictions": str(path), "truth": str(truth or annotations),
            **json_safe(score_str(pred, true, STR_CLASSES))}
