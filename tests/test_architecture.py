"""The import graph of ``model/`` and ``experiments/``: no cycles inside a package, and
nothing in ``model/`` imports ``experiments``.

Read from the modules' ASTs, so imports inside functions count too (they run
when the function does).  Imports under ``if TYPE_CHECKING:`` are left out of
the cycle check (they never run).  Relative imports are resolved to module
names, and ``from pkg import name`` counts as importing the submodule
``pkg.name`` when there is one.  A package's ``__init__`` is not counted as
imported by its submodules: only what a module names.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "experiments")


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every Python file of the packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST, typing_too: bool):
    """Every node, without the bodies of ``if TYPE_CHECKING:`` unless ``typing_too``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not typing_too:
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _known(name: str) -> str | None:
    """``name`` or its longest prefix that is a module of the packages."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from … import`` names (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    is_pkg = MODULES[module].name == "__init__.py"
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, typing_too: bool = False) -> set[str]:
    """The modules of the packages that ``module`` imports."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    out: set[str] = set()
    for node in _nodes(tree, typing_too):
        if isinstance(node, ast.Import):
            out.update(filter(None, (_known(a.name) for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in MODULES else _known(base) or "")
    out.discard("")
    out.discard(module)
    return out


def _cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}          # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        path.pop()
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def package_graph(pkg: str) -> dict[str, set[str]]:
    """Import edges between the modules of one package."""
    inside = [m for m in MODULES if m == pkg or m.startswith(pkg + ".")]
    return {m: {t for t in imports(m) if t == pkg or t.startswith(pkg + ".")} for m in inside}


def test_the_walker_resolves_relative_and_submodule_imports():
    assert "experiments.plots.base" in imports("experiments.plots.runs")
    assert "experiments.errors" in imports("experiments.registry")
    assert _cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle_in({"a": {"b"}, "b": set()}) is None


def test_experiments_has_no_import_cycle():
    cycle = _cycle_in(package_graph("experiments"))
    assert cycle is None, "import cycle in experiments/: " + " → ".join(cycle or [])


def test_model_has_no_import_cycle():
    cycle = _cycle_in(package_graph("model"))
    assert cycle is None, "import cycle in model/: " + " → ".join(cycle or [])


def test_model_does_not_import_experiments():
    bad = {m: sorted(t for t in imports(m, typing_too=True) if t.split(".")[0] == "experiments")
           for m in MODULES if m.split(".")[0] == "model"}
    bad = {m: t for m, t in bad.items() if t}
    assert not bad, f"model/ must not import experiments: {bad}"


def test_errors_import_nothing_and_runs_write_no_figures():
    """Every module can raise UserError without importing the model; figures are the CLI's, not the runner's."""
    tree = ast.parse(MODULES["experiments.errors"].read_text())
    names = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(n, ast.ImportFrom) and n.module in ("__future__", "typing") for n in names)
    assert not [t for t in imports("experiments.runner") if t.startswith("experiments.plots")]
    assert "experiments.plots" in imports("experiments.cli")
