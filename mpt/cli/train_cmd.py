"""`mpt train`, `mpt report` and `mpt demo`: parse, validate, call one library function."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mpt_core.names import PRECISIONS, VARIANTS

from .app import app, check_choice, fail



def parse_fold_batch(text: str) -> int:
    """`--fold-batch auto|N` -> 0 (auto) or N >= 1."""
    if text == "auto":
        return 0
    if not text.isdigit() or int(text) < 1:
        fail(f"--fold-batch {text!r}: give auto or a whole number >= 1")
    return int(text)


@app.command("train")
def train(
    cache: Path = typer.Option(..., "--cache", help="Preprocessed HDF5 cache (from `mpt preprocess`)."),
    fold: str = typer.Option("all", "--fold", help="'all', a fold index (0-based, subjects sorted) or a subject id."),
    variant: str = typer.Option("mpt", "--variant", help="Model variant (see `mpt model-info`): mpt, full-ft, head-only, ..."),
    backbone: str = typer.Option("vit_base_patch16_224", "--backbone", help="timm ViT name."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Backbone weights file (.safetensors/.pth/.npz); "
                                           "without it the backbone is random."),
    epochs: int = typer.Option(20, "--epochs", min=1, help="Fixed number of epochs; the last one is evaluated."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Training batch size."),
    lr: float = typer.Option(3e-4, "--lr", min=0.0, help="Adam learning rate."),
    seed: int = typer.Option(0, "--seed", help="Fold i is seeded with seed + i."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 autocast where the device has native "
                                  "bf16: CUDA, or a CPU with AVX512-BF16/AMX; else fp32), fp32 or bf16."),
    fold_batch: str = typer.Option("1", "--fold-batch", help="Train N folds together over one pass of the shared "
                                   "frozen backbone (auto: N from the memory budget; 1: one fold after another)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (default runs/<cache name>-<variant>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out: finished folds are kept, "
                                "an unfinished fold restarts from its last saved epoch."),
    final: bool = typer.Option(False, "--final", help="Also train one model on every clip (final.safetensors, "
                               "the model `mpt predict` uses); never counted in the LOSO metrics."),
    final_only: bool = typer.Option(False, "--final-only", help="Train only the final model (no LOSO folds)."),
    no_flip: bool = typer.Option(False, "--no-flip", help="Switch off the horizontal-flip augmentation."),
    memory_budget_gb: float = typer.Option(4.0, "--memory-budget-gb", min=0.0,
                                           help="Load the cache onto the device if it fits, else stream it."),
    img_size: int = typer.Option(224, "--img-size", min=16, help="Backbone input size (inputs are resized on the device)."),
    depth: Optional[int] = typer.Option(None, "--depth", min=1, help="Override the backbone depth (tiny backbones)."),
    motion_size: Optional[int] = typer.Option(None, "--motion-size", min=16, help="Size of the motion frames at the "
                                              "prompt generator (default: --img-size, as METHOD.md has it)."),
    prompts: int = typer.Option(5, "--prompts", min=1, help="K, the number of motion prompt tokens."),
    reduction: int = typer.Option(8, "--reduction", min=1, help="r, the adapters' bottleneck reduction (D / r)."),
    embed_channels: int = typer.Option(128, "--embed-channels", min=1,
                                       help="C, the channels of the prompt generator's frame embedding."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar per fold."),
) -> None:
    """Leave-one-subject-out training and evaluation of a preprocessed cache."""
    from mpt_core.model import ModelSettings
    from train.loop import run_loso
    from train.report import write_report
    from train.settings import TrainSettings

    check_choice(variant, VARIANTS, "--variant")
    check_choice(precision, PRECISIONS, "--precision")
    n_fold_batch = parse_fold_batch(fold_batch)
    if weights is not None and not weights.is_file():
        fail(f"--weights {weights}: no such file")
    out = out or Path("runs") / f"{cache.stem}-{variant}"
    ts = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device, flip=not no_flip,
                       memory_budget_gb=memory_budget_gb, precision=precision, fold_batch=n_fold_batch)
    ms = ModelSettings(variant=variant, backbone=backbone, img_size=img_size, depth=depth, motion_size=motion_size,
                       prompts=prompts, reduction=reduction, embed_channels=embed_channels)
    run = run_loso(cache, train_settings=ts, model_settings=ms, out=out, folds=fold, weights=weights,
                   resume=resume, progress=progress, final=final, final_only=final_only)
    if final_only:
        typer.echo(f"final model: {run / 'final.safetensors'}")
    else:
        write_report(run)
        typer.echo((run / "summary.md").read_text())
        if final:
            typer.echo(f"final model: {run / 'final.safetensors'}")
    typer.echo(f"run folder: {run}")


@app.command("report")
def report(run_dirs: List[Path] = typer.Argument(..., help="One or more run folders (from `mpt train`).")) -> None:
    """Re-render each run's plots and results, and print a side-by-side table of the runs."""
    from train.report import render_report

    typer.echo(render_report(run_dirs))


@app.command("demo")
def demo(out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for the synthetic data, cache and run.")) -> None:
    """Synthetic data -> cache -> LOSO training with a tiny random backbone -> report (a few minutes on a CPU)."""
    from mpt.demo import run_demo

    run_demo(out)
