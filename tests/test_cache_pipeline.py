"""The preprocessing pipeline and its HDF5 cache: schema, reuse, settings, serial == parallel, bad frames."""

import json
import os
import re
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from preprocess import pipeline, workers  # noqa: F401
from mpt_core.cache import CacheError, read_cache_meta
from preprocess.pipeline import build_cache_from_index
from preprocess.records import ClipRecord, DatasetError, DatasetIndex, Problem
from preprocess.settings import PreprocessSettings

CLASSES = ("happiness", "surprise", "others")
SMALL = PreprocessSettings(size=64)  # 64 -> 32 -> 16 -> 8, residual 4: keeps the tests fast


# fabricated data: tiny textured faces drifting by a fraction of a pixel per frame


def write_dataset(root: Path, clips=((1, 24), (1, 30), (2, 12), (2, 40), (3, 20)), size=(48, 56), seed=0):
    """``root/subXX/clipNN/img{k}.png``; clip i has its (subject, n_frames) from ``clips``."""
    rng = np.random.default_rng(seed)
    h, w = size
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    for i, (subject, n) in enumerate(clips):
        folder = root / f"sub{subject:02d}" / f"clip{i:02d}"
        folder.mkdir(parents=True)
        periods, phases = rng.uniform(5, 12, 3), rng.uniform(0, 6, 3)
        speed = rng.uniform(0.02, 0.08)
        onset = 10 * i + 1
        for k in range(n):
            img = 128 + sum(40 * np.sin(2 * np.pi * (u - speed * k + 0.5 * v) / p + f) for p, f in zip(periods, phases))
            bgr = np.stack([img, 0.9 * img, 0.8 * img + 20], axis=2)
            ext = "jpg" if i == 1 else "png"
            cv2.imwrite(str(folder / f"img{onset + k}.{ext}"), np.clip(bgr, 0, 255).astype(np.uint8))
    return root


def index_from_dir(root: Path, dataset="casme2", fps=200.0) -> DatasetIndex:
    clips = []
    for folder in sorted(Path(root).glob("sub*/clip*")):
        frames = sorted(folder.glob("img*.*"), key=lambda p: int(re.findall(r"\d+", p.stem)[0]))
        numbers = [int(re.findall(r"\d+", p.stem)[0]) for p in frames]
        i = int(folder.name[4:])
        clips.append(
            ClipRecord(
                dataset=dataset, subject=folder.parent.name, clip=folder.name, label=CLASSES[i % 3],
                label_index=i % 3, frames=tuple(frames), onset=numbers[0] if numbers else -1,
                apex=numbers[len(numbers) // 2] if i % 2 == 0 and numbers else -1,
                offset=numbers[-1] if numbers else -1, fps=fps,
            )  # fmt: skip
        )
    return DatasetIndex(dataset=dataset, classes=CLASSES, clips=clips)


def read_arrays(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f.keys()}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def clean(data, tmp_path_factory):
    """A clean serial run with the small settings, shared by several tests."""
    out = tmp_path_factory.mktemp("clean")
    return build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=out, jobs=1, progress=False)


def independent_rank(record, size, T=16):
    """Rank image from frames read with plain cv2 and the closed-form weights."""
    grow = cv2.INTER_LINEAR  # the fabricated frames are smaller than size
    frames = [cv2.cvtColor(cv2.resize(cv2.imread(str(p)), (size, size), interpolation=grow), cv2.COLOR_BGR2RGB)
              for p in record.frames]  # fmt: skip
    n = len(frames)
    assert n >= T
    x = np.stack([frames[(2 * i * (n - 1) + T - 1) // (2 * (T - 1))] for i in range(T)]).astype(np.float64)
    t = np.arange(1, T + 1)
    H = np.concatenate([[0], np.cumsum(1 / t)])
    a = 2 * (T - t + 1) - (T + 1) * (H[T] - H[t - 1])
    d = np.tensordot(a, x, axes=1)
    return np.floor(255 * (d - d.min()) / (d.max() - d.min()) + 0.5).astype(np.uint8)


# schema


def test_schema_and_attributes_at_224(data, tmp_path):
    index = index_from_dir(data)
    index.clips = index.clips[:3]
    path = build_cache_from_index(index, settings=PreprocessSettings(), cache_dir=tmp_path, jobs=1, progress=False)
    assert re.fullmatch(r"casme2-[0-9a-f]{12}\.h5", path.name) and path.parent == tmp_path
    # no partial files or shards left (the build lock lives in .locks/)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", path.name]
    with h5py.File(path, "r") as f:
        assert f["rank"].dtype == np.uint8 and f["rank"].shape == (3, 224, 224, 3)
        assert f["motion"].dtype == np.uint8 and f["motion"].shape == (3, 16, 224, 224, 3)
        assert f["rank"].chunks == (1, 224, 224, 3) and f["motion"].chunks == (1, 16, 224, 224, 3)
        for name in ("label", "onset", "apex", "offset", "n_frames"):
            assert f[name].dtype == np.int64 and f[name].shape == (3,)
        assert [s.decode() for s in f["subject"][()]] == [c.subject for c in index.clips]
        assert [s.decode() for s in f["clip"][()]] == [c.clip for c in index.clips]
        assert f["label"][()].tolist() == [c.label_index for c in index.clips]
        assert f["onset"][()].tolist() == [c.onset for c in index.clips]
        assert f["apex"][()].tolist() == [c.apex for c in index.clips] and -1 in f["apex"][()]
        assert f["offset"][()].tolist() == [c.offset for c in index.clips]
        assert f["n_frames"][()].tolist() == [len(c.frames) for c in index.clips]
        assert f.attrs["complete"] == True  # noqa: E712
        assert json.loads(f.attrs["settings"]) == PreprocessSettings().to_dict()
        assert json.loads(f.attrs["classes"]) == list(CLASSES)
        assert f.attrs["dataset"] == "casme2" and f.attrs["mpt_version"]
        assert json.loads(f.attrs["skipped"]) == []
        np.testing.assert_array_equal(f["rank"][0], independent_rank(index.clips[0], 224))
        # first normalised frame is frame 0, where the band signal is zero: magnified == original
        first = cv2.cvtColor(cv2.resize(cv2.imread(str(index.clips[0].frames[0])), (224, 224)), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(f["motion"][0, 0], first)
        assert not np.array_equal(f["motion"][0, -1], f["motion"][0, 0])
    meta = read_cache_meta(path)
    assert (meta.dataset, meta.classes, meta.n_clips) == ("casme2", CLASSES, 3)
    assert meta.settings == PreprocessSettings().to_dict()
    assert meta.cache_key == path.stem.split("-")[-1]


def test_band_output_is_float16(data, tmp_path):
    index = index_from_dir(data)
    index.clips = index.clips[2:3]  # 12 frames: interpolated
    settings = PreprocessSettings(size=64, motion_output="band")
    path = build_cache_from_index(index, settings=settings, cache_dir=tmp_path, jobs=1, progress=False)
    with h5py.File(path, "r") as f:
        assert f["motion"].dtype == np.float16 and f["motion"].shape == (1, 16, 64, 64, 3)
        assert np.all(f["motion"][0, 0] == 0) and np.abs(f["motion"][0]).max() > 0


# reuse and names


def test_same_settings_reuse_the_file_untouched(data, clean, monkeypatch):
    before = os.stat(clean).st_mtime_ns
    monkeypatch.setattr(workers, "process_clip", lambda *a, **k: pytest.fail("recomputed a clip"))
    again = build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=clean.parent, jobs=2, progress=False)
    assert again == clean and os.stat(clean).st_mtime_ns == before


def test_changed_setting_or_input_makes_a_new_file(data, clean, tmp_path):
    before = os.stat(clean).st_mtime_ns
    index = index_from_dir(data)
    index.clips = index.clips[:2]
    changed = build_cache_from_index(index, settings=SMALL, cache_dir=clean.parent, jobs=1, progress=False)
    assert changed != clean
    other = build_cache_from_index(
        index, settings=PreprocessSettings(size=64, alpha=10.0), cache_dir=clean.parent, jobs=1, progress=False
    )
    assert other not in (clean, changed)
    assert os.stat(clean).st_mtime_ns == before and read_cache_meta(clean).n_clips == 5
    a, b = read_arrays(changed), read_arrays(other)
    np.testing.assert_array_equal(a["rank"], b["rank"])  # alpha does not touch the rank image
    assert not np.array_equal(a["motion"], b["motion"])


def test_force_recomputes(data, tmp_path, monkeypatch):
    index = index_from_dir(data)
    index.clips = index.clips[:2]
    path = build_cache_from_index(index, settings=SMALL, cache_dir=tmp_path, jobs=1, progress=False)
    first = read_arrays(path)
    calls = []
    real = workers.process_clip
    monkeypatch.setattr(workers, "process_clip", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert build_cache_from_index(index, settings=SMALL, cache_dir=tmp_path, jobs=1, progress=False, force=True) == path
    assert len(calls) == 2
    for k, v in read_arrays(path).items():
        np.testing.assert_array_equal(v, first[k])


def test_serial_equals_parallel(data, clean, tmp_path):
    parallel = build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=tmp_path, jobs=2, progress=False)
    assert parallel.name == clean.name
    a, b = read_arrays(clean), read_arrays(parallel)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# bad input


def corrupt_copy(data, tmp_path):
    """A copy of the data with one truncated JPEG, one 4-channel PNG and one odd-sized PNG."""
    import shutil

    root = tmp_path / "bad"
    shutil.copytree(data, root)
    jpg = sorted((root / "sub01" / "clip01").glob("*.jpg"))[5]
    jpg.write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    png = sorted((root / "sub02" / "clip02").glob("*.png"))[3]
    cv2.imwrite(str(png), np.zeros((48, 56, 4), np.uint8))
    odd = sorted((root / "sub03" / "clip04").glob("*.png"))[7]
    cv2.imwrite(str(odd), np.zeros((50, 56, 3), np.uint8))
    bad = {"sub01/clip01": (jpg, "truncated"), "sub02/clip02": (png, "4 channels"), "sub03/clip04": (odd, "differs")}
    return root, bad


def test_bad_frames_are_skipped_and_listed(data, tmp_path, capsys):
    root, bad = corrupt_copy(data, tmp_path)
    index = index_from_dir(root)
    one_frame = (index.clips[0].frames[0],)
    index.clips.append(ClipRecord("casme2", "sub09", "clip99", "others", 2, one_frame, 5, -1, 5, 200.0))
    index.skipped.append(Problem("coding.xlsx", "sub09/clip98", "offset before onset", row=7))
    path = build_cache_from_index(index, settings=SMALL, cache_dir=tmp_path / "cache", jobs=2, progress=False)
    err = capsys.readouterr().err
    with h5py.File(path, "r") as f:
        assert [s.decode() for s in f["clip"][()]] == ["clip00", "clip03"]
        skipped = {s["clip"]: s["reason"] for s in json.loads(f.attrs["skipped"])}
    assert set(skipped) == set(bad) | {"sub09/clip99", "sub09/clip98"}
    for key, (file, reason) in bad.items():
        assert str(file) in skipped[key] and reason in skipped[key]
        assert str(file) in err and reason in err
    assert "at least 2" in skipped["sub09/clip99"] and "offset before onset" in skipped["sub09/clip98"]
    assert "4 skipped" not in err and "5 skipped" in err


def test_strict_stops_with_a_clear_error_and_no_cache(data, tmp_path):
    root, bad = corrupt_copy(data, tmp_path)
    with pytest.raises(DatasetError) as err:
        build_cache_from_index(index_from_dir(root), settings=SMALL, cache_dir=tmp_path / "cache", jobs=1, strict=True,
                               progress=False)  # fmt: skip
    file, reason = bad["sub01/clip01"]  # the first bad clip in order
    assert str(file) in str(err.value) and reason in str(err.value) and "sub01/clip01" in str(err.value)
    assert not list((tmp_path / "cache").glob("*.h5"))


def test_read_cache_meta_refuses_bad_files(clean, tmp_path):
    with pytest.raises(CacheError, match="not found"):
        read_cache_meta(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(CacheError, match="not an HDF5"):
        read_cache_meta(tmp_path / "text.h5")
    import shutil

    broken = tmp_path / "incomplete.h5"
    shutil.copy(clean, broken)
    with h5py.File(broken, "a") as f:
        f.attrs["complete"] = False
    with pytest.raises(CacheError, match=f"{re.escape(str(broken))}: incomplete"):
        read_cache_meta(broken)
    with h5py.File(broken, "a") as f:
        f.attrs["complete"] = True
        del f["motion"]
    with pytest.raises(CacheError, match=r"missing dataset\(s\) \['motion'\]"):
        read_cache_meta(broken)


def test_no_usable_clip_is_an_error(data, tmp_path):
    index = index_from_dir(data)
    index.clips = [ClipRecord("casme2", "sub01", "one", "others", 2, (index.clips[0].frames[0],), 1, -1, 1, 200.0)]
    with pytest.raises(DatasetError, match="no clip could be preprocessed"):
        build_cache_from_index(index, settings=SMALL, cache_dir=tmp_path, jobs=1, progress=False)
    assert not list(tmp_path.glob("*.h5"))
