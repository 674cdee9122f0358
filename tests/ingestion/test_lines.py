"""Reading delivered lines whatever their bytes (``ingestion.lines``): escapes, clean copies, JSON text checks."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.lines import (
    BLOCK_BYTES,
    GZIP_CORRUPT,
    GZIP_TRAILING_BYTES,
    GZIP_TRUNCATED,
    LINE_TOO_LONG,
    MALFORMED_JSON,
    MAX_JSON_DEPTH,
    MAX_LINE_BYTES,
    MAX_NUMBER_CHARS,
    NOT_A_GZIP_FILE,
    NOT_UTF8,
    NUL_BYTE,
    NUMBER_OUT_OF_RANGE,
    TOO_DEEP,
    UTF16_FILE,
    Fault,
    LineReader,
    clean_copy,
    escape_bytes,
    json_problem_sql,
    not_text_file,
    read_lines_sql,
    unescape,
)
from warehouse.redaction import safe_message


def test_escaped_bytes_read_as_text_and_come_back_exactly():
    assert escape_bytes(b'{"name": "caf\xe9"}') == '{"name": "caf\\xe9"}'
    assert escape_bytes(b"a\\xe9\x00\r\n\xff\xfe") == "a\\\\xe9\\x00\\x0d\\x0a\\xff\\xfe"
    assert escape_bytes("naïve ✓".encode()) == "naïve ✓"  # UTF-8 stays readable
    assert unescape("a\\\\xe9\\x00\\x0d\\x0a\\xff\\xfe") == b"a\\xe9\x00\r\n\xff\xfe"


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_survive_escaping(data):
    text = escape_bytes(data)
    assert unescape(text) == data
    assert not re.search("[\x00\r\n]", text)


def lines_of(con: duckdb.DuckDBPyConnection, path) -> list[str | None]:
    return [line for (line,) in con.execute(f"select line from {read_lines_sql([str(path)])}").fetchall()]


def note(data: bytes, part: str) -> str:
    return f"[not loaded: {part}; file of {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}]"


@pytest.mark.parametrize(
    ("name", "data", "lines", "faults"),
    [
        (
            "line endings.jsonl",  # LF, CRLF and a lone CR mixed (DuckDB's reader refuses the mix)
            b'{"a":1}\r\n{"b":2}\n\r\n{"c":3}\r{"d":4}',
            ['{"a":1}', '{"b":2}', None, '{"c":3}', '{"d":4}'],
            [],
        ),
        (
            "bad bytes.jsonl",
            b'{"a":1}\n{"b":"caf\xe9"}\n{"c":"x\x00y"}\n{"d":4}\n',
            ['{"a":1}', '{"b":"caf\\xe9"}', '{"c":"x\\x00y"}', '{"d":4}'],
            [(2, NOT_UTF8, True), (3, NUL_BYTE, True)],
        ),
        (
            "byte-order marks.jsonl",  # dropped at the start of the file only, as DuckDB's reader does
            b'\xef\xbb\xbf{"a":1}\n\xef\xbb\xbf{"b":2}\n{"c":"\xc3"}\n',
            ['{"a":1}', '\ufeff{"b":2}', '{"c":"\\xc3"}'],
            [(3, NOT_UTF8, True)],
        ),
        ("utf16.jsonl", '{"a":1}\n'.encode("utf-16"), ["the whole file"], [(None, UTF16_FILE, False)]),
        (
            "mostly not text.jsonl",  # e.g. Latin-1: more than half of the lines are not UTF-8
            b'{"a":"\xe9"}\n{"b":2}\n{"c":"\xe8"}\n',
            ["the whole file"],
            [(None, not_text_file(2, 3), False)],
        ),
        ("empty.jsonl.gz", b"", [], []),
        ("not gzip.jsonl.gz", b'{"a":1}\n', ["the whole file"], [(None, NOT_A_GZIP_FILE, False)]),
        (
            "members.jsonl.gz",  # a line may run across members; bytes after the last one are not gzip
            gzip.compress(b'{"a":1}\n{"b":', mtime=0) + gzip.compress(b"2}\n", mtime=0) + b"junk",
            ['{"a":1}', '{"b":2}', "the file from line 3 on"],
            [(3, GZIP_TRAILING_BYTES, False)],
        ),
    ],
)
def test_clean_copies_keep_every_line_in_its_place(tmp_path, name, data, lines, faults):
    (tmp_path / name).write_bytes(data)
    found = clean_copy(tmp_path / name, tmp_path / "copy.jsonl")
    assert found == [Fault(str(tmp_path / name), number, reason, escaped) for number, reason, escaped in faults]
    notes = {part: note(data, part) for part in ("the whole file", "the file from line 3 on")}
    assert lines_of(duckdb.connect(), tmp_path / "copy.jsonl") == [notes.get(line, line) for line in lines]


def test_a_truncated_gzip_file_keeps_only_its_complete_members(tmp_path):
    first = gzip.compress(b'{"n":0}\n{"n":1}\n', mtime=0)
    second = gzip.compress(b"".join(b'{"n":%d}\n' % n for n in range(2, 20000)), mtime=0)
    data = first + second[: len(second) // 2]
    (tmp_path / "cut.jsonl.gz").write_bytes(data)
    faults = clean_copy(tmp_path / "cut.jsonl.gz", tmp_path / "copy.jsonl")
    # the lines of the cut member cannot be checked (a cut and corrupt data that read on look alike): none is kept
    assert lines_of(duckdb.connect(), tmp_path / "copy.jsonl") == [
        '{"n":0}',
        '{"n":1}',
        note(data, "the file from line 3 on"),
    ]
    assert faults == [Fault(str(tmp_path / "cut.jsonl.gz"), 3, GZIP_TRUNCATED)]


def test_corrupt_gzip_data_loads_nothing_of_the_damaged_member(tmp_path):
    # a stored (uncompressed) block with one flipped byte still decompresses: only the CRC tells
    damaged = bytearray(gzip.compress(b"".join(b'{"n":%d}\n' % n for n in range(100)), compresslevel=0, mtime=0))
    damaged[200] ^= 1
    data = gzip.compress(b'{"first":1}\n{"second":', mtime=0) + bytes(damaged)
    (tmp_path / "bad.jsonl.gz").write_bytes(data)
    faults = clean_copy(tmp_path / "bad.jsonl.gz", tmp_path / "copy.jsonl")
    # the first member is complete and checked; from the line running into the damaged member on, nothing loads
    assert lines_of(duckdb.connect(), tmp_path / "copy.jsonl") == ['{"first":1}', note(data, "the file from line 2 on")]
    assert faults == [
        Fault(
            str(tmp_path / "bad.jsonl.gz"),
            2,
            f"{GZIP_CORRUPT} (Error -3 while decompressing data: incorrect data check)",
        )
    ]


def test_line_ends_straddling_blocks_and_lines_too_long_to_read(tmp_path):
    long = b"x" * MAX_LINE_BYTES
    # a CRLF split between two blocks of the byte-level reader is one line end
    data = b'{"a":1}\n' + b"y" * (BLOCK_BYTES - 9) + b"\r\n" + long + b"\n\xff\n"
    (tmp_path / "long.jsonl").write_bytes(data)
    faults = clean_copy(tmp_path / "long.jsonl", tmp_path / "copy.jsonl")
    digest = hashlib.sha256(long).hexdigest()[:16]
    assert lines_of(duckdb.connect(), tmp_path / "copy.jsonl") == [
        '{"a":1}',
        "y" * (BLOCK_BYTES - 9),
        f"[not loaded: a line of {MAX_LINE_BYTES} bytes, sha256 {digest}]",
        "\\xff",
    ]
    path = str(tmp_path / "long.jsonl")
    assert faults == [Fault(path, 3, LINE_TOO_LONG), Fault(path, 4, NOT_UTF8, escaped=True)]


def test_the_reader_uses_duckdb_and_copies_only_the_files_it_refuses(tmp_path, caplog):
    good, bad = tmp_path / "1.jsonl", tmp_path / "2.jsonl.gz"
    good.write_bytes(b'{"a":1}\n{"b":2}\n')
    bad.write_bytes(gzip.compress(b'{"c":3}\n{"d":"\xff"}\n'))
    con = duckdb.connect()
    with LineReader(con, label="traces") as reader:
        rows = reader.run([good, bad], lambda lines: con.execute(f"select * from {lines}").fetchall())
        assert reader.faults == [Fault(str(bad), 2, NOT_UTF8, escaped=True)]
    assert rows == [(str(good), '{"a":1}'), (str(good), '{"b":2}'), (str(bad), '{"c":3}'), (str(bad), '{"d":"\\xff"}')]
    assert caplog.messages == [f"traces: {bad}: DuckDB cannot read it as UTF-8 lines; reading it byte by byte"]


def strict_problem(line: str) -> str | None:
    """The reference for ``json_problem_sql``: Python's parser, made strict, on a line DuckDB's parser accepts."""

    def constant(name: str) -> None:
        raise ValueError(name)

    out_of_range = []

    def number(text: str) -> float:
        value = float(text)
        exponent = re.search(r"[eE][+-]?0*(\d+)", text)
        if math.isinf(value) or len(text) > MAX_NUMBER_CHARS or (exponent and len(exponent.group(1)) > 3):
            out_of_range.append(text)
        return value

    try:
        value = json.loads(line, parse_constant=constant, parse_float=number, parse_int=number)
    except RecursionError:
        return TOO_DEEP
    except ValueError:
        return MALFORMED_JSON

    def depth(node: object) -> int:
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        return 1 + max(map(depth, children), default=0) if isinstance(node, dict | list) else 0

    if depth(value) > MAX_JSON_DEPTH:
        return TOO_DEEP
    return NUMBER_OUT_OF_RANGE if out_of_range else None


ODD_VALUES = st.sampled_from(
    [
        "NaN", "-Infinity", "Infinity", "nan", "inf", "1e400", "-1e309", "1e308", "1e-999", "1e-1000", "0e-1000",
        "1" * 99, "1" * 309, "1" + "0" * 1000, "0." + "1" * 1001, "2.5e-3", "-0", "12345678901234567890",
        '"NaN, inf, Infinity"', '"e1234 and ,]"', '"[[[[{{{{"', "true", "null", "[1, 2, ]", "{\"k\": 1, }",
    ]
)  # fmt: skip


@st.composite
def suspicious_json(draw) -> str:
    """JSON text with odd values at odd depths, the way DuckDB's lenient parser still accepts it."""
    value = draw(ODD_VALUES)
    for _ in range(draw(st.sampled_from([0, 1, 2, MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, 90]))):
        value = draw(st.sampled_from(["[{}]", '{{"k": {}}}', "[1, {}]", '{{"a": "]", "b": {}}}'])).format(value)
    return '{"id": "x", "v": ' + value + "}"


_con = duckdb.connect()


@settings(max_examples=200, deadline=None)
@given(suspicious_json())
def test_the_sql_json_checks_agree_with_a_strict_parser(line):
    (valid, problem) = _con.execute(
        f"select json_valid(line), {json_problem_sql('line')} from (select ? as line)", [line]
    ).fetchone()
    assert valid
    assert problem == strict_problem(line), line


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"a": NaN}', MALFORMED_JSON),
        ('{"a": [1, 2, ]}', MALFORMED_JSON),
        ('{"a": "NaN: not a literal, ]"}', None),
        ('{"a": 1e400}', NUMBER_OUT_OF_RANGE),
        ('{"a": 1e308, "b": 12345678901234567890123}', None),
        ('{"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}", TOO_DEEP),
        ('{"a": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}", None),
        ("[" * 200_000 + "]" * 200_000, TOO_DEEP),  # beyond DuckDB's read_json, Python and PostgreSQL
    ],
)
def test_json_problems(line, problem):
    assert _con.execute(f"select {json_problem_sql('line')} from (select ? as line)", [line]).fetchone() == (problem,)


def test_safe_messages_quote_no_data():
    secret = "sk-live-0123456789abcdefSECRET"
    with pytest.raises(duckdb.Error) as raised:
        _con.execute("select json(?)", [f'{{"prompt": "{secret}"}} trailing'])
    assert secret in str(raised.value)
    assert safe_message(raised.value) == (
        "Invalid Input Error: Malformed JSON at byte 45 of input: unexpected content after document."
    )
    assert safe_message(ValueError(f"the key {secret} was refused")) == "the key [redacted-secret] was refused"
