"""The Definitions, loaded once per session after parsing the dbt project (only when the manifest is missing
or older than the project files). A fixture rather than an import, so a dbt project that does not parse
fails the tests that need it, not the collection of the whole suite."""

import pytest

from orchestration.resources import prepare_dbt_manifest


@pytest.fixture(scope="session")
def defs():
    prepare_dbt_manifest()
    from orchestration.definitions import defs

    return defs
