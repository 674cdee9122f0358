"""Validated, idempotent, resumable loads into ``raw.<endpoint>`` and ``raw.quarantine``.

Every record, from a landing file or an API page, goes through one vectorized DuckDB pass:

1. lines are read as text (blank lines are not records) in delivery order: files by sorted name, then line;
2. each line is parsed and checked by the SQL compiled from the contract models (``ingestion.validation``);
   invalid ones go to ``raw.quarantine`` with every reason, keyed by a hash of the line so a re-delivered bad
   line is stored once;
3. valid records inside the load window are flattened to typed columns, span payloads redacted, and inserted
   unless the same ``(id, content hash)`` is already stored: identical re-deliveries are duplicates, a changed
   record under a known id is a correction and is kept as a new version (``_delivery_seq`` orders them);
4. the counts are recorded in ``raw.load_batches`` in the same transaction: fetched = loaded + duplicates +
   quarantined, always.

Files are loaded in chunks, one transaction each, so a killed load resumes by simply running again: committed
chunks come back as duplicates, the rest loads, and the raw tables end as an uninterrupted run leaves them.

Steps 1-3 run in DuckDB whatever the warehouse (``_stage_chunk``: the validated chunk waits in temp tables);
the writes (``_write_chunk``) are portable SQL run through a ``WarehouseSession`` (``warehouse``):
on a DuckDB file in the same connection, on PostgreSQL after the staged rows are copied into the chunk's
transaction (``warehouse.postgres``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

import settings
from ingestion.client import PlatformClient, RetryPolicy
from ingestion.lines import MALFORMED_JSON, NOT_AN_OBJECT, LineReader, json_problem_sql, store_faults
from ingestion.records import ENDPOINTS, Endpoint
from ingestion.sources import ApiSource, LandingSource, Source
from ingestion.validation import extract_sql, framed, raw_columns, reasons_sql, unknown_fields_sql
from warehouse import DuckDBSession, LoadError, Warehouse, WarehouseSession, as_warehouse, sql_str
from warehouse.redaction import payload_sql, redact_sql, safe_message

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
METADATA_COLUMNS = (
    ("_record", "json"),
    ("_record_hash", "varchar"),
    ("_batch_id", "varchar"),
    ("_loaded_at", "timestamp"),
    ("_source", "varchar"),
    ("_delivery_seq", "bigint"),
)
QUARANTINE_COLUMNS = (
    ("endpoint", "varchar"),
    ("reason", "varchar"),
    ("raw_line", "varchar"),
    ("record_id", "varchar"),
    ("_source", "varchar"),
    ("line_number", "bigint"),
    ("_line_hash", "varchar"),
    ("_batch_id", "varchar"),
    ("_loaded_at", "timestamp"),
    # true when raw_line holds escaped bytes (a line not UTF-8 or with a NUL byte): ingestion.lines.unescape
    ("raw_line_escaped", "boolean"),
    # md5 of the record as the raw tables would hash it (NULL when the line is no JSON or redaction changed it):
    # when the contract's rules change and the record loads after all, its quarantine row goes
    # (_release_quarantined)
    ("_record_hash", "varchar"),
)
LOAD_BATCH_COLUMNS = (
    ("batch_id", "varchar"),
    ("chunk", "integer"),
    ("endpoint", "varchar"),
    ("source", "varchar"),
    ("window_start", "timestamp"),
    ("window_end", "timestamp"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("fetched", "bigint"),
    ("loaded", "bigint"),
    ("duplicates", "bigint"),
    ("quarantined", "bigint"),
    ("corrections", "bigint"),
    ("outside_window", "bigint"),
)
# What the loader knows of each landing file it read: unchanged files with no record in a run's window are skipped.
LANDING_FILE_COLUMNS = (
    ("endpoint", "varchar"),
    ("path", "varchar"),
    ("size_bytes", "bigint"),
    ("modified_ns", "bigint"),
    ("lines", "bigint"),
    ("first_event_at", "timestamp"),
    ("last_event_at", "timestamp"),
    ("_batch_id", "varchar"),
    ("_loaded_at", "timestamp"),
    # the contract's checks the file was read with (contract_fingerprint): a file read under other rules is read
    # again, so a record quarantined then that the rules now accept loads
    ("contract_hash", "varchar"),
)
COUNT_NAMES = ("fetched", "loaded", "duplicates", "quarantined", "corrections", "outside_window")
# A validated chunk waits in DuckDB temp tables: _candidates (raw rows plus these) and _bad (quarantine rows).
CANDIDATE_EXTRA_COLUMNS = (
    ("_record", "json"),
    ("_record_hash", "varchar"),
    ("_source", "varchar"),
    ("record_id", "varchar"),
    ("seq", "bigint"),
)
STAGED_BAD_COLUMNS = (
    *(column for column in QUARANTINE_COLUMNS if column[0] not in ("_batch_id", "_loaded_at")),
    ("seq", "bigint"),
)
STAGING_TABLES = ("_lines", "_faults", "_parsed", "_checked", "_candidates", "_bad")
# Files are committed in chunks of about this many bytes (compressed size for .gz): the unit of resumption
# and of peak memory: TOKENBOOKS_LOAD_CHUNK_BYTES (default 256 MiB).


# Called as a load starts and after each committed chunk with what is done and the totals: {"files", "bytes"}.
ProgressCallback = Callable[[Mapping[str, int], Mapping[str, int]], None]


def chunk_bytes() -> int:
    return settings.current().load_chunk_bytes


@dataclass
class LoadResult:
    endpoint: str
    batch_id: str
    fetched: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    corrections: int = 0
    outside_window: int = 0
    files_skipped: int = 0  # unchanged landing files already loaded, with nothing in the window

    @property
    def reconciles(self) -> bool:
        return self.fetched == self.loaded + self.duplicates + self.quarantined

    def add(self, other: LoadResult) -> None:
        for name in (*COUNT_NAMES, "files_skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _ddl(session: WarehouseSession, columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f'"{name}" {session.column_type(sql_type)}' for name, sql_type in columns)


def _raw_table_columns(endpoint: Endpoint) -> list[tuple[str, str]]:
    return [(c.name, c.sql_type) for c in raw_columns(endpoint.model)] + list(METADATA_COLUMNS)


def _candidate_columns(endpoint: Endpoint) -> list[tuple[str, str]]:
    return [(c.name, c.sql_type) for c in raw_columns(endpoint.model)] + list(CANDIDATE_EXTRA_COLUMNS)


def ensure_raw_tables(target: WarehouseSession | duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and tables; columns added to the contract later are added in place.

    Only missing tables and columns are touched: on PostgreSQL even a no-op ``alter table`` would wait for
    every reader of the table (dbt) to finish.
    """
    session = target if isinstance(target, WarehouseSession) else DuckDBSession(target)
    tables = {e.table: _raw_table_columns(e) for e in ENDPOINTS.values()}
    tables["quarantine"] = list(QUARANTINE_COLUMNS)
    tables["load_batches"] = list(LOAD_BATCH_COLUMNS)
    tables["landing_files"] = list(LANDING_FILE_COLUMNS)
    with session.transaction():
        session.lock(RAW_SCHEMA)
        session.execute(f"create schema if not exists {RAW_SCHEMA}")
        existing: dict[str, set[str]] = {}
        for table, column in session.fetchall(
            f"select table_name, column_name from information_schema.columns where table_schema = '{RAW_SCHEMA}'"
        ):
            existing.setdefault(table, set()).add(column)
        for table, columns in tables.items():
            if table not in existing:
                session.execute(f"create table {RAW_SCHEMA}.{table} ({_ddl(session, columns)})")
                continue
            for name, sql_type in columns:
                if name not in existing[table]:
                    session.execute(
                        f'alter table {RAW_SCHEMA}.{table} add column "{name}" {session.column_type(sql_type)}'
                    )
        if "quarantine" in existing and "raw_line_escaped" not in existing["quarantine"]:
            _redact_stored_quarantine(session)
        if "quarantine" in existing and "_record_hash" not in existing["quarantine"]:
            _hash_stored_quarantine(session)
        for endpoint in ENDPOINTS.values():
            table = f"{RAW_SCHEMA}.{endpoint.table}"
            session.create_lookup_index(table, (endpoint.id_field, "_record_hash"))
            session.create_lookup_index(table, ("_delivery_seq",))
        session.create_lookup_index(f"{RAW_SCHEMA}.quarantine", ("endpoint", "_line_hash"))
        session.create_lookup_index(f"{RAW_SCHEMA}.landing_files", ("endpoint", "path"))


def _redact_stored_quarantine(session: WarehouseSession) -> None:
    """Once, when a quarantine written before lines were redacted is upgraded: redact its lines and record ids
    (with the SQL patterns, run in DuckDB whatever the warehouse) and hash the redacted lines, as new rows are."""
    rows = session.fetchall(f"select endpoint, _line_hash, raw_line, record_id from {RAW_SCHEMA}.quarantine")
    if rows:
        redacted = session.staging.execute(
            f"select {redact_sql('line')}, {redact_sql('id')} from (select unnest(?::varchar[]) as line, "
            "unnest(?::varchar[]) as id)",
            [[row[2] for row in rows], [row[3] for row in rows]],
        ).fetchall()
        for (endpoint, line_hash, line, record_id), (new_line, new_id) in zip(rows, redacted, strict=True):
            if (new_line, new_id) != (line, record_id):
                session.execute(
                    f"update {RAW_SCHEMA}.quarantine set raw_line = {_literal(new_line)}, "
                    f"record_id = {_literal(new_id)}, _line_hash = md5({_literal(new_line)}) "
                    f"where endpoint = {sql_str(endpoint)} and _line_hash = {sql_str(line_hash)}"
                )
    session.execute(f"update {RAW_SCHEMA}.quarantine set raw_line_escaped = false where raw_line_escaped is null")


def _hash_stored_quarantine(session: WarehouseSession) -> None:
    """Once, when a quarantine written before records were hashed is upgraded: hash its JSON lines as the raw
    tables hash records (in DuckDB whatever the warehouse), so that a record the rules now accept releases it."""
    rows = session.fetchall(f"select endpoint, _line_hash, raw_line from {RAW_SCHEMA}.quarantine")
    if not rows:
        return
    hashes = session.staging.execute(
        "select case when json_valid(line) then md5(cast(json(line) as varchar)) end "
        "from (select unnest(?::varchar[]) as line)",
        [[row[2] for row in rows]],
    ).fetchall()
    for (endpoint, line_hash, _), (record_hash,) in zip(rows, hashes, strict=True):
        if record_hash is not None:
            session.execute(
                f"update {RAW_SCHEMA}.quarantine set _record_hash = {sql_str(record_hash)} "
                f"where endpoint = {sql_str(endpoint)} and _line_hash = {sql_str(line_hash)}"
            )


def contract_fingerprint(endpoint: Endpoint) -> str:
    """md5 of the SQL that checks an endpoint's records: it changes whenever the contract's rules do."""
    return hashlib.md5((extract_sql(endpoint.model) + reasons_sql(endpoint.model)).encode()).hexdigest()


def _chunks(files: Sequence[Path]) -> list[list[Path]]:
    limit = chunk_bytes()
    chunks: list[list[Path]] = []
    size = 0
    for path in files:
        if not chunks or size >= limit:
            chunks.append([])
            size = 0
        chunks[-1].append(path)
        size += path.stat().st_size
    return chunks


def _insert_list(endpoint: Endpoint) -> str:
    """Raw columns as typed in ``_checked``; span payloads redacted on their way in."""
    parts = []
    for column in raw_columns(endpoint.model):
        quoted = f'"{column.name}"'
        parts.append(f"{payload_sql(quoted) if column.name == 'payload' else quoted} as {quoted}")
    return ", ".join(parts)


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"cast({sql_str(value.isoformat(sep=' '))} as timestamp)"
    if isinstance(value, int):
        return str(value)
    return sql_str(str(value))


@dataclass(frozen=True)
class StagedChunk:
    """Counts of a validated chunk, whose rows wait in ``_candidates`` and ``_bad``, and per file
    (path -> non-blank lines, first and last valid event time) what ``raw.landing_files`` records."""

    fetched: int
    outside_window: int
    quarantined: int
    files: dict[str, tuple[int, datetime | None, datetime | None]]


def _stage_chunk(
    con: duckdb.DuckDBPyConnection,
    endpoint: Endpoint,
    files: list[Path],
    *,
    in_window: str,
    source_label: str | None,
) -> StagedChunk:
    """Read, validate and type a chunk in DuckDB (no warehouse table is read), leaving two temp tables:

    ``_candidates``: valid records in the window, the first delivery of each (id, hash), as raw rows;
    ``_bad``: invalid lines with every reason, redacted, the first delivery of each distinct (redacted) line.

    A line's text goes no further than ``_lines``: the stages after it carry the minified record (``j``), then
    only typed columns, and the few invalid lines are looked up in ``_lines`` again for the quarantine.
    """
    columns = raw_columns(endpoint.model)
    event_expr = next(c.expression for c in columns if c.name == endpoint.event_time_field)
    id_text = f'"_s_{endpoint.id_field}"'
    typed_columns = ",\n                   ".join(f'{c.expression} as "{c.name}"' for c in columns)
    source_expr = sql_str(source_label) if source_label else "filename"
    # 1. lines in delivery order; read_csv keeps file order and line order (insertion order preserved). A file
    # DuckDB's reader refuses is read from a clean copy, its faults (lines that are not UTF-8, a damaged gzip
    # stream, a file that is not text) listed in _faults to be quarantined with their reason.
    with LineReader(con, label=endpoint.name) as reader:
        reader.run(
            files,
            lambda lines: con.execute(
                f"create or replace temp table _lines as select filename, row_number() over () as seq, line "
                f"from {lines}"
            ),
        )
    store_faults(con, reader.faults)
    if reader.faults:
        fault_join = "left join _faults x on x.filename = l.filename and x.line_number = l.seq - f.first_seq + 1"
        fault_columns = "x.reason as fault, coalesce(x.whole_file, false) as whole_file, x.escaped"
    else:
        fault_join, fault_columns = "", "null::varchar as fault, false as whole_file, false as escaped"
    # 2. parse once, validate and type every field; line numbers are per file. JSON that DuckDB's lenient
    # parser accepts but other readers refuse (NaN, trailing commas, numbers beyond a double, deep nesting) is
    # refused here too, so every warehouse and reader sees the same records.
    con.execute(f"""
        create or replace temp table _parsed as
        with file_starts as (
            select filename, min(seq) as first_seq from _lines group by filename
        ),
        numbered as (
            select l.filename, l.seq, l.line,
                   l.seq - f.first_seq + 1 as line_number,
                   {fault_columns}
            from _lines l
            join file_starts f on f.filename = l.filename
            {fault_join}
            -- not blank; trim (which copies the line) only for the rare line that starts with a space
            where l.line <> '' and (left(l.line, 1) <> ' ' or trim(l.line) <> '')
        ),
        screened as (
            select *, fault is null and json_valid(line) as is_json from numbered
        ),
        parsed as (
            select * exclude (is_json, line),
                   case when is_json then {json_problem_sql("line")} end as problem,
                   case when is_json then json(line) end as j
            from screened
        )
        select *, {extract_sql(endpoint.model)} as _v from parsed
    """)
    con.execute(f"""
        create or replace temp table _checked as
        select filename, seq, line_number, whole_file, fault, escaped,
               case
                   when fault is not null then fault
                   when problem is not null then problem
                   when j is null then {sql_str(MALFORMED_JSON)}
                   when json_type(j) <> 'OBJECT' then {sql_str(NOT_AN_OBJECT)}
                   else {reasons_sql(endpoint.model)}
               end as reason,
               {id_text} as record_id,
               {event_expr} as event_at,
               md5(cast(j as varchar)) as record_hash,
               {unknown_fields_sql(endpoint.model)} as unknown_fields,
               {typed_columns}
        from {framed(endpoint.model, "_parsed", "_v")}
    """)
    # 3. valid records in the window, first delivery of each (id, hash), as they will be stored
    con.execute("drop table _parsed")  # each staging table goes once the next is built: less to hold in memory
    # (the first deliveries are found on narrow columns: a window over the whole rows would carry every payload)
    con.execute(f"""
        create or replace temp table _candidates as
        with firsts as (
            select min(seq) as seq from _checked where reason is null and {in_window} group by record_id, record_hash
        )
        select {_insert_list(endpoint)},
               unknown_fields as _record,
               record_hash as _record_hash,
               {source_expr} as _source,
               record_id,
               seq
        from _checked
        where seq in (select seq from firsts)
    """)
    # 4. invalid lines: every reason, the line redacted like a payload (an escaped line's escapes are ASCII, so
    # the patterns still find secrets in it), once per distinct stored line: the hash is of the redacted line
    con.execute(f"""
        create or replace temp table _bad as
        with bad as (
            select c.seq, c.filename, c.reason, coalesce(c.escaped, false) as raw_line_escaped, c.record_hash, l.line,
                   case when c.whole_file then null else c.line_number end as line_number,
                   {redact_sql("l.line")} as raw_line,
                   {redact_sql("c.record_id")} as record_id
            from _checked c
            join _lines l on l.seq = c.seq
            where c.reason is not null
        ),
        hashed as (
            -- the record's hash only where redaction found nothing in the line: a hash of a clear secret would
            -- let a reader confirm a guess (the reason _line_hash is of the redacted line)
            select * replace (case when raw_line = line then record_hash end as record_hash),
                   md5(raw_line) as line_hash,
                   row_number() over (partition by md5(raw_line) order by seq) as nth
            from bad
        )
        select {sql_str(endpoint.name)} as endpoint, reason, raw_line, record_id,
               {source_expr} as _source, line_number, line_hash as _line_hash, raw_line_escaped,
               record_hash as _record_hash, seq
        from hashed
        where nth = 1
    """)
    (fetched, outside, quarantined) = con.execute(f"""
        select count(*) filter (where reason is not null or ({in_window})),
               count(*) filter (where reason is null and not ({in_window})),
               count(*) filter (where reason is not null)
        from _checked
    """).fetchone()
    files_read = con.execute("""
        select filename, count(*), min(event_at) filter (where reason is null),
               max(event_at) filter (where reason is null)
        from _checked group by filename
    """).fetchall()
    for table in ("_checked", "_lines"):
        con.execute(f"drop table {table}")
    return StagedChunk(
        fetched=fetched,
        outside_window=outside,
        quarantined=quarantined,
        files={path: (lines, first, last) for path, lines, first, last in files_read},
    )


def _write_chunk(session: WarehouseSession, endpoint: Endpoint, staged: StagedChunk, batch_id: str) -> LoadResult:
    """Store the staged chunk (inside the caller's transaction), with portable SQL.

    New = staged candidates whose (id, hash) is not stored yet; a new version of a known id is a correction.
    """
    table = f"{RAW_SCHEMA}.{endpoint.table}"
    id_column = f'"{endpoint.id_field}"'
    # Two loads of one endpoint must not interleave: each reads what is stored, then appends.
    session.lock(table)
    for temp in ("_known", "_new"):
        session.execute(f"drop table if exists {temp}")
    # The stored versions of the chunk's own ids, found by a semi join that hashes the chunk's ids and scans one
    # column of the table: an anti join against the table would hash every stored (id, hash) pair for every
    # chunk, a cost that grows with the history.
    session.execute(f"""
        create temp table _known as
        select t.{id_column} as record_id, t._record_hash from {table} t
        where t.{id_column} in (select record_id from _candidates)
    """)
    # Which candidates are new, as narrow rows: the wide ones (payloads, records) are read once, by the insert.
    session.execute("""
        create temp table _new as
        select c.seq,
               exists (select 1 from _known k where k.record_id = c.record_id)
               or row_number() over (partition by c.record_id order by c.seq) > 1 as is_correction
        from _candidates c
        where not exists (select 1 from _known k where k.record_id = c.record_id and k._record_hash = c._record_hash)
    """)
    (loaded, corrections) = session.fetchone("select count(*), count(*) filter (where is_correction) from _new")
    (base_seq,) = session.fetchone(f"select coalesce(max(_delivery_seq), 0) from {table}")
    raw_names = ", ".join(f'"{c.name}"' for c in raw_columns(endpoint.model))
    session.execute(f"""
        insert into {table} ({raw_names}, _record, _record_hash, _batch_id, _loaded_at, _source, _delivery_seq)
        select {raw_names}, _record, _record_hash, {sql_str(batch_id)}, timezone('UTC', now()), _source,
               {base_seq} + seq
        from _candidates c
        where c.seq in (select seq from _new)
    """)
    for temp in ("_known", "_new"):
        session.execute(f"drop table {temp}")
    _release_quarantined(session, endpoint)
    session.execute(f"""
        insert into {RAW_SCHEMA}.quarantine
            (endpoint, reason, raw_line, record_id, _source, line_number, _line_hash, raw_line_escaped,
             _record_hash, _batch_id, _loaded_at)
        select endpoint, reason, raw_line, record_id, _source, line_number, _line_hash, raw_line_escaped,
               _record_hash, {sql_str(batch_id)}, timezone('UTC', now())
        from _bad b
        where not exists (
            select 1 from {RAW_SCHEMA}.quarantine q where q.endpoint = b.endpoint and q._line_hash = b._line_hash
        )
        order by seq
    """)
    return LoadResult(
        endpoint.name,
        batch_id,
        fetched=staged.fetched,
        loaded=loaded,
        duplicates=staged.fetched - loaded - staged.quarantined,
        quarantined=staged.quarantined,
        corrections=corrections,
        outside_window=staged.outside_window,
    )


def _release_quarantined(session: WarehouseSession, endpoint: Endpoint) -> None:
    """A quarantined record that now passes the contract (its rules changed since, e.g. a never-used key became
    valid) and loads in this chunk leaves the quarantine: it is no longer a bad record, and counts no more."""
    quarantine = f"{RAW_SCHEMA}.quarantine"
    (released,) = session.fetchone(f"""
        select count(*) from {quarantine} q
        where q.endpoint = {sql_str(endpoint.name)}
          and exists (select 1 from _candidates c where c._record_hash = q._record_hash)
    """)
    if released:
        session.execute(f"""
            delete from {quarantine}
            where endpoint = {sql_str(endpoint.name)}
              and _record_hash in (select c._record_hash from _candidates c)
        """)
        log.info("%s: %d quarantined record(s) pass the contract's current rules and loaded", endpoint.name, released)


def _register_files(
    session: WarehouseSession,
    endpoint: Endpoint,
    stats: dict[str, tuple[int, int]],
    staged: StagedChunk,
    batch_id: str,
) -> None:
    """Record each landing file of the chunk (size and time as read, lines, valid event range), replacing what
    an earlier load recorded for the same path."""
    paths = ", ".join(sql_str(path) for path in stats)
    session.execute(
        f"delete from {RAW_SCHEMA}.landing_files where endpoint = {sql_str(endpoint.name)} and path in ({paths})"
    )
    rows = []
    contract = contract_fingerprint(endpoint)
    for path, (size, modified_ns) in stats.items():
        lines, first, last = staged.files.get(path, (0, None, None))
        values = (endpoint.name, path, size, modified_ns, lines, first, last, batch_id)
        rows.append(f"({', '.join(_literal(v) for v in values)}, timezone('UTC', now()), {sql_str(contract)})")
    names = ", ".join(name for name, _ in LANDING_FILE_COLUMNS)
    session.execute(f"insert into {RAW_SCHEMA}.landing_files ({names}) values {', '.join(rows)}")


def _files_to_read(
    session: WarehouseSession, endpoint: Endpoint, files: Sequence[Path], window: tuple[datetime, datetime] | None
) -> list[Path]:
    """The files a load must read: all but the unchanged ones (same size and modification time as when they
    were read, under the same contract rules) that cannot add anything. A snapshot file is loaded whole, so once
    read it adds nothing; an event file adds nothing when none of its valid records falls inside the window (its
    invalid lines were quarantined the first time, whatever the window)."""
    if endpoint.snapshot:
        adds_nothing = "true"
    elif window is not None:
        start, end = (_literal(naive_utc(moment)) for moment in window)
        adds_nothing = f"first_event_at is null or last_event_at < {start} or first_event_at >= {end}"
    else:
        return list(files)
    known = {
        (path, size, modified_ns)
        for path, size, modified_ns in session.fetchall(
            f"select path, size_bytes, modified_ns from {RAW_SCHEMA}.landing_files "
            f"where endpoint = {sql_str(endpoint.name)} and contract_hash = {sql_str(contract_fingerprint(endpoint))} "
            f"and ({adds_nothing})"
        )
    }
    stats = {path: path.stat() for path in files}
    return [path for path in files if (str(path), stats[path].st_size, stats[path].st_mtime_ns) not in known]


def _load_chunk(
    session: WarehouseSession,
    endpoint: Endpoint,
    files: list[Path],
    *,
    window: tuple[datetime, datetime] | None,
    batch_id: str,
    chunk: int,
    source_label: str | None,
    track_files: bool,
) -> LoadResult:
    """Validate one chunk in DuckDB, then store it and its ``load_batches`` row in one warehouse transaction."""
    use_window = window is not None and not endpoint.snapshot
    window_utc = (naive_utc(window[0]), naive_utc(window[1])) if use_window and window else (None, None)
    in_window = (
        f"event_at >= {_literal(window_utc[0])} and event_at < {_literal(window_utc[1])}"
        if window_utc[0] is not None
        else "true"
    )
    started = naive_utc(datetime.now(UTC))
    # size and time before reading: a file that changes while it is read differs from them next time
    stats = {str(path): (stat.st_size, stat.st_mtime_ns) for path in files for stat in [path.stat()]}
    try:
        staged = _stage_chunk(session.staging, endpoint, files, in_window=in_window, source_label=source_label)
        with session.transaction():
            session.publish("_candidates", _candidate_columns(endpoint))
            session.publish("_bad", STAGED_BAD_COLUMNS)
            result = _write_chunk(session, endpoint, staged, batch_id)
            if track_files:
                _register_files(session, endpoint, stats, staged, batch_id)
            batch_row = [
                batch_id,
                chunk,
                endpoint.name,
                source_label or str(files[0].parent),
                window_utc[0],
                window_utc[1],
                started,
            ]
            counts = [getattr(result, name) for name in COUNT_NAMES]
            session.execute(
                f"insert into {RAW_SCHEMA}.load_batches ({', '.join(name for name, _ in LOAD_BATCH_COLUMNS)}) "
                f"values ({', '.join(_literal(v) for v in batch_row)}, timezone('UTC', now()), "
                f"{', '.join(_literal(v) for v in counts)})"
            )
    except duckdb.Error as error:
        # DuckDB's messages can quote a delivered line (its CSV and JSON errors do): never pass one on to the
        # logs or the Dagster event log as it is
        raise LoadError(f"{endpoint.name}: chunk {chunk} from {files[0]}: {safe_message(error)}") from None
    finally:
        for temp in STAGING_TABLES:
            session.staging.execute(f"drop table if exists {temp}")
    return result


def naive_utc(moment: datetime) -> datetime:
    """Naive UTC, as raw tables store timestamps; a naive input is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def new_batch_id() -> str:
    return datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def load_files(
    warehouse: Warehouse | str | Path,
    endpoint: str,
    files: Sequence[Path],
    *,
    window: tuple[datetime, datetime] | None = None,
    batch_id: str | None = None,
    source_label: str | None = None,
    track_files: bool = True,
    on_progress: ProgressCallback | None = None,
) -> LoadResult:
    """Load landing-format files of one endpoint, in the given (delivery) order, chunk by chunk.

    With ``track_files`` (landing directories), each file read is recorded in ``raw.landing_files`` and an
    unchanged file that cannot add anything to this load is not read again (``LoadResult.files_skipped``).
    ``on_progress`` hears of the files and bytes read (of those to read) as the load starts and after each chunk.
    """
    spec = ENDPOINTS[endpoint]
    batch_id = batch_id or new_batch_id()
    total = LoadResult(endpoint, batch_id)
    with as_warehouse(warehouse).session() as session:
        ensure_raw_tables(session)
        to_read = _files_to_read(session, spec, files, window) if track_files else list(files)
        total.files_skipped = len(files) - len(to_read)
        sizes = {path: path.stat().st_size for path in to_read}  # read once, for the totals and each chunk
        totals = {"files": len(to_read), "bytes": sum(sizes.values())}
        done = {"files": 0, "bytes": 0}
        if on_progress:
            on_progress(done, totals)
        for number, chunk in enumerate(_chunks(to_read)):
            part = _load_chunk(
                session,
                spec,
                chunk,
                window=window,
                batch_id=batch_id,
                chunk=number,
                source_label=source_label,
                track_files=track_files,
            )
            log.info("committed %s chunk %d: %s", endpoint, number, part.as_dict())
            total.add(part)
            if on_progress:
                done = {"files": done["files"] + len(chunk), "bytes": done["bytes"] + sum(sizes[p] for p in chunk)}
                on_progress(done, totals)
    return total


def _spool_api_pages(
    source: ApiSource, endpoint: str, window: tuple[datetime, datetime] | None, spool_dir: Path
) -> list[Path]:
    """Fetch every page of the window into JSONL spool files named in fetch order."""
    files = []
    client = PlatformClient(
        source.base_url,
        source.api_key,
        page_size=source.page_size,
        timeout=(min(10.0, source.timeout_seconds), source.timeout_seconds),
        retry=RetryPolicy(max_attempts=source.max_attempts, backoff_base_seconds=source.backoff_base_seconds),
    )
    with client:
        for number, page in enumerate(client.pages(endpoint, window), start=1):
            path = spool_dir / f"page-{number:07d}.jsonl"
            with path.open("wb") as out:
                for record in page.records:
                    out.write(_spool_line(record))
            files.append(path)
    return files


def _spool_line(record: object) -> bytes:
    """A fetched record as a landing line. A string holding a lone surrogate (a "\\ud800" escape in the page) has
    no UTF-8 form: such a record keeps its escapes, and is quarantined as malformed JSON, as from a file."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def ingest_endpoint(
    warehouse: Warehouse | str | Path,
    source: Source,
    endpoint: str,
    window: tuple[datetime, datetime] | None = None,
    on_progress: ProgressCallback | None = None,
) -> LoadResult:
    """Fetch (or read) one endpoint's records for a half-open event-time window and load them.

    The window is applied exactly as given (callers add their lookback for late records); snapshot
    endpoints (keys, organizations) always load the full list.
    """
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}")
    if isinstance(source, LandingSource):
        return load_files(warehouse, endpoint, source.files(endpoint), window=window, on_progress=on_progress)
    spool_dir = Path(tempfile.mkdtemp(prefix=f"tokenbooks-{ENDPOINTS[endpoint].table}-"))
    try:
        files = _spool_api_pages(source, endpoint, window, spool_dir)
        url = source.base_url + ENDPOINTS[endpoint].path
        return load_files(
            warehouse, endpoint, files, window=window, source_label=url, track_files=False, on_progress=on_progress
        )
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)


def load_landing(
    warehouse: Warehouse | str | Path,
    landing_dir: str | Path,
    *,
    endpoints: Iterable[str] | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> list[LoadResult]:
    """Load every endpoint folder of a landing directory (all of them unless ``endpoints`` is given)."""
    source = LandingSource(Path(landing_dir))
    return [ingest_endpoint(warehouse, source, name, window) for name in (endpoints or ENDPOINTS)]
