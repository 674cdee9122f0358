"""Billing statement files through the Dagster asset: written per month and organization, byte-identical on a
rerun, readable (the HTML parsed back to the marts' lines and totals), and immutable once closed.

One module-scoped warehouse: the tiny hand-checked landing data, billing marts built by real dbt in a private
copy of the project (the committed rate cards: acme on growth, globex on enterprise). Hand-checked totals:

- acme: fee 199 + AI usage (0.01455 x 1.2 = 0.01746 -> 0.02) + (0.00924 x 1.2 -> 0.01) + (the failed attempt,
  billed on growth: 0.0001977 x 1.2 -> 0.00) = 199.03; the fine-tune's call is pending (1 call, 600 tokens).
- globex: fee 999 + (0.000333 x 1.1 -> 0.00) + (0.0088 x 1.1 -> 0.01) + (0.016 x 1.1 -> 0.02) = 999.03.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from billing.statements import read_statements, write_month
from billing.statements.writing import STATEMENTS_DIR_ENV
from ingestion.load import load_landing
from orchestration.assets.statements import STATEMENT_FILES_KEY, statement_files
from orchestration.resources import WarehouseResource, dbt_executable, warehouse_env_for_dbt

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TINY_LANDING = REPO / "tests" / "fixtures" / "tiny_landing"
NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
ORGS = ("org_acme", "org_globex")
EXTENSIONS = ("csv", "html", "pdf")
# A call that becomes visible after November is closed: acme, 2026-11-25, the provider reports 2.50 USD.
LATE_CALL = {
    "span_id": "spn_a9_llm", "trace_id": "trc_a9", "parent_span_id": None, "organization_id": "org_acme",
    "conversation_id": "conv_a9", "workflow": "support-answer", "kind": "llm", "name": "generate",
    "started_at": "2026-11-25T12:00:00.000Z", "duration_ms": 900, "status": "ok",
    "llm": {"provider": "anthropic", "model": "claude-sonnet-4-5-20250929", "attempt": 1, "service_tier": "default",
            "usage": {"input_tokens": 1000, "output_tokens": 100}, "provider_reported_cost_usd": 2.5,
            "error_type": None},
}  # fmt: skip
# Re-pricing after the close: acme's fee for November becomes 249.
ACME_FEE_OVERRIDE = "org_acme@2026-11-01,org_acme,2026-11-01,,249,,,,,test: fee agreed after the close\n"
# The billing marts and every model and seed they read (their dbt tests run in tests/dbt/test_billing.py).
BUILD_BILLING = ["build", "--select", "+tag:billing", "--exclude-resource-type", "test", "unit_test"]


class StatementHtml(HTMLParser):
    """The parts of a statement document a reader relies on: header fields, line rows, subtotals, the total."""

    def __init__(self, html: str):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.lines: list[dict] = []
        self.subtotals: dict[str, str] = {}
        self.total: str | None = None
        self._row: dict | None = None
        self._cells: list[str] = []
        self._text: list[str] | None = None
        self._field: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("dd", "code") and attributes.get("id"):
            self._field, self._text = attributes["id"], []
        elif tag == "tr":
            self._row, self._cells = attributes, []
        elif tag in ("td", "th") and self._row is not None:
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag in ("dd", "code") and self._field:
            self.fields[self._field] = "".join(self._text or [])
            self._field, self._text = None, None
        elif tag in ("td", "th") and self._row is not None:
            self._cells.append("".join(self._text or []))
            self._text = None
        elif tag == "tr" and self._row is not None:
            if "data-line-id" in self._row:
                self.lines.append({"line_id": self._row["data-line-id"], "cells": self._cells})
            elif self._row.get("class") == "subtotal":
                self.subtotals[self._row["data-line-type"]] = self._cells[-1]
            elif self._row.get("id") == "total":
                self.total = self._cells[-1]
            self._row = None


@pytest.fixture(scope="module")
def billing(tmp_path_factory, env_patch):
    """The tiny data loaded and the billing marts built in a private copy of the dbt project."""
    root = tmp_path_factory.mktemp("statements")
    ignore = shutil.ignore_patterns("target", "logs", ".user.yml", "reference")
    shutil.copytree(REPO / "dbt_project", root / "dbt_project", ignore=ignore)
    shutil.copytree(REPO / "pricing_seeds", root / "pricing_seeds", ignore=ignore)
    warehouse = root / "warehouse.duckdb"
    load_landing(warehouse, TINY_LANDING)
    project = root / "dbt_project"
    dbt = DbtCliResource(project_dir=str(project), profiles_dir=str(project), dbt_executable=dbt_executable())
    with warehouse_env_for_dbt(warehouse):
        dbt.cli(BUILD_BILLING, raise_on_error=True).wait()
    with env_patch() as env:
        env.setenv(STATEMENTS_DIR_ENV, str(root / "statements"))
        yield {"warehouse": warehouse, "dbt": dbt, "root": root, "statements": root / "statements"}


def materialize(billing, month: date, close: bool = False) -> dg.MaterializeResult:
    config = {"ops": {STATEMENT_FILES_KEY.to_python_identifier(): {"config": {"close": close}}}}
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [statement_files],
            partition_key=month.isoformat(),
            resources={"dbt": billing["dbt"], "warehouse": WarehouseResource(path=str(billing["warehouse"]))},
            run_config=config,
            instance=instance,
        )
    assert result.success
    (materialization,) = result.asset_materializations_for_node(STATEMENT_FILES_KEY.to_python_identifier())
    return materialization


def files_of(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def november(billing):
    materialization = materialize(billing, NOVEMBER)
    return materialization, billing["statements"] / "2026-11"


def test_one_file_per_format_and_organization_under_the_month(november):
    materialization, directory = november

    assert sorted(files_of(directory)) == [f"{org}.{extension}" for org in ORGS for extension in EXTENSIONS]
    assert materialization.metadata["statements"].value == 2
    assert materialization.metadata["months"].value == "2026-11"
    assert files_of(directory)["org_acme.pdf"].startswith(b"%PDF-")


def test_the_same_data_gives_byte_identical_files(billing, november):
    _, directory = november
    first = files_of(directory)
    shutil.rmtree(directory)

    materialize(billing, NOVEMBER)

    assert files_of(directory) == first


def test_the_html_reads_back_as_the_marts_lines_and_totals(billing, november):
    _, directory = november
    (acme, globex) = read_statements(billing["warehouse"], NOVEMBER)

    for statement, total in ((acme, "199.03"), (globex, "999.03")):
        document = StatementHtml((directory / f"{statement.organization_id}.html").read_text(encoding="utf-8"))
        assert document.total == total == f"{statement.total_usd:.2f}"
        assert document.fields["billing-month"] == "2026-11"
        assert document.fields["statement-hash"] == statement.statement_hash
        assert statement.organization_id in document.fields["organization"]
        assert [(line["line_id"], line["cells"][0], line["cells"][-1]) for line in document.lines] == [
            (line.line_id, str(line.line_number), f"{line.amount_usd:,.2f}") for line in statement.lines
        ]
        # subtotals add up to the total
        assert sum(Decimal(amount.replace(",", "")) for amount in document.subtotals.values()) == Decimal(total)
    acme_document = StatementHtml((directory / "org_acme.html").read_text(encoding="utf-8"))
    assert [line["line_id"] for line in acme_document.lines] == [
        "platform_fee",
        "request_overage",
        "ai_usage/anthropic/claude-sonnet-4-5-20250929",
        "ai_usage/bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
        "ai_usage/openai/gpt-4o-mini-2024-07-18",
        "pending_usage/openai/ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3",
    ]
    assert acme_document.subtotals == {"platform_fee": "199.00", "request_overage": "0.00", "ai_usage": "0.03"}


def test_a_statement_holds_its_own_organization_only(november):
    _, directory = november
    for org in ORGS:
        rows = list(csv.DictReader(io.StringIO((directory / f"{org}.csv").read_text(encoding="utf-8"))))
        other = next(o for o in ORGS if o != org)
        assert rows and {row["organization_id"] for row in rows} == {org}
        assert other not in (directory / f"{org}.html").read_text(encoding="utf-8")
        assert other.encode() not in (directory / f"{org}.pdf").read_bytes()


def test_the_csv_line_items_add_up_to_the_total(billing, november):
    _, directory = november
    for statement in read_statements(billing["warehouse"], NOVEMBER):
        rows = list(csv.DictReader(io.StringIO((directory / f"{statement.organization_id}.csv").read_text())))
        assert [row["amount_usd"] for row in rows] == [f"{line.amount_usd:.2f}" for line in statement.lines]
        assert sum(Decimal(row["amount_usd"]) for row in rows) == statement.total_usd


@pytest.fixture(scope="module")
def closed_then_changed(billing, november, tmp_path_factory):
    """November closed through the asset's config; then a late call and a new fee for acme, marts rebuilt, and
    November's and December's statements written again."""
    _, directory = november
    open_files = files_of(directory)
    materialize(billing, NOVEMBER, close=True)
    closed_files = files_of(directory)

    late = tmp_path_factory.mktemp("late_landing")
    (late / "traces").mkdir()
    (late / "traces" / "late.jsonl").write_text(json.dumps(LATE_CALL) + "\n", encoding="utf-8")
    load_landing(billing["warehouse"], late)
    overrides = billing["root"] / "dbt_project" / "seeds" / "billing" / "rate_card_overrides.csv"
    with overrides.open("a", encoding="utf-8") as seed:
        seed.write(ACME_FEE_OVERRIDE)
    with warehouse_env_for_dbt(billing["warehouse"]):
        billing["dbt"].cli(BUILD_BILLING, raise_on_error=True).wait()

    materialize(billing, NOVEMBER)
    # December has no partition until it starts; its files are written by the same function the asset uses
    december = write_month(billing["warehouse"], DECEMBER, billing["statements"])
    return open_files, closed_files, files_of(directory), december


def test_closing_marks_the_files_closed_with_the_same_lines_and_hash(closed_then_changed, billing):
    open_files, closed_files, _, _ = closed_then_changed
    assert open_files["org_acme.csv"] == closed_files["org_acme.csv"]  # line items as they were
    record = json.loads(closed_files["closed-statements.json"])
    assert sorted(record) == list(ORGS)
    assert sorted(record["org_acme"]["files"]) == [f"org_acme.{extension}" for extension in EXTENSIONS]
    document = StatementHtml(closed_files["org_acme.html"].decode())
    assert document.fields["status"].startswith("Closed")
    assert (
        document.fields["statement-hash"]
        == StatementHtml(open_files["org_acme.html"].decode()).fields["statement-hash"]
    )


def test_a_closed_statement_never_changes_and_late_changes_become_adjustments(closed_then_changed, billing):
    _, closed_files, november_after, december = closed_then_changed

    assert november_after == closed_files
    acme_november = read_statements(billing["warehouse"], NOVEMBER)[0]
    assert (acme_november.status, acme_november.total_usd) == ("closed", Decimal("199.03"))
    assert december.statements == 1
    document = StatementHtml((december.directory / "org_acme.html").read_text(encoding="utf-8"))
    assert [(line["line_id"], line["cells"][-1]) for line in document.lines] == [
        # (0.01455 + 2.5) x 1.2 = 3.01746 -> 3.02, billed 0.02 when closed
        ("adjustment/2026-11/ai_usage/anthropic/claude-sonnet-4-5-20250929", "3.00"),
        ("adjustment/2026-11/platform_fee", "50.00"),  # 249 - 199
    ]
    assert document.total == "53.00"
    assert document.fields["status"].startswith("Open")
    assert "Adjustment to 2026-11" in (december.directory / "org_acme.html").read_text(encoding="utf-8")


def test_the_monthly_schedule_asks_for_the_previous_month(defs):
    schedule = defs.resolve_schedule_def("monthly_statements_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 6, 0, tzinfo=UTC), repository_def=defs.get_repository_def()
    )

    (request,) = schedule.evaluate_tick(context).run_requests

    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 2 * *", "UTC")
    assert (request.partition_key, request.run_key) == ("2026-02-01", "2026-02-01")


def test_the_command_writes_a_month_and_says_where(billing, november, tmp_path, monkeypatch):
    from cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["statements", "write", "--month", "2026-11", "--warehouse", str(billing["warehouse"])])

    assert code == 0, out.getvalue()
    assert f"2026-11  2 statement(s)  {billing['statements'] / '2026-11'}" in out.getvalue()


def test_a_file_half_written_by_a_killed_writer_is_removed_by_the_next(billing, november):
    _, directory = november
    before = files_of(directory)
    (directory / ".org_acme.pdf.k1ll3d.partial").write_bytes(b"%PDF-1.4 cut short")

    write_month(billing["warehouse"], NOVEMBER, billing["statements"])

    assert files_of(directory) == before
