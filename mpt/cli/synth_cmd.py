"""``mpt synth``: write the synthetic micro-expression dataset (CASME II on-disk format)."""

from pathlib import Path

import typer

from .app import app


@app.command("synth")
def synth(
    out_dir: Path = typer.Argument(..., help="Folder to write Cropped/subXX/CLIP/reg_imgN.jpg and CASME2-coding-synth.xlsx into."),
    subjects: int = typer.Option(26, "--subjects", min=1, max=99, help="Number of subjects (distinct procedural faces)."),
    clips_per_subject: int = typer.Option(10, "--clips-per-subject", min=1, max=300, help="Clips per subject."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed gives the same bytes."),
    size: int = typer.Option(224, "--size", min=32, help="Frame side in pixels (motion amplitudes scale with it)."),
    jobs: int = typer.Option(None, "--jobs", min=1, help="Parallel worker processes (default: all CPU cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a dataset made there with other settings."),
) -> None:
    """Generate a synthetic micro-expression dataset whose labels live only in subtle AU-like motion.

    A finished dataset with the same settings is reused. Prints the coding-file path last; read it with
    `mpt datasets summary casme2 --root OUT_DIR --annotations OUT_DIR/CASME2-coding-synth.xlsx`.
    """
    from preprocess.synth import generate_synthetic

    coding = generate_synthetic(out_dir, subjects=subjects, clips_per_subject=clips_per_subject, seed=seed,
                                size=size, jobs=jobs, progress=True, overwrite=overwrite)
    typer.echo(str(coding))
