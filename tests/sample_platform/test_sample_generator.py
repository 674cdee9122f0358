"""The sample generator: deterministic bytes, a manifest that matches the files, and exactly-labelled dirt."""

from __future__ import annotations

import gzip
import json
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from ingestion.records import ENDPOINTS, validate_record
from sample_platform import dirt
from sample_platform.catalog import MODELS
from sample_platform.generator import (
    EVENT_ENDPOINTS,
    LEGACY_CRON_KEY,
    MANIFEST_NAME,
    build_plan,
    generate,
    generate_day,
)

SMALL = {"orgs": 6, "days": 3, "spans_per_day": 150}
# Long enough for every dirt kind of every endpoint (day d starts the rotation at kind d; traces have 21).
DIRTY = {"orgs": 6, "days": 21, "spans_per_day": 400, "dirt_rate": 0.02}
SAMPLE_MODELS = {
    ("openai", "gpt-4o-mini-2024-07-18"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "o3-mini-2025-01-31"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ("vertex_ai", "gemini-2.5-pro"),
    ("mistral", "mistral-small-latest"),
    ("deepseek", "deepseek-chat"),
    ("openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"),
}


def _all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _lines(path: Path) -> list[str]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return data.decode("utf-8").split("\n")[:-1]  # every line ends with a newline


def _records(root: Path, endpoint: str) -> list[dict]:
    """Every JSON record of an endpoint in delivery order (file name, then line)."""
    out = []
    for path in sorted((root / endpoint).iterdir()):
        for line in _lines(path):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _valid_records(root: Path, endpoint: str) -> list[dict]:
    out = []
    for record in _records(root, endpoint):
        try:
            validate_record(endpoint, record)
        except ValueError:
            continue
        out.append(record)
    return out


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    generate(out, **DIRTY)
    return out


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    """Ten clean days at the default volume: every scenario of the product story, no dirt."""
    out = tmp_path_factory.mktemp("month")
    generate(out, days=10, dirt_rate=0)
    return out


def test_same_arguments_write_the_same_bytes(tmp_path):
    generate(tmp_path / "a", **SMALL)
    generate(tmp_path / "b", **SMALL)
    generate(tmp_path / "c", **SMALL, seed=8)

    first, second, other_seed = (_all_files(tmp_path / name) for name in "abc")
    assert first == second
    assert first.keys() == other_seed.keys()
    assert first["logs/2026-10-01.jsonl"] != other_seed["logs/2026-10-01.jsonl"]


def test_gzip_files_hold_the_same_lines_and_are_deterministic(tmp_path):
    generate(tmp_path / "plain", **SMALL)
    generate(tmp_path / "gz1", **SMALL, gzip=True)
    generate(tmp_path / "gz2", **SMALL, gzip=True)

    assert _all_files(tmp_path / "gz1") == _all_files(tmp_path / "gz2")
    for endpoint in ENDPOINTS:
        plain = sorted((tmp_path / "plain" / endpoint).iterdir())
        zipped = sorted((tmp_path / "gz1" / endpoint).iterdir())
        assert [p.name + ".gz" for p in plain] == [p.name for p in zipped]
        assert [_lines(p) for p in plain] == [_lines(p) for p in zipped]


def test_layout_one_file_per_endpoint_and_day_and_the_manifest_arguments(tmp_path):
    summary = generate(tmp_path, **SMALL)

    days = ["2026-10-01", "2026-10-02", "2026-10-03"]
    for endpoint in EVENT_ENDPOINTS:
        assert sorted(p.name for p in (tmp_path / endpoint).iterdir()) == [f"{d}.jsonl" for d in days]
    for endpoint in ("keys", "organizations"):
        assert sorted(p.name for p in (tmp_path / endpoint).iterdir()) == [f"snapshot-{d}.jsonl" for d in days]
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest == summary.manifest
    assert manifest["arguments"] == {
        "orgs": 6,
        "days": 3,
        "start": "2026-10-01",
        "seed": 7,
        "spans_per_day": 150,
        "gzip": False,
        "dirt_rate": 0.01,
    }
    assert manifest["files"]["logs"] == [f"{d}.jsonl" for d in days]
    assert summary.records == {name: stats["records"] for name, stats in manifest["endpoints"].items()}
    assert len(summary.files) == 6 * 3


def test_regenerating_replaces_the_previous_dataset_but_keeps_other_files(tmp_path):
    generate(tmp_path, **SMALL)
    (tmp_path / "logs" / "README.txt").write_text("not ours")
    generate(tmp_path, **{**SMALL, "days": 2})

    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [
        "2026-10-01.jsonl",
        "2026-10-02.jsonl",
        "README.txt",
    ]


def test_invalid_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="days >= 1"):
        generate(tmp_path, days=0)


def _recount(root: Path, endpoint: str) -> dict:
    """The manifest's numbers, counted from the files alone (delivery order: file name, then line)."""
    model_fields = ENDPOINTS[endpoint].model.model_fields.keys()
    spec = ENDPOINTS[endpoint]
    counts: Counter[str] = Counter()
    seen_lines: set[str] = set()
    seen_ids: set[str] = set()
    for path in sorted((root / endpoint).iterdir()):
        counts["files"] += 1
        file_day = path.name.removeprefix("snapshot-")[:10]
        for line in _lines(path):
            counts["lines"] += 1
            if line == "":
                counts["blank_lines"] += 1
                continue
            try:
                record = json.loads(line)
            except ValueError:
                counts["malformed"] += 1
                continue
            counts["records"] += 1
            try:
                validate_record(endpoint, record)
            except ValueError:
                counts["invalid"] += 1
                continue
            counts["valid"] += 1
            counts["extra_fields"] += bool(record.keys() - model_fields)
            record_id = record[spec.id_field]
            if line in seen_lines:
                counts["duplicates"] += 1
            elif record_id in seen_ids:
                counts["corrections"] += 1
            else:
                counts["distinct_ids"] += 1
                if not spec.snapshot and record[spec.event_time_field][:10] < file_day:
                    counts["late"] += 1
            seen_lines.add(line)
            seen_ids.add(record_id)
    return counts


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_manifest_counts_are_what_the_files_hold(dirty, endpoint):
    stats = json.loads((dirty / MANIFEST_NAME).read_text())["endpoints"][endpoint]
    counted = _recount(dirty, endpoint)

    for name in ("files", "lines", "blank_lines", "malformed", "records", "invalid", "valid"):
        assert stats[name] == counted[name], name
    for name in ("duplicates", "corrections", "distinct_ids", "late"):
        assert stats[name] == counted[name], name
    assert stats["distinct_versions"] == counted["valid"] - counted["duplicates"]
    assert stats["dirt"].get(dirt.EXTRA_FIELD, 0) == counted["extra_fields"]
    if endpoint in EVENT_ENDPOINTS:
        assert stats["blank_lines"] == stats["dirt"][dirt.BLANK_LINE]
        assert stats["malformed"] == sum(stats["dirt"][k] for k in dirt.MALFORMED_KINDS)
        assert stats["invalid"] == sum(stats["dirt"][k] for k in dirt.INVALID_KINDS if k in stats["dirt"])


def test_a_long_enough_dataset_holds_every_dirt_kind_of_every_endpoint(dirty):
    manifest = json.loads((dirty / MANIFEST_NAME).read_text())

    for endpoint, kinds in dirt.ENDPOINT_KINDS.items():
        found = manifest["endpoints"][endpoint]["dirt"]
        assert {kind for kind in (dirt.LATE, *kinds) if found[kind] == 0} == set(), endpoint
    assert manifest["endpoints"]["organizations"]["dirt"] == {dirt.EXTRA_FIELD: 21, dirt.STALE_VERSION: 1}


def test_every_line_is_valid_unless_labelled_invalid():
    plan = build_plan(start=date(2026, 10, 1), seed=7, **DIRTY)
    verdicts: Counter[tuple[str, bool]] = Counter()
    for day_index in range(plan.days):
        batch = generate_day(plan, day_index)
        for endpoint, delivered in batch.lines.items():
            pairs = [
                *zip(delivered.today, delivered.today_labels, strict=True),
                *zip(delivered.next_day, delivered.next_day_labels, strict=True),
            ]
            for line, label in pairs:
                if label == dirt.BLANK_LINE:
                    assert line == ""
                    continue
                if label in dirt.MALFORMED_KINDS:
                    with pytest.raises(ValueError):
                        json.loads(line)
                    continue
                record = json.loads(line)
                try:
                    validate_record(endpoint, record)
                    valid = True
                except ValueError:
                    valid = False
                assert valid is (label not in dirt.INVALID_KINDS), (endpoint, label, line)
                verdicts[(label or "clean", valid)] += 1
    assert {label for label, valid in verdicts if not valid} == set(dirt.INVALID_KINDS)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_requests_rate_limits_and_traces_tell_one_story(month):
    logs = _valid_records(month, "logs")
    events = _valid_records(month, "rate-limits")
    spans = _valid_records(month, "traces")

    # one rate-limit event per request; blocked exactly when the request got 429
    def request_key(r, time_field):
        return (r["organization_id"], r["api_key_id"], r[time_field], r["endpoint"])

    blocked = Counter(request_key(e, "occurred_at") for e in events if e["outcome"] == "blocked")
    rejected = Counter(request_key(r, "timestamp") for r in logs if r["status_code"] == 429)
    assert blocked == rejected and sum(blocked.values()) > 0
    allowed_per_org_hour = Counter(
        (e["organization_id"], e["occurred_at"][:13]) for e in events if e["outcome"] == "allowed"
    )
    assert max(allowed_per_org_hour.values()) <= 100

    # traces of successful messages: children inside their root, the log at least as long as the root
    by_trace: dict[str, list[dict]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span)
    roots = {t: s for t, group in by_trace.items() for s in group if s["kind"] == "request"}
    for log in logs:
        if log["trace_id"] is not None and log["trace_id"] in roots:
            assert log["status_code"] == 200 and log["endpoint"].endswith("/messages")
            assert log["duration_ms"] >= roots[log["trace_id"]]["duration_ms"]
    for trace_id, root in roots.items():
        root_start = _parse(root["started_at"])
        root_end_ms = root["duration_ms"]
        for child in by_trace[trace_id]:
            if child is root:
                continue
            assert child["parent_span_id"] == root["span_id"]
            offset_ms = (_parse(child["started_at"]) - root_start).total_seconds() * 1000
            assert offset_ms >= 0 and offset_ms + child["duration_ms"] <= root_end_ms

    llm_spans = [s for s in spans if s["kind"] == "llm"]
    assert {(s["llm"]["provider"], s["llm"]["model"]) for s in llm_spans} == SAMPLE_MODELS
    failed = [s for s in llm_spans if s["status"] == "error"]
    assert failed and {s["llm"]["error_type"] for s in failed} == {"timeout", "rate_limit", "server_error"}
    for attempt in failed:
        retry = [
            s
            for s in by_trace[attempt["trace_id"]]
            if s["kind"] == "llm" and s["name"] == attempt["name"] and s["llm"]["attempt"] == 2
        ]
        assert len(retry) == 1 and retry[0]["status"] == "ok"
        assert retry[0]["llm"]["provider"] != attempt["llm"]["provider"]
    assert any(s["llm"]["usage"]["input_tokens"] > 0 for s in failed)  # billable failures exist

    usages = [s["llm"]["usage"] for s in llm_spans]
    assert any(u["reasoning_tokens"] > 0 for u in usages)
    assert any(u.get("cache_creation_1h_input_tokens", 0) > 0 for u in usages)
    assert any(u["input_tokens"] > 200_000 for u in usages)
    tiers = Counter(s["llm"]["service_tier"] for s in llm_spans)
    assert set(tiers) == {"default", "batch", "priority", "flex"} and tiers.most_common(1)[0][0] == "default"
    payloads = json.dumps([s["payload"] for s in spans if "payload" in s])
    assert "@example.com" in payloads and "+1 415 555 " in payloads and "sk-proj-" in payloads


def test_keys_feedback_and_organizations(month):
    keys = _valid_records(month, "keys")
    logs = _valid_records(month, "logs")
    revoked = {k["id"]: k for k in keys if k["revoked_at"] is not None}
    assert len(revoked) == 2
    cron = next(k for k in revoked.values() if k["name"] == LEGACY_CRON_KEY)
    cron_calls = [r for r in logs if r["api_key_id"] == cron["id"]]
    assert cron_calls and {r["status_code"] for r in cron_calls} == {401}
    assert min(r["timestamp"] for r in cron_calls) > cron["revoked_at"]
    assert all(k["prefix"].startswith(("cmp_live_", "cmp_test_")) for k in keys)

    feedback = _valid_records(month, "feedback")
    assert {f["rating"] for f in feedback} == {1, 2, 3, 4, 5}
    assert {f["reviewer"].split(":")[0] for f in feedback} == {"user", "agent"}
    traces = {s["trace_id"] for s in _valid_records(month, "traces")}
    linked = [f for f in feedback if f["trace_id"] is not None]
    assert len(linked) > 0.9 * len(feedback)
    assert sum(f["trace_id"] in traces for f in linked) > 0.9 * len(linked)

    manifest = json.loads((month / MANIFEST_NAME).read_text())
    upgraded = manifest["scenarios"]["upgraded_org"]
    versions = [o for o in _valid_records(month, "organizations") if o["id"] == upgraded]
    updated_at = [o["updated_at"] for o in versions]
    assert len(set(updated_at)) == 3  # before, morning upgrade, afternoon budget change
    newest = max(updated_at)
    assert updated_at[updated_at.index(newest) + 1] < newest  # a stale version delivered after the newest
    all_orgs = _valid_records(month, "organizations")
    assert {o["plan"] for o in all_orgs} == {"free", "starter", "growth", "enterprise"}
    assert all(o["monthly_budget_usd"] > 0 for o in all_orgs)


def test_cost_spike_and_sla_breach_scenarios(month):
    scenarios = json.loads((month / MANIFEST_NAME).read_text())["scenarios"]
    llm_spans = [s for s in _valid_records(month, "traces") if s["kind"] == "llm"]

    cost_per_day: Counter[str] = Counter()
    for span in llm_spans:
        if span["organization_id"] == scenarios["cost_spike_org"]:
            cost_per_day[span["started_at"][:10]] += MODELS[span["llm"]["model"]].invoice_cost_usd(span["llm"]["usage"])
    spike = cost_per_day.pop(scenarios["cost_spike_date"])
    assert spike > 3 * statistics.median(cost_per_day.values())

    latency: dict[bool, list[int]] = defaultdict(list)
    for span in llm_spans:
        if span["llm"]["provider"] == scenarios["sla_breach_provider"] and span["status"] == "ok":
            latency[span["started_at"][:10] == scenarios["sla_breach_date"]].append(span["duration_ms"])
    assert statistics.median(latency[True]) > 3 * statistics.median(latency[False])


def test_generating_days_in_parallel_writes_the_same_bytes(tmp_path):
    serial = generate(tmp_path / "serial", orgs=3, days=3, spans_per_day=200, seed=5)
    parallel = generate(tmp_path / "parallel", orgs=3, days=3, spans_per_day=200, seed=5, workers=2)
    names = sorted(p.relative_to(serial.out_dir) for p in serial.files)
    assert names == sorted(p.relative_to(parallel.out_dir) for p in parallel.files)
    for name in names:
        assert (serial.out_dir / name).read_bytes() == (parallel.out_dir / name).read_bytes()
