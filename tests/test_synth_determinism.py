"""The same seed gives the same bytes, serially or in parallel; another seed gives other bytes."""

import hashlib

from preprocess.synth import generate_synthetic

SMALL = dict(subjects=3, clips_per_subject=2, size=64, progress=False)


def digest(root):
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_same_seed_same_bytes_serial_and_parallel(tmp_path):
    generate_synthetic(tmp_path / "a", seed=5, jobs=1, **SMALL)
    generate_synthetic(tmp_path / "b", seed=5, jobs=2, **SMALL)
    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert "CASME2-coding-synth.xlsx" in a and sum(k.endswith(".jpg") for k in a) > 3 * 2 * 30
    assert a == b


def test_other_seed_other_bytes(tmp_path):
    generate_synthetic(tmp_path / "a", seed=5, jobs=1, **SMALL)
    generate_synthetic(tmp_path / "c", seed=6, jobs=1, **SMALL)
    a, c = digest(tmp_path / "a"), digest(tmp_path / "c")
    assert a["CASME2-coding-synth.xlsx"] != c["CASME2-coding-synth.xlsx"]
    shared = set(a) & set(c)
    assert not any(a[k] == c[k] for k in shared if k.endswith(".jpg"))
