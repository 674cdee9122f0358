"""Delivered lines: landing files read as text lines whatever their bytes, and the checks on a line's JSON text.

Every reader of landing files goes through here (the loader, and the window discovery of ``tokenbooks run``),
so a hostile line is a bad record to all of them and never stops a scan.

**Reading.** DuckDB's CSV reader splits files into lines fast (all cores, gzip included), but it refuses a whole
file for one line that is not UTF-8, a NUL byte, line endings mixed within a file, or a damaged gzip stream.
It also checks no gzip CRC, so corrupt data that still inflates would read as wrong lines. ``LineReader`` runs
the caller's query over DuckDB's reader first; only when it fails, each file DuckDB cannot read on its own is
read again here, byte by byte, into a clean copy that DuckDB reads instead, with the same lines in the same
places (lines end at LF, CRLF or a lone CR, as DuckDB's reader reads them; a UTF-8 byte-order mark at the
start of a file is dropped, as DuckDB drops it). Every ``.gz`` file is decompressed here first as well (in
parallel, CRCs checked, no line looked at), and a damaged one is read from a clean copy. The faults of clean
copies, quarantined by the loader:

* a line that is not valid UTF-8 (``not valid UTF-8``) or holds a NUL byte (``contains a NUL byte``) is replaced
  by its escaped bytes (``escape_bytes``: each byte that is not UTF-8, NUL, CR and LF as ``\\xNN``, each backslash
  doubled; ``unescape`` gives the bytes back);
* a file most of whose lines are not UTF-8 text (UTF-16, binary), or that starts with a UTF-16 or UTF-32
  byte-order mark, is refused as a whole: one fault;
* a ``.gz`` file is decompressed member by member, each member's CRC checked. The lines of complete, checked
  members are kept; from a damaged member on (corrupt data, a CRC that does not match, or a member that stops
  before its end: a truncated file, or corrupt data that read on to the end, which cannot be told apart)
  nothing is kept, and the rest of the file is one fault. Trailing bytes that are not gzip are one fault; a
  file that is not gzip at all is refused.

A fault that is a file or the rest of one is a line saying so (``file_note``: where, the file's size and the
start of its SHA-256), never the bytes: they need not be text, and redaction could not vouch for them.

**JSON text.** DuckDB's JSON parser is lenient where other readers are not: it accepts ``NaN`` and ``Infinity``,
trailing commas, numbers no double or PostgreSQL ``numeric`` can hold, and any depth (DuckDB's own
``read_json`` stops at 128 levels, Python's ``json`` near 1,000, a PostgreSQL ``jsonb`` at its stack limit).
``json_problem_sql`` refuses such text so that every warehouse and reader sees the same records. It costs one
cheap scan per line: the exact check (strings blanked out, then the tokens and the nesting read) runs only on
the rare lines that scan flags.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import duckdb

from warehouse import sql_str
from warehouse.redaction import safe_message

log = logging.getLogger(__name__)

T = TypeVar("T")

# Reasons a line (or a file, or part of one) is refused; they never quote the data.
NOT_UTF8 = "not valid UTF-8"
NUL_BYTE = "contains a NUL byte"
MALFORMED_JSON = "malformed JSON"
NOT_AN_OBJECT = "not a JSON object"
MAX_JSON_DEPTH = 64
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
# A number must fit a double (finite); its exponent must stay within +-999 and its literal within 1,000
# characters, so that PostgreSQL's numeric (jsonb) holds it too.
MAX_NUMBER_EXPONENT_DIGITS = 3
MAX_NUMBER_CHARS = 1000
NUMBER_OUT_OF_RANGE = "number out of range (beyond a double)"
NOT_A_GZIP_FILE = "not a gzip file (the file name ends in .gz)"
GZIP_TRUNCATED = "gzip file truncated (or corrupt): its last member does not end, nothing of it is loaded"
GZIP_CORRUPT = "corrupt gzip data: nothing of the damaged gzip member is loaded"
GZIP_TRAILING_BYTES = "bytes after the last gzip member are not gzip data"
UTF16_FILE = "not a UTF-8 text file: it starts with a UTF-16 or UTF-32 byte-order mark"
# The longest line DuckDB's reader takes (it sizes its read buffer from this: left to itself at 16 times the
# line size, so 16 GiB for a 1 GiB line, which it cannot allocate for a gzip file under a memory limit).
MAX_LINE_BYTES = 16 * 1024 * 1024
LINE_SLACK_BYTES = 1024  # a clean copy notes lines from this much below the limit: DuckDB never refuses one
LINE_TOO_LONG = f"line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"


def not_text_file(bad: int, lines: int) -> str:
    return f"not a UTF-8 text file: {bad} of its {lines} lines are not UTF-8 text"


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 1 << 20
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2})")


def escape_bytes(data: bytes) -> str:
    """Text for bytes that are not all UTF-8 text: UTF-8 kept, every other byte and NUL, CR and LF written as
    ``\\xNN``, every backslash doubled, so the bytes come back exactly (``unescape``)."""
    # 0x5C never occurs inside a multi-byte UTF-8 sequence: doubling it first cannot break one
    text = data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return text.replace("\x00", "\\x00").replace("\r", "\\x0d").replace("\n", "\\x0a")


def unescape(text: str) -> bytes:
    """The bytes an ``escape_bytes`` text stands for."""
    out = bytearray()
    position = 0
    for match in _ESCAPED.finditer(text):
        out += text[position : match.start()].encode()
        token = match.group(1)
        out += b"\\" if token == "\\" else bytes([int(token[1:], 16)])
        position = match.end()
    out += text[position:].encode()
    return bytes(out)


class LineReadError(RuntimeError):
    """Reading landing files failed for a reason other than their bytes; the message quotes no data."""


@dataclass(frozen=True)
class Fault:
    """A line of a clean copy that stands for bytes DuckDB could not read: quarantined with ``reason``.

    A line that is not UTF-8 or holds a NUL byte is there as its escaped bytes (``escaped``); a file, or the
    rest of one, that is not loaded as its ``file_note``. ``line_number`` is None when it is the whole file.
    """

    path: str
    line_number: int | None
    reason: str
    escaped: bool = False


class _GzipDamage(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _gunzip(file: BinaryIO) -> Iterator[bytes | None]:
    """The decompressed bytes of each gzip member, then None once the member is complete and its CRC checked.
    Raises ``_GzipDamage`` at the first damage. An empty file holds no member."""
    data = file.read(BLOCK_BYTES)
    if not data:
        return
    if not data.startswith(GZIP_MAGIC):
        raise _GzipDamage(NOT_A_GZIP_FILE)
    decoder = zlib.decompressobj(wbits=31)
    while True:
        try:
            # bounded output: a small compressed block may expand enormously
            out = decoder.decompress(data, BLOCK_BYTES)
            data = decoder.unconsumed_tail
        except zlib.error as error:  # invalid deflate data, or a CRC or length that does not match
            raise _GzipDamage(f"{GZIP_CORRUPT} ({error})") from None
        if out:
            yield out
        if decoder.eof:
            yield None
            rest = decoder.unused_data
            if len(rest) < len(GZIP_MAGIC):
                rest += file.read(BLOCK_BYTES)
            if not rest:
                return
            if not rest.startswith(GZIP_MAGIC):
                raise _GzipDamage(GZIP_TRAILING_BYTES)
            decoder, data = zlib.decompressobj(wbits=31), rest
            continue
        if not data:
            data = file.read(BLOCK_BYTES)
            if not data:
                raise _GzipDamage(GZIP_TRUNCATED)


def _plain(file: BinaryIO) -> Iterator[bytes | None]:
    while block := file.read(BLOCK_BYTES):
        yield block


def gzip_intact(path: Path) -> bool:
    """Whether a gzip file decompresses whole, every member's CRC and length matching (an empty file has none)."""
    try:
        with path.open("rb") as file:
            for _ in _gunzip(file):
                pass
    except _GzipDamage:
        return False
    return True


def file_note(path: Path, line_number: int | None) -> str:
    """What a fault line says of a file (part) that is not loaded: where, and which file exactly (size and the
    start of its SHA-256), never its bytes (they need not be text, so redaction could not vouch for them)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(BLOCK_BYTES):
            digest.update(block)
    part = "the whole file" if line_number is None else f"the file from line {line_number} on"
    return f"[not loaded: {part}; file of {path.stat().st_size} bytes, sha256 {digest.hexdigest()[:16]}]"


@dataclass(frozen=True)
class _Overlong:
    """A line longer than DuckDB's reader takes: only its size and the start of its SHA-256 are kept."""

    size: int
    digest: str


@dataclass
class _Splitter:
    """Splits a byte stream into lines at LF, CRLF or a lone CR (a CRLF may straddle two blocks), holding at
    most ``MAX_LINE_BYTES`` of one line: a longer one is only counted and hashed."""

    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    digest: Any = None  # a hashlib sha256 once the line is too long to hold
    after_cr: bool = False  # the last block ended with a CR: a LF opening the next one belongs to it

    def feed(self, block: bytes) -> Iterator[bytes | _Overlong]:
        if self.after_cr and block.startswith(b"\n"):
            block = block[1:]
        self.after_cr = False
        position = 0
        for end in _NEWLINE.finditer(block):
            self._add(block[position : end.start()])
            yield self.take()
            position = end.end()
            self.after_cr = end.group() == b"\r" and position == len(block)
        self._add(block[position:])

    def finish(self) -> Iterator[bytes | _Overlong]:
        if self.size or self.digest:
            yield self.take()

    def take(self) -> bytes | _Overlong:
        line = _Overlong(self.size, self.digest.hexdigest()[:16]) if self.digest else b"".join(self.parts)
        self.parts, self.size, self.digest = [], 0, None
        return line

    def _add(self, data: bytes) -> None:
        if self.digest is None and self.size + len(data) >= MAX_LINE_BYTES - LINE_SLACK_BYTES:
            self.digest = hashlib.sha256(b"".join(self.parts))
            self.parts = []
        if self.digest is None:
            self.parts.append(data)
        else:
            self.digest.update(data)
        self.size += len(data)

    def snapshot(self) -> _Splitter:
        return _Splitter(list(self.parts), self.size, self.digest and self.digest.copy(), self.after_cr)


@dataclass
class _CleanCopy:
    """Writes the clean copy of one file: its lines, LF-terminated, with faults escaped or noted."""

    path: Path
    out: BinaryIO
    lines: int = 0
    nonblank: int = 0
    bad: int = 0
    faults: list[Fault] = field(default_factory=list)
    splitter: _Splitter = field(default_factory=_Splitter)

    def feed(self, block: bytes) -> None:
        for line in self.splitter.feed(block):
            self._line(line)

    def finish(self) -> None:
        for line in self.splitter.finish():
            self._line(line)

    def _line(self, line: bytes | _Overlong) -> None:
        self.lines += 1
        if isinstance(line, _Overlong):
            self.nonblank += 1
            note = f"[not loaded: a line of {line.size} bytes, sha256 {line.digest}]"
            self.out.write(note.encode() + b"\n")
            self.faults.append(Fault(str(self.path), self.lines, LINE_TOO_LONG))
            return
        if self.lines == 1 and line.startswith(UTF8_BOM):
            line = line[len(UTF8_BOM) :]
        if line.strip(b" \t"):
            self.nonblank += 1
        try:
            reason = NUL_BYTE if "\x00" in line.decode("utf-8") else None
        except UnicodeDecodeError:
            reason = NOT_UTF8
        if reason is None:
            self.out.write(line + b"\n")
            return
        self.bad += 1
        self.out.write(escape_bytes(line).encode() + b"\n")
        self.faults.append(Fault(str(self.path), self.lines, reason, escaped=True))

    def file_fault(self, reason: str, line_number: int | None) -> None:
        """The file, or the rest of it from a line on, is not loaded: one fault line describing it."""
        self.splitter = _Splitter()
        self.out.write(file_note(self.path, line_number).encode() + b"\n")
        self.faults.append(Fault(str(self.path), line_number, reason))

    def mark(self) -> tuple[int, int, int, int, int, _Splitter]:
        return (self.out.tell(), self.lines, self.nonblank, self.bad, len(self.faults), self.splitter.snapshot())

    def rewind(self, mark: tuple[int, int, int, int, int, _Splitter] | None = None) -> None:
        """Back to a mark (default: the start of the file), as if nothing after it had been read."""
        position, self.lines, self.nonblank, self.bad, faults, splitter = mark or (0, 0, 0, 0, 0, _Splitter())
        self.splitter = splitter.snapshot()
        self.out.seek(position)
        self.out.truncate()
        del self.faults[faults:]


def clean_copy(path: Path, out_path: Path) -> list[Fault]:
    """Write ``path``'s lines to ``out_path`` as UTF-8 text DuckDB's reader accepts, and return its faults."""
    gzipped = path.name.endswith(".gz")
    with path.open("rb") as file, out_path.open("w+b") as out:
        copy = _CleanCopy(path, out)
        if not gzipped and file.read(len(UTF16_BOMS[-1])).startswith(UTF16_BOMS):
            copy.file_fault(UTF16_FILE, None)
            return copy.faults
        file.seek(0)
        mark = copy.mark()
        try:
            for block in (_gunzip if gzipped else _plain)(file):
                if block is None:  # a complete, checked gzip member: nothing before it is rolled back
                    mark = copy.mark()
                else:
                    copy.feed(block)
            copy.finish()
        except _GzipDamage as damage:
            if damage.reason == NOT_A_GZIP_FILE:
                copy.file_fault(damage.reason, None)
            elif damage.reason == GZIP_TRAILING_BYTES:  # every member before them is complete and checked
                copy.finish()
                copy.file_fault(damage.reason, copy.lines + 1)
            else:
                # Nothing a damaged member gave is kept: corrupt data (or a CRC that does not match) may have
                # changed any byte of it, and a member that just stops may be cut short or corrupt (deflate data
                # gone wrong can read on to the end of the file), which no check can tell apart.
                copy.rewind(mark)
                copy.file_fault(damage.reason, copy.lines + 1)
            return copy.faults
        if copy.bad * 2 > copy.nonblank:
            reason = not_text_file(copy.bad, copy.nonblank)
            copy.rewind()
            copy.file_fault(reason, None)
        return copy.faults


def read_lines_sql(files: Sequence[str], renamed: dict[str, str] | None = None) -> str:
    """A relation of ``(filename, line)``: every line of the files in order (a blank line is NULL).
    ``renamed`` maps a clean copy read in place of a file back to the file's name."""
    file_list = "[" + ", ".join(sql_str(f) for f in files) + "]"
    filename = "filename"
    if renamed:
        cases = " ".join(f"when {sql_str(copy)} then {sql_str(original)}" for copy, original in renamed.items())
        filename = f"case filename {cases} else filename end"
    return f"""(
        select {filename} as filename, line
        from read_csv({file_list}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(0),
                      quote = '', escape = '', auto_detect = false, filename = true,
                      max_line_size = {MAX_LINE_BYTES}, buffer_size = {2 * MAX_LINE_BYTES})
    )"""


class LineReader:
    """Runs queries over landing files' lines: DuckDB's reader first, clean copies for the files it refuses.

    Each ``.gz`` file is first decompressed here too (``verify_gzip``, in parallel), because DuckDB checks no
    gzip CRC: a damaged file is read from a clean copy, whose faults say what was not loaded.

    ``faults`` holds the faults of the clean copies made by the last ``run``; the copies live in a temporary
    directory until ``close``.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, *, label: str = "", verify_gzip: bool = True):
        self.con = con
        self.label = label
        self.verify_gzip = verify_gzip
        self.faults: list[Fault] = []
        self._spool: Path | None = None

    def run(self, files: Sequence[Path], query: Callable[[str], T]) -> T:
        """``query(lines)`` with ``lines`` a relation of ``(filename, line)`` over ``files`` in order."""
        names = [str(f) for f in files]
        self.faults = []
        copies: dict[str, str] = {}
        if self.verify_gzip:
            # DuckDB's gzip reader checks no CRC: corrupt data that still inflates would read as wrong lines
            gzipped = [name for name in names if name.endswith(".gz")]
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # zlib works outside the GIL
                for name, intact in zip(gzipped, pool.map(gzip_intact, map(Path, gzipped)), strict=True):
                    if not intact:
                        self._copy(name, copies, "its gzip data is damaged")
        try:
            return query(self._sql(names, copies))
        except duckdb.Error as error:
            failure = error
        refused = [name for name in names if name not in copies and not self._duckdb_reads(name)]
        if not refused:  # not a file DuckDB cannot read: some other failure, whose message may quote data
            raise LineReadError(f"{self.label or 'reading landing files'}: {safe_message(failure)}") from None
        for name in refused:
            self._copy(name, copies, "DuckDB cannot read it as UTF-8 lines")
        return query(self._sql(names, copies))

    def _copy(self, name: str, copies: dict[str, str], why: str) -> None:
        log.warning("%s%s: %s; reading it byte by byte", self._prefix, name, why)
        copy = self._spool_dir() / f"{len(copies):06d}.jsonl"
        self.faults.extend(clean_copy(Path(name), copy))
        copies[name] = str(copy)

    @staticmethod
    def _sql(names: list[str], copies: dict[str, str]) -> str:
        return read_lines_sql([copies.get(name, name) for name in names], {c: n for n, c in copies.items()})

    @property
    def _prefix(self) -> str:
        return f"{self.label}: " if self.label else ""

    def _duckdb_reads(self, name: str) -> bool:
        try:
            self.con.execute(f"select count(*) from {read_lines_sql([name])}").fetchone()
        except duckdb.Error:
            return False
        return True

    def _spool_dir(self) -> Path:
        if self._spool is None:
            self._spool = Path(tempfile.mkdtemp(prefix="tokenbooks-lines-"))
        return self._spool

    def close(self) -> None:
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_faults(con: duckdb.DuckDBPyConnection, faults: Iterable[Fault], table: str = "_faults") -> None:
    """The faults as a DuckDB temp table ``(filename, line_number, reason, whole_file, escaped)``, a whole file's
    fault at line 1 of its clean copy."""
    rows = list(faults)
    con.execute(
        f"create or replace temp table {table} as "
        "select unnest(?::varchar[]) as filename, unnest(?::bigint[]) as line_number, "
        "unnest(?::varchar[]) as reason, unnest(?::boolean[]) as whole_file, unnest(?::boolean[]) as escaped",
        [
            [f.path for f in rows],
            [1 if f.line_number is None else f.line_number for f in rows],
            [f.reason for f in rows],
            [f.line_number is None for f in rows],
            [f.escaped for f in rows],
        ],
    )


# --- checks on a line's JSON text ------------------------------------------------------------------------------

JSON_STRING_PATTERN = r'"(?:[^"\\]|\\.)*"'
# Text that may hold what DuckDB's parser accepts and other readers do not, in one pass: a value that starts
# with NaN or Infinity, with a number of a three-digit exponent or a hundred characters; a trailing comma; more
# opening brackets than the depth allowed. No false negatives: the exact check clears a string that matches.
SUSPECT_PATTERN = (
    r"[:,\[]\s*(?:[-+]?(?i:nan|inf)|-?\d[\d.]*[eE][+-]?\d{3}|-?\d[\d.]{99})|,\s*[\]}]"
    rf"|(?:[^\[{{]*[\[{{]){{{MAX_JSON_DEPTH + 1}}}"
)
NUMBER_PATTERN = r"-?\d[0-9.eE+-]*"


def _brackets(text: str) -> str:
    """How many ``[`` and ``{`` a text holds (inside strings too): an upper bound of its depth."""
    return f"(length({text}) - length(replace(replace({text}, '[', ''), '{{', '')))"


def _deeper_than(skeleton: str, depth: int) -> str:
    """True when a string of balanced brackets nests deeper than ``depth``: each pass takes out the innermost
    pairs, so the string is empty after ``depth`` passes exactly when it nests no deeper."""
    for _ in range(depth):
        skeleton = f"regexp_replace({skeleton}, '\\[\\]|\\{{\\}}', '', 'g')"
    return f"({skeleton} <> '')"


def json_problem_sql(line: str) -> str:
    """SQL over a line that DuckDB's ``json_valid`` accepts: the reason other readers would refuse its JSON
    (``MALFORMED_JSON``, ``TOO_DEEP``, ``NUMBER_OUT_OF_RANGE``), else NULL.

    Evaluated lazily: the exact part (``CASE`` branches only run on the rows they select) only for lines the
    cheap scan flags.
    """
    blanked = f"regexp_replace({line}, {sql_str(JSON_STRING_PATTERN)}, '\"\"', 'g')"
    skeleton = f"regexp_replace({blanked}, '[^\\[\\]{{}}]', '', 'g')"
    literal = f"regexp_matches(regexp_replace({blanked}, 'true|false|null', '', 'g'), '[a-df-zA-DF-Z]')"
    trailing_comma = f"regexp_matches({blanked}, ',\\s*[\\]}}]')"
    exponent = f"'[eE][+-]?0*[1-9]\\d{{{MAX_NUMBER_EXPONENT_DIGITS}}}'"
    number_out_of_range = (
        f"list_bool_or(list_transform(regexp_extract_all({blanked}, {sql_str(NUMBER_PATTERN)}), lambda n: "
        f"coalesce(not isfinite(try_cast(n as double)), true) or length(n) > {MAX_NUMBER_CHARS} "
        f"or regexp_matches(n, {exponent})))"
    )
    suspect = f"regexp_matches({line}, {sql_str(SUSPECT_PATTERN)})"
    deep = f"case when {_brackets(line)} > {MAX_JSON_DEPTH} then {_deeper_than(skeleton, MAX_JSON_DEPTH)} end"
    return f"""case when {suspect} then (
        case
            when {literal} or {trailing_comma} then {sql_str(MALFORMED_JSON)}
            when {deep} then {sql_str(TOO_DEEP)}
            when {number_out_of_range} then {sql_str(NUMBER_OUT_OF_RANGE)}
        end) end"""
