"""The MEGC spotting metric: hand-made cases, and `mpt spot evaluate` against an independent
computation (frame sets, a brute-force matching) on random intervals."""

import csv
import itertools
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mpt.cli import app
from mpt_core.spot_metric import Counts, Spot, evaluate, iou, match, video_counts
from preprocess.synth.longvideo_tables import TableRow, samm_names, write_sammlv_tables

runner = CliRunner()


def test_exact_match():
    assert iou((10, 20), (10, 20)) == 1.0
    assert video_counts([(10, 20)], [(10, 20)]) == Counts(1, 0, 0)


def test_iou_just_under_and_just_over_half():
    # truth 1..10 (10 frames); prediction 1..5: 5/10 = 0.5 exactly (counts), 1..4: 4/10 (does not)
    assert iou((1, 5), (1, 10)) == 0.5
    assert video_counts([(1, 5)], [(1, 10)]) == Counts(1, 0, 0)
    assert video_counts([(1, 4)], [(1, 10)]) == Counts(0, 1, 1)
    # shifted: truth 1..20, prediction 8..27: 13 / 27 < 0.5; 7..26: 14 / 26 > 0.5
    assert iou((8, 27), (1, 20)) == 13 / 27 and video_counts([(8, 27)], [(1, 20)]) == Counts(0, 1, 1)
    assert iou((7, 26), (1, 20)) == 14 / 26 and video_counts([(7, 26)], [(1, 20)]) == Counts(1, 0, 0)


def test_one_prediction_overlapping_two_truths():
    # 1..10 covers 1..5 and 6..10, IoU 0.5 with each: one TP, the other truth is a FN (not two TPs)
    assert iou((1, 10), (1, 5)) == iou((1, 10), (6, 10)) == 0.5
    assert video_counts([(1, 10)], [(1, 5), (6, 10)]) == Counts(1, 0, 1)
    # the higher IoU wins: 1..9 has 5/9 with 1..5 and 4/9 with 6..10
    assert match([(1, 9)], [(6, 10), (1, 5)]) == [(0, 1, 5 / 9)]


def test_two_predictions_on_one_truth():
    # both over 0.5; the better one (exact) is the TP, the other a FP
    assert match([(2, 10), (1, 10)], [(1, 10)]) == [(1, 0, 1.0)]
    assert video_counts([(2, 10), (1, 10)], [(1, 10)]) == Counts(1, 1, 0)


def test_empty_video_and_empty_denominators():
    assert video_counts([], []) == Counts(0, 0, 0)
    assert video_counts([(1, 5)], []) == Counts(0, 1, 0)
    assert video_counts([], [(1, 5)]) == Counts(0, 0, 1)
    c = Counts(0, 0, 0)
    assert (c.precision, c.recall, c.f1) == (0.0, 0.0, 0.0)


def test_types_are_matched_separately_and_sums_over_videos():
    truth = [Spot("a", "a_1", 1, 10, "micro"), Spot("a", "a_2", 1, 100, "macro"), Spot("b", "b_1", 50, 60, "micro")]
    pred = [Spot("a", "a_1", 1, 10, "macro"),  # right place, wrong type: a FP macro and a FN micro
            Spot("a", "a_2", 1, 100, "macro"), Spot("b", "b_1", 50, 60, "micro"), Spot("b", "b_1", 1, 5, "micro")]
    r = evaluate(pred, truth)
    assert r["micro"] == Counts(1, 1, 1) and r["macro"] == Counts(1, 1, 0) and r["overall"] == Counts(2, 2, 1)
    assert r["subjects"]["a"]["overall"] == Counts(1, 1, 1) and r["subjects"]["b"]["micro"] == Counts(1, 1, 0)
    # F1 from the summed counts, not the mean of the videos' F1
    assert r["overall"].f1 == pytest.approx(2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3))


# the independent computation: frame sets and a brute-force best assignment order


def _iou_sets(a, b):
    fa, fb = set(range(a[0], a[1] + 1)), set(range(b[0], b[1] + 1))
    return len(fa & fb) / len(fa | fb)


def _brute_counts(pred, truth):
    """Repeatedly take the pair with the highest IoU (>= 0.5) among the unused ones."""
    pred, truth = list(pred), list(truth)
    tp = 0
    while True:
        best = max(((_iou_sets(p, t), -i, -j) for i, p in enumerate(pred) for j, t in enumerate(truth)
                    if p is not None and t is not None), default=None)
        if best is None or best[0] < 0.5:
            break
        pred[-best[1]], truth[-best[2]] = None, None
        tp += 1
    return tp, len(pred) - tp, len(truth) - tp


def _random_intervals(rng, n, length, span):
    out = []
    for _ in range(n):
        on = int(rng.integers(1, length - span[1]))
        out.append((on, on + int(rng.integers(*span))))
    return out


def test_cli_matches_an_independent_computation_on_random_intervals(tmp_path):
    rng = np.random.default_rng(18)
    rows, preds, expected = [], [], {}
    for s, v in itertools.product(range(1, 4), range(1, 4)):
        subject, video = samm_names(s, v)
        for kind, span in (("micro", (5, 30)), ("macro", (30, 120))):
            truth = _random_intervals(rng, int(rng.integers(0, 5)), 600, span)
            # predictions: jittered truths (some close enough, some not) and random extras
            jitter = [(max(1, a + int(rng.integers(-6, 7))), b + int(rng.integers(-6, 7))) for a, b in truth]
            pred = [p for p in jitter if p[0] <= p[1] and rng.random() < 0.8]
            pred += _random_intervals(rng, int(rng.integers(0, 3)), 600, span)
            rows += [TableRow(s, v, len(rows) + 1, a, a, b, kind, "4", "Anger") for a, b in truth]
            preds += [(subject, video, a, b, kind) for a, b in pred]
            counts = _brute_counts(pred, truth)
            expected.setdefault(kind, []).append(counts)
            expected.setdefault(subject, []).append(counts)
    table, codes = write_sammlv_tables(tmp_path / "SAMMLV_gt.xlsx", tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    with open(tmp_path / "pred.csv", "w", newline="") as f:
        csv.writer(f).writerows([("subject", "video", "onset", "offset", "type"), *preds])
    result = runner.invoke(app, ["spot", "evaluate", str(tmp_path / "pred.csv"), "--dataset", "samm-lv",
                                 "--annotations", str(table), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    for kind in ("micro", "macro"):
        tp, fp, fn = np.sum(expected[kind], axis=0)
        assert (got[kind]["tp"], got[kind]["fp"], got[kind]["fn"]) == (tp, fp, fn)
        p, r = tp / (tp + fp), tp / (tp + fn)
        assert got[kind]["f1"] == pytest.approx(2 * p * r / (p + r))
    total = np.sum(expected["micro"] + expected["macro"], axis=0)
    assert [got["overall"][k] for k in ("tp", "fp", "fn")] == list(total)
    for subject in {r[0] for r in preds}:
        assert [got["subjects"][subject]["overall"][k] for k in ("tp", "fp", "fn")] == list(
            np.sum(expected[subject], axis=0))
    assert got["micro"]["tp"] > 0 and got["micro"]["fp"] > 0 and got["micro"]["fn"] > 0  # the case is not trivial


@pytest.mark.parametrize("row, message", [
    ("006,006_9,10,20,micro", "unknown video 006/006_9"),
    ("006,006_1,30,20,micro", "onset 30 > offset 20"),
    ("006,006_1,10,20,blink", "type 'blink'"),
    ("006,006_1,ten,20,micro", "integer frame numbers"),
])
def test_bad_predictions_are_one_line(tmp_path, row, message):
    table, _ = write_sammlv_tables(tmp_path / "SAMMLV_gt.xlsx", tmp_path / "codes.xlsx",
                                   [TableRow(1, 1, 1, 10, 15, 20, "micro", "4", "Anger")])
    (tmp_path / "pred.csv").write_text(f"subject,video,onset,offset,type\n006,006_1,10,20,micro\n{row}\n")
    result = runner.invoke(app, ["spot", "evaluate", str(tmp_path / "pred.csv"), "--dataset", "samm-lv",
                                 "--annotations", str(table)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr and "row 3" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
