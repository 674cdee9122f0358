"""The dbt assets are defined from dbt's manifest: parse the dbt project (only when the manifest is missing or
older than the project files) before the test modules import the Definitions."""

from orchestration.resources import prepare_dbt_manifest


def pytest_configure(config):
    prepare_dbt_manifest()
