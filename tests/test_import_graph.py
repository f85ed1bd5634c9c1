"""The house has no import circle: every arrow between the project's modules points one way.

The graph is read from the source with `ast` (nothing is imported), lazy imports inside
functions included: they tie two modules together just as much.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orchestrator", "tenants", "sessions", "templates", "alerts", "integrations", "billing")
FEATURES = ("templates", "alerts", "integrations", "billing")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def _imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name the module imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        targets = {owner(name) for name in _imported_names(module, path)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_project_has_no_import_circle():
    found = circles(import_graph(project_modules()))
    assert found == [], "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_circle_finder_sees_a_circle_through_a_lazy_import():
    # The check above proves nothing unless it can fail: a circle closed inside a function.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_relative_and_lazy_imports_are_read(tmp_path):
    source = "from . import live\nfrom ..models import Session\ndef f():\n    from .x import y\n"
    path = tmp_path / "services.py"
    path.write_text(source)
    names = _imported_names("sessions.hooks.services", path)
    assert {"sessions.hooks.live", "sessions.models.Session", "sessions.hooks.x.y"} <= names


def test_the_core_never_imports_a_feature_or_the_packages_above_it():
    graph = import_graph(project_modules())
    # tenants sits at the bottom: it imports nothing of sessions or the project.
    for module, targets in graph.items():
        if module.startswith("tenants"):
            assert not {t for t in targets if t.startswith(("sessions", "orchestrator"))}, module
    # Feature apps sit above the core: neither tenants nor sessions imports one.
    for module, targets in graph.items():
        if module.startswith(("tenants", "sessions")):
            assert not {t for t in targets if t.startswith(FEATURES)}, module
    # The agent sits above the services it calls; services ask for turns through the seam.
    assert not {t for t in graph["sessions.services"] if t.startswith("sessions.agent")}
