"""The dbt command the dbt assets run (``tokenbooks-dbt``): dbt itself, except for a bare ``--version``.

dagster-dbt asks ``dbt --version`` before every build. dbt answers by importing itself whole and asking PyPI for
its latest release: seconds of a small run, and a network call that a deployment without internet access waits on.
The installed version is in the package metadata already.
"""

import sys
from importlib.metadata import version


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"Core:\n  - installed: {version('dbt-core')}")
        return
    from dbt.cli.main import cli

    sys.exit(cli())
