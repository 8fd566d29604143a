"""The layers of the house (STYLE.md): imports only point down.

mpt (application) -> preprocess (offline pipeline) and train (trainer) -> mpt_core (method and
formats). preprocess and train never import each other or mpt; mpt_core imports none of them.
Every module's imports are parsed (ast), including imports inside functions.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mpt", "preprocess", "train", "mpt_core")
FORBIDDEN = {
    "mpt_core": {"preprocess", "train", "mpt"},
    "preprocess": {"train", "mpt"},
    "train": {"preprocess", "mpt"},
    "mpt": set(),
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(a.name.split(".")[0], node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_point_down(package):
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in modules(package) for name, line in imported_packages(path) if name in FORBIDDEN[package]]
    assert not bad, "\n".join(bad)


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from train.loop import run_loso\n")
    assert ("train", 2) in imported_packages(bad)


def test_every_package_has_modules():
    for package in PACKAGES:
        assert len(modules(package)) >= 2, package


def test_constants_are_defined_once():
    # every tuple of user-facing names is assigned in mpt_core/names.py and nowhere else
    names = {"DATASETS", "MOTION_OUTPUTS", "FACE_MODES", "VARIANTS", "PRECISIONS"}
    assigned = []
    for package in PACKAGES:
        for path in modules(package):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)):
                    assigned += [f"{path.relative_to(ROOT)}:{node.lineno} {t.id}" for t in node.targets
                                 if isinstance(t, ast.Name) and t.id in names]
    assert sorted(a.split(" ")[0].split(":")[0] for a in assigned) == ["mpt_core/names.py"] * len(names), assigned


def test_every_dataset_name_has_a_reader():
    from mpt_core.names import DATASETS
    from preprocess.readers import READERS

    assert tuple(READERS) == DATASETS
