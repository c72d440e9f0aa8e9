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


def test_photosearch_imports_neither_app():
    offenders = {
        name: sorted(i for i in imports_of(path) if i.split(".")[0] in ("profiles", "search"))
        for name, path in product_modules().items()
        if name.startswith("photosearch")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_environment_is_read_only_by_the_settings():
    """Every environment variable is read in photosearch/settings.py through photosearch/env.py (the entry points'
    ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", …)`` writes, it does not read)."""
    readers = {}
    for name, path in product_modules().items():
        if name in ("photosearch.settings", "photosearch.env"):
            continue
        tree = ast.parse(path.read_text())
        writes = {
            id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "setdefault"
        }
        found = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv")
            if id(node) not in writes
        ]
        if found:
            readers[name] = found
    assert readers == {}


def test_entry_points_do_not_write_to_the_database():
    """Views, API views, tasks and commands call services to write; they make no ORM write of their own."""
    writes = {"save", "delete", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
    offenders = {}
    for name, path in product_modules().items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf not in ("views", "apis", "tasks") and ".management.commands." not in name:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in writes:
                offenders.setdefault(name, []).append(f"{node.func.attr}() line {node.lineno}")
    assert offenders == {}


def test_the_search_read_path_names_its_database():
    """Below the public selectors every read takes ``using`` (a replica or the primary): the ranking, the query
    understanding and the selectors never reach for ``django.db.connection``, the primary's."""
    offenders = {
        name: "imports django.db.connection"
        for name, path in product_modules().items()
        if name == "search.selectors" or name.startswith(("search.ranking.", "search.query."))
        if "django.db.connection" in imports_of(path)
    }
    assert offenders == {}


def test_services_and_selectors_take_keyword_arguments():
    positional = {}
    for name, path in product_modules().items():
        if ".services" not in name and not name.endswith(".selectors"):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                if names := [arg.arg for arg in node.args.posonlyargs + node.args.args]:
                    positional[f"{name}.{node.name}"] = names
    assert positional == {}


def test_the_benchmarks_use_only_public_product_names():
    """``bench/`` imports no private name of a product module and touches none through a module it imported."""
    products = set(product_modules())
    offenders = []
    for path in (ROOT / "bench").rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in products:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offenders.append(f"{path.relative_to(ROOT)}: from {node.module} import {alias.name}")
                    elif f"{node.module}.{alias.name}" in products:
                        modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules.update(alias.asname or alias.name for alias in node.names if alias.name in products)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert offenders == []


def test_the_layout_table_matches_the_packages():
    """docs/architecture.md's layout table names each package of the product, and each folder it names exists."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## Layout", 1)[1].split("\n\n", 2)[1]
    named = {line.split("`")[1].rstrip("/") for line in table.splitlines() if line.startswith("| `")}
    packages = {
        str(path.parent.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("__init__.py")
        if not {"migrations", "commands"} & set(path.parent.relative_to(ROOT).parts)
    }
    assert sorted(packages - named) == [], "packages missing from the layout table"
    assert sorted(name for name in named if not (ROOT / name).is_dir()) == [], "folders named but absent"


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


def test_no_test_module_imports_another():
    """Helpers shared by tests live in fixtures (conftest.py) or in helper modules (tests/support/, …): a test module
    that imports another one runs that module's fixtures and import-time work wherever it is imported, and ties the
    two together. Relative and function-level imports count too."""
    tests = ROOT / "tests"

    def dotted(path: Path) -> str:
        return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")

    test_modules = {dotted(path) for pattern in ("test_*.py", "*_test.py") for path in tests.rglob(pattern)}
    offenders = {}
    for path in tests.rglob("*.py"):
        name = dotted(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
        if hits := sorted((found & test_modules) - {name}):
            offenders[name] = hits
    assert offenders == {}
