"""PreprocessSettings: the spec defaults, the hash, and refusal of unknown keys and wrong types."""

import dataclasses
import re

import pytest

from preprocess.identity import cache_key, input_identity
from preprocess.records import DatasetIndex
from preprocess.settings import PreprocessSettings


def test_defaults_are_the_method_values():
    s = PreprocessSettings()
    assert s.to_dict() == {
        "alpha": 20.0, "levels": 4, "f_lo": 0.4, "f_hi": 4.0, "order": 1, "frames": 16,
        "motion_output": "magnified", "size": 224,
    }  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.alpha = 1.0


def test_cache_key_is_12_hex_stable_and_changes_with_every_setting():
    # The cache key covers the settings (PreprocessSettings.settings_hash was dead code, removed).
    identity = input_identity(DatasetIndex("casme2", ("a", "b"), []))
    base = PreprocessSettings()
    assert re.fullmatch(r"[0-9a-f]{12}", cache_key(base, identity))
    assert cache_key(PreprocessSettings(alpha=20), identity) == cache_key(base, identity)  # int 20 == float 20.0
    assert PreprocessSettings.from_dict(base.to_dict()) == base
    changed = dict(alpha=10.0, levels=3, f_lo=0.5, f_hi=3.0, order=2, frames=8, motion_output="band", size=112)
    keys = {cache_key(PreprocessSettings(**{k: v}), identity) for k, v in changed.items()}
    assert len(keys) == len(changed) and cache_key(base, identity) not in keys


@pytest.mark.parametrize(
    "bad", [{"alpha": "20"}, {"levels": 4.0}, {"order": True}, {"frames": None}, {"motion_output": 1}]
)
def test_wrong_types_are_errors(bad):
    with pytest.raises(TypeError, match=next(iter(bad))):
        PreprocessSettings(**bad)


@pytest.mark.parametrize(
    "bad", [{"motion_output": "both"}, {"f_lo": 5.0}, {"frames": 1}, {"levels": 0}, {"size": 8}, {"alpha": -1.0}]
)
def test_bad_values_are_errors(bad):
    with pytest.raises(ValueError):
        PreprocessSettings(**bad)


def test_unknown_key_is_an_error():
    with pytest.raises(ValueError, match="unknown preprocessing setting.*alfa"):
        PreprocessSettings.from_dict({"alfa": 20.0})


def test_cache_key_covers_settings_and_input(tmp_path):
    ann = tmp_path / "coding.xlsx"
    ann.write_bytes(b"one")
    index = DatasetIndex("casme2", ("a", "b"), [])
    ident = input_identity(index, root=tmp_path, annotations=ann)
    s = PreprocessSettings()
    keys = {cache_key(s, ident), cache_key(PreprocessSettings(alpha=1.0), ident)}
    keys.add(cache_key(s, input_identity(index, root=tmp_path, annotations=ann, strict=True)))
    keys.add(cache_key(s, input_identity(DatasetIndex("casme2", ("a", "c"), []), root=tmp_path, annotations=ann)))
    keys.add(cache_key(s, input_identity(index, root=tmp_path / "x", annotations=ann)))
    ann.write_bytes(b"two")
    keys.add(cache_key(s, input_identity(index, root=tmp_path, annotations=ann)))
    assert len(keys) == 6 and all(re.fullmatch(r"[0-9a-f]{12}", k) for k in keys)


def test_face_options_leave_cropped_corpora_keys_alone_and_name_the_aligner(tmp_path):
    """A cropped corpus's cache key has no face entry, whatever the landmark options; a whole-frame
    corpus's names the aligner (Haar keeps "auto", the key its caches had before landmarks)."""
    from preprocess.face.align import FaceOptions
    from preprocess.pipeline import _face_options

    cropped = DatasetIndex("casme2", ("a", "b"), [])
    whole = dataclasses.replace(cropped, whole_frames=True)
    s = PreprocessSettings()
    before = cache_key(s, input_identity(cropped))
    for landmarks in ("68", "5"):
        assert _face_options(cropped, None, landmarks, False).method == "none"  # used as they are
        assert cache_key(s, input_identity(cropped, face=None)) == before  # what build_cache passes for them
    identities = {FaceOptions(method=m, landmarks=k, track=t).identity().__repr__()
                  for m, k, t in (("auto", "68", False), ("auto", "5", False), ("auto", "68", True),
                                  ("haar", "68", False), ("none", "68", False))}
    assert len(identities) == 5
    assert FaceOptions(method="haar").identity() == "auto" and FaceOptions().identity() == "landmarks68"
    assert _face_options(whole, None, "68", False).method == "auto"
    with pytest.raises(ValueError, match="tracking needs landmarks"):
        FaceOptions(method="haar", track=True)
