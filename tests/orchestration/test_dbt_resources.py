"""The dbt command the assets run, when the manifest counts as stale, and what a finished build leaves behind."""

import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

from orchestration import resources


def test_the_launcher_answers_version_from_package_metadata_and_is_the_dbt_the_assets_run():
    executable = resources.dbt_executable()
    answer = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True).stdout

    assert Path(executable).name == "tokenbooks-dbt"
    assert answer == f"Core:\n  - installed: {version('dbt-core')}\n"
    # what dagster-dbt reads from it: the first x.y.z
    assert re.search(r"(\d+\.\d+\.\d+)", answer).group(1) == version("dbt-core")


def touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_the_newest_source_skips_generated_folders_and_dot_files(tmp_path, monkeypatch):
    project, seeds = tmp_path / "dbt_project", tmp_path / "pricing_seeds"
    touch(project / "models" / "marts" / "fct.sql", 100)
    touch(project / "dbt_project.yml", 150)
    touch(seeds / "provider_prices.csv", 200)
    touch(project / "target" / "run" / "fct.sql", 900)
    touch(project / "logs" / "dbt.log", 900)
    touch(project / "models" / ".user.yml", 900)
    touch(project / ".sqlfluff_cache" / "x", 900)
    monkeypatch.setattr(resources, "DBT_PROJECT_DIR", project)
    monkeypatch.setattr(resources, "DBT_EXTRA_SOURCE_DIRS", (seeds,))

    assert resources._newest_source_mtime() == 200
    touch(project / "models" / "staging" / "stg.sql", 300)  # a model folder named like nothing generated
    assert resources._newest_source_mtime() == 300


def test_a_finished_build_hands_its_parse_state_to_the_project_and_its_folder_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "DBT_PROJECT_DIR", tmp_path)
    project_target = tmp_path / resources.tokenbooks_dbt.target_path
    touch(project_target / resources.PARTIAL_PARSE_FILE, 1)
    touch(project_target / "manifest.json", 1)
    build = Path("target/dbt_models-abc1234-5678")
    (tmp_path / build / "run").mkdir(parents=True)
    (tmp_path / build / resources.PARTIAL_PARSE_FILE).write_bytes(b"the build's state")

    resources.retire_build_target(build)

    assert (project_target / resources.PARTIAL_PARSE_FILE).read_bytes() == b"the build's state"
    assert not (tmp_path / build).exists()
    assert sorted(path.name for path in project_target.iterdir()) == ["manifest.json", resources.PARTIAL_PARSE_FILE]

    # the project's own target folder is never removed
    resources.retire_build_target(resources.tokenbooks_dbt.target_path)
    assert sorted(path.name for path in project_target.iterdir()) == ["manifest.json", resources.PARTIAL_PARSE_FILE]
