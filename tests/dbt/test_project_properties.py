"""Properties of the dbt project read from its parsed manifest, without building anything: every model has a
primary-key test, and every macro is documented with its arguments (macros/_macros.yml).

A primary-key test is either ``unique`` on a column that is also tested not null (``not_null``, or
``not_null_columns`` naming it), since ``unique`` lets any number of NULLs through; or
``unique_combination_of_columns`` on the model's grain, whose ``group by`` counts NULL as a value, so a grain
with a nullable column (no error status, no experiment variant) is checked too; or ``unique_and_not_null``,
both in one scan. A test filtered by a ``where`` config or that only warns does not count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import jinja2
import pytest
from dbt.parser.schemas import is_valid_type
from dbt_common.clients.jinja import get_environment

from orchestration.resources import prepare_dbt_manifest

PROJECT = "tokenbooks"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads(prepare_dbt_manifest().read_text(encoding="utf-8"))


def _key_tests(manifest: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per model id, its (test name, arguments) of the generic tests that can make up a primary key."""
    tests: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata")
        if node["resource_type"] != "test" or not metadata or not node.get("attached_node"):
            continue
        config = node["config"]
        if config.get("where") or str(config.get("severity", "error")).lower() != "error":
            continue
        tests.setdefault(node["attached_node"], []).append((metadata["name"], metadata.get("kwargs") or {}))
    return tests


def _has_primary_key_test(tests: Iterable[tuple[str, dict[str, Any]]]) -> bool:
    tests = list(tests)
    not_null: set[str] = set()
    for name, arguments in tests:
        if name == "not_null":
            not_null.add(arguments["column_name"])
        elif name == "not_null_columns":
            not_null.update(arguments["columns"])
    return any(
        (name == "unique" and arguments["column_name"] in not_null)
        or (name == "unique_combination_of_columns" and arguments["combination_of_columns"])
        or (name == "unique_and_not_null" and arguments["key"])
        for name, arguments in tests
    )


def models_without_primary_key(manifest: dict[str, Any]) -> list[str]:
    """Names of the project's models that have no primary-key test (see the module's docstring)."""
    tests = _key_tests(manifest)
    return sorted(
        node["name"]
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["package_name"] == PROJECT
        and node["config"].get("enabled", True)
        and not _has_primary_key_test(tests.get(unique_id, []))
    )


def macro_documentation_problems(manifest: dict[str, Any]) -> list[str]:
    """What is missing or wrong in the documentation of the project's macros (generic tests included): a
    description, and each argument of the definition, in order, with a dbt argument type and a description."""
    environment = get_environment()
    problems = []
    for macro in sorted(manifest["macros"].values(), key=lambda macro: macro["name"]):
        if macro["package_name"] != PROJECT:
            continue
        name = macro["name"]
        (definition,) = environment.parse(macro["macro_sql"]).find_all(jinja2.nodes.Macro)
        defined = [argument.name for argument in definition.args]
        documented = macro.get("arguments") or []
        if not (macro.get("description") or "").strip():
            problems.append(f"{name}: no description")
        if [argument["name"] for argument in documented] != defined:
            problems.append(f"{name}: arguments documented {[a['name'] for a in documented]}, defined {defined}")
        for argument in documented:
            if not argument.get("type") or not is_valid_type(argument["type"]):
                problems.append(f"{name}({argument['name']}): type {argument.get('type')!r} is not a dbt type")
            if not (argument.get("description") or "").strip():
                problems.append(f"{name}({argument['name']}): no description")
    return problems


def test_every_model_has_a_primary_key_test(manifest):
    assert models_without_primary_key(manifest) == []


def test_every_macro_documents_its_arguments(manifest):
    assert macro_documentation_problems(manifest) == []


def _model(name: str) -> tuple[str, dict[str, Any]]:
    return f"model.{PROJECT}.{name}", {
        "resource_type": "model",
        "name": name,
        "package_name": PROJECT,
        "config": {"enabled": True},
    }


def _test(model: str, name: str, where: str | None = None, severity: str = "ERROR", **arguments: Any):
    unique_id = f"test.{PROJECT}.{name}_{model}_{len(arguments)}_{where}_{severity}"
    return unique_id, {
        "resource_type": "test",
        "attached_node": f"model.{PROJECT}.{model}",
        "test_metadata": {"name": name, "kwargs": arguments},
        "config": {"where": where, "severity": severity},
    }


def test_the_primary_key_check_names_the_models_without_one():
    nodes = dict(
        [
            _model("unique_and_not_null"),
            _test("unique_and_not_null", "unique", column_name="id"),
            _test("unique_and_not_null", "not_null", column_name="id"),
            _model("unique_and_not_null_columns"),
            _test("unique_and_not_null_columns", "unique", column_name="id"),
            _test("unique_and_not_null_columns", "not_null_columns", columns=["other", "id"]),
            _model("grain"),
            _test("grain", "unique_combination_of_columns", combination_of_columns=["day", "variant"]),
            _model("unique_only"),
            _test("unique_only", "unique", column_name="id"),
            _model("not_null_elsewhere"),
            _test("not_null_elsewhere", "unique", column_name="id"),
            _test("not_null_elsewhere", "not_null", column_name="other_id"),
            _model("filtered"),
            _test("filtered", "unique_combination_of_columns", where="day > 1", combination_of_columns=["day"]),
            _model("warns_only"),
            _test("warns_only", "unique_combination_of_columns", severity="WARN", combination_of_columns=["day"]),
            _model("untested"),
        ]
    )

    assert models_without_primary_key({"nodes": nodes}) == [
        "filtered",
        "not_null_elsewhere",
        "unique_only",
        "untested",
        "warns_only",
    ]
