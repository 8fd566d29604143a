"""mpt, the application: the ``mpt`` command line and the workflows that span preprocessing and
training (the demo, predict, explain, sweep). Below it: ``preprocess/`` and ``train/``, which meet at
the cache format in ``mpt_core/``."""

from mpt_core import __version__

__all__ = ["__version__", "predict", "track"]


def __getattr__(name: str):
    """``from mpt import predict`` (defined in ``mpt.inference``) and ``from mpt import track``
    (``mpt.tracking``) import torch, OpenCV and dlib only when asked (keeps ``mpt --help`` fast)."""
    if name == "predict":
        from .inference import predict

        globals()["predict"] = predict
        return predict
    if name == "track":
        from .tracking import track

        globals()["track"] = track
        return track
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
