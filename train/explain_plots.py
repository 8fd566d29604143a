"""The figures of ``mpt explain``: one clip, the mean map per class, and the t-SNE of features.

Each function takes arrays (nothing from a model or a file) and writes one PNG (matplotlib,
Agg). ``clip_figure`` returns what it drew, read back from the plotted artists, so a test can
check the picture against an independent computation rather than against the inputs it was given.
"""

from __future__ import annotations

import textwrap

import numpy as np

CAM_ALPHA = 0.45  # the map over the face: enough to see both
CMAP = "jet"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def unit(m: np.ndarray) -> np.ndarray:
    """A map scaled to [0, 1] by its maximum (an all-zero map stays zero)."""
    m = np.asarray(m, dtype=np.float64)
    top = m.max() if m.size else 0.0
    return m / top if top > 0 else np.zeros_like(m)


def upsample_map(cam: np.ndarray, size: int) -> np.ndarray:
    """Patch-grid map (gh, gw) -> (size, size), bilinear, each cell over its patch's pixels."""
    import torch

    from .explain import upsample

    return upsample(torch.as_tensor(np.asarray(cam, dtype=np.float32))[None], (size, size))[0].numpy()


def _strip(frames: np.ndarray) -> np.ndarray:
    """(T, S, S, 3) -> (S, T*S, 3): the frames side by side, frame t over x in [t - 0.5, t + 0.5]."""
    return np.concatenate(list(frames), axis=1)


# one clip

def clip_figure(path, *, rank: np.ndarray, cam: np.ndarray, motion: np.ndarray | None, mu=None, sigma=None,
                weights=None, classes, label: int, probs, subject: str, clip: str, model_name: str,
                held_out: bool, description: str | None = None) -> dict:
    """The explanation of one clip, written to ``path``.

    rank (S, S, 3) uint8; cam (gh, gw) Grad-CAM of the predicted class; motion (T, S, S, 3) uint8
    magnified frames; mu, sigma (K,) and weights (K, T) the temporal Gaussians (None for a model
    without motion prompts); probs (C,). ``description`` is the region-motion text, if any.
    Returns {"cam": the upsampled map drawn (S, S), "weights": (K, T) the curves, "mu": (K,) the
    dashed lines' positions}, read back from the figure's artists (sigma is in the legend).
    """
    plt = _plt()
    from matplotlib.gridspec import GridSpec

    S = rank.shape[0]
    probs = np.asarray(probs, dtype=np.float64)
    pred = int(probs.argmax())
    fig = plt.figure(figsize=(14, 8.2))
    gs = GridSpec(3, 4, figure=fig, height_ratios=[3.2, 1.0, 1.9], width_ratios=[1, 1, 1.1, 1.4],
                  hspace=0.45, wspace=0.5)
    drawn = {}

    ax = fig.add_subplot(gs[0, 0])
    ax.imshow(rank)
    ax.set_title("rank image (dynamic image)", fontsize=9)
    ax.axis("off")

    ax = fig.add_subplot(gs[0, 1])
    up = unit(upsample_map(cam, S))
    ax.imshow(rank)
    im = ax.imshow(up, cmap=CMAP, alpha=CAM_ALPHA, vmin=0, vmax=1)
    drawn["cam"] = np.asarray(im.get_array())
    gh, gw = np.shape(cam)
    for i in range(1, gh):
        ax.axhline(i * S / gh - 0.5, color="white", lw=0.4, alpha=0.5)
    for j in range(1, gw):
        ax.axvline(j * S / gw - 0.5, color="white", lw=0.4, alpha=0.5)
    ax.set_title(f"Grad-CAM of '{classes[pred]}'\n{gh}x{gw} patches, last block's input", fontsize=9)
    ax.axis("off")

    ax = fig.add_subplot(gs[0, 2])
    y = np.arange(len(classes))
    colors = ["tab:green" if c == label else ("tab:red" if c == pred else "tab:gray") for c in y]
    ax.barh(y, probs, color=colors)
    ax.set_yticks(y, classes)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.set_title("green: true class, red: wrong prediction", fontsize=9)

    ax = fig.add_subplot(gs[0, 3])
    ax.axis("off")
    verdict = "correct" if pred == label else "WRONG"
    lines = [f"subject: {subject}", f"clip: {clip}", "",
             f"true: {classes[label]} (p = {probs[label]:.2f})",
             f"predicted: {classes[pred]} (p = {probs[pred]:.2f}), {verdict}", "",
             f"model: {model_name}", "clip held out from its training" if held_out else
             "clip SEEN in this model's training"]
    ax.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=10, family="monospace",
            transform=ax.transAxes)
    # the slot for the region motion description (mpt_core.describe): text below the labels
    text = description if description else "region motion description: (not computed)"
    ax.text(0, 0.42, "\n".join(textwrap.wrap(text, 44)[:14]), va="top", ha="left", fontsize=8.5,
            transform=ax.transAxes, color="black" if description else "gray")

    ax_strip = fig.add_subplot(gs[1, :])
    ax_w = fig.add_subplot(gs[2, :], sharex=ax_strip)
    if motion is not None:
        T = len(motion)
        ax_strip.imshow(_strip(motion), extent=(-0.5, T - 0.5, 1, 0), aspect="auto")
        ax_strip.set_yticks([])
        ax_strip.set_title(f"the {T} magnified motion frames the prompts see, and the K motion prompts' temporal "
                           "Gaussians (which moments each prompt pooled)", fontsize=10)
    if weights is not None:
        weights, mu, sigma = (np.asarray(a, dtype=np.float64) for a in (weights, mu, sigma))
        K, T = weights.shape
        t = np.arange(T)
        colors = plt.get_cmap("tab10")(np.arange(K) % 10)
        lines = []
        for k in range(K):
            (line,) = ax_w.plot(t, weights[k], "o-", ms=3, color=colors[k],
                                label=f"prompt {k + 1}: mu {mu[k]:.1f}, sigma {sigma[k]:.1f}")
            lines.append(line)
            for a in (ax_strip, ax_w):
                a.axvline(mu[k], color=colors[k], lw=1.5, ls="--")
        drawn["weights"] = np.stack([ln.get_ydata() for ln in lines])
        drawn["mu"] = np.array([a.get_xdata()[0] for a in ax_w.lines if a.get_linestyle() == "--"])
        ax_w.set_ylabel("weight w_k,t")
        ax_w.set_xlabel("frame t (of the T normalised frames)")
        ax_w.set_xticks(t)
        ax_w.set_ylim(0, max(1e-6, weights.max()) * 1.1)
        ax_w.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    else:
        ax_w.text(0.5, 0.5, "this variant has no motion prompts: no temporal Gaussians", ha="center",
                  va="center", transform=ax_w.transAxes)
        ax_w.set_yticks([])
    fig.suptitle(f"{subject} / {clip}: true {classes[label]}, predicted {classes[pred]}", fontsize=13)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return drawn


# one run

def class_figure(path, *, mean_rank: dict, mean_cam: dict, counts: dict, classes, note: str) -> None:
    """Per TRUE class: the mean Grad-CAM map (each clip's map upsampled and scaled to [0, 1] before
    averaging) over the class's mean rank image. mean_rank[c] (S, S, 3) in [0, 1], mean_cam[c] (S, S)."""
    plt = _plt()
    n = len(classes)
    cols = min(n, 5)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.5 * rows + 0.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for c, name in enumerate(classes):
        ax = axes.flat[c]
        if not counts.get(c):
            ax.text(0.5, 0.5, f"{name}\nno clips", ha="center", va="center", transform=ax.transAxes)
            continue
        ax.imshow(np.clip(mean_rank[c], 0, 1))
        ax.imshow(mean_cam[c], cmap=CMAP, alpha=CAM_ALPHA, vmin=0, vmax=1)
        ax.set_title(f"{name} ({counts[c]} clips)")
    fig.suptitle(f"Mean Grad-CAM of the predicted class, per true class, over the class's mean rank image\n{note}",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def tsne_figure(path, *, panels: list[dict], classes, title: str) -> None:
    """Small multiples of 2-D embeddings. Each panel: {"title", "xy" (n, 2) or None, "labels" (n,),
    "test" (n,) bool}: training clips as dots, test clips as black-edged stars, colour = class."""
    plt = _plt()
    n = max(1, len(panels))
    cols = min(n, 4)
    rows = -(-n // cols)
    side = 6.5 if n == 1 else 4.2  # one panel (the final model) gets room for every clip
    fig, axes = plt.subplots(rows, cols, figsize=(max(side * cols, 7.5), side * rows + 1.6), squeeze=False)
    colors = plt.get_cmap("tab10")(np.arange(len(classes)) % 10)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, p in zip(axes.flat, panels):
        ax.set_title(p["title"], fontsize=9)
        if p["xy"] is None:
            ax.text(0.5, 0.5, "too few clips for t-SNE", ha="center", va="center", transform=ax.transAxes)
            continue
        xy, labels, test = np.asarray(p["xy"]), np.asarray(p["labels"]), np.asarray(p["test"], dtype=bool)
        for c in range(len(classes)):
            tr, te = (labels == c) & ~test, (labels == c) & test
            ax.scatter(xy[tr, 0], xy[tr, 1], s=30 if n == 1 else 14, color=colors[c], alpha=0.7, linewidths=0)
            ax.scatter(xy[te, 0], xy[te, 1], s=130, marker="*", color=colors[c], edgecolors="black", linewidths=0.9)
    handles = [plt.Line2D([], [], marker="o", ls="", color=colors[c], label=name) for c, name in enumerate(classes)]
    if any(np.any(p["test"]) for p in panels):
        handles.append(plt.Line2D([], [], marker="*", ls="", ms=11, color="white", markeredgecolor="black",
                                  label="held-out clip"))
    width = fig.get_figwidth()
    fig.legend(handles=handles, loc="lower center", ncol=max(2, min(len(handles), int(width / 1.7))), frameon=False)
    fig.suptitle(textwrap.fill(title, int(width * 11)), fontsize=10)
    fig.tight_layout(rect=(0, 0.1 if n == 1 else 0.06, 1, 0.92))
    fig.savefig(path, dpi=100)
    plt.close(fig)
