"""The columns every sweep table shows, in the markdown (``tables.py``), HTML (``report.py``) and LaTeX
(``latex.py``) renderings: our metrics, and the paper's reference figures given per row."""

METRICS = (("accuracy", "Acc"), ("uf1", "UF1"), ("uar", "UAR"))
AU_METRICS = (("mean_f1", "mean AU F1"),)  # a column only where a table has AU runs (--task au)
REFERENCE = (("params_m", "#params (M)"), ("acc", "Acc (%)"), ("f1", "F1 (%)"))


# a comparison table's extra columns (``compare = true``): what each row reads and its cost

def what_it_is(config) -> dict:
    """A comparison row's ``input`` and forward ``gmacs`` per clip (None for hand-crafted features)."""
    from mpt_core.model.baseline import baseline_info, is_handcrafted, model_label

    name, what = model_label({"model": config.model.model, "variant": config.model.variant,
                              "backbone": config.model.backbone})
    if config.model.model == "mpt":
        from dataclasses import replace

        from mpt_core.model import model_info

        p = config.preprocess
        return {"input": f"rank image + {p.frames} motion frames, {p.size} px",
                "gmacs": model_info(replace(config.model, frames=p.frames))["gmacs"]}
    if is_handcrafted(config.model):
        return {"input": what, "gmacs": None}
    return {"input": what, "gmacs": baseline_info(config.model)["gmacs_per_clip"]}


def describe_columns(t: dict) -> list:
    """The extra columns of a comparison table (``compare = true``): what each row reads, its cost."""
    return [("input", "input"), ("gmacs", "GMACs/clip")] if t.get("compare") else []


def describe_cell(r: dict, key: str) -> str:
    value = r.get(key)
    if key == "gmacs":
        return "—" if value is None else f"{value:.3g}"
    return value or ""
