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


# no import circle between the project's modules (imports inside functions count too)

def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module name -> the project modules it imports (relative imports resolved; a package's
    ``from . import x`` resolves to the submodule when one exists, else to the package)."""
    names = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in names.items():
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here[: len(here) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in names:  # a name inside a module: the module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_between_modules():
    graph = module_graph()
    # a package's __init__ that re-exports its submodules is not a circle of the code: drop package -> child edges
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_circle_check_finds_one(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "train" / "a.py").write_text("from .b import f\n")
    (tmp_path / "train" / "b.py").write_text("def f():\n    from train.a import g\n")
    assert find_cycle(module_graph(tmp_path)) in (["train.a", "train.b", "train.a"], ["train.b", "train.a", "train.b"])
