"""`mpt explain`: parse, validate, call ``mpt.explain.explain_run``, say where the figures are."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app, fail


@app.command("explain")
def explain(
    run_dir: Path = typer.Argument(..., help="Run folder (from `mpt train`)."),
    clips: Optional[str] = typer.Option(None, "--clips", help="Comma-separated clip names (CLIP or SUBJECT/CLIP); "
                                        "default: every held-out clip of the finished folds."),
    model: Optional[str] = typer.Option(None, "--model", help="'final' or a fold's SUBJECT: explain every clip with "
                                        "that model (default: each clip by the fold that held it out)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default RUN_DIR/explain)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Backbone weights file, if it moved since "
                                           "training (its sha256 must match the recorded one)."),
    tsne: bool = typer.Option(True, "--tsne/--no-tsne", help="Draw the t-SNE of the head's input features "
                              "(one forward pass of every clip per panel)."),
) -> None:
    """Grad-CAM maps, motion-prompt Gaussians and a t-SNE of features: what a run's models looked at."""
    from mpt.explain import explain_run

    if not (run_dir / "config.json").is_file():
        fail(f"{run_dir}: not a run folder (no config.json)")
    if not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
        fail(f"--device {device!r} is not one of auto, cpu, cuda, cuda:N")
    if weights is not None and not weights.is_file():
        fail(f"--weights {weights}: no such file")
    names = [c.strip() for c in clips.split(",") if c.strip()] if clips else None
    if clips is not None and not names:
        fail("--clips: give at least one clip name")
    res = explain_run(run_dir, clips=names, model=model, out=out, device=device, weights=weights, tsne=tsne)
    folders = sorted({p.parent.name for p in res.clip_figures})
    typer.echo(f"{len(res.clip_figures)} clip figure(s): {res.out}/<subject>/<clip>.png for {len(folders)} "
               f"subject(s) ({', '.join(folders[:6])}{', ...' if len(folders) > 6 else ''})")
    typer.echo(f"mean Grad-CAM per class: {res.by_class}")
    if res.tsne is not None:
        typer.echo(f"t-SNE of features ({len(res.tsne_panels)} panel(s)): {res.tsne}")
    typer.echo(f"explain folder: {res.out} ({res.seconds:.1f} s)")
    if res.page is not None:
        typer.echo(f"report with the gallery: {res.page}")
