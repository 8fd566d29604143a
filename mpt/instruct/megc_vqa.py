"""``mpt instruct --format megc-vqa``: a corpus -> MEGC 2025's ME-VQA files (the layout, the question set).

Per clip, in the challenge's order (``mpt_core.vqa_format`` has the wording):

1. the coarse class (negative, positive, surprise);
2. the fine class, where the corpus has one beyond the coarse class (SMIC has not; nor have CAS(ME)^2's
   clips, read by their objective class);
3. the action units (one: "What is the action unit?", several: "What are the action units?"), every AU
   the annotation names, in its order, each once, ``ref(...)`` and ``or`` alternatives included, as the
   challenge lists them;
4. left or right, for the first AU coded ``L``/``R`` (the subject's side, as FACS codes it);
5. yes: one listed AU, drawn; 6. no: one AU the annotation does not name, drawn from the AUs annotated
   anywhere in the clip's source corpus (so the distractor is a plausible one);
7. the combined answer (AUs, then fine and coarse class), where there are both.

Draws are seeded per clip (``--seed``), so the same input gives the same bytes. Rows and names follow the
challenge's files: ``{id, dataset, image_id, subject, filename, question, answer}``, ids
``<dataset>_<image_id>_<n>``; SAMM subjects without leading zeros, SMIC names zero-padded (``s01_ne_01``),
image ids ``<subject>_<clip>`` (SAMM's and SMIC's: the clip). Test sides use the test layout
``{video_id, video, question, answer}``, ``video_id`` = ``<dataset>_test_<video>_<n>``.

    OUT/me_vqa_<datasets>.jsonl                              every clip, training layout
    OUT/splits/<split>/me_vqa_<datasets>.jsonl               the split's training subjects
    OUT/splits/<split>/me_vqa_<datasets>_test.jsonl          its test subjects, test layout, answers: the truth
    OUT/splits/<split>/me_vqa_<datasets>_test_to_answer.jsonl  the same, answers empty
    OUT/megc_vqa.json                                        what was written (last: marks the folder done)

``<datasets>``: the sources joined by ``_``, SAMM, CASME II, SMIC first (``me_vqa_samm_casme2_smic``).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from mpt_core import vqa_format as F
from mpt_core.fileio import atomic_write

from .aus import parse_aus
from .splits import plan_splits

SUMMARY = "megc_vqa.json"
SOURCE_ORDER = ("samm", "casme2", "smic")  # the challenge's file name order; others follow, sorted
# the reader's class selection when --classes is not given: the emotions that have a coarse class (as the
# challenge's file: CASME II and SAMM without others; CASME II's sadness and fear are not in it either)
DEFAULT_CLASSES = {
    "casme2": ("happiness", "surprise", "disgust", "repression"),
    "samm": ("anger", "contempt", "happiness", "surprise", "disgust", "fear", "sadness"),
    "casme3": ("casme3-3",), "cas2": ("cas2-3",), "samm-lv": ("samm-lv-3",),
}


class MegcVqaError(ValueError):
    """Bad input to ``mpt instruct --format megc-vqa``: the message says what, where and why."""


# helpers


def source_of(record) -> tuple[str, str]:
    """(source dataset, subject within it): megc2019 records carry theirs in the subject (``samm/006``)."""
    if record.dataset == "megc2019" and "/" in record.subject:
        source, subject = record.subject.split("/", 1)
        return source, subject
    return record.dataset, record.subject


def _smic_padded(name: str) -> str:
    return re.sub(r"^s0*(\d+)", lambda m: f"s{int(m.group(1)):02d}", name, flags=re.IGNORECASE)


def official_names(source: str, subject: str, clip: str) -> tuple[str, str, str]:
    """(subject, filename, image_id) as the challenge's file writes them."""
    if source == "samm":
        return (str(int(subject)) if subject.isdigit() else subject), clip, clip
    if source == "smic":
        return _smic_padded(subject), _smic_padded(clip), _smic_padded(clip)
    image_id = clip if clip.startswith(f"{subject}_") else f"{subject}_{clip}"
    return subject, clip, image_id


def clip_rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def clip_questions(*, coarse: str, fine: str | None, au_text: str, pool: list[int], rng) -> list[tuple[str, str]]:
    """The (question, answer) pairs of one clip, in the challenge's order (module docstring)."""
    qa = [(F.COARSE_Q, coarse)]
    if fine is not None:
        qa.append((F.FINE_Q, fine))
    aus = parse_aus(au_text)
    if not aus:
        return qa
    names = ", ".join(F.au_name(a.number) for a in aus)
    qa.append((F.AU_ONE_Q if len(aus) == 1 else F.AU_MANY_Q, names))
    sided = [a for a in aus if a.side in ("L", "R")]
    if sided:
        qa.append((F.SIDE_Q.format(au=F.au_name(sided[0].number)), "left" if sided[0].side == "L" else "right"))
    listed = [a.number for a in aus]
    qa.append((F.YES_NO_Q.format(au=F.au_name(listed[int(rng.integers(len(listed)))])), "yes"))
    absent = [n for n in pool if n not in listed] or [n for n in sorted(F.AU_NAMES) if n not in listed]
    qa.append((F.YES_NO_Q.format(au=F.au_name(absent[int(rng.integers(len(absent)))])), "no"))
    if fine is None:  # the combined answer states a fine class
        return qa
    template = F.COMBINED_ONE_A if len(aus) == 1 else F.COMBINED_MANY_A
    qa.append((F.COMBINED_ONE_Q if len(aus) == 1 else F.COMBINED_MANY_Q,
               template.format(aus=names, fine=fine, coarse=coarse)))
    return qa


def has_fine(emotions: list[str]) -> bool:
    """Whether a source's emotions go beyond the coarse classes: SMIC's (negative, positive, surprise) do
    not, so its clips get the coarse question only, as in the challenge's file."""
    return not (all(e in F.COARSE_CLASSES for e in emotions) and any(e in ("negative", "positive") for e in emotions))


def _coarse(record, fine: str) -> str | None:
    label = record.label.strip().lower()
    return label if label in F.COARSE_CLASSES else F.COARSE_OF.get(fine)


def test_rows(rows: list[dict]) -> list[dict]:
    """Training-layout rows -> the test layout (``video`` = the clip's image id)."""
    out = []
    for r in rows:
        n = r["id"].rsplit("_", 1)[1]
        out.append({"video_id": f"{r['dataset']}_test_{r['image_id']}_{n}", "video": r["image_id"],
                    "question": r["question"], "answer": r["answer"]})
    return out


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _clear(out: Path) -> None:
    """Remove what an earlier megc-vqa run wrote (summary first: a crash leaves no finished-looking folder)."""
    (out / SUMMARY).unlink(missing_ok=True)
    for p in out.glob("me_vqa_*.jsonl"):
        p.unlink()
    splits = out / "splits"
    if splits.is_dir():
        for p in splits.glob("*/me_vqa_*.jsonl"):
            p.unlink()
        for d in splits.iterdir():
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        if not any(splits.iterdir()):
            splits.rmdir()


# the command


def build_megc_vqa(name: str, root, annotations=None, *, out, classes=None, holdout: list[str] | None = None,
                   folds: bool = False, seed: int = 0, strict: bool = False, max_seconds: float | None = None) -> dict:
    """Write the ME-VQA files of corpus ``name`` at ``root`` into ``out``; returns the summary (``megc_vqa.json``)."""
    from preprocess.readers import read_dataset

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MegcVqaError(f"--out {out}: not a folder")
    if (out / "instruct.json").exists():
        raise MegcVqaError(f"--out {out} holds a motion instruction set (instruct.json): write megc-vqa into "
                           "another folder")
    index = read_dataset(name, root, annotations, strict=strict, classes=classes or DEFAULT_CLASSES.get(name),
                         max_seconds=max_seconds)
    if not index.clips:
        raise MegcVqaError(f"{name}: no clips ({len(index.skipped)} skipped by the reader)")
    splits_plan = plan_splits(index.subjects, holdout=holdout, folds=folds)

    clips = []  # (reader subject, source, fine, coarse, record)
    for rec in index.clips:
        source, _ = source_of(rec)
        fine = F.fine_class(rec.emotion or rec.label)
        coarse = _coarse(rec, fine)
        if coarse is None:
            raise MegcVqaError(f"{name}: clip {rec.key}: class {rec.label!r} (emotion {rec.emotion!r}) has no coarse "
                               f"class among {', '.join(F.COARSE_CLASSES)}: leave it out of --classes")
        clips.append((rec.subject, source, fine, coarse, rec))
    coarse_only = {s for s in {c[1] for c in clips} if not has_fine([c[2] for c in clips if c[1] == s])}
    pool = {s: sorted({a.number for c in clips if c[1] == s for a in parse_aus(c[4].au)}) for s in {c[1] for c in clips}}

    rows_of, rows_all, seen = {}, [], {}
    for subject, source, fine, coarse, rec in clips:
        o_subject, filename, image_id = official_names(source, source_of(rec)[1], rec.clip)
        qa = clip_questions(coarse=coarse, fine=None if source in coarse_only else fine, au_text=rec.au, pool=pool[source],
                            rng=clip_rng(seed, f"{source}/{rec.subject}/{rec.clip}"))
        rows = [{"id": f"{source}_{image_id}_{n}", "dataset": source, "image_id": image_id, "subject": o_subject,
                 "filename": filename, "question": q, "answer": a} for n, (q, a) in enumerate(qa, 1)]
        for r in rows:  # ids are the challenge's join of names: two clips must not meet in one
            if r["id"] in seen:
                raise MegcVqaError(f"{name}: clips {seen[r['id']]} and {rec.key} both give the row id {r['id']!r}")
            seen[r["id"]] = rec.key
        rows_of.setdefault(subject, []).extend(rows)
        rows_all.extend(rows)

    sources = sorted({c[1] for c in clips}, key=lambda s: (SOURCE_ORDER.index(s) if s in SOURCE_ORDER else 99, s))
    stem = "me_vqa_" + "_".join(sources)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    _write_jsonl(out / f"{stem}.jsonl", rows_all)
    files = [f"{stem}.jsonl"]
    split_stats = {}
    for split, test_subjects in splits_plan.items():
        test = set(test_subjects)
        train_rows = [r for s in sorted(rows_of) if s not in test for r in rows_of[s]]
        truth = test_rows([r for s in sorted(rows_of) if s in test for r in rows_of[s]])
        folder = out / "splits" / split
        _write_jsonl(folder / f"{stem}.jsonl", train_rows)
        _write_jsonl(folder / f"{stem}_test.jsonl", truth)
        _write_jsonl(folder / f"{stem}_test_to_answer.jsonl", [{**r, "answer": ""} for r in truth])
        files += [f"splits/{split}/{stem}{tail}.jsonl" for tail in ("", "_test", "_test_to_answer")]
        split_stats[split] = {"train": {"subjects": len(set(rows_of) - test), "rows": len(train_rows)},
                              "test": {"subjects": sorted(test), "rows": len(truth)}}

    summary = {
        "format": "megc-vqa", "dataset": name, "sources": sources, "seed": seed,
        "clips": len(clips), "rows": len(rows_all),
        "questions": dict(Counter(F.question_type(r["question"]) for r in rows_all)),
        "per_source": {s: {"clips": sum(c[1] == s for c in clips),
                           "coarse": dict(sorted(Counter(c[3] for c in clips if c[1] == s).items())),
                           "fine": (None if s in coarse_only else
                                    dict(sorted(Counter(c[2] for c in clips if c[1] == s).items())))}
                       for s in sources},
        "unconfirmed_au_names": {str(n): F.au_name(n) for n in sorted(set().union(*pool.values()))
                                 if n in F.UNCONFIRMED or n not in F.AU_NAMES},
        "files": files, "splits": split_stats,
        "skipped": [{"clip": p.clip, "reason": str(p)} for p in index.skipped],
    }
    for w in index.warnings:
        print(f"  note: {w}", file=sys.stderr)
    for s in summary["skipped"]:
        print(f"  skipped {s['clip']}: {s['reason']}", file=sys.stderr)
    text = json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
    atomic_write(out / SUMMARY, lambda tmp: tmp.write_text(text, encoding="utf-8"))  # last: marks the folder done
    return summary


def markdown(summary: dict) -> str:
    """What the command prints: counts per source, question type and split."""
    lines = [f"# megc-vqa {summary['dataset']}: {summary['clips']} clips, {summary['rows']} questions", "",
             "| source | clips | coarse | fine |", "|---|---:|---|---|"]
    for s, v in summary["per_source"].items():
        fine = "-" if v["fine"] is None else ", ".join(f"{k} {n}" for k, n in v["fine"].items())
        lines.append(f"| {s} | {v['clips']} | {', '.join(f'{k} {n}' for k, n in v['coarse'].items())} | {fine} |")
    lines += ["", "| question type | rows |", "|---|---:|"]
    lines += [f"| {t} | {summary['questions'][t]} |" for t in F.QUESTION_TYPES if t in summary["questions"]]
    if summary["splits"]:
        lines += ["", "| split | train subjects | train rows | test subjects | test rows |", "|---|---:|---:|---|---:|"]
        lines += [f"| {k} | {v['train']['subjects']} | {v['train']['rows']} | {', '.join(v['test']['subjects'])} | "
                  f"{v['test']['rows']} |" for k, v in summary["splits"].items()]
    if summary["unconfirmed_au_names"]:
        lines += ["", "AU names not seen in the challenge's files (FACS names): "
                  + ", ".join(f"AU{k} {v}" for k, v in summary["unconfirmed_au_names"].items())]
    if summary["skipped"]:
        lines += ["", f"{len(summary['skipped'])} clip(s) skipped by the reader:"]
        lines += [f"- {s['reason']}" for s in summary["skipped"]]
    lines += ["", "files: " + ", ".join(summary["files"])]
    return "\n".join(lines) + "\n"
