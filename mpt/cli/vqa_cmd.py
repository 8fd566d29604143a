"""`mpt vqa score`: parse, validate, call ``mpt.vqa.score_files``, print the table (or the JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app, fail

vqa_app = typer.Typer(no_args_is_help=True, help="ME-VQA (MEGC 2025): score answers to the challenge's questions.")
app.add_typer(vqa_app, name="vqa")


@vqa_app.command("score")
def score(
    pred: Path = typer.Option(..., "--pred", help="Predictions, JSONL: one {id or video_id, answer} per truth question."),
    truth: Path = typer.Option(..., "--truth", help="The truth, JSONL in the challenge's training layout (id) or test "
                               "layout (video_id), e.g. splits/NAME/me_vqa_<datasets>_test.jsonl of mpt instruct "
                               "--format megc-vqa."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON instead of the table."),
) -> None:
    """Score ME-VQA answers: UF1 and UAR on the classes, BLEU and ROUGE-1 on the free text.

    UF1 and UAR on the coarse and fine questions (and left/right, yes/no), exact match, BLEU (sentence BLEU,
    smoothing method 1) and ROUGE-1 per question type; see docs/guide/megc-vqa.md for the definitions and
    what the class parser accepts."""
    for role, path in (("--pred", pred), ("--truth", truth)):
        if not path.is_file():
            fail(f"{role} {path}: no such file")

    from mpt.vqa import markdown, score_files

    report = score_files(pred, truth)
    typer.echo(json.dumps(report, indent=1) if as_json else markdown(report))
