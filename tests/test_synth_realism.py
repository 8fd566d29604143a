"""The calibrated synthetic world (``preset="real"``, the default) against the clean one (``"easy"``).

Expected figures come from REALISM.md's real CASME II measurements (AU4 in about half the clips, the
annotated spread a factor of 3-4, background motion of a few tenths of a pixel), not from the generator.
"""

import json

import numpy as np
import pytest

from preprocess.synth import generate_synthetic
from preprocess.synth.motion import draw_amplitude
from preprocess.synth.presets import PRESETS, get_preset
from preprocess.synth.writer import plan_clips


def test_real_preset_draws_the_real_au_frequencies():
    plans = plan_clips(26, 10, seed=3)  # the default preset
    share = lambda au: np.mean([au in p.aus.split("+") for p in plans])  # noqa: E731
    assert 0.40 <= share("4") <= 0.60  # real: 120 of 243
    assert 0.10 <= share("12") <= 0.22  # real: 39 of 243
    assert 0.04 <= share("14") <= 0.15  # real: 22 of 243
    easy = plan_clips(26, 10, seed=3, preset="easy")
    assert np.mean(["4" in p.aus.split("+") for p in easy]) < 0.3  # the old generator: AU4 only in disgust


def test_real_amplitudes_spread_like_real_ones_and_easy_ones_do_not():
    rng = np.random.default_rng(0)
    real = [draw_amplitude(rng, get_preset("real").amp_px) for _ in range(4000)]
    easy = [draw_amplitude(rng, get_preset("easy").amp_px) for _ in range(4000)]
    q25, q75 = np.percentile(real, [25, 75])
    assert 2.5 <= q75 / q25 <= 4.5  # real annotated motion: a factor of 3-4 between the quartiles
    q25, q75 = np.percentile(easy, [25, 75])
    assert q75 / q25 < 1.3


def test_unknown_preset_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="preset 'hard'"):
        generate_synthetic(tmp_path / "x", subjects=1, clips_per_subject=1, preset="hard", progress=False)
    assert not (tmp_path / "x").exists()
    assert set(PRESETS) == {"real", "easy"}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    from preprocess.readers import read_dataset
    from preprocess.synth import CODING_FILE

    out = {}
    for preset in ("real", "easy"):
        root = tmp_path_factory.mktemp(preset)
        generate_synthetic(root, subjects=3, clips_per_subject=3, seed=11, jobs=1, progress=False, preset=preset)
        out[preset] = (root, read_dataset("casme2", root, root / CODING_FILE))
    return out


def _region_magnitudes(index):
    """Per clip: the 18 region magnitudes onset -> apex, head motion removed (the describe kernel)."""
    from mpt.instruct.measure import measure_clip

    clips = []
    for rec in index.clips:
        m = measure_clip(rec.frames, list(range(rec.onset, rec.offset + 1)), key=rec.key, onset=rec.onset,
                         apex=rec.apex, offset=rec.offset, whole_frames=False, face="fallback",
                         transient=False)
        clips.append(sorted(r["magnitude"] for r in m.motion["regions"]))
    return np.array(clips)


def test_settings_record_the_preset(corpora):
    for preset, (root, _) in corpora.items():
        settings = json.loads((root / "synth-settings.json").read_text())
        assert settings["preset"] == preset and settings["format_version"] == 3


def test_every_region_moves_a_little_on_the_calibrated_face(corpora):
    real = _region_magnitudes(corpora["real"][1])
    easy = _region_magnitudes(corpora["easy"][1])
    # the median region: real CASME II 0.26 px; the old generator 0.05 px
    assert 0.15 <= np.median(real) <= 0.40
    assert np.median(easy) < 0.10
    # the quietest third of the regions still moves on the calibrated face
    assert np.median(real[:, :6]) > 2 * np.median(easy[:, :6])
