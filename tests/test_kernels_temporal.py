"""Temporal normalisation to T frames (METHOD 1.3)."""

from fractions import Fraction
import math

import numpy as np
import pytest

from mpt_core.temporal import needed_frames, normalise_length, sample_positions


def tagged(n):
    """Frame k is filled with the value k, so the output says which frames were used."""
    return np.arange(n, dtype=np.float64)[:, None, None, None] * np.ones((n, 2, 3, 3))


def round_half_up(p: Fraction) -> int:
    return math.floor(p + Fraction(1, 2))


@pytest.mark.parametrize("n", [16, 17, 31, 65, 100, 201])
def test_long_clips_pick_real_frames_at_rounded_positions(n):
    x = tagged(n).astype(np.uint8) if n < 256 else tagged(n)
    out = normalise_length(x, 16)
    expected = [round_half_up(Fraction(i * (n - 1), 15)) for i in range(16)]
    assert out.dtype == x.dtype and out.shape == (16, 2, 3, 3)
    np.testing.assert_array_equal(out[:, 0, 0, 0], expected)
    assert expected[0] == 0 and expected[-1] == n - 1


def test_exact_halves_round_up():
    # T = 5, n = 7: p = 0, 1.5, 3, 4.5, 6
    out = normalise_length(tagged(7), 5)
    np.testing.assert_array_equal(out[:, 0, 0, 0], [0, 2, 3, 5, 6])


@pytest.mark.parametrize("n", [2, 5, 11, 15])
def test_short_clips_interpolate_linearly(n):
    x = np.random.default_rng(n).uniform(0, 1, (n, 4, 3, 3)).astype(np.float32)
    out = normalise_length(x, 16)
    assert out.shape == (16, 4, 3, 3) and out.dtype == np.float32
    for i in range(16):
        p = Fraction(i * (n - 1), 15)
        lo, hi = math.floor(p), math.ceil(p)
        frac = float(p - lo)
        np.testing.assert_allclose(out[i], (1 - frac) * x[lo] + frac * x[hi], atol=1e-6)
    np.testing.assert_array_equal(out[0], x[0])
    np.testing.assert_array_equal(out[-1], x[-1])


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_frames_is_an_error(n):
    with pytest.raises(ValueError, match="at least 2 frames"):
        normalise_length(np.zeros((n, 2, 2, 3)), 16)


@pytest.mark.parametrize("n", [5, 40])
def test_subset_at_needed_frames_gives_the_same_result(n):
    x = np.random.default_rng(0).uniform(0, 1, (n, 2, 2, 3))
    at = needed_frames(n, 16)
    np.testing.assert_array_equal(normalise_length(x[at], 16, n=n, at=at), normalise_length(x, 16))
    with pytest.raises(ValueError):
        normalise_length(x[at[1:]], 16, n=n, at=at[1:])


def test_positions_are_shared():
    lo, hi, w = sample_positions(40, 16)
    assert np.array_equal(lo, hi) and not w.any()
    lo, hi, w = sample_positions(4, 16)
    assert np.all(hi - lo <= 1) and np.all((w > 0) == (hi > lo))
