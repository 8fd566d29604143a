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


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_real_corpus_holds_each_class_s_au_mix_to_within_one_clip(seed):
    # stratified (format version 4): each AU combination gets the floor or the ceiling of its expected count
    from preprocess.synth.motion import CLASSES

    preset = get_preset("real")
    plans = plan_clips(26, 10, seed=seed)
    for label in CLASSES:
        clips = [p.aus for p in plans if p.label == label]
        total = sum(w for _, w in preset.class_aus[label])
        for combo, w in preset.class_aus[label]:
            expected = len(clips) * w / total
            assert np.floor(expected) <= clips.count(combo) <= np.ceil(expected), (label, combo)
    # AU24, the rarest family (real CASME II: 6 of 243), is never missing from a corpus of that size
    assert 4 <= sum("24" in p.aus.split("+") for p in plans) <= 6


def test_a_real_corpus_spreads_each_au_s_amplitudes_over_all_its_quantiles():
    plans = plan_clips(26, 10, seed=2)
    for au in ("4", "12", "24"):
        u = sorted(dict(p.quantiles)[au] for p in plans if au in p.aus.split("+"))
        m = len(u)
        assert m >= 4 and all(k / m <= q < (k + 1) / m for k, q in enumerate(u)), au  # one per m-th of (0, 1)
    amp = get_preset("real").amp_px  # ("lognormal", median 1.45, ...): the quantile 0.5 is the median
    assert draw_amplitude(None, amp, quantile=0.5) == pytest.approx(1.45)
    assert draw_amplitude(None, ("uniform", 1.0, 1.5), quantile=0.25) == pytest.approx(1.125)
    # the easy preset still draws clip by clip (its bytes are format version 1's)
    assert all(p.quantiles == () for p in plan_clips(4, 5, seed=2, preset="easy"))


def test_stratified_corpora_agree_on_a_rare_family_s_median_where_independent_draws_do_not():
    # AU6 sits in about 10 of 260 clips: the median of 10 independent log-normal draws (sigma 0.75) scatters
    # by a factor of about 1.3 between corpora; stratified, each corpus's median is within a few per cent
    preset = get_preset("real")
    medians = []
    for seed in range(8):
        amps = [draw_amplitude(None, preset.amp_px, preset.amp_sigma["6"], dict(p.quantiles)["6"])
                for p in plan_clips(26, 10, seed=seed) if "6" in p.aus.split("+")]
        medians.append(np.median(amps))
    assert max(medians) / min(medians) < 1.15
    rng = np.random.default_rng(0)
    loose = [np.median([draw_amplitude(rng, preset.amp_px, preset.amp_sigma["6"]) for _ in range(10)]) for _ in range(8)]
    assert max(loose) / min(loose) > 1.15  # the contrast: the same test on independent draws fails


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
        assert settings["preset"] == preset and settings["format_version"] == 4


def test_every_region_moves_a_little_on_the_calibrated_face(corpora):
    real = _region_magnitudes(corpora["real"][1])
    easy = _region_magnitudes(corpora["easy"][1])
    # the median region: real CASME II 0.26 px; the old generator 0.05 px
    assert 0.15 <= np.median(real) <= 0.40
    assert np.median(easy) < 0.10
    # the quietest third of the regions still moves on the calibrated face
    assert np.median(real[:, :6]) > 2 * np.median(easy[:, :6])


def test_layouts_drawing_from_the_presets_share_a_format_version():
    # the CASME II, CAS(ME)^3 and long-video layouts all draw their AU motion from preprocess.synth.presets:
    # a preset change alters all three corpora, so a folder of an older version must be refused in all three
    # (format version 4 first bumped the CASME II layout alone, and long videos of version 3 changed silently);
    # the version is the presets' own, not a copy per layout
    import inspect
    import re

    import preprocess.synth as casme2
    from preprocess.synth import casme3, longvideo, presets

    for layout in (casme2, casme3, longvideo):
        assert layout.FORMAT_VERSION == presets.FORMAT_VERSION
        assert not re.search(r"^FORMAT_VERSION\s*=", inspect.getsource(layout), re.M), layout.__name__
    assert presets.FORMAT_VERSION == 4
