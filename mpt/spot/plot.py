"""``mpt spot --plot``: the score over time with both passes' thresholds, the spotted intervals and,
when known, the ground truth; one panel per video (at most ``MAX_PANELS``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mpt_core.spotting import moilanen_threshold

MAX_PANELS = 12
COLOURS = {"micro": "tab:red", "macro": "tab:blue"}


def plot_signals(path: Path, signals, results, settings) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = list(zip(signals, results))[:MAX_PANELS]
    fig, axes = plt.subplots(len(shown), 1, figsize=(12, 2.6 * len(shown)), squeeze=False)
    for ax, (sig, res) in zip(axes[:, 0], shown):
        t = (np.asarray(sig.numbers) - sig.numbers[0]) / sig.input.fps
        ax.plot(t, sig.scores.face, lw=0.8, color="black", label="score")
        ax.plot(t, sig.scores.eyes, lw=0.6, color="tab:green", alpha=0.5, label="eyelid (blink) score")
        ax.axhline(moilanen_threshold(sig.scores.face, res["p"]), ls="--", lw=0.8, color="grey",
                   label=f"first threshold (p = {res['p']:g})")
        to_s = lambda n: (n - sig.numbers[0]) / sig.input.fps  # noqa: E731
        top = np.nanmax(sig.scores.face) if np.isfinite(sig.scores.face).any() else 1.0
        for i in res["intervals"]:
            ax.axvspan(to_s(i["onset"]), to_s(i["offset"]), color=COLOURS[i["type"]], alpha=0.25)
        for g in sig.truth:
            ax.plot([to_s(g.onset), to_s(g.offset)], [top * 1.05] * 2, lw=4, color=COLOURS[g.type],
                    solid_capstyle="butt")
        for n in res["blinks"]:
            ax.plot([to_s(n)], [top * 0.95], marker="v", color="tab:green", ms=5, ls="none")
        lost = np.asarray(res["lost"])
        if len(lost):
            ax.plot(to_s(lost), np.zeros(len(lost)), "|", color="tab:orange", ms=8, label="face lost")
        name = f"{res['subject']}/{res['video']}" if res.get("subject") else Path(res["input"]).name
        ax.set_title(f"{name}: {len(res['intervals'])} interval(s) spotted (shaded: red micro, blue macro; "
                     f"bars above: ground truth; green marks: blinks)", fontsize=9)
        ax.set_xlabel("seconds")
        ax.set_ylabel("score")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
