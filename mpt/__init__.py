"""mpt, the application: the ``mpt`` command line and the workflows that span preprocessing and
training (the demo, predict, explain, sweep). Below it: ``preprocess/`` and ``train/``, which meet at
the cache format in ``mpt_core/``."""

from mpt_core import __version__

__all__ = ["__version__"]
