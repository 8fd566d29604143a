"""`mpt train`, `mpt report` and `mpt demo`: parse, validate, call one library function."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mpt_core.names import OPTIMIZERS, PRECISIONS, PROTOCOLS, TASKS, VARIANTS

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
    test_cache: Optional[Path] = typer.Option(None, "--test-cache", help="Cross-dataset protocol: train on every "
                                              "clip of --cache, test once on every clip of this cache (same "
                                              "preprocessing settings)."),
    protocol: Optional[str] = typer.Option(None, "--protocol", help="loso (one fold per subject; the default), "
                                           "lodo (one fold per part of a composite cache) or cross (with "
                                           "--test-cache, the default there)."),
    class_map: Optional[str] = typer.Option(None, "--class-map", help="Cross protocol: how the two caches' "
                                            "classes meet: 3class or a .toml/.json map (default: by name)."),
    task: str = typer.Option("emotion", "--task", help="emotion (the cache's classes) or au (multi-label Action "
                             "Unit detection from the clips' AU strings)."),
    aus: Optional[str] = typer.Option(None, "--aus", help="--task au: the AUs to detect, e.g. 1,2,4,12 "
                                      "(default 1,2,4,5,6,7,9,10,12,14,15,17)."),
    fold: str = typer.Option("all", "--fold", help="'all', a fold index (0-based, subjects sorted) or a subject id."),
    model: str = typer.Option("mpt", "--model", help="mpt (the method; --variant picks an ablation), a baseline "
                              "network on a flow cache (ststnet, offapexnet, dual-inception, rcn-a, sssnet) or a "
                              "hand-crafted baseline (lbp-top, flow-grid). Baselines read `mpt preprocess --flow` "
                              "caches and train with their paper's epochs, optimiser, lr and batch size unless "
                              "those options are given."),
    variant: str = typer.Option("mpt", "--variant", help="Model variant (see `mpt model-info`): mpt, full-ft, head-only, ..."),
    backbone: str = typer.Option("vit_base_patch16_224", "--backbone", help="timm ViT name."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Backbone weights file (.safetensors/.pth/.npz); "
                                           "without it the backbone is random."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Fixed number of epochs; the last one is "
                                         "evaluated (default 20; a baseline: its paper's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Training batch size (default 16; "
                                             "a baseline: its paper's)."),
    lr: Optional[float] = typer.Option(None, "--lr", min=0.0, help="Learning rate (default 3e-4; a baseline: its "
                                       "paper's)."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam (default) or sgd (momentum 0.9); a "
                                            "baseline: its paper's."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay", min=0.0, help="Weight decay (default 0; "
                                                 "a baseline: its paper's)."),
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
    """Train and evaluate on a cache: MPT or a baseline, leave one subject out or another protocol.

    Train and evaluate on a preprocessed cache: leave one subject out (default), leave one dataset out
    of a composite (--protocol lodo), or train on one cache and test on another (--test-cache); emotion
    classes (default) or Action Unit detection (--task au)."""
    from mpt_core.model import ModelSettings
    from mpt_core.model.baseline import baseline_names, recipe
    from train.loop import run_loso
    from train.report import write_report
    from train.settings import TrainSettings

    check_choice(model, ("mpt",) + baseline_names(), "--model")
    check_choice(variant, VARIANTS, "--variant")
    if optimizer is not None:
        check_choice(optimizer, OPTIMIZERS, "--optimizer")
    if model != "mpt" and (variant != "mpt" or weights is not None):
        fail(f"--model {model}: --variant and --weights are for --model mpt (a baseline trains from scratch)")
    check_choice(precision, PRECISIONS, "--precision")
    check_choice(task, TASKS, "--task")
    protocol = protocol or ("cross" if test_cache is not None else "loso")
    check_choice(protocol, PROTOCOLS, "--protocol")
    if (protocol == "cross") != (test_cache is not None):
        fail("--protocol cross needs --test-cache, and --test-cache goes with the cross protocol")
    au_list = None
    if aus is not None:
        from mpt_core.aus import parse_au_list

        try:
            au_list = parse_au_list(aus)
        except ValueError as err:
            fail(f"--aus {aus!r}: {err}")
    n_fold_batch = parse_fold_batch(fold_batch)
    if weights is not None and not weights.is_file():
        fail(f"--weights {weights}: no such file")
    name = cache.stem + (f"-to-{test_cache.stem}" if test_cache is not None else "")
    name += "" if protocol in ("loso", "cross") else f"-{protocol}"
    out = out or Path("runs") / f"{name}-{variant if model == 'mpt' else model}{'-au' if task == 'au' else ''}"
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "weight_decay": weight_decay}
    training = {**recipe(model), **{k: v for k, v in given.items() if v is not None}}
    ts = TrainSettings(**training, seed=seed, device=device, flip=not no_flip, memory_budget_gb=memory_budget_gb,
                       precision=precision, fold_batch=n_fold_batch)
    ms = ModelSettings(variant=variant, model=model, backbone=backbone, img_size=img_size, depth=depth,
                       motion_size=motion_size, prompts=prompts, reduction=reduction, embed_channels=embed_channels)
    run = run_loso(cache, train_settings=ts, model_settings=ms, out=out, folds=fold, weights=weights,
                   resume=resume, progress=progress, final=final, final_only=final_only, protocol=protocol,
                   test_cache=test_cache, class_map=class_map, task=task, aus=au_list)
    if final_only:
        typer.echo(f"final model: {run / 'final.safetensors'}")
    else:
        write_report(run)
        typer.echo((run / "summary.md").read_text())
        typer.echo(f"report: {run / 'report.html'} (open it in a browser)")
        if final:
            typer.echo(f"final model: {run / 'final.safetensors'}")
    typer.echo(f"run folder: {run}")


@app.command("report")
def report(
    run_dirs: List[Path] = typer.Argument(..., help="One or more run folders (from `mpt train`)."),
    latex: bool = typer.Option(False, "--latex", help="Print a booktabs LaTeX table instead (one row per "
                               "configuration, its seeds as mean ± sd, the best per column in bold)."),
) -> None:
    """Re-render each run's report.html, plots and results, and print a side-by-side table of the runs."""
    from train.report import render_report

    typer.echo(render_report(run_dirs, latex=latex))


@app.command("demo")
def demo(out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for the synthetic data, cache and run.")) -> None:
    """Synthetic data -> cache -> LOSO training with a tiny random backbone -> report (a few minutes on a CPU)."""
    from mpt.demo import run_demo

    run_demo(out)
