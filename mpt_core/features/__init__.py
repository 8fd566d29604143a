"""Hand-crafted baselines: pure feature functions of one clip's flow-cache arrays (``mpt_core/flow_cache.py``).

``METHODS[name]`` says which array a method reads (``frames``: the T grey frames; ``flow_<S>``: the
maps at side S), the function that turns one clip's array into a vector, its default linear classifier
and its reference. Fitting (standardisation and the classifier, per fold on the training subjects
only) lives in ``train/handcrafted.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .flow_grid import SIDE, flow_grid
from .lbp_top import lbp_top


@dataclass(frozen=True)
class Method:
    name: str
    array: str  # the flow-cache dataset it reads
    feature: Callable  # one clip's array -> (D,) float32
    classifier: str  # "svm" (linear SVM) or "logreg" (logistic regression), class-balanced
    citation: str
    input: str  # what the table says it reads


METHODS = {
    "lbp-top": Method("lbp-top", "frames", lbp_top, "svm",
                      "G. Zhao, M. Pietikainen. Dynamic texture recognition using local binary patterns with an "
                      "application to facial expressions. IEEE TPAMI 2007; as the CASME II baseline: W.-J. Yan et "
                      "al. CASME II. PLoS ONE 2014",
                      "grey frames onset..offset"),
    "flow-grid": Method("flow-grid", f"flow_{SIDE}", flow_grid, "logreg",
                        "onset-apex optical flow and strain, cell means on a 16 x 16 grid (mpt issue 27)",
                        f"u+v+strain {SIDE}x{SIDE}"),
}

__all__ = ["METHODS", "Method", "flow_grid", "lbp_top"]
