"""The report printed after a run, from a small hand-made warehouse."""

from cli.summary import format_table, warehouse_summary
from ingestion.load import ensure_raw_tables
from warehouse import DuckDBWarehouse


def test_format_table_aligns_columns_and_shortens_long_cells():
    text = format_table("Title", ("name", "n"), [("a", 1), ("bbb", 22), ("x" * 80, None)])

    assert text.splitlines() == [
        "Title",
        "  name" + " " * 68 + "  n",
        "  a" + " " * 71 + "  1",
        "  bbb" + " " * 69 + "  22",
        "  " + "x" * 71 + "…",
    ]


def test_format_table_says_none_when_empty():
    assert format_table("Title", ("a", "b"), []) == "Title\n  a  b\n  (none)"


def test_summary_counts_raw_rows_quarantine_reasons_cost_and_pending_calls(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with DuckDBWarehouse.at(warehouse).session() as session:
        ensure_raw_tables(session)
        session.execute("insert into raw.logs (id, organization_id) values ('r1', 'o1'), ('r2', 'o1')")
        session.execute(
            "insert into raw.quarantine (endpoint, reason) values "
            "('logs', 'malformed JSON'), ('traces', 'kind: bad'), ('logs', 'malformed JSON'), ('logs', 'id: missing')"
        )
        session.execute("create schema marts")
        session.execute("create table marts.agg_org_daily (organization_id varchar, cost_usd decimal(38, 18))")
        session.execute("insert into marts.agg_org_daily values ('o1', 0.25), ('o2', 1.5), ('o1', 0.000000125)")
        session.execute("create table marts.fct_llm_calls (provider varchar, model varchar, cost_status varchar)")
        session.execute(
            "insert into marts.fct_llm_calls values ('openai', 'ft:x', 'pending'), ('openai', 'ft:x', 'pending'), "
            "('openai', 'gpt-4o', 'priced'), ('acme', 'm1', 'pending')"
        )

    # (sections other parts of tokenbooks add follow these)
    assert warehouse_summary(warehouse).startswith(
        "\n".join(
            [
                "Rows per raw table",
                "  table              rows",
                "  raw.logs           2",
                "  raw.traces         0",
                "  raw.feedback       0",
                "  raw.rate_limits    0",
                "  raw.keys           0",
                "  raw.organizations  0",
                "",
                "Quarantined records by endpoint and reason",
                "  endpoint  reason          records",
                "  logs      malformed JSON  2",
                "  logs      id: missing     1",
                "  traces    kind: bad       1",
                "",
                "Cost per organization (marts.agg_org_daily)",
                "  organization_id  cost_usd",
                "  o2               1.500000",
                "  o1               0.250000",  # 0.250000125 shown to the micro-dollar
                "",
                "Pending LLM calls (no price, no reported cost) by provider and model",
                "  provider  model  calls",
                "  openai    ft:x   2",
                "  acme      m1     1",
            ]
        )
    )


def test_summary_says_when_a_mart_is_not_built(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with DuckDBWarehouse.at(warehouse).session() as session:
        ensure_raw_tables(session)

    summary = warehouse_summary(warehouse)

    assert "Cost per organization (marts.agg_org_daily)\n  (not built)" in summary
