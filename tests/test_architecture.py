"""The package's import structure: no cycles, and stages that import one way.

Every ``.py`` file under ``lopsnb/`` is parsed (not imported) and every
``import`` / ``from ... import`` statement is collected, at module level and
inside functions and methods alike.  ``from a.b import c`` counts as an
import of module ``a.b.c`` when that is a module, of ``a.b`` otherwise.
Imports under ``if TYPE_CHECKING:`` never run and are left out.  The
implicit import of parent packages (importing ``lopsnb.io.cache`` first runs
``lopsnb/__init__.py``) is not counted either: every module would otherwise
depend on the top-level package.

The stage order is ``io <- evaluation <- report <- runner``, with ``ui`` on
top; the top-level ``lopsnb`` package and ``lopsnb.cli`` are the facade above
everything; ``errors``, ``options``, ``_result``, ``_version`` and ``_memo`` are shared
foundations below ``io``, and so is ``fmt`` (the number formats of every stage's text).  A module may import its own stage and the stages
below it only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lopsnb"

#: Rank of every stage; a module may import modules of equal or lower rank.
STAGES: dict[str, int] = {
    "foundation": 0,
    "io": 1,
    "evaluation": 2,
    "report": 3,
    "runner": 4,
    "ui": 5,
    "facade": 6,
}
FOUNDATION = {"lopsnb.errors", "lopsnb.options", "lopsnb._result", "lopsnb._version", "lopsnb.fmt", "lopsnb._memo"}
FACADE = {"lopsnb", "lopsnb.cli"}

#: The only imports allowed against the stage order: a result's ``.plot*``
#: methods draw by delegating, lazily, to the report stage's drawing modules
#: (evaluation returns data; figures belong to the report stage).  Each entry
#: is (importing module, imported module, enclosing method name prefix); only
#: methods (functions defined in a class) qualify, and the drawing modules
#: import nothing from the evaluation stage, so no cycle follows.
ALLOWED_UPWARD: set[tuple[str, str, str]] = {
    (module, "lopsnb.report.figures", "plot")
    for module in ("lopsnb.evaluation.levels", "lopsnb.evaluation.roi", "lopsnb.evaluation.staggered",
                   "lopsnb.evaluation.culture", "lopsnb.evaluation.operations", "lopsnb.evaluation.plan")
} | {("lopsnb.evaluation.evaluate", "lopsnb.report.plots", "plot")}


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file of every module and package of ``root``."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, function: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under ``node`` with the ``__qualname__`` of its enclosing function ('' at module level)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for sub in child.orelse:
                yield from _walk(sub, function)
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, function
        inner = function
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # Python's __qualname__: Class.method, function.<locals>.inner
            scope = f"{function}.<locals>." if function and not function_is_class(node) else f"{function}." if function else ""
            inner = scope + child.name
        yield from _walk(child, inner)


def function_is_class(node: ast.AST) -> bool:
    """Whether ``node`` (the parent of a definition) is a class body."""
    return isinstance(node, ast.ClassDef)


def is_method(qualname: str, prefix: str) -> bool:
    """Whether ``qualname`` is a method (a function defined directly in a class) whose name starts with ``prefix``."""
    parts = qualname.split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>" and parts[-1].startswith(prefix)


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The lopsnb modules one import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".") if is_package else module.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    out = set()
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            out.add(name)
    return out


def import_edges(root: Path = PACKAGE) -> list[tuple[str, str, str, int]]:
    """(importer, imported, enclosing function, line) of every lopsnb-internal import."""
    files = module_files(root)
    known = set(files)
    edges = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, function in _walk(tree, ""):
            for target in sorted(_targets(module, path.name == "__init__.py", node, known)):
                edges.append((module, target, function, node.lineno))
    return edges


def stage_of(module: str) -> str:
    """The stage a lopsnb module belongs to."""
    if module in FOUNDATION:
        return "foundation"
    if module in FACADE:
        return "facade"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in STAGES:
        return parts[1]
    raise AssertionError(f"module {module} belongs to no stage: add it to STAGES, FOUNDATION or FACADE")


def find_cycles(edges: list[tuple[str, str, str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward_imports(edges: list[tuple[str, str, str, int]]) -> list[str]:
    """Imports against the stage order that are not in :data:`ALLOWED_UPWARD`."""
    bad = []
    for a, b, function, line in edges:
        if STAGES[stage_of(b)] <= STAGES[stage_of(a)]:
            continue
        if any(a == ia and b == ib and is_method(function, fn) for ia, ib, fn in ALLOWED_UPWARD):
            continue
        bad.append(f"{a} (line {line}, in {function or 'module'}) imports {b}: {stage_of(a)} must not import {stage_of(b)}")
    return bad


EDGES = import_edges()


def test_the_walk_sees_module_and_function_level_imports() -> None:
    edges = {(a, b) for a, b, _, _ in EDGES}
    assert ("lopsnb.io.workspace", "lopsnb.io.readers") in edges  # module level
    lazy = [(a, b, fn) for a, b, fn, _ in EDGES if a == "lopsnb" and b == "lopsnb.runner"]
    assert lazy and lazy[0][2] == "__getattr__"  # inside a function


def test_no_import_cycle() -> None:
    assert find_cycles(EDGES) == []


def test_stages_import_one_way() -> None:
    assert upward_imports(EDGES) == []


def test_every_module_has_a_stage() -> None:
    for module in module_files():
        stage_of(module)


def test_io_and_evaluation_never_import_matplotlib() -> None:
    """Evaluation returns data: not even a ``.plot`` method imports matplotlib itself."""
    found = []
    for module, path in module_files().items():
        if stage_of(module) not in {"io", "evaluation", "foundation"}:
            continue
        for node, function in _walk(ast.parse(path.read_text(encoding="utf-8")), ""):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{module}:{node.lineno} ({function or 'module'}) {n}" for n in names if n.split(".")[0] in {"matplotlib", "seaborn"}]
    assert found == []


# The checks above must be able to fail: run them on a small made-up package.
def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "lopsnb"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_function_level_cycle_is_found(tmp_path: Path) -> None:
    root = _fake_package(tmp_path, {
        "__init__.py": "",
        "io/__init__.py": "",
        "io/a.py": "from lopsnb.io.b import x\n",
        "io/b.py": "def f():\n    from lopsnb.io import a\n",
    })
    assert find_cycles(import_edges(root)) == [["lopsnb.io.a", "lopsnb.io.b"]]


def test_type_checking_imports_are_not_edges(tmp_path: Path) -> None:
    root = _fake_package(tmp_path, {
        "__init__.py": "",
        "io/__init__.py": "",
        "io/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lopsnb.report.c import C\n",
        "report/__init__.py": "",
        "report/c.py": "",
    })
    assert import_edges(root) == []


@pytest.mark.parametrize(("text", "bad"), [
    ("from lopsnb.report.plots import PALETTE\n", True),
    ("def summary():\n    from lopsnb.report.plots import new_ax\n", True),
    ("def plot_chart():\n    from lopsnb.report.figures import draw\n", True),
    ("class R:\n    def plot(self):\n        from lopsnb.report.figures import draw\n", False),
    ("class R:\n    def plot(self):\n        from lopsnb.report.plots import new_ax\n", True),
    ("from lopsnb.io.rules import is_dropped\n", False),
])
def test_an_upward_import_is_found(tmp_path: Path, text: str, bad: bool) -> None:
    root = _fake_package(tmp_path, {
        "__init__.py": "",
        "io/__init__.py": "",
        "io/rules.py": "",
        "evaluation/__init__.py": "",
        "evaluation/culture.py": text,
        "report/__init__.py": "",
        "report/plots.py": "",
        "report/figures.py": "",
    })
    assert bool(upward_imports(import_edges(root))) is bad


def test_evaluation_result_dataclasses_are_keyword_only() -> None:
    import dataclasses
    import importlib

    # A two-field (principle, action) record, not a result: its order is its meaning.
    records = {"lopsnb.evaluation.roi.AuditEntry"}
    positional = []
    for module in module_files():
        if stage_of(module) != "evaluation":
            continue
        mod = importlib.import_module(module)
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and obj.__module__ == module and dataclasses.is_dataclass(obj) and f"{module}.{name}" not in records:
                positional += [f"{module}.{name}.{f.name}" for f in dataclasses.fields(obj) if f.init and not f.kw_only]
    assert positional == []


@pytest.mark.parametrize("module", ["lopsnb.evaluation.roi", "lopsnb.report.page", "lopsnb.evaluation.every", "lopsnb.io.rules"])
def test_functions_are_short_enough_to_read_at_once(module: str) -> None:
    tree = ast.parse(module_files()[module].read_text(encoding="utf-8"))
    long = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            if lines > 80:
                long.append(f"{node.name}: {lines} lines")
    assert long == []
