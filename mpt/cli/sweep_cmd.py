"""``mpt sweep``: parse, validate, call ``mpt.sweep.run_sweep`` (or print the plan)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mpt_core.names import DATASETS

from .app import app, check_choice, fail

SPEC_HELP = """Run a study of many configurations from one TOML spec.

\b
\\[data]        dataset, root, annotations (optional), cache_dir (default "cache")
\\[preprocess]  base preprocessing settings (mpt preprocess options: alpha, size, ...; jobs)
\\[train]       base training settings (mpt train options: weights, epochs, variant, img_size,
              prompts (K), reduction (r), ...) and seeds = [0, 1, 2]
\\[\\[table]]     name = "..."; vary = {alpha = [0, 10, 20]} (several keys: their product)
              or rows = [{variant = "mpt"}, {variant = "adapter-only", label = "..."}]

\b
Every distinct preprocessing is cached once (CACHE_DIR), every distinct (configuration, seed) is
trained once into OUT/runs/<id>/, however many tables list it; a rerun reuses what is finished and
resumes what is not. Writes OUT/tables.md and OUT/results.json: per row, the trainable parameters
and Acc / UF1 / UAR (pooled LOSO) as mean ± sd over the seeds. --ray runs each cache and run as a
Ray task on a local cluster; --ray-address ADDRESS joins a running one (e.g. in a Slurm job).
"""


def parse_backbone_weights(items: List[str]) -> dict:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            fail(f"--backbone-weights {item!r}: give BACKBONE=FILE")
        if not Path(path).is_file():
            fail(f"--backbone-weights {item}: no such file {path}")
        out[name] = path
    return out


@app.command("sweep", help=SPEC_HELP)
def sweep(
    spec: Optional[Path] = typer.Argument(None, help="The sweep spec (TOML)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Sweep folder (default runs/<spec name>, with --preset "
                                       "runs/paper-<dataset>)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (caches to build, runs to train, which "
                                 "exist) and the tables so far; build and train nothing."),
    ray: bool = typer.Option(False, "--ray", help="Run caches and runs as Ray tasks on a local Ray cluster."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join the running Ray cluster at "
                                              "ADDRESS (e.g. auto, or HEAD:6379) instead; implies --ray."),
    ray_cpus: Optional[int] = typer.Option(None, "--ray-cpus", min=1, help="CPUs of the local Ray cluster "
                                           "(default: all)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="paper: write OUT/sweep.toml with the MPT paper's "
                                         "ablation study (Tables VI-XI, Fig. 5, the paper's figures beside each "
                                         "row) for --dataset at --root, then run it."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="With --preset: " + ", ".join(DATASETS) + "."),
    root: Optional[Path] = typer.Option(None, "--root", help="With --preset: the dataset root."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="With --preset: the annotation file."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="With --preset: the ViT-B/16 weights file "
                                           "(needed to train; a dry run goes without)."),
    backbone_weights: List[str] = typer.Option([], "--backbone-weights", help="With --preset: BACKBONE=FILE for a "
                                               "Table IX backbone (rows without one are shown, not run)."),
    cache_dir: Path = typer.Option(Path("cache"), "--cache-dir", help="With --preset: the folder for caches."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the sweep's progress bar."),
) -> None:
    from mpt.sweep import collect, describe_plan, load_spec, parse_spec, plan_sweep, render, run_sweep

    preset_options = {"--dataset": dataset, "--root": root, "--annotations": annotations, "--weights": weights,
                      "--backbone-weights": backbone_weights or None}
    if preset is None:
        if spec is None:
            fail("give a sweep spec (SPEC.toml) or --preset paper")
        given = [k for k, v in preset_options.items() if v is not None]
        if given:
            fail(f"{given[0]} goes with --preset; a spec names its data and weights in [data] and [train]")
        out = out or Path("runs") / spec.stem
        the_spec = load_spec(spec)
    else:
        from mpt.sweep import PRESETS, paper_spec

        check_choice(preset, PRESETS, "--preset")
        if spec is not None:
            fail("give a spec or --preset, not both")
        if dataset is None or root is None:
            fail("--preset paper needs --dataset and --root")
        check_choice(dataset, DATASETS, "--dataset")
        for option, path in (("--weights", weights), ("--annotations", annotations)):
            if path is not None and not path.is_file():
                fail(f"{option} {path}: no such file")
        if weights is None and not dry_run:
            fail("--preset paper trains pretrained backbones: give --weights (e.g. "
                 "vit_base_patch16_224.augreg_in21k.safetensors), or --dry-run to see the plan")
        text = paper_spec(dataset, root, weights=weights, annotations=annotations, cache_dir=cache_dir,
                          backbone_weights=parse_backbone_weights(backbone_weights))
        out = out or Path("runs") / f"paper-{dataset}"
        path = out / "sweep.toml"
        if path.exists() and path.read_text() != text:
            fail(f"{path} exists with other content (edited?); run `mpt sweep {path}` or choose another --out")
        the_spec = parse_spec(text, source=str(path))
        if not dry_run:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            typer.echo(f"spec: {path}")
    if dry_run:
        plan = plan_sweep(the_spec, out)
        typer.echo(describe_plan(plan))
        typer.echo("")
        typer.echo(render(collect(plan)))
        return
    run_sweep(the_spec, out, ray=ray, ray_address=ray_address, ray_cpus=ray_cpus, progress=progress,
              echo=typer.echo)
