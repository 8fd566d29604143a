"""Fold construction and cache checks of the cross and leave-one-dataset-out protocols."""

import numpy as np
import pytest

from mpt_core.classmap import ClassMapError, build_class_map, load_class_map
from train.protocols import lodo_folds, map_classes, qualified_subjects, settings_difference


def test_lodo_folds_one_per_part():
    subjects = ["casme2/sub01", "samm/006", "casme2/sub02", "smic/s1", "samm/007"]
    folds = lodo_folds(subjects)
    assert [f.subject for f in folds] == ["casme2", "samm", "smic"]
    assert [f.test.tolist() for f in folds] == [[0, 2], [1, 4], [3]]
    for f in folds:
        assert sorted(f.train.tolist() + f.test.tolist()) == list(range(5))
    with pytest.raises(ValueError, match="needs a composite cache"):
        lodo_folds(["sub01", "sub02"])
    with pytest.raises(ValueError, match="at least 2 parts"):
        lodo_folds(["casme2/sub01", "casme2/sub02"])


def test_qualified_subjects():
    assert qualified_subjects(["sub01", "casme2/sub02"], ["casme2", "casme2"]).tolist() == ["casme2/sub01",
                                                                                           "casme2/sub02"]


def test_settings_difference_names_each():
    assert settings_difference({"alpha": 20, "size": 64}, {"alpha": 60, "size": 64}) == ["alpha 20 vs 60"]
    assert settings_difference({"a": 1}, {}) == ["a 1 vs (absent)"]


def test_map_classes():
    cmap = load_class_map("3class")
    labels = np.array([0, 1, 2, 4, 3])
    casme2 = ("happiness", "surprise", "disgust", "repression", "others")
    mapped, keep = map_classes(labels, casme2, cmap, role="train", where="A")
    assert mapped.tolist() == [1, 2, 0, -1, 0] and keep.tolist() == [True, True, True, False, True]
    with pytest.raises(ValueError, match="A: class\\(es\\) others map to nothing in class map 3class"):
        map_classes(labels, casme2, cmap, role="test", where="A")
    ignoring = build_class_map("m", {"negative": ["disgust", "repression"], "positive": ["happiness"],
                                     "surprise": ["surprise"]}, ignore=["others"])
    mapped, keep = map_classes(labels, casme2, ignoring, role="test", where="B")
    assert keep.tolist() == [True, True, True, False, True]


def test_class_map_files(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('ignore = ["others"]\n[classes]\npos = ["happiness"]\nneg = ["disgust", "anger"]\n')
    m = load_class_map(f)
    assert m.classes == ("pos", "neg") and m.target("Anger") == "neg" and m.target("neg") == "neg"
    assert m.ignored("others") and m.target("others") is None
    for text, message in [('[classes]\na = ["x"]\nb = ["x"]\n', "claimed by both"),
                          ('[classes]\na = "x"\n', "must list names"),
                          ('color = 1\n[classes]\na = ["x"]\n', "unknown key"),
                          ('ignore = ["x"]\n[classes]\na = ["x"]\n', "both mapped and ignored"),
                          ("[classes\n", "unreadable")]:
        f.write_text(text)
        with pytest.raises(ClassMapError, match=message):
            load_class_map(f)
    with pytest.raises(ClassMapError, match="neither a preset"):
        load_class_map("5class")
