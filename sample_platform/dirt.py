"""Deliberate dirt in the sample landing files: what a real platform export gets wrong, counted exactly.

Each day, each event endpoint gets ``round(dirt_rate * records)`` dirt slots (at least one when the rate is
positive and the day has records). Slot kinds rotate through the endpoint's list starting at the day's
index, so a run of as many days as the endpoint has kinds (at most 21), each with records to carry them,
holds every kind. Every line is labelled with the dirt it carries (or ``None``); the generator's manifest
is the tally of those labels, so tests can assert exact quarantine and duplicate counts. Late delivery is
separate from the slots: some evening records move to the next day's file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingestion.records import ENDPOINTS
from sample_platform.catalog import MODELS
from sample_platform.records import json_line

# -- the kinds -------------------------------------------------------------------------------------------

# Valid records delivered again in the next day's file.
DUPLICATE = "duplicate"  # the identical line
CORRECTION = "correction"  # same id, changed content
LATE = "late"  # the record itself, hours after its event time
EXTRA_FIELD = "extra_field"  # an unknown field: valid, must be kept
REDELIVERY_KINDS = (DUPLICATE, CORRECTION)

# Lines that are not records.
BLANK_LINE = "blank_line"
TRUNCATED_JSON = "truncated_json"
NOT_JSON = "not_json"
MALFORMED_KINDS = (TRUNCATED_JSON, NOT_JSON)

# JSON records that break one rule of the contract each.
NUMBER_WITH_UNIT = "number_with_unit"
NUMBER_AS_STRING = "number_as_string"
MISSING_ID = "missing_id"
MISSING_ORGANIZATION_ID = "missing_organization_id"
MISSING_EVENT_TIME = "missing_event_time"
TIMESTAMP_WITHOUT_OFFSET = "timestamp_without_offset"
NEGATIVE_TOKENS = "negative_tokens"
CACHE_EXCEEDS_INPUT = "cache_exceeds_input"
CACHE_1H_EXCEEDS_CACHE_WRITE = "cache_1h_exceeds_cache_write"
REASONING_EXCEEDS_OUTPUT = "reasoning_exceeds_output"
UNKNOWN_KIND = "unknown_kind"
UNKNOWN_STATUS = "unknown_status"
LLM_MISSING_PROVIDER = "llm_missing_provider"
LLM_MISSING_MODEL = "llm_missing_model"
LLM_MISSING_USAGE = "llm_missing_usage"
RATING_OUT_OF_RANGE = "rating_out_of_range"
UNKNOWN_OUTCOME = "unknown_outcome"

# Rules of every endpoint's records, then rules only trace spans have.
_COMMON_INVALID_KINDS = (
    NUMBER_WITH_UNIT,
    NUMBER_AS_STRING,
    MISSING_ID,
    MISSING_ORGANIZATION_ID,
    MISSING_EVENT_TIME,
    TIMESTAMP_WITHOUT_OFFSET,
)
_TRACE_INVALID_KINDS = (
    NEGATIVE_TOKENS,
    CACHE_EXCEEDS_INPUT,
    CACHE_1H_EXCEEDS_CACHE_WRITE,
    REASONING_EXCEEDS_OUTPUT,
    UNKNOWN_KIND,
    UNKNOWN_STATUS,
    LLM_MISSING_PROVIDER,
    LLM_MISSING_MODEL,
    LLM_MISSING_USAGE,
)
INVALID_KINDS = (*_COMMON_INVALID_KINDS, *_TRACE_INVALID_KINDS, RATING_OUT_OF_RANGE, UNKNOWN_OUTCOME)

# Snapshot-only label: an older organization version delivered after a newer one.
STALE_VERSION = "stale_version"

# The order is the rotation of each day's slots (see the module docstring): changing it changes the data.
_COMMON_KINDS = (EXTRA_FIELD, BLANK_LINE, TRUNCATED_JSON, NOT_JSON, *_COMMON_INVALID_KINDS)

ENDPOINT_KINDS: dict[str, tuple[str, ...]] = {
    "logs": (DUPLICATE, CORRECTION, *_COMMON_KINDS),
    "traces": (DUPLICATE, CORRECTION, *_COMMON_KINDS, *_TRACE_INVALID_KINDS),
    "feedback": (DUPLICATE, CORRECTION, *_COMMON_KINDS, RATING_OUT_OF_RANGE),
    "rate-limits": (DUPLICATE, *_COMMON_KINDS, UNKNOWN_OUTCOME),
}

# The numeric field that becomes a string, and the unit glued to it ("1420ms").
_NUMBER_FIELD = {
    "logs": ("duration_ms", "ms"),
    "traces": ("duration_ms", "ms"),
    "feedback": ("rating", "/5"),
    "rate-limits": ("window_seconds", "s"),
}
_EXTRA_FIELD = {
    "logs": ("client_region", "eu-west-1"),
    "traces": ("otel_scope", {"name": "companin.tracing", "version": "1.8.0"}),
    "feedback": ("locale", "de-DE"),
    "rate-limits": ("policy_id", "pol_default_hourly"),
}
_NOT_JSON_LINES = (
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
    "ERROR: export interrupted, resuming from offset 18342",
)
# How many random records to look at for a slot's target before giving up on that slot.
_PROBES = 64
_EVENING_MS = 18 * 3_600_000


def late_probability(dirt_rate: float) -> float:
    """Share of evening records (after 18:00 UTC) delivered the next day: about ``dirt_rate`` overall."""
    return min(1.0, 4 * dirt_rate)


# -- mutations ---------------------------------------------------------------------------------------------

Record = dict[str, Any]


def _with_usage(record: Record, **changes: int) -> Record:
    llm = record["llm"]
    return {**record, "llm": {**llm, "usage": {**llm["usage"], **changes}}}


def _without_llm_field(name: str) -> Callable[[str, Record], Record]:
    def mutate(endpoint: str, record: Record) -> Record:
        llm = {k: v for k, v in record["llm"].items() if k != name}
        return {**record, "llm": llm}

    return mutate


def _without(field_of: Callable[[str], str]) -> Callable[[str, Record], Record]:
    def mutate(endpoint: str, record: Record) -> Record:
        name = field_of(endpoint)
        return {k: v for k, v in record.items() if k != name}

    return mutate


def _number_with_unit(endpoint: str, record: Record) -> Record:
    name, unit = _NUMBER_FIELD[endpoint]
    return {**record, name: f"{record[name]}{unit}"}


def _number_as_string(endpoint: str, record: Record) -> Record:
    name, _ = _NUMBER_FIELD[endpoint]
    return {**record, name: str(record[name])}


def _timestamp_without_offset(endpoint: str, record: Record) -> Record:
    name = ENDPOINTS[endpoint].event_time_field
    return {**record, name: record[name].removesuffix("Z")}


def _extra_field(endpoint: str, record: Record) -> Record:
    name, value = _EXTRA_FIELD[endpoint]
    return {**record, name: value}


def _usage(record: Record) -> dict[str, int]:
    return record["llm"]["usage"]


_MUTATIONS: dict[str, Callable[[str, Record], Record]] = {
    EXTRA_FIELD: _extra_field,
    NUMBER_WITH_UNIT: _number_with_unit,
    NUMBER_AS_STRING: _number_as_string,
    MISSING_ID: _without(lambda endpoint: ENDPOINTS[endpoint].id_field),
    MISSING_ORGANIZATION_ID: _without(lambda endpoint: "organization_id"),
    MISSING_EVENT_TIME: _without(lambda endpoint: ENDPOINTS[endpoint].event_time_field),
    TIMESTAMP_WITHOUT_OFFSET: _timestamp_without_offset,
    NEGATIVE_TOKENS: lambda e, r: _with_usage(r, output_tokens=-max(1, _usage(r)["output_tokens"])),
    CACHE_EXCEEDS_INPUT: lambda e, r: _with_usage(
        r,
        cache_read_input_tokens=_usage(r)["input_tokens"] // 2 + 1,
        cache_creation_input_tokens=_usage(r)["input_tokens"] // 2 + 1,
    ),
    CACHE_1H_EXCEEDS_CACHE_WRITE: lambda e, r: _with_usage(
        r, cache_creation_1h_input_tokens=_usage(r)["cache_creation_input_tokens"] + 1
    ),
    REASONING_EXCEEDS_OUTPUT: lambda e, r: _with_usage(r, reasoning_tokens=_usage(r)["output_tokens"] + 1),
    UNKNOWN_KIND: lambda e, r: {**r, "kind": "embedding"},
    UNKNOWN_STATUS: lambda e, r: {**r, "status": "timeout"},
    LLM_MISSING_PROVIDER: _without_llm_field("provider"),
    LLM_MISSING_MODEL: _without_llm_field("model"),
    LLM_MISSING_USAGE: _without_llm_field("usage"),
    RATING_OUT_OF_RANGE: lambda e, r: {**r, "rating": 7},
    UNKNOWN_OUTCOME: lambda e, r: {**r, "outcome": "throttled"},
}

# Kinds that need an LLM span to break.
_LLM_KINDS = frozenset(_TRACE_INVALID_KINDS) - {UNKNOWN_KIND, UNKNOWN_STATUS}


def _fits(kind: str, record: Record) -> bool:
    """Whether ``kind`` can be injected into ``record`` and give exactly the intended dirt."""
    if kind in _LLM_KINDS:
        return "llm" in record
    if kind == UNKNOWN_KIND:
        return "llm" not in record
    if kind == CORRECTION and "span_id" in record:
        # a span's correction is the provider's cost reported after the fact
        return "llm" in record and record["status"] == "ok" and record["llm"]["provider_reported_cost_usd"] is None
    return True


def _corrected(endpoint: str, record: Record, rng: random.Random) -> Record:
    """A later version of ``record``: same id, different content, still valid."""
    if endpoint == "logs":
        return {**record, "duration_ms": record["duration_ms"] + rng.randint(1, 40)}
    if endpoint == "traces":
        llm = record["llm"]
        cost = MODELS[llm["model"]].invoice_cost_usd(llm["usage"])
        return {**record, "llm": {**llm, "provider_reported_cost_usd": cost}}
    if endpoint == "feedback":
        rating = record["rating"] + (1 if record["rating"] < 5 else -1)
        return {**record, "rating": rating, "comment": f"{record['comment'] or ''} (edited)".strip()}
    raise ValueError(f"no corrections for {endpoint}")


# -- delivery ----------------------------------------------------------------------------------------------


@dataclass
class DeliveredLines:
    """One endpoint's lines of one generated day, each with its dirt label (``None`` when clean)."""

    today: list[str] = field(default_factory=list)
    today_labels: list[str | None] = field(default_factory=list)
    next_day: list[str] = field(default_factory=list)  # late records and re-deliveries
    next_day_labels: list[str | None] = field(default_factory=list)


def deliver(
    endpoint: str,
    records: list[Record],
    event_ms_of_day: list[int],
    groups: list[int] | None,
    rng: random.Random,
    *,
    dirt_rate: float,
    day_index: int,
    has_next_day: bool,
) -> DeliveredLines:
    """Serialize one day of ``records`` (in delivery order) with late records and dirt injected.

    ``groups`` ties records that travel together when late (the spans of one trace).
    """
    count = len(records)
    labels: list[str | None] = [None] * count
    late = _pick_late(event_ms_of_day, groups, rng, dirt_rate) if has_next_day else [False] * count
    kinds = [k for k in ENDPOINT_KINDS[endpoint] if has_next_day or k not in REDELIVERY_KINDS]
    slots = max(1, round(dirt_rate * count)) if dirt_rate > 0 and count else 0
    # day d starts the rotation at kind d: any len(kinds) consecutive days hold every kind at least once
    offset = day_index
    reserved: set[int] = set()  # originals of duplicates and corrections stay clean and untouched
    redeliveries: list[tuple[int, str, Record | None]] = []
    inserted: dict[int, list[tuple[str, str]]] = {}

    for slot in range(slots):
        kind = kinds[(offset + slot) % len(kinds)]
        if kind == BLANK_LINE:
            inserted.setdefault(rng.randrange(count + 1), []).append(("", kind))
            continue
        if kind == NOT_JSON:
            inserted.setdefault(rng.randrange(count + 1), []).append((rng.choice(_NOT_JSON_LINES), kind))
            continue
        target = _find_target(kind, records, labels, late, reserved, rng)
        if target is None:
            continue
        if kind == DUPLICATE:
            reserved.add(target)
            redeliveries.append((target, kind, None))
        elif kind == CORRECTION:
            reserved.add(target)
            redeliveries.append((target, kind, _corrected(endpoint, records[target], rng)))
        else:
            if kind != TRUNCATED_JSON:
                records[target] = _MUTATIONS[kind](endpoint, records[target])
            labels[target] = kind

    out = DeliveredLines()
    texts: dict[int, str] = {}
    for index, record in enumerate(records):
        for text, kind in inserted.get(index, ()):
            out.today.append(text)
            out.today_labels.append(kind)
        text = json_line(record)
        label = labels[index]
        if label == TRUNCATED_JSON:
            text = text[: len(text) // 2]
        if index in reserved:
            texts[index] = text
        if late[index]:
            out.next_day.append(text)
            out.next_day_labels.append(LATE)
        else:
            out.today.append(text)
            out.today_labels.append(label)
    for text, kind in inserted.get(count, ()):
        out.today.append(text)
        out.today_labels.append(kind)
    for index, kind, corrected in redeliveries:
        out.next_day.append(texts[index] if corrected is None else json_line(corrected))
        out.next_day_labels.append(kind)
    return out


def _pick_late(
    event_ms_of_day: list[int], groups: list[int] | None, rng: random.Random, dirt_rate: float
) -> list[bool]:
    probability = late_probability(dirt_rate)
    late = [False] * len(event_ms_of_day)
    decided: dict[int, bool] = {}
    for index, ms in enumerate(event_ms_of_day):
        if groups is None:
            late[index] = ms >= _EVENING_MS and rng.random() < probability
            continue
        group = groups[index]
        if group not in decided:  # a trace is late as a whole, decided by its first span
            decided[group] = ms >= _EVENING_MS and rng.random() < probability
        late[index] = decided[group]
    return late


def _find_target(
    kind: str,
    records: list[Record],
    labels: list[str | None],
    late: list[bool],
    reserved: set[int],
    rng: random.Random,
) -> int | None:
    for _ in range(_PROBES):
        index = rng.randrange(len(records))
        if labels[index] is None and not late[index] and index not in reserved and _fits(kind, records[index]):
            return index
    return None
