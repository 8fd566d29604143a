"""`mpt instruct`: parse, validate, call ``mpt.instruct.build_instruct``, print the statistics table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import DATASETS, INSTRUCT_FORMATS, MEGC_VQA_FORMAT

from .app import app, check_choice, fail
from .datasets_cmd import split_classes


@app.command("instruct")
def instruct(
    name: str = typer.Argument(..., help="Dataset: " + ", ".join(DATASETS) + " (synthetic data is read as casme2, "
                               "or casme3 for `mpt synth --layout casme3`)."),
    root: Path = typer.Option(..., "--root", help="Dataset root folder (as for mpt preprocess)."),
    out: Path = typer.Option(..., "--out", help="Output folder: llava.json, messages.jsonl, images/, motion/, "
                             "splits/, stats.json, stats.md."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="Annotation file (default: found under "
                                               "--root)."),
    classes: Optional[str] = typer.Option(None, "--classes", help="Comma-separated class selection or a preset "
                                          "(casme3-7, casme3-4, casme3-3); default: the dataset's standard classes."),
    fmt: str = typer.Option("both", "--format", help="llava (llava.json), messages (messages.jsonl) or both; or "
                            "megc-vqa: MEGC 2025's ME-VQA files (me_vqa_<datasets>.jsonl; see docs/guide/megc-vqa.md)."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Comma-separated subjects for the test side: "
                                          "writes splits/holdout/{train,test}."),
    folds: bool = typer.Option(False, "--folds", help="One train/test pair per LOSO fold: splits/loso-SUBJECT/."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the question phrasings and the absent AUs asked; "
                             "the same seed gives the same bytes."),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Parallel worker processes (default: all cores)."),
    max_seconds: Optional[float] = typer.Option(None, "--max-seconds", help="casme3: onset-to-offset spans longer "
                                                "than this are problems (default 10 s)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad clip instead of skipping it."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace what mpt instruct wrote in --out for another "
                                   "dataset or class selection."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Instruction data for multimodal LLMs from any corpus: motion-grounded, or MEGC's ME-VQA.

    The motion-grounded formats (llava, messages): per clip the aligned onset and apex crops, the
    flow image, the region motion, and questions answered under the dual constraint (AU labels and flow).

    Clips measured before are reused; the output folder is printed as the last line.
    """
    check_choice(name, DATASETS, "NAME")
    check_choice(fmt, (*INSTRUCT_FORMATS, MEGC_VQA_FORMAT), "--format")
    if not root.is_dir():
        fail(f"--root {root}: not a folder")
    if annotations is not None and not annotations.is_file():
        fail(f"--annotations {annotations}: no such file")
    if jobs is not None and jobs < 1:
        fail(f"--jobs {jobs}: must be >= 1")
    subjects = [s.strip() for s in holdout.split(",") if s.strip()] if holdout is not None else None
    if holdout is not None and not subjects:
        fail("--holdout: give at least one subject")
    if subjects and folds:
        fail("--holdout and --folds: choose one")

    if fmt == MEGC_VQA_FORMAT:
        from mpt.instruct.megc_vqa import build_megc_vqa, markdown as megc_markdown

        summary = build_megc_vqa(name, root, annotations, out=out, classes=split_classes(classes), holdout=subjects,
                                 folds=folds, seed=seed, strict=strict, max_seconds=max_seconds)
        typer.echo(megc_markdown(summary))
        typer.echo(str(out))
        return

    from mpt.instruct import build_instruct
    from mpt.instruct.stats import markdown
    from mpt.outputs import claimed_folder

    with claimed_folder(out, "--out", kind="instruct", inputs=[annotations], roots=[root],
                        files=["llava.json", "messages.jsonl", "stats.json", "stats.md", "instruct.json"]):
        stats = build_instruct(name, root, annotations, out=out, classes=split_classes(classes), fmt=fmt,
                               holdout=subjects, folds=folds, seed=seed, jobs=jobs, overwrite=overwrite,
                               strict=strict, progress=progress, max_seconds=max_seconds)
    typer.echo(markdown(stats))
    typer.echo(str(out))
