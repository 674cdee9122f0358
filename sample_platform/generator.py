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
and its results are stitched together in day order by ``write_day``. Same arguments, same bytes.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache, partial
from itertools import accumulate, count
from pathlib import Path
from typing import Any

from ingestion.records import ENDPOINTS
from sample_platform import catalog, dirt
from sample_platform.catalog import MODELS, WORKFLOWS, LlmStep, ModelProfile

EVENT_ENDPOINTS = ("logs", "traces", "feedback", "rate-limits")
SNAPSHOT_ENDPOINTS = ("keys", "organizations")
MANIFEST_NAME = "_manifest.json"
RATE_LIMIT_PER_HOUR = 100
LEGACY_CRON_KEY = "legacy cron"  # the revoked key that is still used (every call gets 401)

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
_SPIKE_INPUT_MULTIPLIER = 8  # a prompt bug pastes the whole knowledge base into every call
_SLA_LATENCY_MULTIPLIER = 4
_MAX_LLM_DURATION_MS = 55_000  # the platform cuts calls off before a minute
_FAILOVER_PROBABILITY = 0.05
_SNIPPET = "Refunds are issued within 14 days of the request. "
# Measured spans per conversation (messages x success x spans per trace); turns spans_per_day into traffic.
_SPANS_PER_CONVERSATION = 9.9
_MESSAGES_PER_CONVERSATION = ((1, 2, 3, 4), (0.35, 0.65, 0.85, 1.0))
_MESSAGE_STATUS = ((200, 400, 404, 422, 500, 502, 503), (0.945, 0.953, 0.957, 0.967, 0.979, 0.991, 1.0))
_READ_STATUS = ((200, 404, 500), (0.97, 0.99, 1.0))
_CREATE_STATUS = ((201, 400, 503), (0.99, 0.995, 1.0))
_FEEDBACK_STATUS = ((201, 400, 404), (0.985, 0.995, 1.0))
_RATINGS = ((1, 2, 3, 4, 5), (0.08, 0.18, 0.33, 0.63, 1.0))
_SERVICE_TIERS = (("default", "batch", "priority", "flex"), (0.88, 0.92, 0.97, 1.0))
_ERROR_TYPES = (("timeout", "rate_limit", "server_error"), (0.4, 0.7, 1.0))

MESSAGES_ENDPOINT = "/api/v1/conversations/{conversation_id}/messages"
CONVERSATION_ENDPOINT = "/api/v1/conversations/{conversation_id}"
CREATE_ENDPOINT = "/api/v1/conversations"
FEEDBACK_ENDPOINT = "/api/v1/conversations/{conversation_id}/feedback"


# -- time --------------------------------------------------------------------------------------------------


def epoch_ms(day: date) -> int:
    return (day - _EPOCH).days * _DAY_MS


@lru_cache(maxsize=4096)
def _date_prefix(day_number: int) -> str:
    return f"{_EPOCH + timedelta(days=day_number)}T"


_CLOCK_TIMES = tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))


def iso_ms(ms: int) -> str:
    """``2026-10-01T10:15:03.120Z`` for milliseconds since the epoch (cheaper than datetime per record)."""
    day, rest = divmod(ms, _DAY_MS)
    seconds, millis = divmod(rest, 1000)
    return f"{_date_prefix(day)}{_CLOCK_TIMES[seconds]}.{millis:03d}Z"


# -- the world: organizations, users, keys and scenarios (fixed for the whole dataset) ----------------------


@dataclass(frozen=True)
class SampleKey:
    id: str
    organization_id: str
    name: str
    prefix: str
    created_ms: int
    last_used_before_ms: int  # last use before the dataset starts
    weight: float  # share of the organization's conversations sent with this key
    revoked_ms: int | None = None


@dataclass(frozen=True)
class OrgVersion:
    plan: str
    monthly_budget_usd: float
    updated_ms: int


@dataclass(frozen=True)
class SampleOrg:
    id: str
    name: str
    segment: str
    created_ms: int
    versions: tuple[OrgVersion, ...]  # the first is current when the dataset starts
    traffic_share: float
    workflows: tuple[str, ...]
    workflow_cum_weights: tuple[float, ...]
    model_overrides: dict[str, str]
    users: tuple[dict[str, str], ...]  # customer_data of each end user
    agents: tuple[str, ...]
    keys: tuple[SampleKey, ...]
    extra_fields: dict[str, str] = field(default_factory=dict)

    @property
    def active_keys(self) -> tuple[SampleKey, ...]:
        return tuple(k for k in self.keys if k.revoked_ms is None)


@dataclass(frozen=True)
class Scenarios:
    cost_spike_org: str
    cost_spike_day: int
    sla_breach_provider: str
    sla_breach_day: int
    rate_limit_burst_org: str
    rate_limit_burst_days: tuple[int, ...]
    revoked_key_in_use: str
    upgraded_org: str | None  # updated in a later snapshot (None with a one-day dataset)
    upgrade_day: int | None
    stale_version_day: int | None  # the day the pre-upgrade version is delivered again


@dataclass(frozen=True)
class SamplePlan:
    """Everything that stays fixed across days; ``generate_day(plan, d)`` needs nothing else."""

    seed: int
    start: date
    days: int
    spans_per_day: int
    dirt_rate: float
    orgs: tuple[SampleOrg, ...]
    scenarios: Scenarios

    @property
    def conversations_per_day(self) -> float:
        return self.spans_per_day / _SPANS_PER_CONVERSATION


def build_plan(
    *, orgs: int, days: int, start: date, seed: int, spans_per_day: int, dirt_rate: float = 0.01
) -> SamplePlan:
    if orgs < 1 or days < 1 or spans_per_day < 0 or not 0 <= dirt_rate <= 1:
        raise ValueError("need orgs >= 1, days >= 1, spans_per_day >= 0 and 0 <= dirt_rate <= 1")
    rng = random.Random(f"{seed}:plan")
    start_ms = epoch_ms(start)
    profiles = [_profile(i) for i in range(orgs)]
    weights = [catalog.PLAN_TRAFFIC_WEIGHT[p.plan] for p in profiles]
    revoked_in_use_org = 3 % orgs
    revoked_unused_org = 5 % orgs
    upgraded_org = 4 % orgs if days >= 2 else None
    upgrade_day = max(1, days // 2) if days >= 2 else None
    key_counter = count(1)

    def budget(plan: str) -> float:
        scale = spans_per_day / catalog.DEFAULT_SPANS_PER_DAY
        return round(max(1.0, catalog.PLAN_MONTHLY_BUDGET_USD[plan] * scale), 2)

    built: list[SampleOrg] = []
    revoked_key_in_use = ""
    for index, profile in enumerate(profiles):
        org_id = f"org_{profile.slug}"
        created_ms = start_ms - rng.randint(120, 700) * _DAY_MS + rng.randrange(_DAY_MS)
        keys = _keys(
            rng,
            org_id,
            key_counter,
            start_ms,
            created_ms,
            revoked_in_use=index == revoked_in_use_org,
            revoked_unused=index == revoked_unused_org and orgs > 1,
        )
        if index == revoked_in_use_org:
            revoked_key_in_use = next(k.id for k in keys if k.name == LEGACY_CRON_KEY)
        initial = OrgVersion(
            profile.plan,
            budget(profile.plan),
            start_ms - rng.randint(3, 60) * _DAY_MS + rng.randrange(_DAY_MS),
        )
        versions: tuple[OrgVersion, ...] = (initial,)
        if index == upgraded_org and upgrade_day is not None:
            upgraded = catalog.UPGRADE[profile.plan]
            day_ms = start_ms + upgrade_day * _DAY_MS
            versions = (
                initial,
                # the self-serve upgrade in the morning, then the budget sales agreed in the afternoon
                OrgVersion(upgraded, budget(upgraded), day_ms + 9 * _HOUR_MS + 754_000),
                OrgVersion(upgraded, budget(upgraded) * 2, day_ms + 15 * _HOUR_MS + 2_331_000),
            )
        workflow_names = tuple(name for name, _ in profile.workflows)
        built.append(
            SampleOrg(
                id=org_id,
                name=profile.name,
                segment=profile.segment,
                created_ms=created_ms,
                versions=versions,
                traffic_share=weights[index] / sum(weights),
                workflows=workflow_names,
                workflow_cum_weights=tuple(accumulate(w for _, w in profile.workflows)),
                model_overrides=dict(profile.model_overrides),
                users=_users(rng, profile.slug, 8 + int(weights[index] * 8)),
                agents=tuple(f"ag_{profile.slug}_{n}" for n in range(1, 4)),
                keys=keys,
                # one organization carries a field the contract does not know yet
                extra_fields={"data_region": "eu"} if index == 0 else {},
            )
        )
    scenarios = Scenarios(
        cost_spike_org=built[1 % orgs].id,
        cost_spike_day=min(days - 1, (2 * days) // 3),
        sla_breach_provider="anthropic",
        sla_breach_day=days // 3,
        rate_limit_burst_org=built[2 % orgs].id,
        rate_limit_burst_days=tuple(range(1, days, 4)) or (0,),
        revoked_key_in_use=revoked_key_in_use,
        upgraded_org=built[upgraded_org].id if upgraded_org is not None else None,
        upgrade_day=upgrade_day,
        stale_version_day=min(upgrade_day + 1, days - 1) if upgrade_day is not None else None,
    )
    return SamplePlan(seed, start, days, spans_per_day, dirt_rate, tuple(built), scenarios)


def _profile(index: int) -> catalog.OrgProfile:
    profiles = catalog.ORG_PROFILES
    base = profiles[index % len(profiles)]
    if index < len(profiles):
        return base
    round_ = index // len(profiles) + 1
    return catalog.OrgProfile(f"{base.slug}{round_}", f"{base.name} {round_}", base.plan, base.segment, base.workflows)


def _users(rng: random.Random, slug: str, count: int) -> tuple[dict[str, str], ...]:
    return tuple(
        {
            "user_id": f"u_{slug}_{n}",
            "segment": rng.choice(catalog.END_USER_SEGMENTS),
            "persona": rng.choice(catalog.PERSONAS),
            "channel": rng.choice(catalog.CHANNELS),
            "experiment_variant": rng.choice(catalog.EXPERIMENT_VARIANTS),
        }
        for n in range(1, count + 1)
    )


def _keys(
    rng: random.Random,
    org_id: str,
    counter: Any,
    start_ms: int,
    org_created_ms: int,
    *,
    revoked_in_use: bool,
    revoked_unused: bool,
) -> tuple[SampleKey, ...]:
    names = list(catalog.KEY_NAMES[: rng.randint(2, 4)])
    weights = [0.75] + [0.25 / (len(names) - 1)] * (len(names) - 1)
    revoked: dict[str, int] = {}
    if revoked_unused:  # the first key (the busiest) always stays active
        revoked[names[-1]] = start_ms - 40 * _DAY_MS + 16 * _HOUR_MS
        weights[-1] = 0.0
    if revoked_in_use:
        names.append(LEGACY_CRON_KEY)
        weights.append(0.0)
        revoked[LEGACY_CRON_KEY] = start_ms - 12 * _DAY_MS + 10 * _HOUR_MS
    keys = []
    for name, weight in zip(names, weights, strict=True):
        created_ms = org_created_ms + rng.randint(0, 60) * _DAY_MS + rng.randrange(_DAY_MS)
        revoked_ms = revoked.get(name)
        last_used = (revoked_ms if revoked_ms is not None else start_ms) - rng.randrange(1, 3 * _DAY_MS)
        environment = "test" if name == "staging" else "live"
        keys.append(
            SampleKey(
                id=f"key_{next(counter)}",
                organization_id=org_id,
                name=name,
                prefix=f"cmp_{environment}_{rng.getrandbits(16):04x}",
                created_ms=min(created_ms, last_used - _DAY_MS),
                last_used_before_ms=last_used,
                weight=weight,
                revoked_ms=revoked_ms,
            )
        )
    return tuple(keys)


# -- one day -------------------------------------------------------------------------------------------------


class _Request:
    """A request planned relative to its conversation, placed in the day, then judged by the rate limiter."""

    __slots__ = (
        "conversation_id",
        "customer_data",
        "duration_ms",
        "endpoint",
        "feedback",
        "key_id",
        "method",
        "seq",
        "spans",
        "status",
        "trace_id",
        "ts",
        "workflow",
    )

    def __init__(self, ts, method, endpoint, status, duration_ms, conversation_id, workflow, customer_data, key_id):
        self.ts = ts
        self.seq = 0
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.duration_ms = duration_ms
        self.conversation_id = conversation_id
        self.workflow = workflow
        self.customer_data = customer_data
        self.key_id = key_id
        self.trace_id: str | None = None
        self.spans: list[tuple[int, dict[str, Any]]] | None = None  # (offset from ts, span without started_at)
        self.feedback: dict[str, Any] | None = None


@dataclass
class DayBatch:
    """One generated day: each event endpoint's lines (for this day's file and the next), key usage."""

    day_index: int
    lines: dict[str, dirt.DeliveredLines]
    key_last_used_ms: dict[str, int]
    features: Counter[str]


class _Day:
    def __init__(self, plan: SamplePlan, day_index: int):
        self.plan = plan
        self.day_index = day_index
        self.rng = random.Random(f"{plan.seed}:day:{day_index}")
        self.day_ms = epoch_ms(plan.start) + day_index * _DAY_MS
        self.counters: dict[str, Iterator[int]] = {}
        self.features: Counter[str] = Counter()
        scenarios = plan.scenarios
        self.spike_org = scenarios.cost_spike_org if scenarios.cost_spike_day == day_index else None
        self.slow_provider = scenarios.sla_breach_provider if scenarios.sla_breach_day == day_index else None

    def new_id(self, prefix: str) -> str:
        """Unique across the dataset: the day in 3 hex digits, then a per-day counter."""
        counter = self.counters.get(prefix)
        if counter is None:
            counter = self.counters[prefix] = count(1)
        return f"{prefix}_{self.day_index:03x}{next(counter):05x}"

    def choose(self, options: tuple[tuple[Any, ...], tuple[float, ...]]) -> Any:
        values, cum_weights = options
        return self.rng.choices(values, cum_weights=cum_weights)[0]

    # -- requests --

    def org_requests(self, org: SampleOrg) -> list[_Request]:
        rng = self.rng
        weekday = (self.plan.start + timedelta(days=self.day_index)).weekday()
        factor = catalog.WEEKEND_FACTOR if weekday >= 5 else catalog.WEEKDAY_FACTOR
        expected = self.plan.conversations_per_day * org.traffic_share * factor
        count = round(expected * rng.uniform(0.85, 1.15))
        hours = rng.choices(range(24), cum_weights=_HOUR_CUM_WEIGHTS, k=count)
        requests: list[_Request] = []
        for hour in hours:
            conversation = self.conversation(org)
            length = conversation[-1].ts + conversation[-1].duration_ms + 1000
            start = min(hour * _HOUR_MS + rng.randrange(_HOUR_MS), _DAY_MS - length)
            for request in conversation:
                request.ts += self.day_ms + start
            requests.extend(conversation)
        scenarios = self.plan.scenarios
        if org.id == scenarios.rate_limit_burst_org and self.day_index in scenarios.rate_limit_burst_days:
            requests.extend(self.runaway_poller(org))
        revoked = next((k for k in org.keys if k.id == scenarios.revoked_key_in_use), None)
        if revoked is not None:
            requests.extend(self.legacy_cron(org, revoked))
        return requests

    def conversation(self, org: SampleOrg) -> list[_Request]:
        """One conversation's requests, timed from 0 (the caller places it in the day)."""
        rng = self.rng
        workflow = WORKFLOWS[rng.choices(org.workflows, cum_weights=org.workflow_cum_weights)[0]]
        user = rng.choice(org.users)
        active = org.active_keys
        key = rng.choices(active, weights=[k.weight for k in active])[0]
        conversation_id = self.new_id("conv")

        def request(ts: int, method: str, endpoint: str, status: int, duration: int) -> _Request:
            return _Request(ts, method, endpoint, status, duration, conversation_id, workflow.name, user, key.id)

        create = request(0, "POST", CREATE_ENDPOINT, self.choose(_CREATE_STATUS), rng.randint(30, 180))
        requests = [create]
        t = create.duration_ms + rng.randint(2_000, 10_000)
        last = create
        for _ in range(self.choose(_MESSAGES_PER_CONVERSATION)):
            status = self.choose(_MESSAGE_STATUS)
            duration = 0 if status == 200 else _error_duration(rng, status)  # a trace sets it on success
            message = request(t, "POST", MESSAGES_ENDPOINT, status, duration)
            if status == 200:
                self.plan_trace(message, org, workflow)
            requests.append(message)
            last = message
            t += message.duration_ms + rng.randint(20_000, 150_000)  # reading the answer, typing the next
        if rng.random() < 0.25:
            status = self.choose(_READ_STATUS)
            duration = rng.randint(15, 120) if status == 200 else _error_duration(rng, status)
            last = request(t, "GET", CONVERSATION_ENDPOINT, status, duration)
            requests.append(last)
            t += last.duration_ms + rng.randint(5_000, 60_000)
        if rng.random() < 0.2:
            status = self.choose(_FEEDBACK_STATUS)
            last = request(t, "POST", FEEDBACK_ENDPOINT, status, rng.randint(20, 110))
            if status == 201:
                last.feedback = self.plan_feedback(org, user)
            requests.append(last)
        return requests

    def runaway_poller(self, org: SampleOrg) -> list[_Request]:
        """A customer's script polling one conversation far beyond 100 requests in an hour."""
        rng = self.rng
        hour = rng.randint(9, 16)
        count = rng.randint(130, 170)
        key = org.active_keys[1 % len(org.active_keys)]
        conversation_id = self.new_id("conv")
        step = _HOUR_MS // count
        return [
            _Request(
                self.day_ms + hour * _HOUR_MS + i * step + rng.randrange(step // 2),
                "GET",
                CONVERSATION_ENDPOINT,
                200,
                rng.randint(15, 90),
                conversation_id,
                None,
                None,
                key.id,
            )
            for i in range(count)
        ]

    def legacy_cron(self, org: SampleOrg, key: SampleKey) -> list[_Request]:
        """A forgotten job still calling with a revoked key: every call is refused."""
        rng = self.rng
        return [
            _Request(
                self.day_ms + 3 * _HOUR_MS + rng.randrange(_HOUR_MS),
                "POST",
                CREATE_ENDPOINT,
                401,
                rng.randint(3, 12),
                None,
                None,
                None,
                key.id,
            )
            for _ in range(rng.randint(1, 3))
        ]

    # -- traces --

    def plan_trace(self, message: _Request, org: SampleOrg, workflow: catalog.Workflow) -> None:
        """Spans of a successful message, timed from the request; sets the request's duration."""
        rng = self.rng
        trace_id = self.new_id("trc")
        root_id = self.new_id("spn")
        context = {
            "trace_id": trace_id,
            "organization_id": org.id,
            "conversation_id": message.conversation_id,
            "workflow": workflow.name,
        }
        with_payload = rng.random() < 0.15
        spike = org.id == self.spike_org
        root_offset = rng.randint(1, 3)
        t = root_offset + rng.randint(2, 8)
        spans: list[tuple[int, dict[str, Any]]] = []

        def child(kind: str, name: str, duration: int, attributes: dict[str, Any], **extra: Any) -> None:
            nonlocal t
            span = {
                "span_id": self.new_id("spn"),
                "parent_span_id": root_id,
                **context,
                "kind": kind,
                "name": name,
                "started_at": None,
                "duration_ms": duration,
                "status": extra.pop("status", "ok"),
                **extra,
                "attributes": attributes,
            }
            spans.append((t, span))
            t += duration + rng.randint(1, 6)

        documents = rng.randint(3, 8)
        retrieval: dict[str, Any] = {}
        if with_payload:
            retrieval["payload"] = self.retrieval_payload(documents)
        child(
            "retrieval",
            "search",
            rng.randint(40, 350),
            {"index": workflow.retrieval_index, "top_k": 8, "documents_returned": documents},
            **retrieval,
        )
        if rng.random() < workflow.tool_probability:
            tool = rng.choice(workflow.tools)
            child("tool", tool, rng.randint(50, 900), {"tool": tool})
        steps = [s for s in workflow.steps if s.probability >= 1 or rng.random() < s.probability]
        failover_step = steps[-1] if rng.random() < _FAILOVER_PROBABILITY else None
        for step in steps:
            model = self.choose_model(step)
            model = org.model_overrides.get(model, model)
            attempt = 1
            if step is failover_step:
                llm, duration = self.llm_call(MODELS[model], step, spike, attempt, failed=True)
                child("llm", step.name, duration, _llm_attributes(workflow, step), status="error", llm=llm)
                model, attempt = catalog.FAILOVER[model], 2
            llm, duration = self.llm_call(MODELS[model], step, spike, attempt, failed=False)
            extra: dict[str, Any] = {"llm": llm}
            if with_payload and step is steps[-1]:
                extra["payload"] = self.llm_payload(org)
            child("llm", step.name, duration, _llm_attributes(workflow, step), **extra)
        post: dict[str, Any] = {}
        if with_payload:
            post["payload"] = {"input": {"format": "markdown"}, "output": {"changes": ["masked 1 e-mail address"]}}
        child("postprocess", "format-reply", rng.randint(4, 60), {"steps": ["pii_mask", "markdown"]}, **post)
        root_duration = t - root_offset + rng.randint(2, 9)
        root = {
            "span_id": root_id,
            "parent_span_id": None,
            **context,
            "kind": "request",
            "name": f"POST {MESSAGES_ENDPOINT}",
            "started_at": None,
            "duration_ms": root_duration,
            "status": "ok",
            "attributes": {"http.route": MESSAGES_ENDPOINT, "app.version": "2026.10.3"},
        }
        message.trace_id = trace_id
        message.spans = [(root_offset, root), *spans]
        message.duration_ms = root_offset + root_duration + rng.randint(1, 12)

    def choose_model(self, step: LlmStep) -> str:
        models, weights = zip(*step.models, strict=True)
        return models[0] if len(models) == 1 else self.rng.choices(models, weights=weights)[0]

    def llm_call(
        self, profile: ModelProfile, step: LlmStep, spike: bool, attempt: int, *, failed: bool
    ) -> tuple[dict[str, Any], int]:
        rng = self.rng
        input_tokens = _log_uniform(rng, *step.input_tokens)
        if spike:
            input_tokens *= _SPIKE_INPUT_MULTIPLIER
        if profile.model == catalog.LONG_CONTEXT_MODEL and rng.random() < 0.03:
            input_tokens = rng.randint(200_001, 480_000)  # a whole contract pasted in: long-context pricing
        output_tokens = _log_uniform(rng, *step.output_tokens)
        reasoning = _log_uniform(rng, 300, 3000) if profile.reasoning else 0
        output_tokens += reasoning
        cache_read, cache_write, cache_1h = self.caching(profile, input_tokens)
        error_type = None
        if failed:
            error_type = self.choose(_ERROR_TYPES)
            billable = error_type != "rate_limit" and rng.random() < 0.5
            if not billable:
                input_tokens = cache_read = cache_write = cache_1h = 0
            output_tokens = reasoning = 0
            duration = {"timeout": rng.randint(15_000, 30_000), "rate_limit": rng.randint(40, 300)}.get(
                error_type, rng.randint(200, 3000)
            )
        else:
            latency = profile.base_latency_ms + output_tokens * profile.ms_per_output_token + input_tokens * 0.02
            duration = int(latency * rng.uniform(0.7, 1.5) * (3 if rng.random() < 0.02 else 1))
        if profile.provider == self.slow_provider:
            duration *= _SLA_LATENCY_MULTIPLIER
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write,
            "reasoning_tokens": reasoning,
        }
        if profile.caching == "anthropic":
            usage["cache_creation_1h_input_tokens"] = cache_1h
        reported = None
        if not failed and rng.random() < (0.3 if profile.model == catalog.FINE_TUNED_MODEL else 0.03):
            reported = profile.invoice_cost_usd(usage)
        llm = {
            "provider": profile.provider,
            "model": profile.model,
            "attempt": attempt,
            "service_tier": self.choose(_SERVICE_TIERS),
            "usage": usage,
            "provider_reported_cost_usd": reported,
            "error_type": error_type,
        }
        return llm, min(duration, _MAX_LLM_DURATION_MS)

    def caching(self, profile: ModelProfile, input_tokens: int) -> tuple[int, int, int]:
        """(cache read, cache write, of which 1-hour writes) as each provider reports them."""
        rng = self.rng
        if profile.caching == "openai" and input_tokens >= 1280 and rng.random() < 0.5:
            # OpenAI caches prefixes of at least 1024 tokens in 128-token increments
            return 1024 + 128 * rng.randrange((int(input_tokens * 0.8) - 1024) // 128 + 1), 0, 0
        if profile.caching == "deepseek" and rng.random() < 0.5:
            return 64 * (int(input_tokens * rng.uniform(0.3, 0.9)) // 64), 0, 0
        if profile.caching == "anthropic":
            read = int(input_tokens * rng.uniform(0.5, 0.85)) if rng.random() < 0.55 else 0
            write = int((input_tokens - read) * rng.uniform(0.3, 0.9)) if rng.random() < 0.3 else 0
            one_hour = (write if rng.random() < 0.5 else write // 2) if write and rng.random() < 0.35 else 0
            return read, write, one_hour
        return 0, 0, 0

    # -- payloads (fake personal data and secrets, so redaction has work to do) --

    def person(self) -> tuple[str, str]:
        rng = self.rng
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        return f"{first}.{last}@example.com", f"+1 415 555 {rng.randrange(10_000):04d}"

    def retrieval_payload(self, documents: int) -> dict[str, Any]:
        rng = self.rng
        email, _ = self.person()
        snippets = [_SNIPPET] * documents
        if rng.random() < 0.05:  # now and then a whole manual page: beyond the loader's 16 KiB payload limit
            snippets[0] = f"{_SNIPPET * 400}Questions? Write to {email}."
        results = [
            {"id": f"doc_{rng.randrange(100_000)}", "score": round(rng.uniform(0.5, 0.99), 3), "snippet": snippet}
            for snippet in snippets
        ]
        return {"input": {"query": f"{rng.choice(catalog.QUESTIONS)} (reply to {email})"}, "output": results}

    def llm_payload(self, org: SampleOrg) -> dict[str, Any]:
        rng = self.rng
        email, phone = self.person()
        secret = f"sk-proj-{rng.getrandbits(160):040x}"
        question = rng.choice(catalog.QUESTIONS)
        return {
            "input": [
                {"role": "system", "content": f"You are the {org.name} assistant. Be concise."},
                {"role": "user", "content": f"{question} I'm {email}, call me on {phone}. Our key is {secret}"},
            ],
            "output": f"Thanks! I have sent the details to {email}. Never share keys like {secret[:12]}... here.",
        }

    # -- feedback --

    def plan_feedback(self, org: SampleOrg, user: dict[str, str]) -> dict[str, Any]:
        rng = self.rng
        rating = self.choose(_RATINGS)
        reviewer = f"user:{user['user_id']}" if rng.random() < 0.8 else f"agent:{rng.choice(org.agents)}"
        comment = rng.choice(catalog.FEEDBACK_COMMENTS[rating]) if rng.random() < 0.7 else None
        return {"reviewer": reviewer, "rating": rating, "comment": comment}

    # -- records --

    def records(self) -> tuple[dict[str, list[tuple[int, int, Any]]], dict[str, int]]:
        """Every event record of the day as (event ms, order, record), and the last use of each key."""
        out: dict[str, list[tuple[int, int, Any]]] = {name: [] for name in EVENT_ENDPOINTS}
        key_last_used: dict[str, int] = {}
        order = 0
        for org in self.plan.orgs:
            requests = self.org_requests(org)
            for seq, request in enumerate(requests):
                request.seq = seq
            requests.sort(key=lambda r: (r.ts, r.seq))
            used_this_hour: Counter[int] = Counter()
            last_trace: dict[str, str] = {}
            for request in requests:
                order += 1
                hour = request.ts // _HOUR_MS
                allowed = used_this_hour[hour] < RATE_LIMIT_PER_HOUR
                if allowed:
                    used_this_hour[hour] += 1
                else:  # blocked before any work is done
                    request.status, request.duration_ms = 429, self.rng.randint(1, 4)
                    request.spans = request.feedback = None
                    request.trace_id = None
                    self.features["rate_limited_requests"] += 1
                timestamp = iso_ms(request.ts)
                key_last_used[request.key_id] = max(key_last_used.get(request.key_id, 0), request.ts)
                out["rate-limits"].append((request.ts, order, self.rate_limit_event(org, request, timestamp)))
                out["logs"].append((request.ts, order, self.request_log(org, request, timestamp)))
                if request.spans is not None:
                    assert request.trace_id is not None and request.conversation_id is not None
                    last_trace[request.conversation_id] = request.trace_id
                    spans = []
                    for offset, span in request.spans:
                        span["started_at"] = iso_ms(request.ts + offset)
                        spans.append(span)
                        self.count_features(span)
                    out["traces"].append((request.ts, order, spans))
                if request.feedback is not None:
                    created_ms = request.ts + request.duration_ms
                    record = {
                        "id": self.new_id("fb"),
                        "conversation_id": request.conversation_id,
                        "trace_id": last_trace.get(request.conversation_id or ""),
                        "organization_id": org.id,
                        **request.feedback,
                        "created_at": iso_ms(created_ms),
                    }
                    out["feedback"].append((created_ms, order, record))
        for records in out.values():
            records.sort(key=lambda item: (item[0], item[1]))
        return out, key_last_used

    def count_features(self, span: dict[str, Any]) -> None:
        """Tally what a delivered span exercises, for the manifest (failovers, long context, payloads...)."""
        features = self.features
        llm = span.get("llm")
        if llm is not None:
            features["llm_calls"] += 1
            features["failed_attempts"] += span["status"] == "error"
            features["long_context_calls"] += llm["usage"]["input_tokens"] > 200_000
            features["provider_reported_costs"] += llm["provider_reported_cost_usd"] is not None
            features["reasoning_calls"] += llm["usage"]["reasoning_tokens"] > 0
            features["cache_1h_writes"] += llm["usage"].get("cache_creation_1h_input_tokens", 0) > 0
        payload = span.get("payload")
        if payload is not None:
            features["payload_spans"] += 1
            if span["kind"] == "retrieval":
                features["large_payloads"] += len(payload["output"][0]["snippet"]) > 1000

    def request_log(self, org: SampleOrg, request: _Request, timestamp: str) -> dict[str, Any]:
        status = request.status
        error = None
        if status >= 400:
            error = {
                "status": status,
                "detail": catalog.ERROR_DETAILS[status],
                "traceback": catalog.TRACEBACKS.get(status),
            }
        return {
            "id": self.new_id("req"),
            "organization_id": org.id,
            "api_key_id": request.key_id,
            "timestamp": timestamp,
            "method": request.method,
            "endpoint": request.endpoint,
            "status_code": status,
            "duration_ms": request.duration_ms,
            "conversation_id": request.conversation_id,
            "trace_id": request.trace_id,
            "workflow": request.workflow,
            "customer_data": request.customer_data,
            "error": error,
        }

    def rate_limit_event(self, org: SampleOrg, request: _Request, timestamp: str) -> dict[str, Any]:
        return {
            "id": self.new_id("rl"),
            "organization_id": org.id,
            "api_key_id": request.key_id,
            "occurred_at": timestamp,
            "outcome": "blocked" if request.status == 429 else "allowed",
            "limit": RATE_LIMIT_PER_HOUR,
            "window_seconds": 3600,
            "endpoint": request.endpoint,
        }


_HOUR_CUM_WEIGHTS = tuple(accumulate(catalog.HOURLY_WEIGHTS))


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(low * (high / low) ** rng.random())


def _error_duration(rng: random.Random, status: int) -> int:
    if status == 502:
        return rng.randint(20_000, 60_000)  # every provider attempt timed out
    if status >= 500:
        return rng.randint(100, 3_000)
    return rng.randint(5, 60)


def _llm_attributes(workflow: catalog.Workflow, step: LlmStep) -> dict[str, Any]:
    return {"prompt_template": f"{workflow.name}/{step.name}@v12", "temperature": 0.2}


def generate_day(plan: SamplePlan, day_index: int) -> DayBatch:
    """Generate one day on its own (a pure function of the plan and the day: safe to run in parallel)."""
    day = _Day(plan, day_index)
    records, key_last_used = day.records()
    has_next_day = day_index < plan.days - 1
    lines: dict[str, dirt.DeliveredLines] = {}
    for endpoint in EVENT_ENDPOINTS:
        items = records[endpoint]
        if endpoint == "traces":
            flat = [(ms, group, span) for group, (ms, _, spans) in enumerate(items) for span in spans]
            event_ms = [ms - day.day_ms for ms, _, _ in flat]
            groups: list[int] | None = [group for _, group, _ in flat]
            delivered = [span for _, _, span in flat]
        else:
            event_ms = [ms - day.day_ms for ms, _, _ in items]
            groups = None
            delivered = [record for _, _, record in items]
        lines[endpoint] = dirt.deliver(
            endpoint,
            delivered,
            event_ms,
            groups,
            day.rng,
            dirt_rate=plan.dirt_rate,
            day_index=day_index,
            has_next_day=has_next_day,
        )
    return DayBatch(day_index, lines, key_last_used, day.features)


# -- writing ---------------------------------------------------------------------------------------------------


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
    return writer.finish(arguments)


class LandingWriter:
    """Writes generated days in order: carries late records and re-deliveries into the next day's file."""

    def __init__(self, out_dir: Path, plan: SamplePlan, *, gzip: bool):
        self.out_dir = out_dir
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
        self._write_snapshot("keys", day, self._key_records())
        self._write_snapshot("organizations", day, self._org_records(batch.day_index))

    def finish(self, arguments: dict[str, Any]) -> GenerationSummary:
        leftover = {e: len(lines) for e, (lines, _) in self.carried.items() if lines}
        if leftover or self.next_day != self.plan.days:
            raise ValueError(f"incomplete dataset: {self.next_day} of {self.plan.days} days, carried {leftover}")
        endpoints = {name: tally.as_manifest(name) for name, tally in self.tally.items()}
        scenarios = asdict(self.plan.scenarios)
        for name in ("cost_spike_day", "sla_breach_day", "upgrade_day", "stale_version_day"):
            if scenarios[name] is not None:
                scenarios[name.removesuffix("_day") + "_date"] = f"{self.plan.start + timedelta(scenarios[name])}"
        manifest = {
            "generator": "tokenbooks sample platform",
            "arguments": arguments,
            "files": {name: sorted(p.name for p in self.files if p.parent.name == name) for name in ENDPOINTS},
            "endpoints": endpoints,
            "scenarios": scenarios,
            "features": dict(sorted(self.features.items())),
        }
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        manifest_path = self.out_dir / MANIFEST_NAME
        manifest_path.write_text(text, encoding="utf-8")
        return GenerationSummary(
            self.out_dir,
            manifest_path,
            tuple(self.files),
            {name: stats["records"] for name, stats in endpoints.items()},
            json.loads(text),  # exactly what the file says (lists, not tuples)
        )

    def _write(self, endpoint: str, stem: str, lines: list[str]) -> None:
        folder = self.out_dir / endpoint
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}{self.suffix}"
        data = "".join(f"{line}\n" for line in lines).encode("utf-8")
        # mtime=0 and no file name in the header: the same dataset is the same bytes
        path.write_bytes(gzip_module.compress(data, mtime=0) if self.gzip else data)
        self.files.append(path)
        self.tally[endpoint].files += 1

    def _write_snapshot(self, endpoint: str, day: date, records: list[tuple[str, dict[str, Any], str | None]]) -> None:
        """Write one snapshot file; count unchanged rows as duplicates and changed ones as corrections."""
        tally = self.tally[endpoint]
        seen_ids, seen_lines = self.snapshot_seen[endpoint]
        known_fields = ENDPOINTS[endpoint].model.model_fields.keys()
        lines = []
        for record_id, record, label in records:
            line = _encode(record)
            lines.append(line)
            if label is not None:
                tally.dirt[label] += 1
            if record.keys() - known_fields:
                tally.dirt[dirt.EXTRA_FIELD] += 1
            if line in seen_lines:
                tally.duplicates += 1
            elif record_id in seen_ids:
                tally.corrections += 1
            else:
                tally.ids += 1
            seen_ids.add(record_id)
            seen_lines.add(line)
        self._write(endpoint, f"snapshot-{day}", lines)
        tally.lines += len(lines)

    def _key_records(self) -> list[tuple[str, dict[str, Any], str | None]]:
        records = []
        for org in self.plan.orgs:
            for key in org.keys:
                record = {
                    "id": key.id,
                    "organization_id": key.organization_id,
                    "name": key.name,
                    "prefix": key.prefix,
                    "created_at": iso_ms(key.created_ms),
                    "last_used_at": iso_ms(self.key_last_used[key.id]),
                    "revoked_at": iso_ms(key.revoked_ms) if key.revoked_ms is not None else None,
                }
                records.append((key.id, record, None))
        return records

    def _org_records(self, day_index: int) -> list[tuple[str, dict[str, Any], str | None]]:
        scenarios = self.plan.scenarios
        day_end_ms = epoch_ms(self.plan.start) + (day_index + 1) * _DAY_MS
        records = []
        stale: tuple[str, dict[str, Any], str | None] | None = None
        for org in self.plan.orgs:
            current = [v for v in org.versions if v.updated_ms < day_end_ms][-1]
            records.append((org.id, _org_record(org, current), None))
            if org.id == scenarios.upgraded_org and day_index == scenarios.stale_version_day:
                # a lagging replica serves the morning version after the afternoon one was delivered
                stale = (org.id, _org_record(org, org.versions[1]), dirt.STALE_VERSION)
                if day_index != scenarios.upgrade_day:
                    records[-1] = stale
                    stale = None
        if stale is not None:
            records.append(stale)
        return records


def _org_record(org: SampleOrg, version: OrgVersion) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "plan": version.plan,
        "segment": org.segment,
        "monthly_budget_usd": version.monthly_budget_usd,
        "created_at": iso_ms(org.created_ms),
        "updated_at": iso_ms(version.updated_ms),
        **org.extra_fields,
    }


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_LANDING_FILE = re.compile(r"^(snapshot-)?\d{4}-\d{2}-\d{2}\.jsonl(\.gz)?$")


def _clear_landing(out_dir: Path) -> None:
    """Remove a previous generated dataset (only files this generator names), so no stale day remains."""
    for name in ENDPOINTS:
        folder = out_dir / name
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and _LANDING_FILE.match(path.name):
                    path.unlink()
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
