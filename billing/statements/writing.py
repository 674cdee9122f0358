"""Statement files on disk: ``<statements dir>/<YYYY-MM>/<organization>.{csv,html,pdf}``.

Files are written atomically (a temporary ``.<file name>.<random>.partial`` renamed into place; one that a
killed writer left behind is removed by the next). A closed statement's files are written once, as closed, and
never again, even if the renderer changes later: ``<YYYY-MM>/closed-statements.json`` records each one (its
statement_hash and the SHA-256 of every file) when it is first written closed. An open month's directory
otherwise mirrors the marts: files of an organization without a statement are removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

import settings
from billing.statements.reading import Statement, read_statements
from billing.statements.rendering import RENDERERS
from warehouse import DuckDBWarehouse, Warehouse, as_warehouse

STATEMENTS_DIR_ENV = settings.env_name("statements_dir")
CLOSED_RECORD_NAME = "closed-statements.json"
STATEMENTS_DIR_NAME = "statements"
DEFAULT_STATEMENTS_DIR = Path("data") / STATEMENTS_DIR_NAME
PARTIAL_SUFFIX = ".partial"

log = logging.getLogger(__name__)


def statements_dir(warehouse: Warehouse | Path) -> Path:
    """``TOKENBOOKS_STATEMENTS_DIR``, else ``statements/`` beside a DuckDB warehouse file (data/statements by
    default), else data/statements; as an absolute path."""
    configured = settings.current().statements_dir
    if configured:
        return configured.expanduser().absolute()
    warehouse = as_warehouse(warehouse)
    if isinstance(warehouse, DuckDBWarehouse):
        return warehouse.path.absolute().parent / STATEMENTS_DIR_NAME
    return DEFAULT_STATEMENTS_DIR.absolute()


def month_dir(root: Path, billing_month: date) -> Path:
    return root / billing_month.strftime("%Y-%m")


def file_stem(organization_id: str) -> str:
    """The organization id as a file name: unchanged when it is a plain id, percent-encoded otherwise, so no id
    can name a path outside the month's directory and two ids never share a file."""
    return quote(organization_id, safe="-_.") if organization_id not in (".", "..") else quote(organization_id, safe="")


@dataclass(frozen=True)
class MonthWritten:
    """What ``write_month`` did for one month."""

    billing_month: date
    directory: Path
    statements: int
    written: tuple[Path, ...] = ()
    kept_closed: tuple[Path, ...] = ()  # closed statements' files, already there and left alone
    removed: tuple[Path, ...] = ()
    bytes_by_format: dict[str, int] = field(default_factory=dict)


def _write_atomically(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return  # unchanged: leave the file (and its modification time) alone
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, delete=False
    ) as temporary:
        temporary.write(content)
    os.chmod(temporary.name, 0o644)  # readable like any other file here, not the temporary file's 0600
    os.replace(temporary.name, path)


def _statement_files(directory: Path, statement: Statement) -> dict[str, Path]:
    return {extension: directory / f"{file_stem(statement.organization_id)}.{extension}" for extension in RENDERERS}


def _read_closed_record(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _closed_entry(statement: Statement, files: dict[str, Path]) -> dict:
    return {
        "statement_hash": statement.statement_hash,
        "files": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files.values()},
    }


def write_month(warehouse: Warehouse | Path, billing_month: date, root: Path) -> MonthWritten:
    """Write every statement of ``billing_month`` from the marts in ``warehouse`` under ``root``."""
    directory = month_dir(root, billing_month)
    directory.mkdir(parents=True, exist_ok=True)
    for partial in directory.glob(f".*{PARTIAL_SUFFIX}"):  # half written by a writer that was killed
        partial.unlink()
    statements = read_statements(warehouse, billing_month)
    closed_record_path = directory / CLOSED_RECORD_NAME
    closed_record = _read_closed_record(closed_record_path)
    written: list[Path] = []
    kept: list[Path] = []
    sizes = dict.fromkeys(RENDERERS, 0)
    for statement in statements:
        files = _statement_files(directory, statement)
        if statement.organization_id in closed_record and all(path.exists() for path in files.values()):
            kept += files.values()
        else:
            for extension, render in RENDERERS.items():
                _write_atomically(files[extension], render(statement))
                written.append(files[extension])
            if statement.is_closed:
                closed_record[statement.organization_id] = _closed_entry(statement, files)
            log.info("wrote the statement files of %s for %s", statement.organization_id, f"{billing_month:%Y-%m}")
        for extension, path in files.items():
            sizes[extension] += path.stat().st_size
    if closed_record:
        _write_atomically(closed_record_path, (json.dumps(closed_record, indent=2, sort_keys=True) + "\n").encode())
    expected = {path for statement in statements for path in _statement_files(directory, statement).values()}
    removed = [path for path in sorted(directory.iterdir()) if path.suffix[1:] in RENDERERS and path not in expected]
    for path in removed:
        path.unlink()
    return MonthWritten(billing_month, directory, len(statements), tuple(written), tuple(kept), tuple(removed), sizes)


def statements_summary(root: Path, months: list[date]) -> str:
    """Where each month's statement files are, how many, and their size."""
    lines = [f"Billing statements ({root})"]
    for billing_month in months:
        directory = month_dir(root, billing_month)
        files = (
            sorted(path for path in directory.glob("*.*") if path.suffix[1:] in RENDERERS) if directory.is_dir() else []
        )
        sizes = ", ".join(
            f"{extension} {sum(path.stat().st_size for path in files if path.suffix == f'.{extension}'):,} bytes"
            for extension in RENDERERS
        )
        statements = len({path.stem for path in files})
        lines.append(f"  {billing_month:%Y-%m}  {statements} statement(s)  {directory}{os.sep}  ({sizes})")
    return "\n".join(lines)
