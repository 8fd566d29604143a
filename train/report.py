"""A run folder's report: results.json, summary.md, confusion.png, curves.png, report.html; ablation tables.

Everything is computed from ``config.json`` and the finished ``folds/*.json`` of a run folder, so
``mpt report`` re-renders exactly what training wrote. results.json covers every finished fold in
the folder. report.html (``report_html.py``) is the page to read; a run with no finished fold gets
only that page, saying so. ``render_report(..., latex=True)`` gives the runs as a booktabs table
(``latex.py``).
"""

from __future__ import annotations

from mpt_core.model.baseline import model_label

from pathlib import Path

import numpy as np

from .metrics import evaluate
from .report_html import PART_NAMES, part_order, write_run_page
from .runs import RunFolder, write_json


def per_dataset(config: dict, folds: list[dict]) -> dict | None:
    """Each source corpus's metrics on its own pooled predictions, for composite caches (MEGC2019:
    the MEGC protocol and MEB report UF1/UAR on CASME II, SAMM and SMIC as well as the whole)."""
    if config.get("protocol") == "lodo":  # each fold holds one part out: its predictions are the part's
        sources = [str(r["subject"]) for r in folds]
    else:
        sources = [str(r["subject"]).split("/", 1)[0] if "/" in str(r["subject"]) else config["dataset"]
                   for r in folds]
    if len(set(sources)) < 2:
        return None
    out = {}
    for name in sorted(set(sources)):
        mine = [r for r, s in zip(folds, sources) if s == name]
        labels = np.concatenate([r["labels"] for r in mine]).astype(int)
        preds = np.concatenate([r["predictions"] for r in mine]).astype(int)
        ev = evaluate(labels, preds, config["classes"])
        out[name] = {"clips": int(len(labels)), "accuracy": ev["accuracy"], "uf1": ev["uf1"], "uar": ev["uar"]}
    return out


def results(config: dict, folds: list[dict]) -> dict:
    """The results.json object: pooled metrics first, per-subject means as a labelled secondary."""
    classes = config["classes"]
    labels = np.concatenate([f["labels"] for f in folds]).astype(int)
    preds = np.concatenate([f["predictions"] for f in folds]).astype(int)
    ev = evaluate(labels, preds, classes, subject_folds=[(f["labels"], f["predictions"]) for f in folds])
    return {
        "accuracy": ev["accuracy"], "uf1": ev["uf1"], "uar": ev["uar"],
        "pooled_over": f"predictions of all {len(folds)} folds pooled ({len(labels)} clips), last epoch of each",
        "per_subject_mean": {"note": "secondary: each metric computed per held-out subject, then averaged "
                                     "over folds; the pooled figures above are the primary ones",
                             **ev["per_subject_mean"]},
        "per_class": ev["per_class"],
        "confusion": ev["confusion"],
        "classes": classes,
        "folds": [f["subject"] for f in folds],
        "epochs": config["train"]["epochs"],
        "variant": model_label(config["model"])[0],
        "backbone": model_label(config["model"])[1],
        "dataset": config["dataset"],
        **protocol_fields(config),
        "clips": int(len(labels)),
        "seconds": float(sum(f["seconds"]["train"] + f["seconds"]["eval"] for f in folds)),
        **({"per_dataset": parts} if (parts := per_dataset(config, folds)) else {}),
    }


def protocol_fields(config: dict) -> dict:
    """What results.json says about how the run was evaluated."""
    out = {"task": config.get("task", "emotion"), "protocol": config.get("protocol", "loso"),
           "cache_key": config.get("cache_key")}
    if out["protocol"] == "cross":
        out.update(test_cache=config.get("test_cache"), test_cache_key=config.get("test_cache_key"),
                   test_dataset=config.get("test_dataset"), class_map=config.get("class_map"))
    return out


PROTOCOL_TITLES = {"loso": "leave-one-subject-out", "lodo": "leave-one-dataset-out", "cross": "cross-dataset"}


def run_title(config: dict, folds) -> str:
    protocol = config.get("protocol", "loso")
    if protocol == "cross":
        return f"trained on {config['dataset']}, tested on {config.get('test_dataset')} (cross-dataset)"
    return f"{config['dataset']}: {PROTOCOL_TITLES[protocol]}, {len(folds)} folds"


def plot_confusion(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(res["confusion"])
    classes = res["classes"]
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.3 * n + 2.5, 1.1 * n + 2))
    rows = cm / np.maximum(cm.sum(1, keepdims=True), 1)  # colour = row share, text = counts
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), classes, rotation=30, ha="right")
    ax.set_yticks(range(n), [f"{c} ({cm[i].sum()})" for i, c in enumerate(classes)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (clips)")
    ax.set_title(f"{res['variant']} on {res['dataset']}: Acc {100 * res['accuracy']:.2f} %, "
                 f"UF1 {100 * res['uf1']:.2f} %", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curves(folds: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    curves = [f["loss_curve"] for f in folds]
    for f in folds:
        ax.plot(range(1, len(f["loss_curve"]) + 1), f["loss_curve"], lw=1, alpha=0.6, label=f["subject"])
    if curves and len({len(c) for c in curves}) == 1:
        ax.plot(range(1, len(curves[0]) + 1), np.mean(curves, 0), color="black", lw=2.5, label="mean")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title(f"training loss per fold ({len(folds)} folds)")
    if len(folds) <= 12:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary_markdown(config: dict, res: dict) -> str:
    m, t = config["model"], config["train"]
    name = f"{res['variant']} ({res['backbone']})"
    lines = [
        f"# {run_title(config, res['folds'])}, {res['clips']} clips",
        "",
        "| Method | Acc (%) | F1 (%) | UAR (%) |",
        "|---|---|---|---|",
        f"| {name} | {100 * res['accuracy']:.2f} | {100 * res['uf1']:.2f} | {100 * res['uar']:.2f} |",
        "",
        f"Acc, F1 (UF1) and UAR on the predictions of all folds pooled, after the last of {res['epochs']} epochs "
        "(no epoch or setting was chosen on a test subject).",
        *([] if res.get("protocol") == "cross" else [
            f"Secondary, per-{'subject' if res.get('protocol', 'loso') == 'loso' else 'part'} mean over folds: "
            f"Acc {100 * res['per_subject_mean']['accuracy']:.2f} %, F1 {100 * res['per_subject_mean']['uf1']:.2f} %, "
            f"UAR {100 * res['per_subject_mean']['uar']:.2f} %."]),
        *_megc_table(res),
        "",
        "| class | clips | precision | recall | F1 |",
        "|---|---|---|---|---|",
    ]
    for c, v in res["per_class"].items():
        lines.append(f"| {c} | {v['support']} | {100 * v['precision']:.1f} | {100 * v['recall']:.1f} | {100 * v['f1']:.1f} |")
    if m.get("model", "mpt") != "mpt":  # a baseline: MPT's own fields (backbone, prompts, ...) do not apply
        m = {k: m[k] for k in ("model", "num_classes") if k in m}
    settings = {**{f"model.{k}": v for k, v in m.items()}, **{f"train.{k}": v for k, v in t.items()},
                "weights": config.get("weights") or ("none (random backbone)" if config["model"].get("model", "mpt") == "mpt"
                                                     else "none (trained from scratch)"),
                "cache": config["cache"], "cache key": config["cache_key"]}
    if config.get("protocol") == "cross":
        settings.update({"test cache": config["test_cache"], "test cache key": config["test_cache_key"],
                         "class map": (config.get("class_map") or {}).get("name")})
    lines += ["", "Settings:", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in settings.items()]
    lines += ["", f"Compute: {res['seconds']:.0f} s of training + evaluation. Plots: confusion.png, curves.png.", ""]
    return "\n".join(lines)


def _megc_table(res: dict) -> list[str]:
    """The MEGC layout: the full composite, then each part (SMIC, CASME II, SAMM), UF1 and UAR."""
    parts = res.get("per_dataset")
    if not parts:
        return []
    order = part_order(parts)
    head = "| | full | " + " | ".join(PART_NAMES.get(p, p) for p in order) + " |"
    which = ("Leave-one-dataset-out: each part tested by the model trained on the others" if res.get("protocol") ==
             "lodo" else "Composite breakdown (MEGC layout; each part's own pooled predictions)")
    rule = "|---|---|" + "---|" * len(order)
    row = lambda key, name: (f"| {name} | {100 * res[key]:.2f} | "  # noqa: E731
                             + " | ".join(f"{100 * parts[p][key]:.2f}" for p in order) + " |")
    clips = "| clips | " + str(res["clips"]) + " | " + " | ".join(str(parts[p]["clips"]) for p in order) + " |"
    return ["", f"{which}:", "", head, rule,
            row("uf1", "UF1 (%)"), row("uar", "UAR (%)"), clips]


def write_report(run_dir) -> dict | None:
    """(Re)write results.json, summary.md, confusion.png, curves.png and report.html; returns the
    results. A run folder with no finished fold gets only report.html, which says so (returns None)."""
    run_dir = Path(run_dir)
    run = RunFolder(run_dir)
    config, folds = run.config(), run.fold_records()
    if not folds:
        write_run_page(run_dir, config, [], None)
        return None
    if config.get("task") == "au":
        from .report_au import au_results, au_summary_markdown

        res = au_results(config, folds)
        write_json(run_dir / "results.json", res)
        (run_dir / "summary.md").write_text(au_summary_markdown(config, res, run_title(config, folds)) + "\n")
        plot_curves(folds, run_dir / "curves.png")
        write_run_page(run_dir, config, folds, res)
        return res
    res = results(config, folds)
    write_json(run_dir / "results.json", res)
    (run_dir / "summary.md").write_text(summary_markdown(config, res))
    plot_confusion(res, run_dir / "confusion.png")
    plot_curves(folds, run_dir / "curves.png")
    write_run_page(run_dir, config, folds, res)
    return res


def refresh_page(run_dir) -> Path:
    """Rewrite only report.html from the run's files (after ``mpt explain`` added figures to explain/)."""
    run = RunFolder(run_dir)
    config, folds = run.config(), run.fold_records()
    if folds and config.get("task") == "au":
        from .report_au import au_results

        return write_run_page(run.path, config, folds, au_results(config, folds))
    return write_run_page(run.path, config, folds, results(config, folds) if folds else None)


def render_report(run_dirs, *, latex: bool = False) -> str:
    """Re-render each run's report; return a markdown table, one row per run (an ablation table), or
    with ``latex`` a booktabs table with one row per configuration (its seeds as mean +- sd)."""
    for d in run_dirs:  # every folder is checked before any is rewritten
        RunFolder(d).config()
    reports = [(Path(d), write_report(d)) for d in run_dirs]
    if latex:
        from .latex import runs_table

        done = [(d, r) for d, r in reports if r is not None]
        if not done:
            raise ValueError(f"no finished fold in {', '.join(str(d) for d, _ in reports)}: nothing to tabulate")
        return runs_table([(RunFolder(d).config(), r, RunFolder(d).fold_records()) for d, r in done])
    rows = ["| run | variant | backbone | folds | epochs | Acc (%) | F1 (%) | UAR (%) |",
            "|---|---|---|---|---|---|---|---|"]
    for d, r in reports:
        if r is None:
            rows.append(f"| {d} | no finished fold yet (see {d / 'report.html'}) | | | | | | |")
            continue
        if r.get("task") == "au":  # F1 is the mean AU F1; accuracy and UAR do not apply
            f1 = "-" if r["mean_f1"] is None else f"{100 * r['mean_f1']:.2f}"
            rows.append(f"| {d} | {r['variant']} (AU) | {r['backbone']} | {len(r['folds'])} | {r['epochs']} "
                        f"| - | {f1} | - |")
            continue
        rows.append(f"| {d} | {r['variant']} | {r['backbone']} | {len(r['folds'])} | {r['epochs']} "
                    f"| {100 * r['accuracy']:.2f} | {100 * r['uf1']:.2f} | {100 * r['uar']:.2f} |")
    pages = "\n".join(f"  {d / 'report.html'}" for d, _ in reports)
    return ("\n".join(rows) + "\n\nPooled over folds, last epoch; per-run details in each RUN_DIR/summary.md.\n"
            f"Reports (open in a browser):\n{pages}\n")
