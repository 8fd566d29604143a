"""The flow cache of the baselines: kernels (translation, stretch, apex), serial == parallel, SIGKILL and resume."""

import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from mpt_core.apex_flow import (APEX_ANNOTATED, APEX_LARGEST_MOTION, CHANNELS, clip_flow_arrays, flow_function,
                                flow_maps, largest_motion_frame, optical_strain)
from mpt_core.cache import CacheError, read_cache_index, read_cache_meta
from mpt_core.flow_cache import FlowSettings, parse_sizes
from mpt_core.settings import SettingsError
from preprocess import workers
from preprocess.pipeline import build_cache_from_index

sys.path.insert(0, str(Path(__file__).parent))
from halting import run_until_halted, script  # noqa: E402
from test_cache_pipeline import SMALL, index_from_dir, write_dataset  # noqa: E402

FLOW = FlowSettings(size=32, sizes=(8, 16), frames=4, frames_size=16)


def texture(h=96, w=96, seed=0):
    """A smooth random texture, float64 in [0, 255] (band-limited: flow is well defined on it)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (h, w))
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    return 128 + 100 * smooth / np.abs(smooth).max()


def warp(img, matrix):
    return cv2.warpAffine(img.astype(np.float32), np.float32(matrix), img.shape[::-1], flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT).clip(0, 255).astype(np.uint8)


# kernels

def test_flow_of_a_known_translation():
    img = texture()
    dx, dy = 1.5, -1.0
    moved = warp(img, [[1, 0, dx], [0, 1, dy]])  # content moves by (+dx, +dy)
    flow = flow_function("dis")(img.clip(0, 255).astype(np.uint8), moved)
    centre = flow[24:72, 24:72]  # away from the borders
    assert np.median(centre[..., 0]) == pytest.approx(dx, abs=0.1)
    assert np.median(centre[..., 1]) == pytest.approx(dy, abs=0.1)
    # stored at a smaller side the flow is in pixels of that grid
    maps = flow_maps(img.clip(0, 255).astype(np.uint8), moved, flow_function("dis"), (24,))
    assert maps[24].shape == (len(CHANNELS), 24, 24)
    assert np.median(maps[24][0, 6:18, 6:18]) == pytest.approx(dx * 24 / 96, abs=0.05)
    assert np.median(maps[24][1, 6:18, 6:18]) == pytest.approx(dy * 24 / 96, abs=0.05)
    assert 0 <= maps[24][3].min() and maps[24][4].max() <= 1  # grey levels in [0, 1]


def test_strain_of_known_fields():
    y, x = np.mgrid[0:40, 0:40].astype(np.float64)
    stretch = np.stack([0.03 * x, -0.02 * y], -1)  # e_xx = 0.03, e_yy = -0.02, no shear
    assert np.allclose(optical_strain(stretch), np.hypot(0.03, 0.02), atol=1e-6)
    shear = np.stack([0.04 * y, 0 * x], -1)  # e_xy = 0.02: strain sqrt(2) * 0.02
    assert np.allclose(optical_strain(shear), np.sqrt(2) * 0.02, atol=1e-6)
    translation = np.stack([2 + 0 * x, -1 + 0 * y], -1)
    assert np.allclose(optical_strain(translation), 0)


def test_strain_of_a_stretched_face():
    img = texture()
    c = 48
    a = 1.04  # a 4 % horizontal stretch about the centre: u = 0.04 (x - c), e_xx = 0.04
    stretched = warp(img, [[a, 0, c * (1 - a)], [0, 1, 0]])
    flow = flow_function("dis")(img.clip(0, 255).astype(np.uint8), stretched)
    strain = optical_strain(flow)
    assert np.median(strain[24:72, 24:72]) == pytest.approx(0.04, abs=0.015)


def test_apex_annotated_or_largest_motion():
    img = texture(64, 64)
    shifts = [0, 0.3, 0.8, 2.0, 1.0, 0.4]  # the largest displacement from the onset is frame 3
    frames = np.stack([cv2.cvtColor(warp(img, [[1, 0, s], [0, 1, 0]]), cv2.COLOR_GRAY2RGB) for s in shifts])
    grey = frames[..., 0]
    assert largest_motion_frame(grey, flow_function("dis")) == 3
    s = FlowSettings(size=64, sizes=(16,), frames=4, frames_size=16)
    unknown = clip_flow_arrays(frames, onset=100, apex=-1, settings=s)
    assert (unknown["apex_index"], unknown["apex_source"]) == (3, APEX_LARGEST_MOTION)
    given = clip_flow_arrays(frames, onset=100, apex=102, settings=s)
    assert (given["apex_index"], given["apex_source"]) == (2, APEX_ANNOTATED)
    assert given["frames"].shape == (4, 16, 16) and given["frames"].dtype == np.uint8
    # the flow to the annotated apex (0.8 px at 64) is smaller than to the largest-motion frame (2 px)
    assert np.median(given["flow_16"][0]) < np.median(unknown["flow_16"][0])


def test_flow_settings_are_checked():
    with pytest.raises(SettingsError, match="method"):
        FlowSettings(method="farneback")
    with pytest.raises(SettingsError, match="sizes"):
        FlowSettings(sizes=(28, 2))
    assert FlowSettings(sizes=[60, 28]).sizes == (28, 60)  # from JSON, sorted
    assert FlowSettings.from_dict(FlowSettings().to_dict()) == FlowSettings()
    assert parse_sizes("28, 48") == (28, 48)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_sizes("28,x")


def test_tvl1_without_contrib_is_a_clear_error():
    from mpt_core.apex_flow import FlowMethodError, tvl1_available

    if tvl1_available():
        pytest.skip("this OpenCV has cv2.optflow")
    with pytest.raises(FlowMethodError, match="opencv-contrib"):
        flow_function("tvl1")


# the cache

def read_flow(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][:] for k in f}


def test_serial_and_parallel_builds_are_identical(tmp_path):
    data = write_dataset(tmp_path / "data")
    one = build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=tmp_path / "a", jobs=1, progress=False)
    two = build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=tmp_path / "b", jobs=2, progress=False)
    assert one.name == two.name and one.name.startswith("casme2-flow-")
    a, b = read_flow(one), read_flow(two)
    assert a.keys() == b.keys() and {"flow_8", "flow_16", "frames", "apex_index", "apex_source"} <= set(a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    meta = read_cache_meta(one, "flow")
    assert (meta.kind, meta.sizes, meta.frames, meta.n_clips) == ("flow", (8, 16), 4, 5)
    assert FlowSettings.from_dict(meta.settings) == FLOW
    index = read_cache_index(one, "flow")
    # index_from_dir annotates the apex of even clips only
    assert list(index.apex_source) == [APEX_ANNOTATED if i % 2 == 0 else APEX_LARGEST_MOTION for i in range(5)]
    assert a["flow_16"].shape == (5, 5, 16, 16) and np.abs(a["flow_16"][:, :2]).max() > 0
    # the kinds do not mix: the clip reader refuses a flow cache and the other way round
    with pytest.raises(CacheError, match="a flow cache"):
        read_cache_meta(one)
    clip = build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=tmp_path / "a", jobs=1,
                                  progress=False)
    with pytest.raises(CacheError, match="a clip cache"):
        read_cache_meta(clip, "flow")
    # a second build reuses it
    again = build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=tmp_path / "a", jobs=1,
                                   progress=False)
    assert again == one


def test_settings_change_the_key(tmp_path):
    data = write_dataset(tmp_path / "data", clips=((1, 12), (2, 12)))
    a = build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=tmp_path, jobs=1, progress=False)
    other = FlowSettings(size=32, sizes=(8,), frames=4, frames_size=16)
    b = build_cache_from_index(index_from_dir(data), settings=other, cache_dir=tmp_path, jobs=1, progress=False)
    assert a != b and read_cache_meta(b, "flow").sizes == (8,)


BODY = """
from test_cache_pipeline import index_from_dir
from preprocess.pipeline import build_cache_from_index
from mpt_core.flow_cache import FlowSettings
build_cache_from_index(index_from_dir({data!r}), settings=FlowSettings(size=32, sizes=(8, 16), frames=4,
                       frames_size=16), cache_dir={out!r}, jobs=1, progress=False)
"""
HALT_AFTER_TWO = "from preprocess import workers\nhalt_after(workers, 'save_shard', lambda n, *a, **k: n == 2)"


def test_resume_after_sigkill(tmp_path, monkeypatch):
    data = write_dataset(tmp_path / "data", clips=tuple((1 + i % 3, 16) for i in range(6)))
    out = tmp_path / "run"
    run_until_halted(script(HALT_AFTER_TWO, BODY.format(data=str(data), out=str(out))), tmp_path)
    assert not [p for p in out.glob("*.h5") if not p.name.endswith(".partial.h5")], "a final file after a kill"
    assert len(list(out.glob("*.parts/*.npy"))) == 2

    calls = []
    real = workers.process_flow_clip
    monkeypatch.setattr(workers, "process_flow_clip", lambda rec, *a, **k: calls.append(rec.key) or real(rec, *a, **k))
    resumed = build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=out, jobs=1, progress=False)
    assert len(calls) == 6 - 2  # the two saved clips were reused
    clean = build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=tmp_path / "clean", jobs=1,
                                   progress=False)
    a, b = read_flow(resumed), read_flow(clean)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
