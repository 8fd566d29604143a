"""The report of an AU detection run (``--task au``): results.json and summary.md from the fold records.

Per AU, on the pooled test clips where it is known (``train/au.py``): F1 at the fixed threshold 0.5,
ROC AUC where both classes occur, positives. ``mean_f1`` averages the AUs some training clip showed;
the others are listed in ``excluded``. The all-negative, all-positive and prior baselines are stated
beside it, so a figure can be read against what guessing gives.
"""

from __future__ import annotations

import numpy as np

from .au import au_metrics


def au_results(config: dict, folds: list[dict]) -> dict:
    names = config["classes"]
    labels = np.concatenate([np.asarray(f["labels"], np.float64).reshape(-1, len(names)) for f in folds])
    probs = np.concatenate([np.asarray(f["probabilities"], np.float64).reshape(-1, len(names)) for f in folds])
    most = {a: max(int(f["train_positives"].get(a, 0)) for f in folds) for a in names}
    fewest = {a: min(int(f["train_positives"].get(a, 0)) for f in folds) for a in names}
    m = au_metrics(labels, probs, names, most)
    for a in names:
        m["per_au"][a]["train_positives_fewest_fold"] = fewest[a]
    return {
        "task": "au", "protocol": config.get("protocol", "loso"),
        "mean_f1": m["mean_f1"], "per_au": m["per_au"], "excluded": m["excluded"],
        "excluded_note": "AUs no training clip shows: they cannot be learnt, so they are left out of mean_f1",
        "threshold": m["threshold"], "baselines": m["baselines"],
        "pooled_over": f"predictions of all {len(folds)} folds pooled ({len(labels)} clips), last epoch of each",
        "aus": names, "classes": names, "folds": [f["subject"] for f in folds],
        "epochs": config["train"]["epochs"], "variant": config["model"]["variant"],
        "backbone": config["model"]["backbone"], "dataset": config["dataset"],
        "cache_key": config.get("cache_key"), "test_cache_key": config.get("test_cache_key"),
        "clips": int(len(labels)),
        "au_left_out": len(config.get("au_left_out", [])) + len(config.get("test_au_left_out") or []),
        "seconds": float(sum(f["seconds"]["train"] + f["seconds"]["eval"] for f in folds)),
    }


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def au_summary_markdown(config: dict, res: dict, title: str) -> str:
    b = res["baselines"]
    lines = [
        f"# {title}: AU detection, {len(res['aus'])} AUs, {res['clips']} clips",
        "",
        f"mean F1 {_pct(res['mean_f1'])} % over {len(res['aus']) - len(res['excluded'])} AUs, on the predictions "
        f"of all {len(res['folds'])} folds pooled, after the last of {res['epochs']} epochs, threshold "
        f"{res['threshold']} (nothing chosen on a test subject).",
        f"Baselines (mean F1 over the same AUs): all negative {_pct(b['all_negative']['mean_f1'])} %, prior "
        f"(each AU guessed at its test rate) {_pct(b['prior']['mean_f1'])} %, all positive "
        f"{_pct(b['all_positive']['mean_f1'])} %.",
    ]
    if res["excluded"]:
        lines.append(f"Excluded from the mean (no training clip shows them): {', '.join(res['excluded'])}.")
    if res["au_left_out"]:
        lines.append(f"{res['au_left_out']} clip(s) left out: AU string not coded or not readable (config.json "
                     "lists them).")
    lines += ["", "| AU | F1 (%) | AUC | positives | clips | training positives (fewest fold) |",
              "|---|---|---|---|---|---|"]
    for a, v in res["per_au"].items():
        auc = "-" if v["auc"] is None else f"{v['auc']:.3f}"
        mark = " (excluded)" if a in res["excluded"] else ""
        lines.append(f"| {a}{mark} | {_pct(v['f1'])} | {auc} | {v['positives']} | {v['clips']} | "
                     f"{v['train_positives_fewest_fold']} |")
    return "\n".join(lines)
