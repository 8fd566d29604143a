"""A run folder's ``report.html``: one page a researcher reads top to bottom, opens from disk, shares.

Headline (Acc / UF1 / UAR with their chance levels and the protocol in words), per-class figures, the
confusion matrix, the training curves, the per-fold and per-dataset tables, the settings (collapsed),
and the ``mpt explain`` gallery when ``explain/`` exists. Built from what ``report.py`` computed
(results.json's object) and the fold records; pieces from ``mpt_core/htmlpage.py``. A run without a
finished fold gets a page that says so.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from mpt_core import __version__
from mpt_core.htmlpage import (Html, cell, details, esc, figure, gallery, key_values, link, metric_cards, notice,
                               page, paragraph, section, table, tag, write_page)

MAX_GALLERY = 16  # clip figures embedded (~150 kB each); the rest are linked (`mpt explain` can write hundreds)
PART_NAMES = {"smic": "SMIC", "casme2": "CASME II", "samm": "SAMM", "casme3": "CAS(ME)3"}


def part_order(parts) -> list[str]:
    """The MEGC layout's order of a composite's parts: SMIC, CASME II, SAMM, then any other."""
    megc = ("smic", "casme2", "samm")
    return [p for p in megc if p in parts] + sorted(set(parts) - set(megc))


def pct(x, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}"


def chance_levels(supports: list[int]) -> dict:
    """Expected Acc / UF1 / UAR of a classifier that guesses uniformly at random (given the true class
    counts), and the accuracy of always answering the most frequent class."""
    n = np.asarray(supports, dtype=np.float64)
    share = n / n.sum()
    c = len(n)
    # a uniform guess: recall 1/C for every class; precision of class k is its share of the clips
    f1 = np.where(share > 0, 2 * share / c / np.maximum(share + 1 / c, 1e-12), 0.0)
    return {"accuracy": 1 / c, "uf1": float(f1.mean()), "uar": 1 / c, "majority_accuracy": float(share.max()),
            "majority_class": int(share.argmax())}


def protocol_text(config: dict, res: dict, folds: list[dict]) -> str:
    return (f"Leave-one-subject-out: {len(folds)} fold(s), one per held-out subject; each fold's model is trained "
            f"for a fixed {res['epochs']} epochs and evaluated once, after the last epoch (no epoch, checkpoint or "
            f"setting is chosen on a test subject). Acc, UF1 (mean per-class F1) and UAR (mean per-class recall) "
            f"are computed on the predictions of all folds pooled ({res['clips']} clips).")


def _headline(config, res, folds) -> list:
    chance = chance_levels([v["support"] for v in res["per_class"].values()])
    names = res["classes"]
    cards = metric_cards([
        ("Accuracy (%)", pct(res["accuracy"]), f"chance {pct(chance['accuracy'], 1)} %"),
        ("UF1 (%)", pct(res["uf1"]), f"chance {pct(chance['uf1'], 1)} %"),
        ("UAR (%)", pct(res["uar"]), f"chance {pct(chance['uar'], 1)} %"),
    ])
    psm = res["per_subject_mean"]
    parts = [cards, paragraph(protocol_text(config, res, folds)),
             paragraph(f"Chance: the expected figures of a uniform random guess among the {len(names)} classes "
                       f"(given these class counts); always answering the most frequent class "
                       f"({names[chance['majority_class']]}) gives Acc {pct(chance['majority_accuracy'], 1)} %, "
                       f"UAR {pct(1 / len(names), 1)} %."),
             paragraph(f"Secondary, each metric per held-out subject then averaged over folds: Acc {pct(psm['accuracy'])} %, "
                       f"UF1 {pct(psm['uf1'])} %, UAR {pct(psm['uar'])} % (noisier: a subject shows few classes).",
                       cls="subtitle")]
    if res["clips"] < config.get("n_clips", res["clips"]):
        parts.insert(0, notice(f"Partial run: {len(folds)} finished fold(s) cover {res['clips']} of the cache's "
                               f"{config['n_clips']} clips; every figure on this page is of those folds only."))
    return parts


def _per_class(res) -> Html:
    rows = [(name, v["support"], pct(v["precision"], 1), pct(v["recall"], 1), pct(v["f1"], 1))
            for name, v in res["per_class"].items()]
    return table(["class", "clips", "precision (%)", "recall (%)", "F1 (%)"], rows, numeric_columns=(1, 2, 3, 4))


def _confusion(res) -> Html:
    cm = np.asarray(res["confusion"])
    classes = res["classes"]
    rows = []
    for i, name in enumerate(classes):
        total = int(cm[i].sum())
        cells = [tag("th", f"{name} ({total})")]
        for j in range(len(classes)):
            share = cm[i, j] / total if total else 0.0
            colour = "#fff" if share > 0.55 else "#1d2430"
            cells.append(cell(int(cm[i, j]), cls="best" if i == j else None,
                              style=f"background:rgba(47,93,159,{share:.3f});color:{colour}"))
        rows.append(Html(tag("tr", *cells)))
    head = tag("tr", tag("th", "true (clips) \\ predicted"), *(tag("th", c, cls="num") for c in classes))
    return tag("div", tag("table", tag("caption", "rows: true class (its clip count), columns: predicted class; shade = "
                                   "share of the row, diagonal in bold"), tag("thead", head), tag("tbody", *rows),
                          cls="confusion"), cls="wide")


def _per_fold(folds) -> Html:
    rows = []
    for f in folds:
        secs = f["seconds"]["train"] + f["seconds"]["eval"]
        loss = f["loss_curve"][-1] if f["loss_curve"] else None
        rows.append((f["subject"], f["test_clips"], f["train_clips"], pct(f["accuracy"], 1),
                     "—" if loss is None else f"{loss:.4f}", f"{secs:.1f}"))
    return table(["held-out subject", "test clips", "train clips", "accuracy (%)", "final training loss", "seconds"],
                 rows, numeric_columns=(1, 2, 3, 4, 5))


def _per_dataset(res) -> Html | None:
    parts = res.get("per_dataset")
    if not parts:
        return None
    order = part_order(parts)
    rows = [("full composite", res["clips"], pct(res["accuracy"]), pct(res["uf1"]), pct(res["uar"]))]
    rows += [(PART_NAMES.get(p, p), parts[p]["clips"], pct(parts[p]["accuracy"]), pct(parts[p]["uf1"]),
              pct(parts[p]["uar"])) for p in order]
    return section("Per dataset", paragraph("The MEGC layout: the whole composite, then each part's own pooled "
                                            "predictions."),
                   table(["part", "clips", "Acc (%)", "UF1 (%)", "UAR (%)"], rows, numeric_columns=(1, 2, 3, 4)),
                   anchor="datasets")


def versions(config: dict) -> dict:
    return config.get("versions") or {"torch": config.get("torch")}


def _settings(config: dict, folds: list[dict]) -> Html:
    precision = sorted({f.get("precision") for f in folds if f.get("precision")}) or [config["train"].get("precision")]
    items = {
        "dataset": config["dataset"], "classes": ", ".join(config["classes"]), "clips in the cache": config.get("n_clips"),
        "cache": config["cache"], "cache key": config.get("cache_key"),
        "preprocessing": config.get("cache_settings") or {}, "model": config["model"], "training": config["train"],
        "backbone weights": config.get("weights") or "none: a RANDOM backbone",
        "backbone weights sha256": config.get("weights_sha256"),
        "precision used": ", ".join(map(str, precision)),
        "trainable parameters": next((f["parameters"]["trainable"] for f in folds if f.get("parameters")), None),
        "versions": versions(config),
    }
    return details("Settings (cache, model, training, weights, versions)", key_values(items))


def _explain(run_dir: Path) -> Html | None:
    folder = run_dir / "explain"
    if not folder.is_dir():
        return None
    parts = [paragraph("From ", tag("code", "mpt explain"), ": each clip is explained by the model of the fold that "
                       "held its subject out (the figure says otherwise if not).")]
    for name, caption in (("gradcam_by_class.png", "Grad-CAM: the mean map per true class over the explained clips"),
                          ("tsne.png", "t-SNE of the head's input features")):
        if (folder / name).is_file():
            parts.append(figure((folder / name).read_bytes(), Html(esc(caption + " ") + link(f"explain/{name}", "(file)")),
                                alt=caption, width=900, compact=True))
    clips = sorted(p for p in folder.glob("*/*.png") if p.is_file())
    figs = [figure(p.read_bytes(), Html(f"{esc(p.parent.name)} / {esc(p.stem)} ") + link(p.relative_to(run_dir).as_posix(),
                                                                                         "(file)"),
                   alt=f"{p.parent.name} / {p.stem}", compact=True) for p in clips[:MAX_GALLERY]]
    if figs:
        parts.append(tag("h3", f"Explained clips ({len(clips)})"))
        parts.append(gallery(figs))
    if len(clips) > MAX_GALLERY:
        parts.append(paragraph(f"{len(clips) - MAX_GALLERY} more clip figures are in explain/ (not embedded, to keep "
                               "this page small): ",
                               *(Html(link(p.relative_to(run_dir).as_posix(), f"{p.parent.name}/{p.stem}") + " ")
                                 for p in clips[MAX_GALLERY:])))
    return section("Explanations", *parts, anchor="explain")


def _files(run_dir: Path) -> Html:
    names = [n for n in ("results.json", "summary.md", "config.json", "confusion.png", "curves.png", "folds")
             if (run_dir / n).exists()]
    return paragraph("Files: ", *(Html(link(n + ("/" if (run_dir / n).is_dir() else ""), n) + " ") for n in names))


def _title(config: dict) -> str:
    from mpt_core.model.baseline import model_label

    name, what = model_label(config["model"])
    return f"{config['dataset']}: {name} ({what})"


def run_page(run_dir, config: dict, folds: list[dict], res: dict | None) -> str:
    """The page's HTML; ``res`` is results.json's object (None when no fold has finished)."""
    run_dir = Path(run_dir)
    footer = (f"mpt {__version__}, Python {platform.python_version()}; written by mpt train / mpt report from "
              f"config.json and folds/*.json of {run_dir.name}.")
    if not folds:
        partial = sorted(p.name for p in (run_dir / "folds").glob("*.partial.pt"))
        body = [notice(tag("strong", "No finished fold yet. "),
                       "folds/ holds no <subject>.json; training writes one as each fold finishes, then ",
                       tag("code", "mpt report"), " fills this page. ",
                       f"In progress: {', '.join(partial)}." if partial else "No fold is in progress.",
                       " This run trained only a final model." if config.get("final") and not config.get("loso", True)
                       else ""),
                section("Settings", _settings(config, []), anchor="settings")]
        return page(_title(config), *body, subtitle="leave-one-subject-out run: no results yet", footer=footer)
    if res.get("task") == "au":
        return _au_page(run_dir, config, folds, res, footer)
    nav = [("headline", "Headline"), ("classes", "Per class"), ("confusion", "Confusion"), ("curves", "Curves"),
           ("folds", "Per fold")]
    body = [section("Headline", *_headline(config, res, folds), anchor="headline"),
            section("Per class", _per_class(res), anchor="classes"),
            section("Confusion matrix", _confusion(res), anchor="confusion")]
    if (run_dir / "curves.png").is_file():
        body.append(section("Training curves", figure((run_dir / "curves.png").read_bytes(),
                                                      "training loss (cross-entropy) per epoch, one line per fold",
                                                      width=760), anchor="curves"))
    body.append(section("Per fold", _per_fold(folds), anchor="folds"))
    if (parts := _per_dataset(res)) is not None:
        body.append(parts)
        nav.append(("datasets", "Per dataset"))
    body.append(section("Settings", _settings(config, folds), _files(run_dir), anchor="settings"))
    nav.append(("settings", "Settings"))
    if (gallery_section := _explain(run_dir)) is not None:
        body.append(gallery_section)
        nav.append(("explain", "Explanations"))
    subtitle = (f"leave-one-subject-out, {len(folds)} folds, {res['clips']} clips, {len(res['classes'])} classes, "
                f"last of {res['epochs']} epochs, pooled predictions")
    return page(_title(config), *body, subtitle=subtitle, nav=nav, footer=footer)


def _au_page(run_dir: Path, config: dict, folds: list[dict], res: dict, footer: str) -> str:
    """An Action Unit detection run (``--task au``): mean AU F1 against its baselines, per-AU figures."""
    b = res["baselines"]
    cards = metric_cards([("mean AU F1 (%)", pct(res["mean_f1"]), f"all-negative {pct(b['all_negative']['mean_f1'], 1)} %"),
                          ("prior guess (%)", pct(b["prior"]["mean_f1"]), "each AU present at its own rate"),
                          ("all-positive (%)", pct(b["all_positive"]["mean_f1"]), "every AU present")])
    text = (f"{res['pooled_over']}; an AU counts as present when its probability is at least {res['threshold']:g}. "
            f"Mean AU F1 is the mean of the per-AU F1 over the AUs some training clip shows"
            + (f" (left out: {', '.join(res['excluded'])}: {res['excluded_note']})" if res["excluded"] else "") + ".")
    rows = [(name, v.get("positives"), v.get("train_positives"), pct(v.get("f1"), 1), pct(v.get("auc"), 1))
            for name, v in res["per_au"].items()]
    body = [section("Headline", cards, paragraph(text), anchor="headline"),
            section("Per Action Unit", table(["AU", "positive test clips", "positive training clips", "F1 (%)",
                                              "AUC (%)"], rows, numeric_columns=(1, 2, 3, 4)), anchor="aus")]
    if (run_dir / "curves.png").is_file():
        body.append(section("Training curves", figure((run_dir / "curves.png").read_bytes(),
                                                      "training loss (binary cross-entropy) per epoch, one line per "
                                                      "fold", width=760), anchor="curves"))
    body += [section("Per fold", _per_fold(folds), anchor="folds"),
             section("Settings", _settings(config, folds), _files(run_dir), anchor="settings")]
    nav = [("headline", "Headline"), ("aus", "Per AU"), ("curves", "Curves"), ("folds", "Per fold"),
           ("settings", "Settings")]
    subtitle = (f"Action Unit detection ({len(res['aus'])} AUs), {res['protocol']}, {len(folds)} folds, "
                f"{res['clips']} clips, last of {res['epochs']} epochs, pooled predictions")
    return page(_title(config), *body, subtitle=subtitle, nav=nav, footer=footer)


def write_run_page(run_dir, config: dict, folds: list[dict], res: dict | None) -> Path:
    return write_page(Path(run_dir) / "report.html", run_page(run_dir, config, folds, res))
