"""``mpt vqa score``: ME-VQA predictions against their truth, MEGC 2025's way (the library function).

Both files are JSONL in either of the challenge's layouts: training rows keyed by ``id``, test rows by
``video_id``; each needs ``answer``, the truth also ``question`` (a prediction's ``question``, when
given, must be the truth's). Every truth question needs exactly one prediction: a prediction file that
lacks some, repeats an id or names an id the truth does not hold is refused, so a figure never comes
from part of a test set.

Per question type (``mpt_core.vqa_format.question_type``): the number of questions, exact-match
accuracy (answers compared as lower-case alphanumeric words), mean sentence BLEU and ROUGE-1, and for
the class questions (coarse, fine, left/right, yes/no) UF1 and UAR of the class read from the
prediction (``mpt_core.vqa_metric.parse_class``; an unreadable answer is a miss). ``free text`` pools
the AU and combined answers, ``all`` every question.
"""

from __future__ import annotations

import json
from pathlib import Path

from mpt_core import vqa_format as F
from mpt_core import vqa_metric as M

# the names the parser accepts for each class, beyond the class's own name
FINE_SYNONYMS = {
    "anger": ("angry",), "contempt": ("contemptuous",), "disgust": ("disgusted", "disgusting"),
    "fear": ("fearful", "afraid", "scared"), "happiness": ("happy",), "repression": ("repressed",),
    "sadness": ("sad",), "surprise": ("surprised",), "others": ("other",),
}
COARSE_SYNONYMS = {"negative": (), "positive": (), "surprise": ("surprised",)}
CUES = {"coarse": "coarse expression class is", "fine": "fine grained expression class is"}


class VQAError(ValueError):
    """A prediction or truth file that cannot be scored: the message names the file, the line and why."""


# helpers


def read_jsonl(path: Path, role: str) -> list[tuple[int, str, dict]]:
    """[(line number, id, row)] of a JSONL file; VQAError on the first malformed line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark some editors write is not an error
    except (OSError, UnicodeDecodeError) as err:
        raise VQAError(f"--{role} {path}: unreadable ({err})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            raise VQAError(f"--{role} {path}, line {n}: not JSON ({err})") from None
        if not isinstance(row, dict):
            raise VQAError(f"--{role} {path}, line {n}: not a JSON object")
        key = row.get("id", row.get("video_id"))
        if not isinstance(key, (str, int)) or isinstance(key, bool) or str(key) == "":
            raise VQAError(f"--{role} {path}, line {n}: no id (an 'id' or 'video_id' string)")
        if not isinstance(row.get("answer"), str):
            raise VQAError(f"--{role} {path}, line {n}: id {key}: no 'answer' string")
        if role == "truth":
            if not isinstance(row.get("question"), str) or not row["question"].strip():
                raise VQAError(f"--truth {path}, line {n}: id {key}: no 'question' string")
            if not row["answer"].strip():
                raise VQAError(f"--truth {path}, line {n}: id {key}: empty answer (a *_to_answer file is not a truth)")
        rows.append((n, str(key), row))
    if not rows:
        raise VQAError(f"--{role} {path}: no rows")
    return rows


def _by_id(rows, role: str, path) -> dict[str, tuple[int, dict]]:
    out: dict[str, tuple[int, dict]] = {}
    for n, key, row in rows:
        if key in out:
            raise VQAError(f"--{role} {path}: id {key} repeated (lines {out[key][0]} and {n})")
        out[key] = (n, row)
    return out


def match(pred_rows, truth_rows, pred_path, truth_path) -> list[tuple[str, str, str]]:
    """[(question, truth answer, predicted answer)] in truth order; VQAError when the files do not pair up."""
    truth, pred = _by_id(truth_rows, "truth", truth_path), _by_id(pred_rows, "pred", pred_path)
    unknown = [(n, k) for k, (n, _) in pred.items() if k not in truth]
    if unknown:
        n, k = unknown[0]
        raise VQAError(f"--pred {pred_path}, line {n}: id {k} is not in --truth {truth_path}"
                       + (f" ({len(unknown)} such ids)" if len(unknown) > 1 else ""))
    missing = [k for k in truth if k not in pred]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise VQAError(f"--pred {pred_path} lacks {len(missing)} of the {len(truth)} questions of --truth "
                       f"{truth_path} ({shown})")
    out = []
    for k, (_, t) in truth.items():
        n, p = pred[k]
        if "question" in p and " ".join(str(p["question"]).lower().split()) != " ".join(t["question"].lower().split()):
            raise VQAError(f"--pred {pred_path}, line {n}: id {k} asks {p['question']!r}, the truth asks "
                           f"{t['question']!r}")
        out.append((t["question"], t["answer"], p["answer"]))
    return out


def class_table(kind: str, truth_classes) -> dict[str, tuple[str, ...]]:
    """The classes (and the names that count for each) the parser reads for one question type."""
    if kind == "coarse":
        base = dict(COARSE_SYNONYMS)
    elif kind == "fine":
        base = dict(FINE_SYNONYMS)
    else:
        base = {"au_side": {"left": (), "right": ()}, "au_yes_no": {"yes": (), "no": ()}}[kind]
    for c in truth_classes:
        base.setdefault(c, ())
    return base


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _text_scores(items) -> dict:
    return {"n": len(items),
            "exact": _mean(M.words(t) == M.words(p) for _, t, p in items),
            "bleu": _mean(M.sentence_bleu(t, p) for _, t, p in items),
            "rouge1_f": _mean(M.rouge1(t, p)[2] for _, t, p in items),
            "rouge1_recall": _mean(M.rouge1(t, p)[1] for _, t, p in items)}


# the command


def score(pairs: list[tuple[str, str, str]]) -> dict:
    """The report of matched (question, truth, prediction) triples (see the module docstring)."""
    by_type: dict[str, list] = {}
    for q, t, p in pairs:
        by_type.setdefault(F.question_type(q), []).append((q, t, p))
    types = {}
    for kind in F.QUESTION_TYPES:
        items = by_type.get(kind)
        if not items:
            continue
        entry = _text_scores(items)
        if kind in F.CLASS_TYPES:
            truth = [" ".join(M.words(t)) for _, t, _ in items]
            table = class_table(kind, truth)
            pred = [M.parse_class(p, table, cue=CUES.get(kind), negation=kind != "au_yes_no") for _, _, p in items]
            uf1, uar, per = M.uf1_uar(truth, pred)
            entry.update(uf1=uf1, uar=uar, unreadable=sum(x is None for x in pred), classes=per)
        types[kind] = entry
    free = [x for kind in F.FREE_TEXT_TYPES for x in by_type.get(kind, [])]
    return {"questions": len(pairs), "types": types,
            "free_text": _text_scores(free) if free else None, "all": _text_scores(pairs)}


def score_files(pred_path, truth_path) -> dict:
    """Read, pair and score two JSONL files; VQAError when they cannot be."""
    pairs = match(read_jsonl(pred_path, "pred"), read_jsonl(truth_path, "truth"), pred_path, truth_path)
    report = score(pairs)
    report.update(pred=str(pred_path), truth=str(truth_path))
    return report


def markdown(report: dict) -> str:
    def f(x):
        return "-" if x is None else f"{x:.4f}"

    lines = [f"# ME-VQA: {report['questions']} questions", "",
             "| question type | n | UF1 | UAR | unreadable | exact | BLEU | ROUGE-1 F |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [(k, v) for k, v in report["types"].items()]
    rows += [("free text (au + combined)", report["free_text"])] if report["free_text"] else []
    rows += [("all", report["all"])]
    for name, v in rows:
        lines.append(f"| {name} | {v['n']} | {f(v.get('uf1'))} | {f(v.get('uar'))} | "
                     f"{v.get('unreadable', '-')} | {f(v['exact'])} | {f(v['bleu'])} | {f(v['rouge1_f'])} |")
    return "\n".join(lines) + "\n"
