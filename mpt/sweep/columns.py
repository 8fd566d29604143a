"""The columns every sweep table shows, in the markdown (``tables.py``), HTML (``report.py``) and LaTeX
(``latex.py``) renderings: our metrics, and the paper's reference figures given per row."""

METRICS = (("accuracy", "Acc"), ("uf1", "UF1"), ("uar", "UAR"))
AU_METRICS = (("mean_f1", "mean AU F1"),)  # a column only where a table has AU runs (--task au)
REFERENCE = (("params_m", "#params (M)"), ("acc", "Acc (%)"), ("f1", "F1 (%)"))
