"""The spotter's pure steps on made-up region positions: scores, blinks, Moilanen's threshold, the two
passes, intervals and their types, lost frames, k and the frame step, and the choice of p."""

import numpy as np
import pytest

from mpt_core.describe import REGION_ORDER
from mpt_core.spotting import SpotSettings, choose_p, default_step, moilanen_threshold, scores, spot, window

RATE = 30.0
R = {name: i for i, name in enumerate(REGION_ORDER)}


def bump(n, onset, offset, amplitude):
    """A raised-cosine excursion from onset to offset (frames), peaking in the middle."""
    t = np.arange(n, dtype=np.float64)
    x = np.clip((t - onset) / max(offset - onset, 1), 0, 1)
    return amplitude * 0.5 * (1 - np.cos(2 * np.pi * x)) * ((t >= onset) & (t <= offset))


def plateau(n, onset, offset, amplitude):
    t = np.arange(n, dtype=np.float64)
    up, down = onset + 0.3 * (offset - onset), offset - 0.3 * (offset - onset)
    rise = 0.5 * (1 - np.cos(np.pi * np.clip((t - onset) / (up - onset), 0, 1)))
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((t - down) / (offset - down), 0, 1)))
    return amplitude * np.where(t <= down, rise, fall)


def video(n=600, seed=0):
    """Noise (0.03 px), a micro-expression at the left lip corner (frames 100-111, 0.5 px), a
    macro-expression of the brows (300-359, 3 px) and a blink (500-505: lids 2 px, brows 0.4 px)."""
    rng = np.random.default_rng(seed)
    pos = rng.normal(0, 0.03, (n, len(REGION_ORDER), 2))
    pos[:, R["lip_corner_left"], 1] -= bump(n, 100, 111, 0.5)
    for name in ("brow_inner_left", "brow_inner_right", "glabella"):
        pos[:, R[name], 1] += plateau(n, 300, 359, 3.0)
    for name in ("upper_eyelid_left", "upper_eyelid_right"):
        pos[:, R[name], 1] += bump(n, 500, 505, 2.0)
    for name in ("brow_inner_left", "brow_inner_right"):
        pos[:, R[name], 1] += bump(n, 500, 505, 0.4)  # what the lids drag: above the threshold alone
    return pos


def test_finds_micro_and_macro_with_their_types_and_not_the_blink():
    found, blinks = spot(scores(video(), RATE), RATE, 0.3)
    assert [(s.type) for s in found] == ["micro", "macro"]
    micro, macro = found
    assert 96 <= micro.onset <= 102 and 109 <= micro.offset <= 116 and 103 <= micro.apex <= 108
    assert 295 <= macro.onset <= 305 and 354 <= macro.offset <= 365
    assert len(blinks) == 1 and 500 <= blinks[0] <= 505
    assert not any(s.onset <= 502 <= s.offset for s in found)


def test_second_pass_finds_the_micro_expression_the_macro_one_hides():
    sc = scores(video(), RATE)
    threshold = moilanen_threshold(sc.face, 0.3)
    assert np.nanmax(sc.face[95:120]) < threshold  # one pass would miss it
    assert any(s.type == "micro" for s in spot(sc, RATE, 0.3)[0])


def test_no_interval_reaches_a_lost_frame():
    pos = video()
    pos[95:108] = np.nan  # the face is lost over most of the micro-expression
    sc = scores(pos, RATE)
    assert np.isnan(sc.face[95:108]).all()
    found, _ = spot(sc, RATE, 0.3)
    assert all(s.offset < 95 or s.onset > 107 for s in found)
    assert any(s.type == "macro" for s in found)


def test_moilanen_threshold_and_windows():
    score = np.array([1.0, 2.0, np.nan, 3.0, 10.0])
    assert moilanen_threshold(score, 0.5) == pytest.approx(4.0 + 0.5 * (10.0 - 4.0))  # mean of the finite values
    assert moilanen_threshold(np.full(4, np.nan), 0.5) == np.inf
    assert (default_step(30), default_step(25), default_step(200)) == (1, 1, 7)  # MEGC: every 7th at 200 fps
    assert window(SpotSettings().k_s, 30) == 6 and window(SpotSettings().k_s, 200 / 7) == 6


def test_type_follows_from_length():
    n = 600
    pos = np.random.default_rng(1).normal(0, 0.03, (n, len(REGION_ORDER), 2))
    pos[:, R["chin"], 1] += plateau(n, 200, 229, 2.0)  # 1 s: macro
    pos[:, R["cheek_left"], 1] += bump(n, 400, 408, 2.0)  # 0.3 s: micro
    found, _ = spot(scores(pos, RATE), RATE, 0.3)
    assert [(s.type, s.onset < 300) for s in found] == [("macro", True), ("micro", False)]


def test_choose_p_best_f1_middle_of_ties():
    table = {0.1: 0.2, 0.2: 0.5, 0.3: 0.5, 0.4: 0.1}
    p, got = choose_p(["video"], lambda p, videos: table[p], grid=tuple(table))
    assert p == 0.2 and got == table  # two tie: the lower
    plateau = {0.1: 0.2, 0.2: 0.5, 0.3: 0.5, 0.4: 0.5, 0.5: 0.1}
    assert choose_p(["video"], lambda p, videos: plateau[p], grid=tuple(plateau))[0] == 0.3
