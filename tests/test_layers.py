"""The house rules that keep the code easy to live in, checked on the source itself: profiles never reaches up into
search, the only import loops are a service and the tasks that queue it, no product module outgrows a screenful of
screens."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("photosearch", "profiles", "search")
MAX_LINES = 450


def product_modules() -> dict[str, Path]:
    """Dotted name → file of every product module (tests and migrations aside; the benchmarks live in ``bench/``)."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def imports_of(path: Path) -> set[str]:
    """Every module an ``import`` or ``from … import`` names, at any depth (function-level imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_profiles_module_imports_search():
    offenders = {
        name: sorted(i for i in imports_of(path) if i == "search" or i.startswith("search."))
        for name, path in product_modules().items()
        if name.startswith("profiles")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_product_module_imports_the_benchmarks():
    offenders = {
        name: sorted(i for i in imports_of(path) if i == "bench" or i.startswith("bench."))
        for name, path in product_modules().items()
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_product_module_is_over_450_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in product_modules().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}


def test_the_only_import_loops_are_services_and_their_tasks():
    modules = product_modules()
    graph = {name: {i for i in imports_of(path) if i in modules and i != name} for name, path in modules.items()}
    loops = {frozenset(component) for component in _strongly_connected(graph) if len(component) > 1}

    def allowed(loop: frozenset[str]) -> bool:  # an app's tasks and the services they queue
        return any(
            f"{app}.tasks" in loop
            and all(name == f"{app}.tasks" or name.startswith(f"{app}.services") for name in loop)
            for app in ("profiles", "search")
        )

    assert [sorted(loop) for loop in loops if not allowed(loop)] == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm."""
    index, low, stack, on_stack, components, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return components
