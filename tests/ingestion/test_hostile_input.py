"""Hostile landing input, on DuckDB and PostgreSQL alike.

Each case is a landing directory of ordinary records plus hostile lines or files, the hostile lines carrying a
secret in their prompt. For each case, on each warehouse:

* the load and the window discovery of ``tokenbooks run`` succeed;
* every hostile line is quarantined with its reason (or loaded, where the contract allows it), stored redacted,
  and escaped when its bytes are not UTF-8 text;
* fetched = loaded + duplicates + quarantined, in the results and in ``raw.load_batches``;
* every other record loads exactly as it does without the hostile lines;
* no planted secret appears in any raw table or in the log.

The cases are a hand-checked table, plus files that Hypothesis assembles from the same hostile lines in random
order, with random line endings, byte-order mark and compression.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.lines import (
    GZIP_CORRUPT,
    GZIP_TRUNCATED,
    LINE_TOO_LONG,
    MALFORMED_JSON,
    MAX_LINE_BYTES,
    NOT_A_GZIP_FILE,
    NOT_AN_OBJECT,
    NOT_UTF8,
    NUL_BYTE,
    NUMBER_OUT_OF_RANGE,
    TOO_DEEP,
    UTF16_FILE,
    escape_bytes,
    not_text_file,
)
from ingestion.load import LoadResult, load_landing
from ingestion.sources import LandingSource
from orchestration.windows import landing_event_dates
from warehouse import DuckDBWarehouse, Warehouse, sql_str

DAY = "2026-11-20"
SECRET = "sk-live-hostile0123456789SECRET"
BEARER = "Bearer hostileTOKEN.0123456789abcdef"
PROMPT = f"call the API with {SECRET} and {BEARER}"
# What must never be found in a table or a log (the secrets without their prefixes).
PLANTED = ("hostile0123456789SECRET", "hostileTOKEN.0123456789abcdef")
REDACTED = b"[redacted-secret]"
RAW_TABLES = ("traces", "logs", "organizations")
BASE_LINES = 6  # in every landing besides its cases' files: 2 spans, 3 request logs, 1 organization


def span(span_id: str, **extra: object) -> dict:
    return {
        "span_id": span_id,
        "trace_id": "trc_1",
        "organization_id": "org_a",
        "started_at": f"{DAY}T10:00:00Z",
        "kind": "llm",
        "status": "ok",
        "duration_ms": 900,
        "name": "cafe",
        "llm": {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "usage": {"input_tokens": 100}},
        "payload": {"input": PROMPT, "output": "done"},
        **extra,
    }


def encoded(record: object) -> bytes:
    return json.dumps(record).encode()


@dataclass(frozen=True)
class Line:
    """One line of a landing file: a clean record (``clean``), or a hostile line with the reason it is
    quarantined (None: the contract allows it, and it loads)."""

    data: bytes
    reason: str | None = None
    clean: bool = False

    @property
    def loads(self) -> bool:
        return self.clean or self.reason is None

    @property
    def escaped(self) -> bool:
        return self.reason in (NOT_UTF8, NUL_BYTE)

    def stored(self) -> str:
        """The line as raw.quarantine must hold it: redacted, escaped when its bytes are not UTF-8 text."""
        redacted = self.data.replace(SECRET.encode(), REDACTED).replace(BEARER.encode(), REDACTED)
        return escape_bytes(redacted) if self.escaped else redacted.decode()


def clean(span_id: str) -> Line:
    return Line(encoded(span(span_id, payload=None)), clean=True)


def with_name(span_id: str, name: bytes, **extra: object) -> bytes:
    return encoded(span(span_id, **extra)).replace(b'"name": "cafe"', b'"name": ' + name, 1)


def with_extra(span_id: str, value: bytes) -> bytes:
    """A span with an unknown extra field holding ``value`` as written."""
    return encoded(span(span_id, extra="VALUE")).replace(b'"VALUE"', value)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Hostile lines: a builder per kind, from a unique span id to the line.
HOSTILE: dict[str, Callable[[str], Line]] = {
    "not UTF-8 (Latin-1)": lambda s: Line(with_name(s, b'"caf\xe9"'), NOT_UTF8),
    "not UTF-8 (invalid lead byte)": lambda s: Line(with_name(s, b'"\xff\xfe"'), NOT_UTF8),
    "UTF-8-encoded surrogate": lambda s: Line(with_name(s, b'"\xed\xa0\x80"'), NOT_UTF8),
    "NUL byte": lambda s: Line(with_name(s, b'"ca\x00fe"'), NUL_BYTE),
    "lone surrogate escape": lambda s: Line(with_name(s, b'"\\ud800"'), MALFORMED_JSON),
    "lone low surrogate escape": lambda s: Line(with_name(s, b'"\\udc00x"'), MALFORMED_JSON),
    "raw control character": lambda s: Line(with_name(s, b'"ca\x01fe"'), MALFORMED_JSON),
    "raw tab in a string": lambda s: Line(with_name(s, b'"ca\tfe"'), MALFORMED_JSON),
    "trailing garbage": lambda s: Line(encoded(span(s)) + b" trailing", MALFORMED_JSON),
    "two objects on a line": lambda s: Line(encoded(span(s)) * 2, MALFORMED_JSON),
    "trailing comma": lambda s: Line(encoded(span(s))[:-1] + b", }", MALFORMED_JSON),
    "NaN": lambda s: Line(with_extra(s, b"NaN"), MALFORMED_JSON),
    "byte-order mark inside the file": lambda s: Line(b"\xef\xbb\xbf" + encoded(span(s)), MALFORMED_JSON),
    "JSON array": lambda s: Line(encoded([s, PROMPT]), NOT_AN_OBJECT),
    "JSON string": lambda s: Line(encoded(f"{s}: {PROMPT}"), NOT_AN_OBJECT),
    "JSON number": lambda s: Line(str(int(hashlib.md5(s.encode()).hexdigest()[:12], 16)).encode(), NOT_AN_OBJECT),
    "nested deeper than the limit": lambda s: Line(with_extra(s, nested(70)), TOO_DEEP),
    "number beyond a double": lambda s: Line(encoded(span(s)).replace(b'"duration_ms": 900', b'"duration_ms": 1e400'),
                                             NUMBER_OUT_OF_RANGE),
    "number beyond PostgreSQL's numeric": lambda s: Line(with_extra(s, b"-1e999999"), NUMBER_OUT_OF_RANGE),
    "count beyond int64": lambda s: Line(encoded(span(s, duration_ms=2**63)),
                                         "duration_ms: must be >= 0 and fit a signed 64-bit integer"),
    "integer beyond int64 in an extra field": lambda s: Line(with_extra(s, str(2**70).encode())),
    "duplicate key": lambda s: Line(encoded(span(s))[:-1] + b', "organization_id": "org_b"}', "duplicate key"),
    "duplicate usage key": lambda s: Line(
        encoded(span(s)).replace(b'"input_tokens": 100', b'"input_tokens": 100, "input_tokens": 1'),
        "llm.usage: duplicate key",
    ),
}  # fmt: skip


def hostile(kind: str, span_id: str) -> Line:
    return HOSTILE[kind](span_id)


def write_file(path: Path, lines: list[Line], *, newline: bytes = b"\n", bom: bool = False) -> None:
    data = (b"\xef\xbb\xbf" if bom else b"") + b"".join(line.data + newline for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def base_landing(root: Path) -> None:
    """What every landing has besides its cases' files: clean spans, request logs and an organization."""
    write_file(root / "traces" / "0-clean.jsonl", [clean("c1"), clean("c2")])
    logs = [
        {"id": f"r{n}", "organization_id": "org_a", "timestamp": f"{DAY}T09:00:0{n}Z", "status_code": 200}
        for n in range(3)
    ]
    write_file(root / "logs" / "1.jsonl", [Line(encoded(log), clean=True) for log in logs])
    write_file(root / "organizations" / "1.jsonl", [Line(encoded({"id": "org_a", "updated_at": f"{DAY}T00:00:00Z"}))])


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def note(data: bytes, part: str) -> str:
    return f"[not loaded: {part}; file of {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}]"


@dataclass(frozen=True)
class Case:
    """One hostile file of traces: its bytes, the file that loads the same records without the hostile lines
    (None: nothing of it loads), and what raw.quarantine must hold of it: (reason, line number, stored line,
    escaped), in line order. ``lines`` counts the lines read (fetched); blank ones are not records."""

    suffix: str  # .jsonl or .jsonl.gz
    data: bytes
    reference: bytes | None
    quarantined: tuple[tuple[str, int | None, str, bool], ...]
    lines: int


def lines_case(lines: list[Line], *, endings: list[bytes] | None = None, bom: bool = False, gzipped: bool = False):
    """A case of hostile and clean lines: the reference holds the lines that load, plain."""
    endings = endings or [b"\n"] * len(lines)
    data = (b"\xef\xbb\xbf" if bom else b"") + b"".join(
        line.data + end for line, end in zip(lines, endings, strict=True)
    )
    kept = b"".join(line.data + b"\n" for line in lines if line.loads)
    quarantined = tuple(
        (line.reason, number, line.stored(), line.escaped) for number, line in enumerate(lines, 1) if not line.loads
    )
    return Case(
        ".jsonl.gz" if gzipped else ".jsonl", gz(data) if gzipped else data, gz(kept) if gzipped else kept,
        quarantined, len(lines),
    )  # fmt: skip


def line_cases() -> dict[str, Callable[[str], Case]]:
    """One case per kind of hostile line, between two clean lines; ids start with the case's prefix."""
    return {
        kind: lambda p, kind=kind: lines_case([clean(f"{p}c1"), hostile(kind, f"{p}h1"), clean(f"{p}c2")])
        for kind in HOSTILE
    }


def file_cases() -> dict[str, Callable[[str], Case]]:
    """Cases about whole files: line endings, byte-order marks, sizes, encodings, damaged gzip."""

    def text(p: str) -> list[Line]:
        return [clean(f"{p}c1"), hostile("integer beyond int64 in an extra field", f"{p}h1"), clean(f"{p}c2")]

    def joined(p: str) -> bytes:
        return b"".join(line.data + b"\n" for line in text(p))

    def lone_cr(p: str) -> Case:  # a lone CR inside a line ends it (as DuckDB's reader reads it)
        first, second = (Line(part, MALFORMED_JSON) for part in with_name(f"{p}h2", b'"ca\rfe"').split(b"\r"))
        case = lines_case([*text(p), first, second], endings=[b"\n", b"\n", b"\n", b"\r", b"\n"])
        return Case(case.suffix, case.data, case.reference, case.quarantined, 5)

    def big(p: str) -> Case:  # a valid line loads (its payload truncated); a malformed one is stored whole
        line = encoded(span(f"{p}h3", payload={"input": "lorem ipsum " * 250_000 + PROMPT}))
        return lines_case([Line(line), Line(line + b" trailing", MALFORMED_JSON)])

    def too_long(p: str) -> Case:  # longer than DuckDB's reader takes: a note of its size and hash, not its bytes
        line = encoded(span(f"{p}h5", payload={"input": "lorem ipsum " * (MAX_LINE_BYTES // 12) + PROMPT}))
        case = lines_case([*text(p), Line(line, LINE_TOO_LONG)])
        note = f"[not loaded: a line of {len(line)} bytes, sha256 {hashlib.sha256(line).hexdigest()[:16]}]"
        return Case(case.suffix, case.data, case.reference, ((LINE_TOO_LONG, 4, note, False),), 4)

    def deep(p: str) -> Case:  # beyond DuckDB's read_json (128 levels), Python's json (~1,000), PostgreSQL's stack
        return lines_case([*text(p), Line(with_extra(f"{p}h4", nested(200_000)), TOO_DEEP),
                           Line(nested(1_000_000), TOO_DEEP)])  # fmt: skip

    def refused(data: bytes, reason: str, suffix: str = ".jsonl") -> Case:
        return Case(suffix, data, None, ((reason, None, note(data, "the whole file"), False),), 1)

    def latin1(p: str) -> Case:
        data = b"".join(hostile("not UTF-8 (Latin-1)", f"{p}h{n}").data + b"\n" for n in range(4)) + joined(p)
        return refused(data, not_text_file(4, 7))

    def binary(p: str) -> Case:
        noise = bytes(b for b in range(256) if b not in b"\r\n")  # a NUL and bytes that are not UTF-8
        return refused((noise + b"\n") * 40 + f"{p} {PROMPT}".encode(), not_text_file(40, 41))

    def truncated(p: str) -> Case:
        # A cut member loads nothing (a cut and corrupt data that read on to the end look alike); the complete
        # member before it, checked, loads.
        data = gz(joined(p)) + gz(b"".join(clean(f"{p}g{n}").data + b"\n" for n in range(3000)))[:-5000]
        return Case(
            ".jsonl.gz", data, gz(joined(p)), ((GZIP_TRUNCATED, 4, note(data, "the file from line 4 on"), False),), 4
        )

    def corrupt(p: str) -> Case:
        # One flipped byte in a stored (uncompressed) block: the data still inflates and only the CRC tells (DuckDB's
        # reader checks none: it would load the garbled lines). Nothing of the damaged member loads; the complete,
        # checked member before it does. (Corrupt compressed data may instead read on to the end of the file, which
        # looks like a cut: see the truncated case.)
        lines = b"".join(clean(f"{p}g{n}").data + b"\n" for n in range(3000))
        damaged = bytearray(gzip.compress(lines, compresslevel=0, mtime=0))
        damaged[len(damaged) // 2] ^= 0xFF
        data = gz(joined(p)) + bytes(damaged)
        reason = f"{GZIP_CORRUPT} (Error -3 while decompressing data: incorrect data check)"
        return Case(".jsonl.gz", data, gz(joined(p)), ((reason, 4, note(data, "the file from line 4 on"), False),), 4)

    crlf = [b"\r\n"] * 3
    return {
        "CRLF line endings": lambda p: lines_case(text(p), endings=crlf),
        "mixed line endings": lambda p: lines_case(text(p), endings=[b"\r\n", b"\n", b"\n"]),  # DuckDB refuses
        "byte-order mark at the start": lambda p: lines_case(text(p), bom=True),
        "byte-order mark and CRLF, gzipped": lambda p: lines_case(text(p), endings=crlf, bom=True, gzipped=True),
        "lone CR inside a line": lone_cr,
        "lines of several megabytes": big,
        "a line longer than DuckDB reads": too_long,
        "nesting beyond every parser": deep,
        "UTF-16 file": lambda p: refused(joined(p).decode().encode("utf-16"), UTF16_FILE),
        "mostly not UTF-8 text": latin1,
        "binary file": binary,
        "not gzip": lambda p: refused(joined(p), NOT_A_GZIP_FILE, ".jsonl.gz"),
        "empty gzip file": lambda p: Case(".jsonl.gz", b"", None, (), 0),
        "truncated gzip file": truncated,
        "corrupt gzip member": corrupt,
    }  # fmt: skip


# --- loading a landing of cases on a warehouse ----------------------------------------------------------------

WAREHOUSES = ["duckdb", "postgres"]
_numbers = itertools.count()


def new_warehouse(kind: str, request: pytest.FixtureRequest, folder: Path) -> Warehouse:
    if kind == "duckdb":
        return DuckDBWarehouse(folder / f"{next(_numbers)}.duckdb")
    return request.getfixturevalue("postgres_server").new_database().warehouse()


def rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.session(read_only=True) as session:
        return session.fetchall(sql)


@dataclass
class Run:
    """A landing of cases (``traces/case-NN<suffix>`` each) loaded on a warehouse, next to the same landing
    with each case's reference file instead, loaded on another. ``log`` is everything logged meanwhile."""

    landing: Path
    cases: dict[str, Case]
    warehouse: Warehouse
    reference: Warehouse
    results: list[LoadResult]
    again: list[LoadResult]
    days: tuple[date, date] | None
    log: str

    def path(self, case: str) -> str:
        number = list(self.cases).index(case)
        return str(self.landing / "traces" / f"case-{number:02d}{self.cases[case].suffix}")

    def raw_rows(self, warehouse: Warehouse, table: str, source: str | None = None) -> list[tuple]:
        """A raw table's rows (of one file) in delivery order, without when and in which batch they were written."""
        columns = [
            name
            for (name,) in rows(
                warehouse,
                "select column_name from information_schema.columns where table_schema = 'raw' "
                f"and table_name = '{table}' order by ordinal_position",
            )
            if name not in ("_batch_id", "_loaded_at", "_delivery_seq")
        ]
        where = f"where _source = {sql_str(source)}" if source else ""
        select = ", ".join(f'"{column}"' for column in columns)
        return rows(warehouse, f"select {select} from raw.{table} {where} order by _delivery_seq")


def load_cases(kind: str, request: pytest.FixtureRequest, folder: Path, cases: dict[str, Case]) -> Run:
    landing = folder / "landing"
    base_landing(landing)

    def place(reference: bool) -> None:
        for number, case in enumerate(cases.values()):
            path = landing / "traces" / f"case-{number:02d}{case.suffix}"
            path.unlink(missing_ok=True)
            data = case.reference if reference else case.data
            if data is not None:
                path.write_bytes(data)

    place(reference=True)
    reference = new_warehouse(kind, request, folder)
    load_landing(reference, landing)
    place(reference=False)
    handler = _Collect()
    logging.getLogger().addHandler(handler)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        warehouse = new_warehouse(kind, request, folder)
        results = load_landing(warehouse, landing)
        again = load_landing(warehouse, landing)
        days = landing_event_dates(LandingSource(landing))
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    return Run(landing, cases, warehouse, reference, results, again, days, "\n".join(handler.messages))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


def check_case(run: Run, name: str) -> None:
    """Everything the module docstring promises of one case."""
    case, path = run.cases[name], run.path(name)
    quarantined = rows(
        run.warehouse,
        "select reason, line_number, raw_line, raw_line_escaped, _line_hash = md5(raw_line) from raw.quarantine "
        f"where _source = {sql_str(path)} order by line_number",
    )
    assert quarantined == [(*row, True) for row in case.quarantined]
    # every other record of the file loads exactly as without the hostile lines
    loaded = run.raw_rows(run.warehouse, "traces", path)
    assert loaded == run.raw_rows(run.reference, "traces", path)
    # fetched = loaded + duplicates (none within a case) + quarantined
    assert rows(run.warehouse, f"select lines from raw.landing_files where path = {sql_str(path)}") == [(case.lines,)]
    assert case.lines == len(loaded) + len(quarantined)


def check_run(run: Run) -> None:
    """What holds for the whole landing: the run succeeds and reconciles, reloading adds nothing, every raw
    table other than the cases' holds what it holds without them, and no secret is stored or logged."""
    assert run.days == (date(2026, 11, 20), date(2026, 11, 20))
    assert all(r.reconciles for r in run.results + run.again), [r.as_dict() for r in run.results + run.again]
    (balance,) = rows(
        run.warehouse, "select sum(fetched) - sum(loaded) - sum(duplicates) - sum(quarantined) from raw.load_batches"
    )[0]
    assert balance == 0
    fetched = BASE_LINES + sum(case.lines for case in run.cases.values())
    quarantined = sum(len(case.quarantined) for case in run.cases.values())
    assert (sum(r.fetched for r in run.results), sum(r.quarantined for r in run.results)) == (fetched, quarantined)
    # loaded again: nothing new (a snapshot file already read is not read again)
    assert (sum(r.loaded for r in run.again), sum(r.quarantined for r in run.again)) == (0, quarantined)
    for table in RAW_TABLES:
        assert run.raw_rows(run.warehouse, table) == run.raw_rows(run.reference, table), table
    tables = [t for (t,) in rows(run.warehouse, "select table_name from information_schema.tables "
                                                "where table_schema = 'raw'")]  # fmt: skip
    stored = repr({table: rows(run.warehouse, f"select * from raw.{table}") for table in tables})
    for secret in PLANTED:
        assert secret not in stored
        assert secret not in run.log


# --- the table of cases ---------------------------------------------------------------------------------------

TABLE = {**line_cases(), **file_cases()}


@pytest.fixture(scope="module", params=WAREHOUSES)
def table_run(request, tmp_path_factory) -> Run:
    """Every case of the table in one landing, loaded once per warehouse."""
    cases = {name: build(f"t{number}") for number, (name, build) in enumerate(TABLE.items())}
    return load_cases(request.param, request, tmp_path_factory.mktemp("hostile"), cases)


def test_the_landing_of_every_hostile_case_loads_reconciles_and_keeps_no_secret(table_run):
    check_run(table_run)


@pytest.mark.parametrize("case", list(TABLE))
def test_hostile_case(table_run, case):
    check_case(table_run, case)


# --- generated cases ------------------------------------------------------------------------------------------


@st.composite
def generated_case(draw, prefix: str) -> Case:
    """Clean and hostile lines in any order, with any line endings (mixed within a file), a byte-order mark or
    not, gzipped or not. There are more clean lines than hostile ones, so the file reads as UTF-8 text."""
    kinds = draw(st.lists(st.sampled_from(list(HOSTILE)), min_size=1, max_size=5))
    lines = [hostile(kind, f"{prefix}h{n}") for n, kind in enumerate(kinds)]
    lines = draw(st.permutations([*lines, *(clean(f"{prefix}c{n}") for n in range(len(lines)))]))
    # a clean first line: a byte-order mark opening the first line is the file's, not a hostile line's
    lines = [clean(f"{prefix}c"), *lines]
    endings = [draw(st.sampled_from([b"\n", b"\r\n"])) for _ in lines]
    return lines_case(lines, endings=endings, bom=draw(st.booleans()), gzipped=draw(st.booleans()))


@st.composite
def generated_landing(draw) -> dict[str, Case]:
    return {f"generated {n}": draw(generated_case(f"g{n}")) for n in range(draw(st.integers(2, 6)))}


@pytest.mark.parametrize("kind", WAREHOUSES)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=generated_landing())
def test_generated_hostile_files(cases, kind, request):
    with tempfile.TemporaryDirectory() as folder:
        run = load_cases(kind, request, Path(folder), cases)
        check_run(run)
        for name in cases:
            check_case(run, name)


# --- through Dagster ------------------------------------------------------------------------------------------


def test_no_secret_reaches_the_dagster_event_log_or_the_console(tmp_path, capfd):
    from orchestration.assets.ingestion import ingestion_assets
    from orchestration.resources import PlatformSourceResource, WarehouseResource

    landing = tmp_path / "landing"
    base_landing(landing)
    names = [*line_cases(), "UTF-16 file", "truncated gzip file", "lone CR inside a line"]
    cases = [TABLE[name](f"d{n}") for n, name in enumerate(names)]
    for number, case in enumerate(cases):
        (landing / "traces" / f"case-{number:02d}{case.suffix}").write_bytes(case.data)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            ingestion_assets,
            partition_key=DAY,
            instance=instance,
            resources={
                "warehouse": WarehouseResource(type="duckdb", path=str(tmp_path / "w.duckdb")),
                "platform": PlatformSourceResource(landing_dir=str(landing)),
            },
        )
        events = repr(instance.all_logs(result.run_id))
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 6 and all(evaluation.passed for evaluation in evaluations)
    printed = "".join(capfd.readouterr())
    stored = repr(rows(DuckDBWarehouse(tmp_path / "w.duckdb"), "select * from raw.quarantine"))
    assert "[redacted-secret]" in stored
    for secret in PLANTED:
        assert secret not in events
        assert secret not in printed
        assert secret not in stored
