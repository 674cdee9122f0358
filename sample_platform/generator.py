"""Deterministic sample data for the platform's landing files: a month of a small AI platform, with dirt.

``generate(out_dir, ...)`` writes the landing layout of the source contract::

    <out>/logs/2026-10-01.jsonl ...            one file per event endpoint per visibility day
    <out>/traces/ feedback/ rate-limits/       (a late record sits in the file of the day it became visible)
    <out>/keys/snapshot-2026-10-01.jsonl ...   one full snapshot per day
    <out>/organizations/snapshot-2026-10-01.jsonl ...
    <out>/_manifest.json                       arguments, record counts and exact dirt counts per endpoint

What the data holds (see ``sample_platform.catalog`` for the cast):

* organizations on free/starter/growth/enterprise plans with budgets; 2-4 API keys each, two revoked, one
  of them still used by a legacy cron job (its requests get 401);
* conversations with hour-of-day and weekday seasonality: create, 1-4 messages, sometimes a read, and
  feedback on about 20% of them; one rate-limit event per request, 100 requests/hour per organization, and
  a runaway poller that bursts over the limit on some days (its blocked events match 429 request logs);
* a trace for every successful message: request root, retrieval, sometimes a tool, one or more LLM spans,
  postprocess; ~5% of traces fail over to another provider after a failed first attempt; cache reads and
  writes, reasoning tokens, long-context calls, service tiers, provider-reported costs and payloads with
  fake personal data and secret-looking tokens;
* scenarios for alerting: one organization's cost spikes one day, one provider is slow one day;
* dirt (``sample_platform.dirt``): late records, duplicates, corrections, extra fields, blank and
  malformed lines, and invalid records of every rule, all counted in the manifest.

Every day is generated independently from ``(seed, day)``: ``generate_day`` can run in parallel processes
and its results are stitched together in day order by the writer. Same arguments, same bytes.

The stages: ``planning`` (what happens), ``records`` (the contract's records of it), ``dirt`` (what the
export gets wrong, as lines) and ``writing`` (files, gzip, the manifest).
"""

from __future__ import annotations

import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from ingestion.records import ENDPOINTS
from sample_platform import dirt
from sample_platform.planning import LEGACY_CRON_KEY, DayPlan, SamplePlan, build_plan, plan_day
from sample_platform.records import EVENT_ENDPOINTS, event_records
from sample_platform.writing import MANIFEST_NAME, DayBatch, LandingWriter

__all__ = [
    "EVENT_ENDPOINTS",
    "LEGACY_CRON_KEY",
    "MANIFEST_NAME",
    "GenerationSummary",
    "build_plan",
    "generate",
    "generate_day",
]


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: Path
    manifest_path: Path
    files: tuple[Path, ...]
    records: dict[str, int]  # JSON records delivered per endpoint (valid and invalid, duplicates included)
    manifest: dict[str, Any]


def generate(
    out_dir: Path,
    *,
    orgs: int = 6,
    days: int = 30,
    start: date = date(2026, 10, 1),
    seed: int = 7,
    spans_per_day: int = 400,
    gzip: bool = False,
    dirt_rate: float = 0.01,
    workers: int = 1,
) -> GenerationSummary:
    """Write a landing dataset to ``out_dir`` (replacing a previous one there) and its ``_manifest.json``.

    ``spans_per_day`` is the approximate number of trace spans per day across all organizations; requests,
    rate-limit events and feedback scale with it. The rate limit is literal (100 requests/hour per
    organization), so very large volumes need more ``orgs`` to stay mostly unthrottled. ``dirt_rate`` is
    the share of records per endpoint and day carrying deliberate dirt (0 for a clean dataset). ``workers`` > 1
    generates days in that many processes; the files are byte-identical either way.
    """
    out_dir = Path(out_dir)
    plan = build_plan(orgs=orgs, days=days, start=start, seed=seed, spans_per_day=spans_per_day, dirt_rate=dirt_rate)
    writer = LandingWriter(out_dir, plan, gzip=gzip)
    if workers > 1:
        # days are independent given the plan: generate them in parallel, write them in order (same bytes)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for batch in pool.map(partial(generate_day, plan), range(days)):
                writer.write_day(batch)
    else:
        for day_index in range(days):
            writer.write_day(generate_day(plan, day_index))
    arguments = {
        "orgs": orgs,
        "days": days,
        "start": start.isoformat(),
        "seed": seed,
        "spans_per_day": spans_per_day,
        "gzip": gzip,
        "dirt_rate": dirt_rate,
    }
    manifest = writer.finish(arguments)
    return GenerationSummary(
        out_dir,
        writer.manifest_path,
        tuple(writer.files),
        {name: manifest["endpoints"][name]["records"] for name in ENDPOINTS},
        manifest,
    )


def generate_day(plan: SamplePlan, day_index: int) -> DayBatch:
    """Generate one day on its own (a pure function of the plan and the day: safe to run in parallel)."""
    # one random stream a day: planning draws from it first, then the dirt
    rng = random.Random(f"{plan.seed}:day:{day_index}")
    day = plan_day(plan, day_index, rng)
    records = event_records(day)
    lines = {endpoint: _deliver(plan, day, endpoint, records[endpoint], rng) for endpoint in EVENT_ENDPOINTS}
    return DayBatch(day_index, lines, day.key_last_used_ms, day.features)


def _deliver(
    plan: SamplePlan, day: DayPlan, endpoint: str, items: list[tuple[int, int, Any]], rng: random.Random
) -> dirt.DeliveredLines:
    if endpoint == "traces":  # one item per trace: its spans are delivered one a line, late together
        flat = [(ms, group, span) for group, (ms, _, spans) in enumerate(items) for span in spans]
        event_ms = [ms - day.start_ms for ms, _, _ in flat]
        groups: list[int] | None = [group for _, group, _ in flat]
        delivered = [span for _, _, span in flat]
    else:
        event_ms = [ms - day.start_ms for ms, _, _ in items]
        groups = None
        delivered = [record for _, _, record in items]
    return dirt.deliver(
        endpoint,
        delivered,
        event_ms,
        groups,
        rng,
        dirt_rate=plan.dirt_rate,
        day_index=day.day_index,
        has_next_day=day.day_index < plan.days - 1,
    )
