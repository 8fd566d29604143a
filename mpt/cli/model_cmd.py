"""`mpt model-info`: parameter counts and forward cost of a model variant."""

from __future__ import annotations

import json
from typing import Optional

import typer

from mpt_core.names import VARIANTS

from .app import app, check_choice


@app.command("model-info")
def model_info(
    backbone: str = typer.Option("vit_base_patch16_224", "--backbone", help="timm ViT name."),
    variant: str = typer.Option("mpt", "--variant", help="Model variant: mpt, prompt-only, adapter-only, head-only, "
                                "full-ft, no-pretrain, vpt-shallow, vpt-deep, primitive-adapter."),
    classes: int = typer.Option(5, "--classes", min=1, help="Number of classes of the head."),
    frames: int = typer.Option(16, "--frames", min=2, help="Motion frames T per clip."),
    prompts: int = typer.Option(5, "--prompts", min=1, help="Prompt tokens K."),
    img_size: int = typer.Option(224, "--img-size", min=16, help="Backbone input size."),
    depth: Optional[int] = typer.Option(None, "--depth", min=1, help="Override the backbone depth."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Trainable, frozen and total parameters and forward GMACs per clip (no weights needed)."""
    from mpt_core.model import ModelSettings
    from mpt_core.model import model_info as compute

    check_choice(variant, VARIANTS, "--variant")
    settings = ModelSettings(variant=variant, backbone=backbone, num_classes=classes, frames=frames,
                             prompts=prompts, img_size=img_size, depth=depth)
    info = compute(settings)
    if as_json:
        typer.echo(json.dumps(info))
        return
    share = 100 * info["trainable"] / info["total"]
    typer.echo(f"variant     {info['variant']}  ({info['backbone']}, {info['classes']} classes, T={frames}, K={prompts})")
    typer.echo(f"trainable   {info['trainable']:>12,}  ({share:.2f} % of all)")
    typer.echo(f"frozen      {info['frozen']:>12,}")
    typer.echo(f"total       {info['total']:>12,}")
    typer.echo(f"GMACs/clip  {info['gmacs']:>12.2f}  (forward, one image + {frames} motion frames)")
