"""A statement as CSV (its line items), HTML and PDF. Pure functions of the statement: the same statement
always gives the same bytes (no clock, no randomness, reportlab's invariant mode)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import jinja2
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.statements.reading import Statement, StatementLine

CSV_COLUMNS = (
    "billing_month",
    "organization_id",
    "line_number",
    "line_type",
    "description",
    "quantity",
    "unit",
    "unit_price_usd",
    "amount_usd",
    "reference_month",
    "provider",
    "model",
    "requests",
    "calls",
    "tokens",
)
CENT = Decimal("0.01")
SUBTOTALS = (
    ("platform_fee", "Platform fee", "platform_fee_usd"),
    ("request_overage", "Request overage", "request_overage_usd"),
    ("ai_usage", "AI usage", "ai_usage_usd"),
    ("adjustment", "Adjustments to closed months", "adjustments_usd"),
)
STATUS_NOTES = {
    "open": "Open: a draft. Amounts follow the data until the month is closed.",
    "closed": "Closed: final. Later changes to this month appear as adjustments on a later statement.",
}
ROUNDING_NOTE = (
    "Each line is rounded to the cent (half to even); the total is the sum of the rounded lines. AI usage is "
    "billed at provider cost times the unit price (1 + the markup of the rate card)."
)
TEMPLATE_NAME = "statement.html.j2"


def month_label(statement: Statement) -> str:
    return statement.billing_month.strftime("%Y-%m")


def usd(amount: Decimal) -> str:
    """Whole cents, with thousands separators: 1,234.50 (amounts are cents already; never rounded here)."""
    cents = amount.quantize(CENT)
    if cents != amount:
        raise ValueError(f"statement amount {amount} is not whole cents: the marts round, this never does")
    return f"{cents:,.2f}"


def plain_number(value: Decimal | None) -> str:
    """A decimal without trailing zeros or exponent: 0.01455, 1, 0.001."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def usage_text(line: StatementLine) -> str:
    """What a line counts, for a reader: '6 requests', '3 calls, 1,234 tokens'."""
    if line.requests is not None:
        return counted(line.requests, "request")
    if line.calls is not None:
        return f"{counted(line.calls, 'call')}, {counted(line.tokens or 0, 'token')}"
    return ""


@dataclass(frozen=True)
class DisplayLine:
    line_number: int
    line_id: str
    line_type: str
    description: str
    usage: str
    quantity: str
    unit: str
    unit_price: str
    amount: str


def display_lines(statement: Statement) -> list[DisplayLine]:
    return [
        DisplayLine(
            line.line_number,
            line.line_id,
            line.line_type,
            line.description,
            usage_text(line),
            plain_number(line.quantity),
            line.unit,
            plain_number(line.unit_price_usd),
            usd(line.amount_usd),
        )
        for line in statement.lines
    ]


def subtotals(statement: Statement) -> list[tuple[str, str, str]]:
    """(line type, label, amount) of each subtotal present on the statement."""
    present = {line.line_type for line in statement.lines}
    return [
        (line_type, label, usd(getattr(statement, column)))
        for line_type, label, column in SUBTOTALS
        if line_type in present
    ]


def pending_note(statement: Statement) -> str:
    if not statement.pending_calls:
        return ""
    return (
        f"Not yet billed: {counted(statement.pending_calls, 'call')} "
        f"({counted(statement.pending_tokens, 'token')}) of models "
        "without a price yet. They are billed once priced: on this statement while it is open, else as an "
        "adjustment on a later one."
    )


def statement_csv(statement: Statement) -> bytes:
    """The line items, one CSV row each, as the mart holds them (amounts in whole cents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in statement.lines:
        writer.writerow(
            [
                statement.billing_month.isoformat(),
                statement.organization_id,
                line.line_number,
                line.line_type,
                line.description,
                plain_number(line.quantity),
                line.unit,
                plain_number(line.unit_price_usd),
                f"{line.amount_usd.quantize(CENT)}",
                line.reference_month.isoformat() if line.reference_month else "",
                line.provider or "",
                line.model or "",
                "" if line.requests is None else line.requests,
                "" if line.calls is None else line.calls,
                "" if line.tokens is None else line.tokens,
            ]
        )
    return out.getvalue().encode("utf-8")


_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def statement_html(statement: Statement) -> bytes:
    """A readable, self-contained HTML document (every value escaped)."""
    html = _templates.get_template(TEMPLATE_NAME).render(
        statement=statement,
        month=month_label(statement),
        lines=display_lines(statement),
        subtotals=subtotals(statement),
        total=usd(statement.total_usd),
        status_note=STATUS_NOTES[statement.status],
        pending_note=pending_note(statement),
        rounding_note=ROUNDING_NOTE,
    )
    return html.encode("utf-8")


def statement_pdf(statement: Statement) -> bytes:
    """The same document as the HTML, as an A4 PDF; byte-identical for the same statement."""
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)

    def text(value: str, style=body) -> Paragraph:
        return Paragraph(escape(value), style)

    name = statement.organization_name or statement.organization_id
    story = [
        Paragraph(escape(f"Billing statement {month_label(statement)}"), styles["Title"]),
        Table(
            [
                ["Organization", text(f"{name} ({statement.organization_id})")],
                ["Month", month_label(statement)],
                ["Plan", text(statement.plan or "")],
                ["Status", text(STATUS_NOTES[statement.status])],
                ["Statement", statement.statement_hash],
            ],
            colWidths=[30 * mm, 140 * mm],
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]),
        ),
        Spacer(1, 6 * mm),
    ]
    header = ["#", "Description", "Usage", "Quantity", "Unit", "Unit price", "Amount (USD)"]
    rows = [header] + [
        [
            str(line.line_number),
            text(line.description, small),
            text(line.usage, small),
            line.quantity,
            text(line.unit, small),
            line.unit_price,
            line.amount,
        ]
        for line in display_lines(statement)
    ]
    rows += [["", label, "", "", "", "", amount] for _, label, amount in subtotals(statement)]
    rows.append(["", "Total due (USD)", "", "", "", "", usd(statement.total_usd)])
    totals_start = len(rows) - len(subtotals(statement)) - 1
    story.append(
        Table(
            rows,
            colWidths=[8 * mm, 55 * mm, 27 * mm, 20 * mm, 28 * mm, 16 * mm, 24 * mm],
            repeatRows=1,
            style=TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                    ("LINEABOVE", (0, totals_start), (-1, totals_start), 0.5, colors.black),
                    ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                    ("ALIGN", (3, 0), (3, -1), "RIGHT"),
                    ("ALIGN", (5, 0), (-1, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            ),
        )
    )
    story += [Spacer(1, 6 * mm)] + [text(note, small) for note in (pending_note(statement), ROUNDING_NOTE) if note]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        invariant=1,  # no creation date or random document id: the same statement, the same bytes
        title=f"Billing statement {month_label(statement)} {statement.organization_id}",
        author="tokenbooks",
        creator="tokenbooks",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
    ).build(story)
    return out.getvalue()


RENDERERS = {"csv": statement_csv, "html": statement_html, "pdf": statement_pdf}
