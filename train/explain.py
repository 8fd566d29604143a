"""What a trained MPT model looked at: Grad-CAM over the patch grid, the head's input features,
and the motion prompts' temporal Gaussians (METHOD.md 2.1). Pure functions of a model and tensors.

Grad-CAM (Selvaraju et al. 2017) on a ViT. The token sequence is ``[cls (+ reg) ; N patches ;
K prompts]`` (METHOD.md 2.2) and only the class token reaches the head, so the gradient of a
logit at the *output* of the last block is zero on every patch token. The map is taken one step
earlier, at the input of the last timm block, which for timm's pre-norm ``Block`` is exactly the
input of its attention norm ``norm1``: there the patch tokens still feed the class token through
the last attention. With ``A`` (B, L, D) that activation and ``G`` its gradient, the channel
weights are the mean gradient over the patch tokens only (neither the class/register tokens nor
the K motion tokens, which have no place on the image), and the map is
``relu(sum_c w_c A_{n,c})`` over the N patch tokens, laid out row-major on the patch grid.

The activation is replaced by a detached leaf that requires grad, so the map exists whatever is
trainable (a frozen backbone with a head-only model included), and the gradient is that of the
chosen logit alone (clips in a batch do not interact: the backbone has no batch statistics).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ExplainError(ValueError):
    """A model, run folder, clip name or model choice that cannot be explained."""


# helpers

def _last_block(model: nn.Module) -> nn.Module:
    block = model.vit.blocks[-1]
    return getattr(block, "base_block", block)  # AdaptedBlock keeps the timm block as base_block


def patch_grid(model: nn.Module) -> tuple[int, int]:
    """(rows, cols) of the backbone's patch grid at the model's image size."""
    grid = getattr(model.vit.patch_embed, "grid_size", None)
    if grid is None:
        raise ExplainError(f"backbone {model.settings.backbone!r} has no fixed patch grid")
    return int(grid[0]), int(grid[1])


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Patch-grid maps (B, gh, gw) -> (B, H, W), bilinear: each cell covers its patch's pixels."""
    return F.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]


# the three views of a model

def gradcam(model: nn.Module, image: torch.Tensor, motion: torch.Tensor | None,
            target: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM maps (B, gh, gw) float32 >= 0 of class ``target`` (B,) (default: the predicted
    class) at the last block's input, and the class probabilities (B, C), on the model's device."""
    model.eval()
    device = _model_device(model)
    image = image.to(device)
    motion = motion.to(device) if motion is not None else None
    P, K = model.num_prefix, model.num_prompts
    gh, gw = patch_grid(model)
    captured = {}

    def as_leaf(module, args):
        leaf = args[0].detach().requires_grad_(True)  # (B, L, D)
        captured["A"] = leaf
        return (leaf,) + tuple(args[1:])

    handle = _last_block(model).register_forward_pre_hook(as_leaf)
    try:
        with torch.enable_grad():
            logits = model(image, motion).float()  # (B, C)
    finally:
        handle.remove()
    leaf = captured["A"]
    L = leaf.shape[1]
    if L - P - K != gh * gw:
        raise ExplainError(f"the last block sees {L} tokens; expected {P} prefix + {gh}x{gw} patches + {K} prompts")
    target = logits.argmax(1) if target is None else torch.as_tensor(target, device=device).view(-1)
    score = logits.gather(1, target[:, None]).sum()  # clips are independent: one backward for all
    (G,) = torch.autograd.grad(score, leaf)  # (B, L, D)
    patches = slice(P, L - K)
    w = G[:, patches].float().mean(dim=1, keepdim=True)  # (B, 1, D)
    cam = F.relu((w * leaf[:, patches].detach().float()).sum(-1))  # (B, N)
    return cam.view(-1, gh, gw), logits.detach().softmax(-1)


@torch.no_grad()
def head_features(model: nn.Module, image: torch.Tensor, motion: torch.Tensor | None) -> torch.Tensor:
    """What ``model.head`` receives (B, D): the class token after the backbone's norm (and fc_norm)."""
    model.eval()
    device = _model_device(model)
    captured = {}
    handle = model.head.register_forward_pre_hook(lambda m, args: captured.__setitem__("x", args[0]))
    try:
        model(image.to(device), motion.to(device) if motion is not None else None)
    finally:
        handle.remove()
    return captured["x"].float()


def has_gaussians(model: nn.Module) -> bool:
    """Whether the model's prompts are temporal Gaussian motion prompts (not VPT, not none)."""
    return hasattr(getattr(model, "prompts", None), "gaussian_weights")


@torch.no_grad()
def gaussian_weights(model: nn.Module, motion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The motion prompts' temporal Gaussians for each clip: means mu (B, K) in frames [0, T-1],
    widths sigma (B, K) and the normalised pooling weights w (B, K, T) (METHOD.md 2.1)."""
    if not has_gaussians(model):
        raise ExplainError(f"variant {model.settings.variant!r} has no motion prompts: no temporal Gaussians")
    tok = model.prompts
    model.eval()
    captured = {}
    # the tokenizer's own input (frames resized and normalised by the model), then its own steps
    handle = tok.register_forward_pre_hook(lambda m, args: captured.__setitem__("frames", args[0]))
    try:
        model.prompt_tokens(motion.to(_model_device(model)), None)
    finally:
        handle.remove()
    f = tok.embed_frames(captured["frames"])  # (B, T, C)
    w, mu, sigma = tok.gaussian_weights(f)  # (B, K, T), (B, K), (B, K)
    return mu.float(), sigma.float(), w.float()


# the model-randomisation sanity check (Adebayo et al. 2018)

def reinitialised(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose trainable weights are drawn afresh, as training began (seeded),
    and whose frozen weights are kept. (For variants that train the backbone, it is re-drawn too.)"""
    import copy
    import warnings

    from mpt_core.model import build_model, trainable_state_dict

    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no weights file given")
        torch.manual_seed(seed)
        fresh = build_model(model.settings)  # random backbone: only its trainable parts are used
    twin = copy.deepcopy(model)
    missing, unexpected = twin.load_state_dict(trainable_state_dict(fresh), strict=False)
    assert not unexpected and not set(trainable_state_dict(twin)) & set(missing)
    return twin


def randomisation_spearman(model: nn.Module, image: torch.Tensor, motion: torch.Tensor | None, *,
                           seed: int = 0) -> torch.Tensor:
    """Per clip (B,): Spearman rank correlation between the Grad-CAM map of ``model`` and that of
    the same model with its trainable weights re-initialised, both for the trained model's
    predicted class. Maps that do not depend on what was learned correlate near 1. A constant
    map (a 1 x 1 grid, or all zero) has no ranks: NaN."""
    from scipy.stats import spearmanr

    maps, probs = gradcam(model, image, motion)
    maps0, _ = gradcam(reinitialised(model, seed=seed), image, motion, target=probs.argmax(1))
    out = []
    for a, b in zip(maps.flatten(1).cpu().numpy(), maps0.flatten(1).cpu().numpy()):
        constant = a.min() == a.max() or b.min() == b.max()
        out.append(float("nan") if constant else float(spearmanr(a, b).statistic))
    return torch.tensor(out)


# a 2-D map of features

def tsne_2d(features, *, seed: int = 0):
    """t-SNE (scikit-learn) of ``features`` (n, D) to (n, 2); the perplexity follows n (it must stay
    below n; 30, the usual value, needs ~90 points). None when n < 4: nothing worth a map."""
    import numpy as np
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, dtype=np.float64)
    n = len(x)
    if n < 4:
        return None
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    with threadpool_limits(limits=1):  # a few hundred points: OpenMP threads only spin (10x slower on a busy CPU)
        return tsne.fit_transform(x)
