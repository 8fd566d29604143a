"""The columns every sweep table shows, in the markdown (``tables.py``), HTML (``report.py``) and LaTeX
(``latex.py``) renderings: our metrics, and the paper's reference figures given per row."""

METRICS = (("accuracy", "Acc"), ("uf1", "UF1"), ("uar", "UAR"))
REFERENCE = (("params_m", "#params (M)"), ("acc", "Acc (%)"), ("f1", "F1 (%)"))
