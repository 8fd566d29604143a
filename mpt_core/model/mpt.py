"""MPTModel: a frozen timm ViT with motion prompts, group adapters and a head (METHOD.md 2).

Sequence through every block: ``[cls (+reg) ; patches + pos ; K prompt tokens]``.
The class token's final state (after the backbone's norm) goes to the head.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .adapters import AdaptedBlock, GroupAdapter, PrimitiveAdapter, wrap_blocks
from .prompts import DeepPromptSlot, VPTPrompts
from .settings import VARIANTS, ModelSettings
from .tokenizer import GaussianTokenizer
from mpt_core.fileio import file_sha256

from .weights import load_backbone_weights

BACKBONE_SEED = 0  # a random backbone is built from this seed, so a fresh build has the same frozen weights


@dataclass(frozen=True)
class VariantSpec:
    prompts: str  # "none" | "motion" | "vpt-shallow" | "vpt-deep"
    adapter: str  # "none" | "group" | "primitive"
    train_backbone: bool = False
    pretrained: bool = True  # False: the variant refuses a weights file


VARIANT_SPECS = {
    "mpt": VariantSpec("motion", "group"),
    "prompt-only": VariantSpec("motion", "none"),
    "adapter-only": VariantSpec("none", "group"),  # no prompts -> two branches (class, visual)
    "head-only": VariantSpec("none", "none"),
    "full-ft": VariantSpec("motion", "group", train_backbone=True),
    "no-pretrain": VariantSpec("motion", "group", train_backbone=True, pretrained=False),
    # VPT keeps the group adapter (its third branch adapts the learnable tokens; not in
    # vpt-deep, which replaces them before every block), so the prompt-type ablation
    # changes only what the K prompt tokens are.
    "vpt-shallow": VariantSpec("vpt-shallow", "group"),
    "vpt-deep": VariantSpec("vpt-deep", "group"),
    "primitive-adapter": VariantSpec("motion", "primitive"),
}
assert tuple(VARIANT_SPECS) == VARIANTS


class MPTModel(nn.Module):
    def __init__(self, settings: ModelSettings, vit: nn.Module):
        super().__init__()
        spec = VARIANT_SPECS[settings.variant]
        parts = ("patch_embed", "_pos_embed", "patch_drop", "norm_pre", "blocks", "norm", "fc_norm", "num_prefix_tokens")
        if not all(hasattr(vit, a) for a in parts):
            raise ValueError(f"backbone {settings.backbone!r} is not a timm VisionTransformer (needs {', '.join(parts)})")
        if getattr(vit, "cls_token", None) is None:
            raise ValueError(f"backbone {settings.backbone!r} has no class token; MPT needs one for the head")
        self.settings, self.spec = settings, spec
        self.weights_file: dict | None = None  # {"path", "sha256"} of the pretrained file, set by build_model
        dim = vit.embed_dim
        if dim % settings.reduction:
            raise ValueError(f"reduction {settings.reduction} does not divide the backbone width {dim}")
        hidden = dim // settings.reduction
        patch = vit.patch_embed.patch_size
        patch_area = patch[0] * patch[1]
        self.num_prefix = vit.num_prefix_tokens
        K = settings.prompts if spec.prompts != "none" else 0
        self.num_prompts = K

        vit.requires_grad_(False)
        self.vit = vit
        if spec.prompts == "motion":
            # METHOD.md 2.1 fixes the frame embedding at kernel 16 / stride 16, whatever the backbone patch
            self.prompts = GaussianTokenizer(dim=dim, num_tokens=K, channels=settings.embed_channels, patch_size=16)
        elif spec.prompts in ("vpt-shallow", "vpt-deep"):
            self.prompts = VPTPrompts(dim=dim, num_tokens=K, patch_area=patch_area)
        else:
            self.prompts = None

        def make_adapter(i: int) -> nn.Module:
            if spec.adapter == "group":
                # VPT-deep replaces the prompt tokens before every block: adapting them would be wasted
                return GroupAdapter(dim, hidden, num_prefix=self.num_prefix, num_prompts=K,
                                    prompt_branch=spec.prompts != "vpt-deep")
            if spec.adapter == "primitive":
                return PrimitiveAdapter(dim, hidden)
            return nn.Identity()

        def make_prompt(i: int) -> nn.Module | None:
            # block 0 sees the input prompts; every later block gets its own fresh tokens
            if spec.prompts == "vpt-deep" and i > 0:
                return DeepPromptSlot(dim=dim, num_tokens=K, patch_area=patch_area)
            return None

        wrap_blocks(vit.blocks, make_adapter, make_prompt)
        if spec.train_backbone:
            vit.requires_grad_(True)
        self.head = nn.Linear(dim, settings.num_classes)

        cfg = _data_config(vit)
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(3, 1, 1), persistent=False)
        self.train(True)

    # the backbone never leaves eval mode (no dropout / drop-path randomness, even for full-ft)
    def train(self, mode: bool = True) -> "MPTModel":
        super().train(mode)
        self.vit.eval()
        for blk in self.vit.blocks:
            blk.adapter.train(mode)
            blk.prompt.train(mode)
        return self

    def _prepare(self, x: torch.Tensor, size: int | None = None) -> torch.Tensor:
        """uint8 [0, 255] or float [0, 1] (..., 3, H, W) -> normalised float at ``size`` (img_size)."""
        owned = x.dtype != torch.float32  # .float() makes a copy we may overwrite in place
        x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
        S = size or self.settings.img_size
        if x.shape[-2:] != (S, S):
            lead = x.shape[:-3]
            shrink = x.shape[-2] > S or x.shape[-1] > S
            x = F.interpolate(x.flatten(0, -4), size=(S, S), mode="bilinear", align_corners=False, antialias=shrink)
            x = x.view(*lead, 3, S, S)
            owned = True
        if owned and not x.requires_grad and x.dtype == self.mean.dtype:  # same arithmetic, two fewer copies
            return x.sub_(self.mean).div_(self.std)
        return (x - self.mean) / self.std

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """image (B, 3, H, W) -> prefix and position-embedded patch tokens (B, P + N, D)."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be (B, 3, H, W), got {tuple(image.shape)}")
        vit = self.vit
        x = vit.patch_embed(self._prepare(image))
        x = vit._pos_embed(x)  # cls/reg tokens and position embedding, timm's way (no_embed_class, ...)
        x = vit.patch_drop(x)
        return vit.norm_pre(x)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token sequence (B, L, D) -> final states after the blocks and the backbone norm."""
        return self.vit.norm(self.vit.blocks(tokens))

    def prompt_tokens(self, motion: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        if not self.prompts.uses_motion:
            return self.prompts(like)
        T = self.settings.frames
        if motion is None or motion.dim() != 5 or motion.shape[1] != T or motion.shape[2] != 3:
            got = None if motion is None else tuple(motion.shape)
            raise ValueError(f"motion must be (B, {T}, 3, H, W), got {got}")
        return self.prompts(self._prepare(motion, self.settings.motion_size))  # (B, K, D)

    def forward_features(self, image: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(image)  # (B, P + N, D)
        if self.prompts is not None:
            x = torch.cat([x, self.prompt_tokens(motion, x)], dim=1)  # (B, P + N + K, D)
        return self.encode(x)

    def forward(self, image: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        """image (B, 3, H, W), motion (B, T, 3, H, W); uint8 or float in [0, 1] -> logits (B, classes)."""
        cls = self.forward_features(image, motion)[:, 0]  # (B, D)
        return self.head(self.vit.fc_norm(cls))


def _data_config(vit: nn.Module) -> dict:
    from mpt_core.compat import import_timm

    timm = import_timm()
    return timm.data.resolve_model_data_config(vit)


def create_backbone(settings: ModelSettings) -> nn.Module:
    """The bare timm ViT (no head), random weights from a fixed seed."""
    from mpt_core.compat import import_timm

    timm = import_timm()
    kwargs = {"depth": settings.depth} if settings.depth else {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(BACKBONE_SEED)
        try:
            return timm.create_model(
                settings.backbone, pretrained=False, num_classes=0, img_size=settings.img_size, **kwargs
            )
        except RuntimeError as err:
            if "Unknown model" in str(err):
                raise ValueError(f"unknown timm backbone {settings.backbone!r}") from err
            raise
        except TypeError as err:  # e.g. a CNN that takes no img_size
            raise ValueError(f"backbone {settings.backbone!r} is not a timm ViT: {err}") from err


def build_model(settings: ModelSettings, weights: str | Path | None = None) -> MPTModel:
    """Build the model of ``settings``; ``weights`` is a local backbone weights file (or None: random)."""
    if settings.model != "mpt":  # a baseline network behind the same interface (model/baseline.py)
        from .baseline import build_baseline

        return build_baseline(settings, weights)
    spec = VARIANT_SPECS[settings.variant]
    if weights is not None and not spec.pretrained:
        raise ValueError(f"variant {settings.variant!r} trains a random backbone: do not pass weights ({weights})")
    vit = create_backbone(settings)
    if weights is not None:
        load_backbone_weights(vit, weights)
    elif spec.pretrained:
        warnings.warn(
            f"no weights file given: the {settings.backbone} backbone is random (seed {BACKBONE_SEED})",
            UserWarning,
            stacklevel=2,
        )
    model = MPTModel(settings, vit)
    if weights is not None:
        model.weights_file = {"path": str(Path(weights).resolve()), "sha256": file_sha256(weights)}
    assert all(isinstance(b, AdaptedBlock) for b in model.vit.blocks)
    return model
