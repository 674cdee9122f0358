"""The layout's rules, checked on the source: no import cycle, Dagster only where runs are driven, and settings
read in one place."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "alerting",
    "benchmarks",
    "billing",
    "cli",
    "ingestion",
    "orchestration",
    "pricing",
    "sample_platform",
    "settings",
    "warehouse",
)
# The packages that drive Dagster; the others are plain Python that Dagster (or the CLI) calls.
DAGSTER_PACKAGES = {"orchestration", "cli"}
# Who may touch os.environ besides settings, and why: none of them reads a tokenbooks setting.
ENVIRONMENT_WRITERS = {
    "cli.dagster_runs": "DAGSTER_HOME, Dagster's own variable",
    "orchestration.resources": "points dbt's profile at the warehouse while dbt runs, then restores it",
    "benchmarks.harness": "passes the environment on to the steps it starts",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for package in PACKAGES for path in (REPO / package).rglob("*.py")}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def imported_modules(tree: ast.Module) -> set[str]:
    """The project modules a module imports, at any depth (``from a import b`` counts ``a.b`` when it is one)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & MODULES.keys()


IMPORTS = {name: imported_modules(tree) - {name} for name, tree in TREES.items()}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def test_no_module_imports_itself_through_others():
    assert cycle(IMPORTS) is None


def test_the_packages_form_layers():
    """Package to package, imports go one way (settings <- warehouse <- ingestion <- orchestration <- cli)."""
    packages: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for name, imported in IMPORTS.items():
        packages[name.split(".")[0]].update(module.split(".")[0] for module in imported)
    for package, imported in packages.items():
        imported.discard(package)
    assert cycle(packages) is None
    assert packages["settings"] == set()
    assert packages["warehouse"] == {"settings"}
    assert packages["ingestion"] == {"settings", "warehouse"}


def top_level_imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_dagster_is_imported_only_where_runs_are_driven():
    importing = {
        name
        for name, tree in TREES.items()
        if any(module == "dagster" or module.startswith("dagster_") for module in top_level_imports(tree))
    }
    assert {name.split(".")[0] for name in importing} == DAGSTER_PACKAGES


def test_a_cycle_would_be_found():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) in (
        ["a", "c", "b", "a"],
        ["b", "a", "c", "b"],
        ["c", "b", "a", "c"],
    )
    assert cycle({"a": {"b"}, "b": set()}) is None


def touches_environment(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "putenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {alias.name for alias in node.names} & {"environ", "getenv"}
        ):
            return True
    return False


def test_only_the_settings_module_reads_the_environment():
    touching = {name for name, tree in TREES.items() if touches_environment(tree)}
    assert touching - {"settings"} == ENVIRONMENT_WRITERS.keys()
