"""``mpt vqa score`` and ``mpt_core.vqa_metric``: every expected figure is worked out by hand in the comments
(never by calling the code under test); a perfect prediction, a constant one, the class parser's rules, and
the prediction files that must be refused."""

import json
import math

import pytest
from typer.testing import CliRunner

from mpt.cli import app
from mpt_core.vqa_metric import parse_class, rouge1, sentence_bleu, uf1_uar

runner = CliRunner()
COMBINED_Q = ("What are the action units present, and based on them, what is the fine-grained expression and the "
              "coarse expression class?")
COMBINED_A = ("The action units present are: brow lowerer, lid tightener. Therefore, the fine-grained expression class "
              "is anger, and the coarse expression class is negative.")
# (id, question, truth, prediction)
CASES = [
    ("c1", "What is the coarse expression class?", "negative", "negative"),
    ("c2", "What is the coarse expression class?", "negative", "The coarse expression class is positive."),
    ("c3", "What is the coarse expression class?", "positive", "positive"),
    ("c4", "What is the coarse expression class?", "surprise", "I think it is negative or surprise"),
    ("f1", "What is the fine-grained expression class?", "anger", "angry"),
    ("f2", "What is the fine-grained expression class?", "disgust", "disgust"),
    ("f3", "What is the fine-grained expression class?", "happiness", "sad"),
    ("f4", "What is the fine-grained expression class?", "surprise", "Surprise."),
    ("y1", "Is the action unit brow lowerer shown on the face?", "yes", "Yes."),
    ("y2", "Is the action unit dimpler shown on the face?", "no", "no, it is not"),
    ("s1", "Is the action unit dimpler located on the left or right face?", "left", "right"),
    ("a1", "What are the action units?", "brow lowerer, lid tightener", "brow lowerer"),
    ("m1", COMBINED_Q, COMBINED_A, COMBINED_A),
]


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def files(tmp_path, cases=CASES, key="id"):
    truth = write(tmp_path / "truth.jsonl", [{key: i, "question": q, "answer": t} for i, q, t, _ in cases])
    pred = write(tmp_path / "pred.jsonl", [{key: i, "answer": p} for i, _, _, p in cases])
    return pred, truth


def score(pred, truth):
    result = runner.invoke(app, ["vqa", "score", "--pred", str(pred), "--truth", str(truth), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# the metric functions


def test_bleu_by_hand():
    # one word, exact: p1 = 1/1; no 2-, 3-, 4-grams: each p = 0.1 / max(1, 0) = 0.1 (method 1); BP = 1
    assert sentence_bleu("negative", "negative") == pytest.approx(0.1 ** 0.75, rel=1e-12)
    # ref "brow lowerer, lid tightener" (4 tokens, "lowerer," keeps its comma), hyp "brow lowerer" (2):
    # p1 = 1/2 ("brow"), p2 = 0.1/1, p3 = p4 = 0.1/1; BP = exp(1 - 4/2) = e^-1
    assert sentence_bleu("brow lowerer, lid tightener", "brow lowerer") == \
        pytest.approx(math.exp(-1) * 0.5 ** 0.25 * 0.1 ** 0.75, rel=1e-12)
    # ref 1 token, hyp 7 tokens with one match: p1 = 1/7, p2 = 0.1/6, p3 = 0.1/5, p4 = 0.1/4; BP = 1
    assert sentence_bleu("surprise", "I think it is negative or surprise") == \
        pytest.approx((1 / 7 * 0.1 / 6 * 0.1 / 5 * 0.1 / 4) ** 0.25, rel=1e-12)
    # four or more words, identical: every p = 1, BP = 1
    assert sentence_bleu("a b c d e", "A b c d e") == 1.0
    # no unigram in common, or nothing predicted: 0
    assert sentence_bleu("negative", "positive") == 0.0 and sentence_bleu("negative", "") == 0.0


def test_rouge1_by_hand():
    # ref words brow lowerer lid tightener, hyp brow lowerer: overlap 2, P = 2/2, R = 2/4, F = 2PR/(P+R) = 2/3
    assert rouge1("brow lowerer, lid tightener", "brow lowerer") == pytest.approx((1.0, 0.5, 2 / 3))
    # clipped counts: hyp "no no no" against ref "no": overlap 1, P = 1/3, R = 1, F = 0.5
    assert rouge1("no", "no no no") == pytest.approx((1 / 3, 1.0, 0.5))
    assert rouge1("negative", "") == (0.0, 0.0, 0.0) and rouge1("Negative.", "negative") == (1.0, 1.0, 1.0)


def test_uf1_uar_by_hand():
    # truth n n p s, pred n p p None: n TP1 FN1 -> F1 2/3, recall 1/2; p TP1 FP1 -> F1 2/3, recall 1;
    # s FN1 -> 0, 0. UF1 = (2/3 + 2/3 + 0)/3 = 4/9, UAR = (1/2 + 1 + 0)/3 = 1/2
    uf1, uar, per = uf1_uar(["n", "n", "p", "s"], ["n", "p", "p", None])
    assert (uf1, uar) == (pytest.approx(4 / 9), pytest.approx(0.5))
    assert per["p"] == {"tp": 1, "fp": 1, "fn": 0, "f1": pytest.approx(2 / 3), "recall": 1.0}
    # a predicted class the truth lacks adds no class: truth a a, pred a x -> only a: F1 2/3, recall 1/2
    assert uf1_uar(["a", "a"], ["a", "x"])[:2] == (pytest.approx(2 / 3), pytest.approx(0.5))


COARSE = {"negative": (), "positive": (), "surprise": ("surprised",)}


@pytest.mark.parametrize("text, cue, expected", [
    ("Negative", None, "negative"),                                   # 1. the whole answer is a name
    ("  surprised! ", None, "surprise"),                              # 1. a synonym, punctuation ignored
    ("The fine-grained class is surprise, and the coarse expression class is negative.",
     "coarse expression class is", "negative"),                      # 2. first name after the cue
    ("I would say negative.", None, "negative"),                      # 3. one class named
    ("It is not positive, it is negative", None, "negative"),         # 3. a negated name does not count
    ("It isn't positive; negative", None, "negative"),                # 3. "n't" is "not"
    ("negative or positive", None, None),                             # 4. two classes: unreadable
    ("no idea", None, None),                                          # 4. no class
    ("", None, None),
])
def test_parse_class_rules(text, cue, expected):
    assert parse_class(text, COARSE, cue=cue) == expected


def test_parse_class_yes_no_without_negation():
    assert parse_class("No, it is not shown", {"yes": (), "no": ()}, negation=False) == "no"
    assert parse_class("Yes, it is shown.", {"yes": (), "no": ()}, negation=False) == "yes"


# the command


def test_hand_made_predictions(tmp_path):
    report = score(*files(tmp_path))
    t = report["types"]
    # coarse: parsed n, p, p, None against n, n, p, s (test_uf1_uar_by_hand): UF1 4/9, UAR 1/2
    assert (t["coarse"]["uf1"], t["coarse"]["uar"], t["coarse"]["unreadable"]) == (pytest.approx(4 / 9), 0.5, 1)
    # fine: anger, disgust, sadness, surprise against anger, disgust, happiness, surprise: three classes right,
    # happiness missed (sadness is no truth class): UF1 = UAR = 3/4
    assert (t["fine"]["uf1"], t["fine"]["uar"]) == (0.75, 0.75)
    assert (t["au_yes_no"]["uf1"], t["au_yes_no"]["uar"]) == (1.0, 1.0)
    assert (t["au_side"]["uf1"], t["au_side"]["uar"]) == (0.0, 0.0)  # one left, predicted right
    bleu_au = math.exp(-1) * 0.5 ** 0.25 * 0.1 ** 0.75  # test_bleu_by_hand
    assert t["au"]["bleu"] == pytest.approx(bleu_au) and t["au"]["rouge1_f"] == pytest.approx(2 / 3)
    assert t["combined"]["bleu"] == 1.0 and t["combined"]["rouge1_f"] == 1.0 and t["combined"]["exact"] == 1.0
    # free text: the AU answer and the combined one
    assert report["free_text"]["bleu"] == pytest.approx((bleu_au + 1) / 2)
    assert report["free_text"]["rouge1_f"] == pytest.approx((2 / 3 + 1) / 2)
    # exact match, all 13: c1 c3 f2 f4 y? ("Yes." -> yes: exact) m1 -> c1, c3, f2, f4, y1, m1 = 6
    assert report["all"]["exact"] == pytest.approx(6 / 13)
    # coarse BLEU: c1 and c3 0.1**0.75 each, c2 0 (no shared word), c4 (1/7 * 0.1/6 * 0.1/5 * 0.1/4) ** 0.25
    assert t["coarse"]["bleu"] == pytest.approx((2 * 0.1 ** 0.75 + (1 / 7 * 0.1 / 6 * 0.1 / 5 * 0.1 / 4) ** 0.25) / 4)


def test_table_output(tmp_path):
    pred, truth = files(tmp_path)
    result = runner.invoke(app, ["vqa", "score", "--pred", str(pred), "--truth", str(truth)])
    assert result.exit_code == 0
    assert "| coarse | 4 | 0.4444 | 0.5000 | 1 |" in result.stdout and "| all | 13 |" in result.stdout


@pytest.fixture(scope="module")
def megc_split(tmp_path_factory):
    """A truth file as mpt instruct --format megc-vqa writes it (test layout, one held-out subject)."""
    from preprocess.synth import generate_synthetic

    root = tmp_path_factory.mktemp("vqa-synth")
    generate_synthetic(root, subjects=3, clips_per_subject=6, seed=2, jobs=1, progress=False)
    out = tmp_path_factory.mktemp("vqa-out") / "out"
    result = runner.invoke(app, ["instruct", "casme2", "--root", str(root), "--out", str(out), "--format", "megc-vqa",
                                 "--folds"])
    assert result.exit_code == 0, result.output
    truth = out / "splits" / "loso-sub01" / "me_vqa_casme2_test.jsonl"
    return truth, [json.loads(x) for x in truth.read_text().splitlines()]


def test_perfect_prediction(megc_split, tmp_path):
    truth, rows = megc_split
    pred = write(tmp_path / "pred.jsonl", [{"video_id": r["video_id"], "answer": r["answer"]} for r in rows])
    report = score(pred, truth)
    for kind, v in report["types"].items():
        assert v["exact"] == 1.0 and v["rouge1_f"] == 1.0, kind
        if "uf1" in v:
            assert (v["uf1"], v["uar"], v["unreadable"]) == (1.0, 1.0, 0), kind
    # BLEU is 1 for answers of four words or more (the combined one); NLTK's method 1 gives an exact
    # one-word answer 0.1 ** 0.75 (test_bleu_by_hand)
    assert report["types"]["combined"]["bleu"] == 1.0
    assert report["types"]["coarse"]["bleu"] == pytest.approx(0.1 ** 0.75)


def test_constant_prediction(megc_split, tmp_path):
    truth, rows = megc_split
    coarse = [r["answer"] for r in rows if r["question"] == "What is the coarse expression class?"]
    pred = write(tmp_path / "pred.jsonl", [{"video_id": r["video_id"], "answer": "negative"
                                            if r["question"] == "What is the coarse expression class?" else r["answer"]}
                                           for r in rows])
    report = score(pred, truth)
    # always "negative": K classes in the truth, n negatives of N: negative has TP n, FP N - n, FN 0 ->
    # F1 = 2n / (2n + N - n); every other class F1 0 and recall 0; negative's recall 1
    k, n, total = len(set(coarse)), coarse.count("negative"), len(coarse)
    assert n and k > 1
    assert report["types"]["coarse"]["uf1"] == pytest.approx(2 * n / (n + total) / k)
    assert report["types"]["coarse"]["uar"] == pytest.approx(1 / k)
    assert report["types"]["fine"]["uf1"] == 1.0  # untouched


# files that cannot be scored


def test_refused_prediction_files(tmp_path):
    pred, truth = files(tmp_path)
    rows = [json.loads(x) for x in pred.read_text().splitlines()]

    def run(pred_rows=None, truth_path=truth, raw=None):
        p = tmp_path / "bad.jsonl"
        p.write_text(raw if raw is not None else "".join(json.dumps(r) + "\n" for r in pred_rows))
        return one_error_line(runner.invoke(app, ["vqa", "score", "--pred", str(p), "--truth", str(truth_path)]))

    assert "lacks 1 of the 13 questions" in run(rows[1:]) and "c1" in run(rows[1:])
    assert "id c2 repeated (lines 2 and 3)" in run(rows[:2] + rows[1:])
    assert "id zz is not in" in run(rows + [{"id": "zz", "answer": "x"}])
    assert "asks" in run([{**rows[0], "question": "What is the fine-grained expression class?"}] + rows[1:])
    assert "line 2: not JSON" in run(raw=json.dumps(rows[0]) + "\n{oops\n")
    assert "no 'answer'" in run([{"id": "c1"}] + rows[1:])
    assert "no id" in run([{"answer": "x"}] + rows[1:])
    blank = write(tmp_path / "to_answer.jsonl", [{"id": i, "question": q, "answer": ""} for i, q, _, _ in CASES])
    assert "empty answer" in run(rows, truth_path=blank)
    assert "no such file" in one_error_line(runner.invoke(app, ["vqa", "score", "--pred", str(tmp_path / "none.jsonl"),
                                                                "--truth", str(truth)]))
