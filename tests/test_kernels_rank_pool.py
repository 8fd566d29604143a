"""Rank pooling (METHOD 1.4): closed-form weights, ordering of a brightness ramp, constant clips."""

from fractions import Fraction

import numpy as np
import pytest

from mpt_core.rank_pool import dynamic_image, rank_pool, rank_pool_weights, to_uint8


def closed_form(T):
    H = [Fraction(0)]
    for j in range(1, T + 1):
        H.append(H[-1] + Fraction(1, j))
    return [2 * (T - t + 1) - (T + 1) * (H[T] - H[t - 1]) for t in range(1, T + 1)]


@pytest.mark.parametrize("T", [16, 2, 7])
def test_weights_match_closed_form_and_sum_to_zero(T):
    exact = closed_form(T)
    assert sum(exact) == 0
    w = rank_pool_weights(T)
    assert w.shape == (T,)
    np.testing.assert_allclose(w, [float(a) for a in exact], rtol=0, atol=1e-12)
    assert abs(w.sum()) < 1e-12


def test_T16_weights_spot_values():
    w = rank_pool_weights(16)
    # a_16 = 2 - 17 * (1/16); a_1 = 32 - 17 * H_16, H_16 = 2436559 / 720720
    assert w[-1] == pytest.approx(2 - 17 / 16)
    assert w[0] == pytest.approx(32 - 17 * 2436559 / 720720)


def test_linear_ramp_orders_pixels_by_slope():
    T, h, w = 16, 6, 7
    rng = np.random.default_rng(0)
    slopes = rng.permutation(np.linspace(-3, 3, h * w * 3)).reshape(h, w, 3)
    t = np.arange(1, T + 1, dtype=np.float64)[:, None, None, None]
    frames = 120 + slopes[None] * t  # stays inside [0, 255]
    # d = slope * sum_t a_t t + 120 * sum_t a_t, and sum_t a_t t > 0
    assert sum(a * t for a, t in zip(closed_form(T), range(1, T + 1))) > 0
    image = dynamic_image(frames)
    assert image.dtype == np.uint8 and image.shape == (h, w, 3)
    order = np.argsort(slopes.ravel())
    assert np.all(np.diff(image.ravel()[order].astype(int)) >= 0)
    assert image.ravel()[order[0]] == 0 and image.ravel()[order[-1]] == 255
    # the brightening half is brighter than the darkening half
    assert image[slopes > 0].min() > image[slopes < 0].max()


def test_constant_clip_gives_uniform_128():
    frames = np.full((16, 5, 4, 3), 77.0)
    assert np.all(dynamic_image(frames) == 128)
    # a ramp that is the same everywhere is constant after pooling too
    ramp = np.arange(16, dtype=float)[:, None, None, None] * np.ones((16, 5, 4, 3))
    assert np.all(dynamic_image(ramp) == 128)


def test_to_uint8_is_global_min_max_with_half_up_rounding():
    d = np.array([[-2.0, 0.0], [1.0, 8.0]])
    # 255 * (d + 2) / 10 = 0, 51, 76.5, 255 -> 0, 51, 77, 255
    np.testing.assert_array_equal(to_uint8(d), [[0, 51], [77, 255]])


def test_rank_pool_is_the_weighted_sum():
    rng = np.random.default_rng(1)
    frames = rng.uniform(0, 255, (16, 3, 3, 3))
    expected = sum(float(a) * frames[i] for i, a in enumerate(closed_form(16)))
    np.testing.assert_allclose(rank_pool(frames), expected, atol=1e-9)
