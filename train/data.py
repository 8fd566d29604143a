"""Streaming a preprocessing cache (HDF5) to the device, plus the training augmentation.

Two ways, chosen by ``TrainSettings.memory_budget_gb``:

* **resident**: the ``rank`` and ``motion`` arrays fit within the budget. They are read once, in
  chunks, into uint8 tensors on the device, and every batch is an index into them (no host work
  per step). On the CPU the tensors are the arrays themselves.
* **streamed**: a background thread reads the clips of the next chunk (``chunk_clips``, rounded
  to whole batches) from disk, ``prefetch`` chunks ahead, and hands them over as uint8 tensors.

Both yield the same batches in the same order for the same row order, so the choice never changes
results. Arrays stay uint8 (float16 for ``motion_output="band"``) until the model converts and
normalises them on the device.

Augmentation (``random_hflip``): a horizontal flip applied to the rank image and to *every*
motion frame of a clip together, decided per clip by the fold's ``torch.Generator``. It runs in the
training loop (``train/loop.py``) on the device, on training batches only, after a batch leaves
this module and before it enters the training step; evaluation never flips.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np
import torch


@dataclass
class Batch:
    image: torch.Tensor  # (B, 3, H, W) uint8, channels-first view of the cache's (B, H, W, 3)
    motion: torch.Tensor  # (B, T, 3, H, W) uint8 (float16 for band motion)
    label: torch.Tensor  # (B,) int64, or (B, A) float32 AU targets (``ClipSource.set_targets``)
    rows: np.ndarray  # (B,) cache row indices


def _channels_first(rank: torch.Tensor, motion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return rank.permute(0, 3, 1, 2), motion.permute(0, 1, 4, 2, 3)  # (B,3,H,W), (B,T,3,H,W)


def random_hflip(image: torch.Tensor, motion: torch.Tensor, generator: torch.Generator,
                 p: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flip each clip's image and all its motion frames left-right together, with probability p.

    image (B, 3, H, W), motion (B, T, 3, H, W). The coin flips come from ``generator`` (a CPU
    generator, so CPU and GPU runs draw the same flips). Returns (image, motion, flipped mask).
    """
    flipped = torch.rand(image.shape[0], generator=generator) < p  # (B,)
    m = flipped.to(image.device)
    image = torch.where(m[:, None, None, None], image.flip(-1), image)
    motion = torch.where(m[:, None, None, None, None], motion.flip(-1), motion)
    return image, motion, flipped


class ClipSource:
    """The clip arrays of one cache, resident on ``device`` or streamed from disk."""

    def __init__(self, path: str | Path, *, device: torch.device | str = "cpu",
                 memory_budget_gb: float = 4.0, chunk_clips: int = 64, prefetch: int = 2):
        from mpt_core.cache import cache_index, open_cache

        self.path = Path(path)
        self.device = torch.device(device)
        self.chunk_clips = chunk_clips
        self.prefetch = prefetch
        with open_cache(self.path) as f:  # the one open of the cache: checks, clip table, arrays
            self.index = cache_index(f)
            self.meta = self.index.meta
            self.classes = self.meta.classes
            self.labels = self.index.labels
            self.subjects = self.index.subjects
            self.clips = self.index.clips
            self.nbytes = f["rank"].size * f["rank"].dtype.itemsize + f["motion"].size * f["motion"].dtype.itemsize
            self.resident = self.nbytes <= memory_budget_gb * 1024**3
            if self.resident:
                self._rank = self._load(f["rank"])
                self._motion = self._load(f["motion"])
        self._label = torch.from_numpy(self.labels).to(self.device)

    def __len__(self) -> int:
        return len(self.labels)

    hflip = staticmethod(random_hflip)  # the training augmentation of this kind of batch

    @property
    def multilabel(self) -> bool:
        """Whether the batches carry AU target rows (N, A) instead of class indices (N,)."""
        return self.labels.ndim == 2

    def set_targets(self, labels: np.ndarray, classes) -> None:
        """Replace what the batches carry as ``label``: class indices after a class map (N,) int64, or AU
        targets (N, A) float32 of 1, 0 and -1 (``train/au.py``); ``classes`` names the outputs."""
        if len(labels) != len(self.index.labels):
            raise ValueError(f"{self.path}: {len(labels)} targets for {len(self.index.labels)} clips")
        self.labels, self.classes = labels, tuple(classes)
        self._label = torch.from_numpy(labels).to(self.device)

    def _load(self, ds: h5py.Dataset) -> torch.Tensor:
        if self.device.type == "cpu":
            return torch.from_numpy(ds[:])
        out = torch.empty(ds.shape, dtype=_torch_dtype(ds.dtype), device=self.device)
        for a in range(0, ds.shape[0], self.chunk_clips):  # never holds the whole array on the host
            out[a:a + self.chunk_clips] = torch.from_numpy(ds[a:a + self.chunk_clips]).to(self.device)
        return out

    def batches(self, rows, batch_size: int) -> Iterator[Batch]:
        """Batches of the cache rows ``rows``, in that order (the caller shuffles)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.resident:
            for a in range(0, len(rows), batch_size):
                r = rows[a:a + batch_size]
                idx = torch.from_numpy(r).to(self.device)
                image, motion = _channels_first(self._rank[idx], self._motion[idx])
                yield Batch(image, motion, self._label[idx], r)
            return
        step = max(1, self.chunk_clips // batch_size) * batch_size  # batches never span chunks
        for chunk_rows, rank, motion in _prefetched(self.path, rows, step, self.prefetch):
            rank, motion = rank.to(self.device), motion.to(self.device)
            for a in range(0, len(chunk_rows), batch_size):
                r = chunk_rows[a:a + batch_size]
                image, mot = _channels_first(rank[a:a + batch_size], motion[a:a + batch_size])
                yield Batch(image, mot, self._label[torch.from_numpy(r).to(self.device)], r)


class FlowSource(ClipSource):
    """The flow maps of a flow cache (``mpt_core/flow_cache.py``) at one side, resident on ``device``: a
    batch's ``image`` is (B, 5, S, S) float32 (``apex_flow.CHANNELS``), its ``motion`` empty (B, 0).
    ``size`` None: the clip table only (the hand-crafted methods read the arrays themselves)."""

    def __init__(self, path: str | Path, *, size: int | None, device: torch.device | str = "cpu"):
        from mpt_core.cache import cache_index, open_cache

        self.path, self.device, self.resident = Path(path), torch.device(device), True
        with open_cache(self.path, "flow") as f:
            self.index = cache_index(f)
            self.meta = self.index.meta
            if size is not None and size not in self.meta.sizes:
                raise ValueError(f"{self.path}: the flow cache has maps at {', '.join(map(str, self.meta.sizes))} px, "
                                 f"not {size}; rebuild it with mpt preprocess --flow --flow-sizes including {size}")
            self._maps = torch.from_numpy(f[f"flow_{size}"][:]).to(self.device) if size is not None else None
        self.classes, self.labels = self.meta.classes, self.index.labels
        self.subjects, self.clips = self.index.subjects, self.index.clips
        self.nbytes = 0 if self._maps is None else self._maps.numel() * 4
        self._label = torch.from_numpy(self.labels).to(self.device)

    def batches(self, rows, batch_size: int) -> Iterator[Batch]:
        rows = np.asarray(rows, dtype=np.int64)
        if self._maps is None:
            raise ValueError(f"{self.path}: opened for its clip table only (no flow side chosen)")
        for a in range(0, len(rows), batch_size):
            r = rows[a:a + batch_size]
            idx = torch.from_numpy(r).to(self.device)
            yield Batch(self._maps[idx], torch.zeros(len(r), 0, device=self.device), self._label[idx], r)

    @staticmethod
    def hflip(image: torch.Tensor, motion: torch.Tensor, generator: torch.Generator,
              p: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mirror each clip's maps left-right with probability p; a mirrored flow field also changes
        the sign of its horizontal component u (channel 0)."""
        flipped = torch.rand(image.shape[0], generator=generator) < p  # (B,)
        mirrored = image.flip(-1)
        mirrored[:, 0] = -mirrored[:, 0]
        image = torch.where(flipped.to(image.device)[:, None, None, None], mirrored, image)
        return image, motion, flipped


def open_source(path, model_settings, device, train_settings) -> ClipSource:
    """The source of the cache the model reads (``mpt_core.model.baseline.model_input``): the clip
    cache's rank image and motion frames for MPT, a flow cache's maps for the baselines."""
    from mpt_core.model.baseline import model_input

    kind, size = model_input(model_settings)
    if kind == "flow":
        return FlowSource(path, size=size, device=device)
    return ClipSource(path, device=device, memory_budget_gb=train_settings.memory_budget_gb,
                      chunk_clips=train_settings.chunk_clips, prefetch=train_settings.prefetch)


def _prefetched(path: Path, rows: np.ndarray, step: int, prefetch: int):
    """Read ``rows`` in chunks of ``step`` on a background thread, ``prefetch`` chunks ahead."""
    q: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader():
        try:
            with h5py.File(path, "r") as f:
                for a in range(0, len(rows), step):
                    r = rows[a:a + step]
                    # h5py reads fancy indices in increasing order only: read sorted, then reorder.
                    uniq, inverse = np.unique(r, return_inverse=True)
                    rank = torch.from_numpy(f["rank"][uniq][inverse])
                    motion = torch.from_numpy(f["motion"][uniq][inverse])
                    if not put((r, rank, motion)):
                        return
            put(None)
        except BaseException as err:  # handed to the consumer, which raises it
            put(err)

    thread = threading.Thread(target=reader, name="mpt-cache-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise RuntimeError(f"{path}: reading the cache failed: {item}") from item
            yield item
    finally:
        stop.set()
        thread.join()


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(1, dtype=dtype)).dtype
