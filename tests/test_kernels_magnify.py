"""Eulerian magnification (METHOD 1.2): pyramid, steady-state band-pass, linear regime."""

import cv2
import numpy as np
import pytest
from scipy import signal

from mpt_core.magnify import collapse, laplacian_pyramid, magnify


def reference_magnify(frames, fps, *, alpha=20.0, levels=4, f_lo=0.4, f_hi=4.0, order=1, output="magnified"):
    """METHOD 1.2 written literally in float64: per-level sosfilt with zi = sosfilt_zi * x_1."""
    frames = np.asarray(frames, np.float64)
    sos = signal.butter(order, [f_lo, f_hi], btype="band", fs=fps, output="sos")
    pyramids = []
    for f in frames:
        g, pyr = f, []
        for _ in range(levels):
            down = cv2.pyrDown(g)
            pyr.append(g - cv2.pyrUp(down, dstsize=(g.shape[1], g.shape[0])))
            g = down
        pyramids.append(pyr)
    bands = []
    for level in range(levels):
        x = np.stack([p[level] for p in pyramids])
        zi = signal.sosfilt_zi(sos).reshape(sos.shape[0], 2, *([1] * (x.ndim - 1))) * x[0]
        bands.append(alpha * signal.sosfilt(sos, x, axis=0, zi=zi)[0])
    out = []
    for t in range(len(frames)):
        c = np.zeros_like(cv2.pyrDown(bands[-1][t]))
        for b in reversed(bands):
            c = cv2.pyrUp(c, dstsize=(b[t].shape[1], b[t].shape[0])) + b[t]
        out.append(c if output == "band" else np.clip(frames[t] + c, 0, 1))
    return np.stack(out)


def texture(h, w, shift=0.0, periods=((8.0, 0.0), (7.0, 1.0), (9.5, 2.0))):
    """A smooth multi-sinusoid texture in [0.2, 0.8], translated right by ``shift`` pixels (exactly)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.5 * np.ones((h, w))
    for period, phase in periods:
        img += 0.1 * np.sin(2 * np.pi * ((u - shift) + 0.6 * v) / period + phase)
    return np.repeat(img[:, :, None], 3, axis=2) * np.array([1.0, 0.9, 0.8])


@pytest.mark.parametrize("shape", [(224, 224, 3), (37, 53, 3), (65, 31), (17, 100, 3)])
@pytest.mark.parametrize("levels", [1, 4])
def test_pyramid_collapses_to_its_input(shape, levels):
    x = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    pyr = laplacian_pyramid(x, levels)
    assert len(pyr) == levels + 1
    assert np.abs(collapse(pyr) - x).max() < 1e-5


def test_pyramid_sizes_at_224():
    pyr = laplacian_pyramid(np.zeros((224, 224, 3), np.float32), 4)
    assert [p.shape[0] for p in pyr] == [224, 112, 56, 28, 14]


def test_static_clip_gives_zero_band_and_unchanged_frames():
    frame = np.random.default_rng(1).uniform(0, 1, (48, 40, 3)).astype(np.float32)
    clip = np.repeat(frame[None], 30, axis=0)
    band = magnify(clip, 200.0, output="band")
    assert band.shape == clip.shape and np.all(band == 0.0)
    np.testing.assert_array_equal(magnify(clip, 200.0), clip)


@pytest.mark.parametrize("kw", [{}, {"levels": 3, "order": 2, "alpha": 8.0}, {"output": "band", "f_lo": 1.0}])
def test_matches_float64_literal_reference(kw):
    n, rng = 40, np.random.default_rng(2)
    shifts = 0.3 * np.sin(np.linspace(0, 2, n)) + rng.normal(0, 0.02, n)
    clip = np.stack([texture(36, 44, s) for s in shifts]) + rng.normal(0, 0.01, (n, 36, 44, 3))
    ref = reference_magnify(clip, 200.0, **kw)
    out = magnify(clip.astype(np.float32), 200.0, **kw)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-4
    at = np.array([0, 7, 39])
    np.testing.assert_allclose(magnify(clip.astype(np.float32), 200.0, at=at, **kw), out[at], atol=1e-6)


def test_sub_pixel_translation_band_is_alpha_times_filtered_intensity_change():
    fps, n, alpha, h, w = 200.0, 60, 20.0, 64, 64
    delta = 0.1 * np.arange(n) / (n - 1)  # a 0.1 px drift over 0.3 s: linear regime
    clip = np.stack([texture(h, w, d) for d in delta])
    band = magnify(clip.astype(np.float32), fps, alpha=alpha, output="band").astype(np.float64)
    sos = signal.butter(1, [0.4, 4.0], btype="band", fs=fps, output="sos")
    # the band levels sum to the whole frame minus the (here flat) residual, so the band is
    # alpha times the band-passed intensity change of each pixel of the undecomposed frames
    pixels = clip.reshape(n, -1)
    zi = signal.sosfilt_zi(sos)[:, :, None] * pixels[0]
    expected = alpha * signal.sosfilt(sos, pixels, axis=0, zi=zi)[0].reshape(clip.shape)
    rel = np.linalg.norm(band - expected) / np.linalg.norm(expected)
    assert np.abs(expected).max() > 1e-3 and rel < 0.02
    # and, to first order in the shift, that change is -dI/du * delta(t), band-passed
    eps = 1e-4
    grad = (texture(h, w, -eps) - texture(h, w, eps)) / (2 * eps)  # dI/du
    linear = -alpha * grad[None] * signal.sosfilt(sos, delta)[:, None, None, None]
    assert np.linalg.norm(band - linear) / np.linalg.norm(linear) < 0.1
    # magnified = original + band (no clipping at this amplitude)
    np.testing.assert_allclose(magnify(clip.astype(np.float32), fps, alpha=alpha), clip + band, atol=1e-5)


def test_bad_input_is_an_error():
    clip = np.zeros((1, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="at least 2 frames"):
        magnify(clip, 200.0)
    with pytest.raises(ValueError, match="fps/2"):
        magnify(np.zeros((4, 32, 32, 3), np.float32), 6.0)


def test_uint8_input_reads_as_frames_over_255():
    rng = np.random.default_rng(3)
    clip = np.stack([texture(32, 40, 0.05 * k) for k in range(20)]) * 255 + rng.normal(0, 2, (20, 32, 40, 3))
    clip = np.clip(clip, 0, 255).astype(np.uint8)
    for output in ("magnified", "band"):
        ref = magnify(clip.astype(np.float32) / 255, 200.0, output=output)
        np.testing.assert_allclose(magnify(clip, 200.0, output=output), ref, atol=2e-6)
    static = np.repeat(clip[:1], 5, axis=0)
    np.testing.assert_array_equal(np.floor(magnify(static, 200.0) * 255 + 0.5).astype(np.uint8), static)


@pytest.mark.parametrize("shape", [(224, 224, 3), (37, 53, 3)])
def test_without_residual_is_collapse_with_zero_residual(shape):
    from mpt_core.magnify import without_residual

    x = np.random.default_rng(4).uniform(-1, 1, shape).astype(np.float32)
    pyr = laplacian_pyramid(x, 4)
    pyr[-1] = np.zeros_like(pyr[-1])
    np.testing.assert_allclose(without_residual(x, 4), collapse(pyr), atol=1e-5)
