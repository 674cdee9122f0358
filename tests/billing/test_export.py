"""tokenbooks export: one organization's rows of a mart as CSV, from a real DuckDB file holding hand-made marts,
and the same marts on a throwaway PostgreSQL.

The marts here are small tables made for the test (the export reads any mart the catalog shows); the dbt
tests export the real marts built from the tiny landing data.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable
from contextlib import closing
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.exports import ExportError, export_mart, export_to, exportable_marts
from cli import main

ORG_DAILY_CSV_ORG_A = (
    "organization_id,activity_date,requests,cost_usd,note,is_late\n"
    "org_a,2026-11-19,1,0.500000000000000000,,false\n"
    'org_a,2026-11-20,2,0.000000000000000001,"comma, ""quoted""\nand a new line",true\n'
    "org_a,2026-11-21,3,0.000000000000000000,last,false\n"
)


def make_marts(execute: Callable[[str], object]) -> None:
    """Hand-made marts through ``execute``: the same SQL on DuckDB and PostgreSQL."""
    execute("create schema marts")
    execute("create schema staging")
    execute(
        "create table marts.org_daily (organization_id varchar, activity_date date, requests bigint, "
        "cost_usd decimal(38, 18), note varchar, is_late boolean)"
    )
    execute(
        "insert into marts.org_daily values "
        "('org_a', '2026-11-21', 3, 0, 'last', false), "
        "('org_b', '2026-11-20', 9, 9.99, 'another organization', false), "
        "('org_a', '2026-11-19', 1, 0.5, null, false), "
        "('org_a', '2026-11-20', 2, 0.000000000000000001, 'comma, \"quoted\"' || chr(10) || 'and a new line', true)"
    )
    # no DATE column: the range applies to the first *_at timestamp (occurred_at, not created_at below it)
    execute(
        "create table marts.key_events (event_id varchar, organization_id varchar, occurred_at timestamp, "
        "created_at timestamp)"
    )
    execute(
        "insert into marts.key_events values "
        "('e_first_instant', 'org_a', '2026-11-20 00:00:00', '2026-01-01'), "
        "('e_last_instant', 'org_a', '2026-11-20 23:59:59.999999', '2026-01-01'), "
        "('e_next_day', 'org_a', '2026-11-21 00:00:00', '2026-01-01'), "
        "('e_day_before', 'org_a', '2026-11-19 23:59:59.999999', '2026-01-01'), "
        "('e_other_org', 'org_b', '2026-11-20 12:00:00', '2026-01-01')"
    )
    execute("create table marts.org_profile (organization_id varchar, plan varchar)")
    execute("insert into marts.org_profile values ('org_a', 'growth'), ('org_b', 'enterprise')")
    execute("create table marts.endpoint_daily (endpoint varchar, request_date date, requests bigint)")
    execute("create table staging.org_secrets (organization_id varchar, secret varchar)")
    execute("insert into staging.org_secrets values ('org_a', 'not for export')")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "warehouse.duckdb"
    with closing(duckdb.connect(str(path))) as con:
        make_marts(con.execute)
    return path


def export_text(warehouse: Path, mart: str, org: str, start: date | None = None, end: date | None = None) -> str:
    out = io.StringIO()
    export_mart(warehouse, mart, org, out=out, start=start, end=end)
    return out.getvalue()


def column(text: str, name: str) -> list[str]:
    return [row[name] for row in csv.DictReader(io.StringIO(text))]


def test_the_catalog_says_which_marts_export_and_on_which_column_ranges_apply(warehouse):
    with closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        marts = exportable_marts(con)

    # endpoint_daily has no organization_id; staging is not the marts schema
    assert {name: (mart.range_column, mart.range_column_is_date) for name, mart in marts.items()} == {
        "org_daily": ("activity_date", True),
        "key_events": ("occurred_at", False),
        "org_profile": (None, False),
    }


def test_one_organizations_rows_as_exact_csv_in_a_stable_order(warehouse):
    assert export_text(warehouse, "org_daily", "org_a") == ORG_DAILY_CSV_ORG_A


def test_a_date_range_is_half_open(warehouse):
    text = export_text(warehouse, "org_daily", "org_a", start=date(2026, 11, 20), end=date(2026, 11, 21))
    assert column(text, "activity_date") == ["2026-11-20"]
    assert column(export_text(warehouse, "org_daily", "org_a", start=date(2026, 11, 20)), "activity_date") == [
        "2026-11-20",
        "2026-11-21",
    ]
    assert column(export_text(warehouse, "org_daily", "org_a", end=date(2026, 11, 20)), "activity_date") == [
        "2026-11-19"
    ]


def test_a_range_on_a_timestamp_covers_whole_utc_days(warehouse):
    text = export_text(warehouse, "key_events", "org_a", start=date(2026, 11, 20), end=date(2026, 11, 21))
    assert column(text, "event_id") == ["e_first_instant", "e_last_instant"]
    assert column(text, "occurred_at") == ["2026-11-20 00:00:00", "2026-11-20 23:59:59.999999"]


def test_a_mart_without_a_day_column_exports_whole_but_refuses_a_range(warehouse):
    assert export_text(warehouse, "org_profile", "org_b") == "organization_id,plan\norg_b,enterprise\n"
    with pytest.raises(ExportError, match="org_profile has no date or \\*_at column"):
        export_text(warehouse, "org_profile", "org_b", start=date(2026, 11, 1))


@pytest.mark.parametrize(
    ("mart", "org", "start", "end", "message"),
    [
        ("endpoint_daily", "org_a", None, None, "'endpoint_daily' is not an exportable mart"),
        ("org_secrets", "org_a", None, None, "'org_secrets' is not an exportable mart"),
        ("staging.org_secrets", "org_a", None, None, "is not an exportable mart"),
        ("org_daily", "", None, None, "--org: expected an organization id"),
        ("org_daily", "org_a", date(2026, 11, 21), date(2026, 11, 21), "must be before --end"),
    ],
)
def test_what_cannot_be_exported_is_refused_with_the_reason(warehouse, mart, org, start, end, message):
    with pytest.raises(ExportError, match=message):
        export_text(warehouse, mart, org, start, end)


def test_the_refusal_lists_what_can_be_exported(warehouse):
    with pytest.raises(ExportError) as refused:
        export_text(warehouse, "nope", "org_a")
    assert str(refused.value).endswith(
        "Exportable: key_events (range on occurred_at); org_daily (range on activity_date); org_profile (no range)"
    )


def test_input_never_reaches_the_sql_text(warehouse):
    with pytest.raises(ExportError, match="is not an exportable mart"):
        export_text(warehouse, "org_daily where true or organization_id <> ''", "org_a")
    with pytest.raises(ExportError, match="is not an exportable mart"):
        export_text(warehouse, 'org_daily"; drop table marts.org_daily; --', "org_a")
    # an organization id is a value: this one matches no row
    assert export_text(warehouse, "org_daily", "org_a' or '1' = '1") == ORG_DAILY_CSV_ORG_A.splitlines()[0] + "\n"
    assert export_text(warehouse, "org_daily", "org_a") == ORG_DAILY_CSV_ORG_A


ORGS = st.sampled_from(["org_a", "org_b", "org_a ", "ORG_A", "org_'a", 'org_"a', "org_a%", "org_é"])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(ORGS, st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.integers(0, 10**12))),
    org=ORGS,
)
def test_another_organizations_rows_never_appear(rows, org):
    with closing(duckdb.connect()) as con:
        con.execute("create schema marts")
        con.execute("create table marts.usage (organization_id varchar, activity_date date, requests bigint)")
        if rows:
            con.executemany("insert into marts.usage values (?, ?, ?)", rows)
        out = io.StringIO()
        written = export_to(con, "usage", org, out)

    exported = list(csv.reader(io.StringIO(out.getvalue())))
    expected = sorted((day.isoformat(), requests) for owner, day, requests in rows if owner == org)
    assert exported[0] == ["organization_id", "activity_date", "requests"]
    assert {row[0] for row in exported[1:]} <= {org}
    assert [(row[1], int(row[2])) for row in exported[1:]] == expected
    assert written == len(expected)


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["export", *args])
    return code, out.getvalue(), err.getvalue()


def test_the_command_writes_a_file(warehouse, tmp_path):
    target = tmp_path / "exports" / "org_a.csv"
    code, printed, said = run_cli(
        "--mart", "org_daily", "--org", "org_a", "--warehouse", str(warehouse), "--out", str(target)
    )  # fmt: skip

    assert (code, printed) == (0, "")
    assert target.read_text(encoding="utf-8") == ORG_DAILY_CSV_ORG_A
    assert said == f"exported 3 rows of marts.org_daily for org_a to {target}\n"


def test_the_command_writes_to_standard_output_by_default(warehouse):
    code, printed, _ = run_cli(
        "--mart", "org_daily", "--org", "org_a", "--start", "2026-11-21", "--warehouse", str(warehouse)
    )  # fmt: skip

    assert code == 0
    assert printed == ORG_DAILY_CSV_ORG_A.split("\n", 1)[0] + "\norg_a,2026-11-21,3,0.000000000000000000,last,false\n"


def test_a_refused_export_exits_2_and_leaves_no_file(warehouse, tmp_path):
    code, printed, said = run_cli(
        "--mart", "endpoint_daily", "--org", "org_a", "--warehouse", str(warehouse), "--out", str(tmp_path / "x.csv")
    )  # fmt: skip

    assert (code, printed) == (2, "")
    assert said.startswith("tokenbooks: 'endpoint_daily' is not an exportable mart")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_warehouse_is_named(tmp_path):
    missing = tmp_path / "none.duckdb"
    code, _, said = run_cli("--mart", "org_daily", "--org", "org_a", "--warehouse", str(missing))

    assert code == 2
    assert said == f"tokenbooks: no warehouse at {missing}: run `tokenbooks run` first, or pass --warehouse\n"
    assert not missing.exists()


@pytest.mark.postgres
def test_the_same_export_from_a_postgresql_warehouse(postgres_database, monkeypatch):
    make_marts(postgres_database.rows)
    for name, value in postgres_database.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKENBOOKS_WAREHOUSE_TYPE", "postgres")
    for name in ("TOKENBOOKS_WAREHOUSE", "TOKENBOOKS_DBT_TARGET"):
        monkeypatch.delenv(name, raising=False)

    assert run_cli("--mart", "org_daily", "--org", "org_a") == (
        0,
        ORG_DAILY_CSV_ORG_A,
        "exported 3 rows of marts.org_daily for org_a to stdout\n",
    )
    code, printed, _ = run_cli("--mart", "key_events", "--org", "org_a", "--start", "2026-11-20", "--end", "2026-11-21")
    assert (code, column(printed, "event_id")) == (0, ["e_first_instant", "e_last_instant"])
    code, _, said = run_cli("--mart", "endpoint_daily", "--org", "org_a")
    assert (code, said.startswith("tokenbooks: 'endpoint_daily' is not an exportable mart")) == (2, True)
