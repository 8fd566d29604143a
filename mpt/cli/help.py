"""What every command's ``--help`` ends with (an example and the documentation page) and how a command's
options are grouped into panels, in one table instead of scattered over the command modules.

``apply(group)`` runs once, on the click group Typer builds, before the command line is parsed: it sets each
command's epilog and each option's ``rich_help_panel``. ``tests/test_cli_help.py`` holds every command to it:
an example and an existing page for each, and every option of a command with more than ten options in a
named panel (a new option that nobody placed fails that test).
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"

# command path -> (an example command line, the page under docs/)
HELP: dict[str, tuple[str, str]] = {
    "datasets summary": ("mpt datasets summary casme2 --root data/CASME2 --json", "corpora/casme2.md"),
    "synth": ("mpt synth data/synth --subjects 8 --clips-per-subject 10", "guide/datasets.md"),
    "preprocess": ("mpt preprocess casme2 --root data/CASME2", "guide/datasets.md"),
    "model-info": ("mpt model-info --backbone vit_base_patch16_224", "guide/training.md"),
    "train": ("mpt train --cache cache/casme2-<key>.h5 --weights vit_b16.safetensors --fold all --out runs/casme2",
              "guide/training.md"),
    "report": ("mpt report runs/casme2-mpt runs/casme2-adapter-only", "guide/reports.md"),
    "predict": ("mpt predict clip.mp4 --run runs/casme2 --model sub01 --save-crops crops/", "guide/apply.md"),
    "explain": ("mpt explain runs/casme2 --clips sub01/EP02_01f", "guide/apply.md"),
    "describe": ("mpt describe data/CASME2/Cropped/sub01/EP02_01f --fps 200", "guide/apply.md"),
    "magnify": ("mpt magnify clip.mp4 -o clip-magnified.mp4 --gif", "guide/apply.md"),
    "instruct": ("mpt instruct casme2 --root data/CASME2 --out instruct/casme2", "guide/instruct.md"),
    "track": ("mpt track video.mp4 --out track.npz --video track.mp4", "guide/faces.md"),
    "spot run": ("mpt spot video.mp4 --fps 30 --plot spot.png", "guide/spotting.md"),
    "spot evaluate": ("mpt spot evaluate spotted.csv --dataset cas2 --annotations CASME_sq_gt.xlsx",
                      "guide/spotting.md"),
    "str": ("mpt str --dataset cas2 --root data/CAS2 --run runs/cas2 --out runs/cas2-str", "guide/spotting.md"),
    "sweep": ("mpt sweep --preset paper --dataset casme2 --root data/CASME2 --out runs/paper", "guide/sweeps.md"),
    "demo": ("mpt demo --out runs/demo", "getting-started.md"),
    "vqa score": ("mpt vqa score --pred pred.jsonl --truth splits/holdout/me_vqa_casme2_test.jsonl",
                  "guide/megc-vqa.md"),
}

# command path -> {panel: option names}; only commands with more than ten options need one
PANELS: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        "Data and protocol": ("--cache", "--test-cache", "--protocol", "--class-map", "--task", "--aus", "--fold"),
        "Model": ("--model", "--variant", "--backbone", "--weights", "--img-size", "--depth", "--motion-size", "--prompts",
                  "--reduction", "--embed-channels"),
        "Optimisation": ("--epochs", "--batch-size", "--lr", "--optimizer", "--weight-decay", "--seed", "--no-flip"),
        "Hardware": ("--device", "--precision", "--fold-batch", "--memory-budget-gb"),
        "Run folder": ("--out", "--resume", "--final", "--final-only", "--progress"),
    },
    "preprocess": {
        "Corpus": ("--root", "--parts", "--parts-file", "--annotations", "--classes", "--max-seconds", "--strict"),
        "Magnification and frames": ("--alpha", "--levels", "--f-lo", "--f-hi", "--order", "--frames",
                                     "--motion-output", "--size"),
        "Faces": ("--face", "--landmarks", "--track"),
        "Flow cache (baselines)": ("--flow", "--flow-method", "--flow-sizes"),
        "Cache and workers": ("--cache-dir", "--jobs", "--force", "--progress"),
    },
    "instruct": {
        "Corpus": ("--root", "--annotations", "--classes", "--max-seconds", "--strict"),
        "Output": ("--out", "--format", "--overwrite", "--progress", "--jobs"),
        "Splits": ("--holdout", "--folds", "--seed"),
    },
    "magnify": {
        "Input": ("--onset", "--offset", "--fps"),
        "Faces": ("--face", "--landmarks", "--track", "--framing", "--size"),
        "Magnification": ("--alpha", "--levels", "--f-lo", "--f-hi"),
        "Output": ("-o", "--slow", "--gif"),
    },
    "predict": {
        "Run": ("--run", "--model", "--device", "--weights"),
        "Input": ("--onset", "--offset", "--fps", "--spot", "--macro"),
        "Faces": ("--face", "--landmarks", "--track", "--framing"),
        "Output": ("--save-crops", "--json"),
    },
    "spot run": {
        "Input": ("--fps", "--dataset", "--root", "--annotations", "--tracker"),
        "Spotting": ("--p", "--step", "--eval"),
        "Output": ("--json", "--csv", "--plot", "--report", "--submission", "--progress"),
    },
    "str": {
        "Corpus (leave one subject out)": ("--dataset", "--root", "--annotations"),
        "Unseen set (MEGC)": ("--unseen", "--videos", "--truth"),
        "Model and spotting": ("--run", "--device", "--step", "--tracker"),
        "Output and scoring": ("--out", "--submission", "--megc", "--score", "--json", "--progress"),
    },
    "sweep": {
        "Study": ("--preset", "--out", "--dry-run", "--progress"),
        "Data": ("--dataset", "--root", "--annotations", "--cache-dir"),
        "Weights": ("--weights", "--backbone-weights"),
        "Ray": ("--ray", "--ray-address", "--ray-cpus"),
    },
    "synth": {
        "Corpus": ("--layout", "--preset", "--subjects", "--clips-per-subject", "--seed", "--size"),
        "Long videos": ("--videos-per-subject", "--seconds", "--width", "--height"),
        "Output": ("--jobs", "--overwrite"),
    },
}


def commands(group, prefix: str = ""):
    """(path, command) for every leaf command under ``group``."""
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if hasattr(cmd, "commands"):
            yield from commands(cmd, path)
        else:
            yield path, cmd


def option_name(param) -> str:
    return param.opts[0]


def apply(group) -> None:
    for path, cmd in commands(group):
        if path in HELP:
            example, page = HELP[path]
            cmd.epilog = f"Example: {example}\n\nDocs: docs/{page} (the site: mkdocs serve, see the README)"
        panels = {name: panel for panel, names in PANELS.get(path, {}).items() for name in names}
        for param in cmd.params:
            if param.param_type_name == "option" and option_name(param) in panels:
                param.rich_help_panel = panels[option_name(param)]
