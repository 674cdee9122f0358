"""The landing layout on disk: one file per endpoint and day, optionally gzipped, and ``_manifest.json``.

``LandingWriter`` takes generated days in order, carries each day's late records and re-deliveries into the
next day's file, writes a full keys and organizations snapshot per day, and tallies every line's dirt label
for the manifest.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ingestion.records import ENDPOINTS
from sample_platform import dirt
from sample_platform.planning import SamplePlan
from sample_platform.records import (
    EVENT_ENDPOINTS,
    SNAPSHOT_ENDPOINTS,
    SnapshotRow,
    json_line,
    key_snapshot,
    organization_snapshot,
)

MANIFEST_NAME = "_manifest.json"

_LANDING_FILE = re.compile(r"^(snapshot-)?\d{4}-\d{2}-\d{2}\.jsonl(\.gz)?$")


@dataclass
class DayBatch:
    """One generated day: each event endpoint's lines (for this day's file and the next), key usage."""

    day_index: int
    lines: dict[str, dirt.DeliveredLines]
    key_last_used_ms: dict[str, int]
    features: Counter[str]


@dataclass
class EndpointTally:
    """Counts of what was written for one endpoint (the manifest's per-endpoint numbers)."""

    files: int = 0
    lines: int = 0
    blank_lines: int = 0
    malformed: int = 0
    invalid: int = 0
    duplicates: int = 0
    corrections: int = 0
    late: int = 0
    ids: int = 0
    dirt: Counter[str] = field(default_factory=Counter)

    def count_labels(self, labels: list[str | None]) -> None:
        self.lines += len(labels)
        self.dirt.update(label for label in labels if label is not None)

    def as_manifest(self, endpoint: str) -> dict[str, Any]:
        if endpoint in EVENT_ENDPOINTS:
            self.blank_lines = self.dirt[dirt.BLANK_LINE]
            self.malformed = sum(self.dirt[k] for k in dirt.MALFORMED_KINDS)
            self.invalid = sum(self.dirt[k] for k in dirt.INVALID_KINDS)
            self.duplicates = self.dirt[dirt.DUPLICATE]
            self.corrections = self.dirt[dirt.CORRECTION]
            self.late = self.dirt[dirt.LATE]
        records = self.lines - self.blank_lines - self.malformed
        valid = records - self.invalid
        kinds = dirt.ENDPOINT_KINDS.get(endpoint, ())
        known = (dirt.LATE, *kinds) if endpoint in EVENT_ENDPOINTS else ()
        return {
            "files": self.files,
            "lines": self.lines,
            "blank_lines": self.blank_lines,
            "malformed": self.malformed,
            "records": records,
            "invalid": self.invalid,
            "valid": valid,
            "duplicates": self.duplicates,
            "corrections": self.corrections,
            "distinct_versions": valid - self.duplicates,
            "distinct_ids": self.ids if endpoint in SNAPSHOT_ENDPOINTS else valid - self.duplicates - self.corrections,
            "late": self.late,
            "dirt": {kind: self.dirt[kind] for kind in sorted({*known, *self.dirt})},
        }


class LandingWriter:
    """Writes generated days in order: carries late records and re-deliveries into the next day's file."""

    def __init__(self, out_dir: Path, plan: SamplePlan, *, gzip: bool):
        self.out_dir = out_dir
        self.manifest_path = out_dir / MANIFEST_NAME
        self.plan = plan
        self.gzip = gzip
        self.suffix = ".jsonl.gz" if gzip else ".jsonl"
        self.tally = {name: EndpointTally() for name in ENDPOINTS}
        self.carried: dict[str, tuple[list[str], list[str | None]]] = {e: ([], []) for e in EVENT_ENDPOINTS}
        self.key_last_used = {k.id: k.last_used_before_ms for org in plan.orgs for k in org.keys}
        self.snapshot_seen: dict[str, tuple[set[str], set[str]]] = {e: (set(), set()) for e in SNAPSHOT_ENDPOINTS}
        self.features: Counter[str] = Counter()
        self.files: list[Path] = []
        self.next_day = 0
        _clear_landing(out_dir)

    def write_day(self, batch: DayBatch) -> None:
        if batch.day_index != self.next_day:
            raise ValueError(f"days must be written in order: expected {self.next_day}, got {batch.day_index}")
        self.next_day += 1
        day = self.plan.start + timedelta(days=batch.day_index)
        for endpoint in EVENT_ENDPOINTS:
            carried_lines, carried_labels = self.carried[endpoint]
            delivered = batch.lines[endpoint]
            self._write(endpoint, f"{day}", carried_lines + delivered.today)
            self.tally[endpoint].count_labels(carried_labels + delivered.today_labels)
            self.carried[endpoint] = (delivered.next_day, delivered.next_day_labels)
        for key_id, ms in batch.key_last_used_ms.items():
            self.key_last_used[key_id] = max(self.key_last_used[key_id], ms)
        self.features.update(batch.features)
        self._write_snapshot("keys", day, key_snapshot(self.plan, self.key_last_used))
        self._write_snapshot("organizations", day, organization_snapshot(self.plan, batch.day_index))

    def finish(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Write the manifest; returns exactly what the file says (lists, not tuples)."""
        leftover = {e: len(lines) for e, (lines, _) in self.carried.items() if lines}
        if leftover or self.next_day != self.plan.days:
            raise ValueError(f"incomplete dataset: {self.next_day} of {self.plan.days} days, carried {leftover}")
        scenarios = asdict(self.plan.scenarios)
        for name in ("cost_spike_day", "sla_breach_day", "upgrade_day", "stale_version_day"):
            if scenarios[name] is not None:
                scenarios[name.removesuffix("_day") + "_date"] = f"{self.plan.start + timedelta(scenarios[name])}"
        manifest = {
            "generator": "tokenbooks sample platform",
            "arguments": arguments,
            "files": {name: sorted(p.name for p in self.files if p.parent.name == name) for name in ENDPOINTS},
            "endpoints": {name: tally.as_manifest(name) for name, tally in self.tally.items()},
            "scenarios": scenarios,
            "features": dict(sorted(self.features.items())),
        }
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        self.manifest_path.write_text(text, encoding="utf-8")
        return json.loads(text)

    def _write(self, endpoint: str, stem: str, lines: list[str]) -> None:
        folder = self.out_dir / endpoint
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}{self.suffix}"
        data = "".join(f"{line}\n" for line in lines).encode("utf-8")
        # mtime=0 and no file name in the header: the same dataset is the same bytes
        path.write_bytes(gzip_module.compress(data, mtime=0) if self.gzip else data)
        self.files.append(path)
        self.tally[endpoint].files += 1

    def _write_snapshot(self, endpoint: str, day: date, rows: list[SnapshotRow]) -> None:
        """Write one snapshot file; count unchanged rows as duplicates and changed ones as corrections."""
        tally = self.tally[endpoint]
        seen_ids, seen_lines = self.snapshot_seen[endpoint]
        known_fields = ENDPOINTS[endpoint].model.model_fields.keys()
        lines = []
        for row in rows:
            line = json_line(row.record)
            lines.append(line)
            if row.stale:
                tally.dirt[dirt.STALE_VERSION] += 1
            if row.record.keys() - known_fields:
                tally.dirt[dirt.EXTRA_FIELD] += 1
            if line in seen_lines:
                tally.duplicates += 1
            elif row.id in seen_ids:
                tally.corrections += 1
            else:
                tally.ids += 1
            seen_ids.add(row.id)
            seen_lines.add(line)
        self._write(endpoint, f"snapshot-{day}", lines)
        tally.lines += len(lines)


def _clear_landing(out_dir: Path) -> None:
    """Remove a previous generated dataset (only files this generator names), so no stale day remains."""
    for name in ENDPOINTS:
        folder = out_dir / name
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and _LANDING_FILE.match(path.name):
                    path.unlink()
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
