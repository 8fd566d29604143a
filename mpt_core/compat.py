"""Make ``import timm`` work next to a CPU-only torch.

PyPI's torchvision wheel is a CUDA build. Next to the CPU build of torch its C
extension does not load, and ``torchvision/_meta_registrations.py`` then fails at
import time with ``RuntimeError: operator torchvision::nms does not exist``
because it registers fake kernels for ``torchvision::nms``/``qnms`` whose schemas
only the C extension defines. timm imports torchvision, so timm fails too.

``ensure_torchvision()`` imports torchvision; only if that exact failure happens,
it defines the two missing operator schemas (with no kernels: calling them still
raises) and imports torchvision again. Where torchvision loads normally it does
nothing. mpt never calls torchvision's detection ops.
"""

from __future__ import annotations

import sys

_MISSING_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # keeps the torch.library.Library alive; its definitions vanish with it


def ensure_torchvision() -> None:
    global _library
    if "torchvision" in sys.modules and hasattr(sys.modules["torchvision"], "__version__"):
        return
    try:
        import torchvision  # noqa: F401

        return
    except RuntimeError as err:
        if "torchvision::" not in str(err) or "does not exist" not in str(err):
            raise
    import torch

    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _library = torch.library.Library("torchvision", "DEF")
    for op, schema in _MISSING_SCHEMAS.items():
        if not hasattr(torch.ops.torchvision, op):
            _library.define(schema)
    import torchvision  # noqa: F401,F811


def import_timm():
    """Return the ``timm`` module, applying the torchvision workaround first if needed."""
    ensure_torchvision()
    import timm

    return timm
