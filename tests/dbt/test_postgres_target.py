"""Per-organization BI access on the PostgreSQL warehouse, tried the way a BI tool connects.

The warehouse is ``postgres_pipeline``: the tiny data and a generated sample, loaded and built on PostgreSQL by
the Dagster job. Roles are granted with ``tokenbooks bi``; the tests then log in as them and query the marts.
"""

from __future__ import annotations

import contextlib
import io

import psycopg2
import pytest

import settings
from cli import main
from orchestration import resources

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ACME, GLOBEX = "org_acme", "org_globex"
PASSWORD = "bi-test-password"
UNREADABLE_SCHEMAS = ("raw", "staging", "intermediate")


def tokenbooks_bi(database, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        env.setenv("TOKENBOOKS_WAREHOUSE_TYPE", "postgres")
        env.delenv("TOKENBOOKS_DBT_TARGET", raising=False)
        for name, value in database.env().items():
            env.setenv(name, value)
        settings.current.cache_clear()  # this process's settings, read again from the environment set here
        code = main(["bi", *args])
    settings.current.cache_clear()
    return code, out.getvalue(), err.getvalue()


def login(database, role: str, sql: str) -> list[tuple]:
    return database.rows(sql, user=role, password=PASSWORD)


@pytest.fixture(scope="module")
def warehouse(postgres_pipeline):
    """Two organization roles and an all-organizations reader, able to log in like a BI tool's connection."""
    database = postgres_pipeline
    for args in (
        ("grant-org", "--org", ACME, "--role", "acme_bi"),
        ("grant-org", "--org", GLOBEX, "--role", "globex_bi"),
    ):
        code, out, err = tokenbooks_bi(database, *args)
        assert (code, err) == (0, ""), out
    assert tokenbooks_bi(database, "grant-reader", "--role", "analysts")[:2] == (
        0,
        "role analysts reads every mart, all organizations\n",
    )
    for role in ("acme_bi", "globex_bi", "analysts"):
        database.rows(f"alter role {role} login password %s", [PASSWORD])
    return database


def marts_by_grain(database) -> tuple[list[str], list[str]]:
    """Mart tables with an organization_id column, and the others (as the owner sees the catalog)."""
    tables = database.rows(
        "select t.table_name, bool_or(c.column_name = 'organization_id') from information_schema.tables t "
        "join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name "
        "where t.table_schema = 'marts' group by t.table_name order by t.table_name"
    )
    return [name for name, by_org in tables if by_org], [name for name, by_org in tables if not by_org]


def test_organization_roles_see_only_their_organization_in_every_organization_mart(warehouse):
    organization_marts, _ = marts_by_grain(warehouse)
    assert {"fct_llm_calls", "fct_traces", "fct_requests", "agg_org_daily"} <= set(organization_marts)
    assert warehouse.rows("select count(distinct organization_id) > 2 from marts.fct_llm_calls") == [(True,)]
    for role, organization in (("acme_bi", ACME), ("globex_bi", GLOBEX)):
        for mart in organization_marts:
            (owned,) = warehouse.rows(f"select count(*) from marts.{mart} where organization_id = %s", [organization])
            seen = login(warehouse, role, f"select count(*), count(distinct organization_id) from marts.{mart}")
            assert seen == [(owned[0], 1 if owned[0] else 0)], (role, mart)
            assert login(warehouse, role, f"select distinct organization_id from marts.{mart}") in (
                [],
                [(organization,)],
            )


def test_aggregates_and_filters_count_only_the_role_organization(warehouse):
    query = "select count(*), sum(cost_usd), sum(input_tokens) from marts.fct_llm_calls"
    assert login(warehouse, "acme_bi", query) == warehouse.rows(f"{query} where organization_id = %s", [ACME])
    assert login(
        warehouse, "acme_bi", f"select count(*) from marts.agg_org_daily where organization_id = '{GLOBEX}'"
    ) == [(0,)]
    everyone = warehouse.rows("select count(*) from marts.fct_requests")
    acme = login(warehouse, "acme_bi", "select count(*) from marts.fct_requests")
    assert 0 < acme[0][0] < everyone[0][0]


def test_organization_roles_read_no_raw_data_and_no_mart_across_organizations(warehouse):
    _, cross_organization_marts = marts_by_grain(warehouse)
    tables = [f"{schema}.{name}" for schema, name in warehouse.rows(
        "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
        [list(UNREADABLE_SCHEMAS)],
    )]  # fmt: skip
    assert "raw.traces" in tables and "staging.stg_platform__spans" in tables
    for table in [*tables, *(f"marts.{name}" for name in cross_organization_marts)]:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            login(warehouse, "acme_bi", f"select count(*) from {table}")
    # the grants table shows a role its own grants only
    assert login(warehouse, "acme_bi", "select role_name, organization_id from bi_access.organization_roles") == [
        ("acme_bi", ACME)
    ]


def test_the_reader_role_sees_every_organization_and_every_mart_but_no_raw_data(warehouse):
    organization_marts, cross_organization_marts = marts_by_grain(warehouse)
    assert cross_organization_marts, "marts without an organization (provider x model x day, ...)"
    for mart in organization_marts + cross_organization_marts:
        query = f"select count(*) from marts.{mart}"
        assert login(warehouse, "analysts", query) == warehouse.rows(query), mart
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        login(warehouse, "analysts", "select count(*) from raw.logs")


def test_access_survives_dbt_rebuilding_the_marts(warehouse):
    def table_ids() -> list[tuple]:
        return warehouse.rows("select 'marts.agg_org_daily'::regclass::oid, 'marts.fct_requests'::regclass::oid")

    before = table_ids()
    with resources.warehouse_env_for_dbt(warehouse.warehouse()):
        resources.dbt_resource().cli(
            ["run", "--select", "agg_org_daily fct_requests", "--full-refresh"],
            target_path=resources.tokenbooks_dbt.target_path / "tests",
        ).wait()

    assert table_ids()[0] != before[0]  # new tables, not the ones the grants were first put on
    for mart in ("agg_org_daily", "fct_requests"):
        assert login(warehouse, "acme_bi", f"select distinct organization_id from marts.{mart}") == [(ACME,)]
        assert login(warehouse, "globex_bi", f"select distinct organization_id from marts.{mart}") == [(GLOBEX,)]


def test_revoking_an_organization_takes_its_rows_back(warehouse):
    assert tokenbooks_bi(warehouse, "grant-org", "--org", ACME, "--role", "revoked_bi")[0] == 0
    warehouse.rows("alter role revoked_bi login password %s", [PASSWORD])
    query = "select distinct organization_id from marts.fct_llm_calls"
    assert login(warehouse, "revoked_bi", query) == [(ACME,)]

    code, out, err = tokenbooks_bi(warehouse, "revoke-org", "--org", ACME, "--role", "revoked_bi")

    assert (code, out, err) == (0, f"role revoked_bi no longer reads organization {ACME}\n", "")
    assert warehouse.rows("select count(*) from bi_access.organization_roles where role_name = 'revoked_bi'") == [(0,)]
    # its last organization gone, the role loses the marts altogether
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        login(warehouse, "revoked_bi", query)


def test_roles_that_bypass_row_level_security_are_refused(warehouse):
    code, out, err = tokenbooks_bi(warehouse, "grant-org", "--org", ACME, "--role", warehouse.user)

    assert (code, out) == (1, "")
    assert f"role {warehouse.user} is a superuser, bypasses row-level security or owns the marts" in err
    assert warehouse.rows(
        "select count(*) from bi_access.organization_roles where role_name = %s", [warehouse.user]
    ) == [(0,)]


def test_bi_roles_need_the_postgres_warehouse(monkeypatch, capsys):
    monkeypatch.setenv("TOKENBOOKS_WAREHOUSE_TYPE", "duckdb")
    assert main(["bi", "grant-org", "--org", ACME, "--role", "acme_bi"]) == 2
    assert "BI roles need the postgres warehouse" in capsys.readouterr().err
