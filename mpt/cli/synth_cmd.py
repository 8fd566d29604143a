"""``mpt synth``: write the synthetic micro-expression dataset, in the CASME II or the CAS(ME)^3 layout."""

from pathlib import Path

import typer

from .app import app, check_choice

LAYOUTS = ("casme2", "casme3")


@app.command("synth")
def synth(
    out_dir: Path = typer.Argument(..., help="Output folder."),
    layout: str = typer.Option("casme2", "--layout", help="casme2: cropped 224 px faces, Cropped/subXX/CLIP/"
                               "reg_imgN.jpg + CASME2-coding-synth.xlsx, 200 fps. casme3: whole 320x240 frames with "
                               "the face somewhere inside (found by `--face auto`), part_A/spNO.N/REC/color/N.jpg + a "
                               "label table with the real CAS(ME)^3 columns, 30 fps."),
    subjects: int = typer.Option(26, "--subjects", min=1, max=99, help="Number of subjects (distinct procedural faces)."),
    clips_per_subject: int = typer.Option(10, "--clips-per-subject", min=1, max=300, help="Clips per subject."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed gives the same bytes."),
    size: int = typer.Option(224, "--size", min=32, help="casme2 layout: frame side in pixels (motion amplitudes "
                             "scale with it)."),
    jobs: int = typer.Option(None, "--jobs", min=1, help="Parallel worker processes (default: all CPU cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a dataset made there with other settings."),
) -> None:
    """Generate a synthetic micro-expression dataset whose labels live only in subtle AU-like motion.

    A finished dataset with the same settings is reused. Prints the annotation-file path last; read it with
    `mpt datasets summary casme2 --root OUT_DIR` (or `casme3` for `--layout casme3`).
    """
    check_choice(layout, LAYOUTS, "--layout")
    if layout == "casme3":
        from preprocess.synth import generate_synthetic_casme3

        table = generate_synthetic_casme3(out_dir, subjects=subjects, clips_per_subject=clips_per_subject, seed=seed,
                                          jobs=jobs, progress=True, overwrite=overwrite)
    else:
        from preprocess.synth import generate_synthetic

        table = generate_synthetic(out_dir, subjects=subjects, clips_per_subject=clips_per_subject, seed=seed,
                                   size=size, jobs=jobs, progress=True, overwrite=overwrite)
    typer.echo(str(table))
