import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def _annotations_dir() -> Path | None:
    env = os.environ.get("MPT_ANNOTATIONS_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "datasets" / "annotations")
    for c in candidates:
        if (c / "CASME2-coding-20140508.xlsx").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def annotations_dir() -> Path:
    """The real annotation tables (../shared/datasets/annotations, or $MPT_ANNOTATIONS_DIR)."""
    d = _annotations_dir()
    if d is None:
        pytest.skip("real annotation tables not found: set MPT_ANNOTATIONS_DIR")
    return d
