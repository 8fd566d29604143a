import h5py
import numpy as np
import pytest
import torch
from test_train_helpers import write_cache

from train.data import ClipSource, random_hflip


def test_flip_is_applied_to_image_and_every_motion_frame_together():
    g = torch.Generator().manual_seed(3)
    image = torch.randint(0, 256, (64, 3, 8, 10), dtype=torch.uint8)
    motion = torch.randint(0, 256, (64, 4, 3, 8, 10), dtype=torch.uint8)
    out_i, out_m, flipped = random_hflip(image, motion, g)
    assert 10 < int(flipped.sum()) < 54  # both outcomes occur
    for b in range(64):
        if flipped[b]:
            assert torch.equal(out_i[b], image[b, :, :, torch.arange(9, -1, -1)])  # column j <- column W-1-j
            for t in range(4):
                assert torch.equal(out_m[b, t], motion[b, t, :, :, torch.arange(9, -1, -1)])
        else:
            assert torch.equal(out_i[b], image[b]) and torch.equal(out_m[b], motion[b])
    # same generator state -> same flips
    _, _, again = random_hflip(image, motion, torch.Generator().manual_seed(3))
    assert torch.equal(again, flipped)


@pytest.mark.parametrize("budget", [4.0, 0.0])  # resident, streamed
def test_batches_follow_the_requested_order(tmp_path, budget):
    path = write_cache(tmp_path)
    src = ClipSource(path, memory_budget_gb=budget, chunk_clips=4, prefetch=1)
    assert src.resident is (budget > 0)
    with h5py.File(path) as f:
        rank, motion, label = f["rank"][:], f["motion"][:], f["label"][:]
    order = np.array([7, 2, 11, 0, 5, 5, 3])
    batches = list(src.batches(order, 3))
    assert [len(b.rows) for b in batches] == [3, 3, 1]
    got_rows = np.concatenate([b.rows for b in batches])
    assert got_rows.tolist() == order.tolist()
    img = torch.cat([b.image for b in batches]).numpy()  # (B,3,H,W)
    mot = torch.cat([b.motion for b in batches]).numpy()  # (B,T,3,H,W)
    assert img.dtype == np.uint8 and mot.dtype == np.uint8
    assert np.array_equal(img, rank[order].transpose(0, 3, 1, 2))
    assert np.array_equal(mot, motion[order].transpose(0, 1, 4, 2, 3))
    assert torch.cat([b.label for b in batches]).tolist() == label[order].tolist()
    assert src.subjects.tolist()[:5] == ["sub01"] * 4 + ["sub02"]


def test_streaming_stops_cleanly_when_abandoned(tmp_path):
    src = ClipSource(write_cache(tmp_path), memory_budget_gb=0, chunk_clips=2, prefetch=1)
    it = src.batches(np.arange(12), 2)
    next(it)
    it.close()  # the reader thread must be joined, not left blocked on a full queue
    import threading
    assert not any(t.name == "mpt-cache-reader" for t in threading.enumerate())
