"""What happens on the sample platform: the world fixed for a whole dataset, then each day's traffic.

``build_plan`` draws the world once from ``seed``: organizations with plans, budgets and end users, their
API keys, and the scenarios (a cost spike, a slow provider, a rate-limit burst, a revoked key still in use,
a plan upgrade). ``plan_day`` draws one day from the day's own random stream: conversations and their
requests, the trace of every successful message (spans, LLM calls with tokens, caching and failovers,
payloads), feedback, and the rate limiter's verdicts. ``sample_platform.records`` turns what it plans into
the contract's records; nothing there is random.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate, count
from typing import Any

from sample_platform import catalog
from sample_platform.catalog import MODELS, WORKFLOWS, LlmStep, ModelProfile

RATE_LIMIT_PER_HOUR = 100
LEGACY_CRON_KEY = "legacy cron"  # the revoked key that is still used (every call gets 401)
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)

MESSAGES_ENDPOINT = "/api/v1/conversations/{conversation_id}/messages"
CONVERSATION_ENDPOINT = "/api/v1/conversations/{conversation_id}"
CREATE_ENDPOINT = "/api/v1/conversations"
FEEDBACK_ENDPOINT = "/api/v1/conversations/{conversation_id}/feedback"

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
_HOUR_CUM_WEIGHTS = tuple(accumulate(catalog.HOURLY_WEIGHTS))


def epoch_ms(day: date) -> int:
    return (day - EPOCH).days * DAY_MS


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

    def day_start_ms(self, day_index: int) -> int:
        return epoch_ms(self.start) + day_index * DAY_MS


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
        created_ms = start_ms - rng.randint(120, 700) * DAY_MS + rng.randrange(DAY_MS)
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
            start_ms - rng.randint(3, 60) * DAY_MS + rng.randrange(DAY_MS),
        )
        versions: tuple[OrgVersion, ...] = (initial,)
        if index == upgraded_org and upgrade_day is not None:
            upgraded = catalog.UPGRADE[profile.plan]
            day_ms = start_ms + upgrade_day * DAY_MS
            versions = (
                initial,
                # the self-serve upgrade in the morning, then the budget sales agreed in the afternoon
                OrgVersion(upgraded, budget(upgraded), day_ms + 9 * HOUR_MS + 754_000),
                OrgVersion(upgraded, budget(upgraded) * 2, day_ms + 15 * HOUR_MS + 2_331_000),
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
        revoked[names[-1]] = start_ms - 40 * DAY_MS + 16 * HOUR_MS
        weights[-1] = 0.0
    if revoked_in_use:
        names.append(LEGACY_CRON_KEY)
        weights.append(0.0)
        revoked[LEGACY_CRON_KEY] = start_ms - 12 * DAY_MS + 10 * HOUR_MS
    keys = []
    for name, weight in zip(names, weights, strict=True):
        created_ms = org_created_ms + rng.randint(0, 60) * DAY_MS + rng.randrange(DAY_MS)
        revoked_ms = revoked.get(name)
        last_used = (revoked_ms if revoked_ms is not None else start_ms) - rng.randrange(1, 3 * DAY_MS)
        environment = "test" if name == "staging" else "live"
        keys.append(
            SampleKey(
                id=f"key_{next(counter)}",
                organization_id=org_id,
                name=name,
                prefix=f"cmp_{environment}_{rng.getrandbits(16):04x}",
                created_ms=min(created_ms, last_used - DAY_MS),
                last_used_before_ms=last_used,
                weight=weight,
                revoked_ms=revoked_ms,
            )
        )
    return tuple(keys)


# -- one day -------------------------------------------------------------------------------------------------


class DayIds:
    """Ids unique across the dataset: the prefix, the day in 3 hex digits, then a per-day counter."""

    def __init__(self, day_index: int):
        self.day_index = day_index
        self._counters: dict[str, Iterator[int]] = {}

    def new(self, prefix: str) -> str:
        counter = self._counters.get(prefix)
        if counter is None:
            counter = self._counters[prefix] = count(1)
        return f"{prefix}_{self.day_index:03x}{next(counter):05x}"


@dataclass(frozen=True, slots=True)
class PlannedLlmCall:
    profile: ModelProfile
    attempt: int
    service_tier: str
    usage: dict[str, int]  # the token counts as the provider reports them
    provider_reported_cost_usd: float | None
    error_type: str | None


@dataclass(slots=True)
class PlannedSpan:
    span_id: str
    parent_span_id: str | None
    kind: str
    name: str
    offset_ms: int  # from the start of the request
    duration_ms: int
    attributes: dict[str, Any]
    status: str = "ok"
    llm: PlannedLlmCall | None = None
    payload: dict[str, Any] | None = None


@dataclass(slots=True)
class PlannedTrace:
    trace_id: str
    spans: list[PlannedSpan]  # the request's root span first


@dataclass(frozen=True, slots=True)
class PlannedFeedback:
    reviewer: str
    rating: int
    comment: str | None


@dataclass(slots=True)
class PlannedRequest:
    """A request planned relative to its conversation, placed in the day, then judged by the rate limiter."""

    ts: int
    method: str
    endpoint: str
    status: int
    duration_ms: int
    organization_id: str
    conversation_id: str | None
    workflow: str | None
    customer_data: dict[str, str] | None
    key_id: str
    trace: PlannedTrace | None = None  # a successful message's
    feedback: PlannedFeedback | None = None


@dataclass
class DayPlan:
    day_index: int
    start_ms: int
    requests: list[PlannedRequest]  # by organization, then time; blocked ones with status 429
    key_last_used_ms: dict[str, int]
    features: Counter[str]  # what the day exercises, for the manifest (failovers, long context, payloads...)
    ids: DayIds  # continued by the records (log, rate-limit and feedback ids)


def plan_day(plan: SamplePlan, day_index: int, rng: random.Random) -> DayPlan:
    """Plan one day from ``rng`` alone (given the plan): every organization's requests, rate limited."""
    planner = _DayPlanner(plan, day_index, rng)
    requests: list[PlannedRequest] = []
    for org in plan.orgs:
        requests.extend(planner.rate_limited(planner.org_requests(org)))
    key_last_used: dict[str, int] = {}
    for request in requests:
        key_last_used[request.key_id] = max(key_last_used.get(request.key_id, 0), request.ts)
        if request.trace is not None:
            for span in request.trace.spans:
                _count_features(planner.features, span)
    return DayPlan(day_index, planner.start_ms, requests, key_last_used, planner.features, planner.ids)


class _DayPlanner:
    def __init__(self, plan: SamplePlan, day_index: int, rng: random.Random):
        self.plan = plan
        self.day_index = day_index
        self.rng = rng
        self.start_ms = plan.day_start_ms(day_index)
        self.ids = DayIds(day_index)
        self.features: Counter[str] = Counter()
        scenarios = plan.scenarios
        self.spike_org = scenarios.cost_spike_org if scenarios.cost_spike_day == day_index else None
        self.slow_provider = scenarios.sla_breach_provider if scenarios.sla_breach_day == day_index else None

    # -- requests --

    def org_requests(self, org: SampleOrg) -> list[PlannedRequest]:
        rng = self.rng
        weekday = (self.plan.start + timedelta(days=self.day_index)).weekday()
        factor = catalog.WEEKEND_FACTOR if weekday >= 5 else catalog.WEEKDAY_FACTOR
        expected = self.plan.conversations_per_day * org.traffic_share * factor
        count = round(expected * rng.uniform(0.85, 1.15))
        hours = rng.choices(range(24), cum_weights=_HOUR_CUM_WEIGHTS, k=count)
        requests: list[PlannedRequest] = []
        for hour in hours:
            conversation = self.conversation(org)
            length = conversation[-1].ts + conversation[-1].duration_ms + 1000
            start = min(hour * HOUR_MS + rng.randrange(HOUR_MS), DAY_MS - length)
            for request in conversation:
                request.ts += self.start_ms + start
            requests.extend(conversation)
        scenarios = self.plan.scenarios
        if org.id == scenarios.rate_limit_burst_org and self.day_index in scenarios.rate_limit_burst_days:
            requests.extend(self.runaway_poller(org))
        revoked = next((k for k in org.keys if k.id == scenarios.revoked_key_in_use), None)
        if revoked is not None:
            requests.extend(self.legacy_cron(org, revoked))
        return requests

    def conversation(self, org: SampleOrg) -> list[PlannedRequest]:
        """One conversation's requests, timed from 0 (the caller places it in the day)."""
        rng = self.rng
        workflow = WORKFLOWS[rng.choices(org.workflows, cum_weights=org.workflow_cum_weights)[0]]
        user = rng.choice(org.users)
        active = org.active_keys
        key = rng.choices(active, weights=[k.weight for k in active])[0]
        conversation_id = self.ids.new("conv")

        def request(ts: int, method: str, endpoint: str, status: int, duration: int) -> PlannedRequest:
            return PlannedRequest(
                ts, method, endpoint, status, duration, org.id, conversation_id, workflow.name, user, key.id
            )

        create = request(0, "POST", CREATE_ENDPOINT, _choose(rng, _CREATE_STATUS), rng.randint(30, 180))
        requests = [create]
        t = create.duration_ms + rng.randint(2_000, 10_000)
        for _ in range(_choose(rng, _MESSAGES_PER_CONVERSATION)):
            status = _choose(rng, _MESSAGE_STATUS)
            duration = 0 if status == 200 else _error_duration(rng, status)  # a trace sets it on success
            message = request(t, "POST", MESSAGES_ENDPOINT, status, duration)
            if status == 200:
                self.plan_trace(message, org, workflow)
            requests.append(message)
            t += message.duration_ms + rng.randint(20_000, 150_000)  # reading the answer, typing the next
        if rng.random() < 0.25:
            status = _choose(rng, _READ_STATUS)
            duration = rng.randint(15, 120) if status == 200 else _error_duration(rng, status)
            read = request(t, "GET", CONVERSATION_ENDPOINT, status, duration)
            requests.append(read)
            t += read.duration_ms + rng.randint(5_000, 60_000)
        if rng.random() < 0.2:
            status = _choose(rng, _FEEDBACK_STATUS)
            feedback = request(t, "POST", FEEDBACK_ENDPOINT, status, rng.randint(20, 110))
            if status == 201:
                feedback.feedback = _feedback(rng, org, user)
            requests.append(feedback)
        return requests

    def runaway_poller(self, org: SampleOrg) -> list[PlannedRequest]:
        """A customer's script polling one conversation far beyond 100 requests in an hour."""
        rng = self.rng
        hour = rng.randint(9, 16)
        count = rng.randint(130, 170)
        key = org.active_keys[1 % len(org.active_keys)]
        conversation_id = self.ids.new("conv")
        step = HOUR_MS // count
        return [
            PlannedRequest(
                self.start_ms + hour * HOUR_MS + i * step + rng.randrange(step // 2),
                "GET",
                CONVERSATION_ENDPOINT,
                200,
                rng.randint(15, 90),
                org.id,
                conversation_id,
                None,
                None,
                key.id,
            )
            for i in range(count)
        ]

    def legacy_cron(self, org: SampleOrg, key: SampleKey) -> list[PlannedRequest]:
        """A forgotten job still calling with a revoked key: every call is refused."""
        rng = self.rng
        return [
            PlannedRequest(
                self.start_ms + 3 * HOUR_MS + rng.randrange(HOUR_MS),
                "POST",
                CREATE_ENDPOINT,
                401,
                rng.randint(3, 12),
                org.id,
                None,
                None,
                None,
                key.id,
            )
            for _ in range(rng.randint(1, 3))
        ]

    def rate_limited(self, requests: list[PlannedRequest]) -> list[PlannedRequest]:
        """One organization's requests in time order, those over the hourly limit blocked before any work."""
        requests.sort(key=lambda r: r.ts)  # stable: simultaneous requests keep the order they were planned in
        used_this_hour: Counter[int] = Counter()
        for request in requests:
            hour = request.ts // HOUR_MS
            if used_this_hour[hour] < RATE_LIMIT_PER_HOUR:
                used_this_hour[hour] += 1
            else:
                request.status, request.duration_ms = 429, self.rng.randint(1, 4)
                request.trace = request.feedback = None
                self.features["rate_limited_requests"] += 1
        return requests

    # -- traces --

    def plan_trace(self, message: PlannedRequest, org: SampleOrg, workflow: catalog.Workflow) -> None:
        """The spans of a successful message, timed from the request; sets the request's duration."""
        rng = self.rng
        trace_id = self.ids.new("trc")
        root_id = self.ids.new("spn")
        with_payload = rng.random() < 0.15
        spike = org.id == self.spike_org
        root_offset = rng.randint(1, 3)
        t = root_offset + rng.randint(2, 8)
        children: list[PlannedSpan] = []

        def child(kind: str, name: str, duration: int, attributes: dict[str, Any], **details: Any) -> None:
            nonlocal t
            span_id = self.ids.new("spn")
            children.append(PlannedSpan(span_id, root_id, kind, name, t, duration, attributes, **details))
            t += duration + rng.randint(1, 6)

        documents = rng.randint(3, 8)
        payload = _retrieval_payload(rng, documents) if with_payload else None
        attributes = {"index": workflow.retrieval_index, "top_k": 8, "documents_returned": documents}
        child("retrieval", "search", rng.randint(40, 350), attributes, payload=payload)
        if rng.random() < workflow.tool_probability:
            tool = rng.choice(workflow.tools)
            child("tool", tool, rng.randint(50, 900), {"tool": tool})
        steps = [s for s in workflow.steps if s.probability >= 1 or rng.random() < s.probability]
        failover_step = steps[-1] if rng.random() < _FAILOVER_PROBABILITY else None
        for step in steps:
            model = _choose_model(rng, step)
            model = org.model_overrides.get(model, model)
            attempt = 1
            if step is failover_step:
                llm, duration = _llm_call(
                    rng, MODELS[model], step, attempt, spike=spike, slow_provider=self.slow_provider, failed=True
                )
                child("llm", step.name, duration, _llm_attributes(workflow, step), status="error", llm=llm)
                model, attempt = catalog.FAILOVER[model], 2
            llm, duration = _llm_call(
                rng, MODELS[model], step, attempt, spike=spike, slow_provider=self.slow_provider, failed=False
            )
            payload = _llm_payload(rng, org) if with_payload and step is steps[-1] else None
            child("llm", step.name, duration, _llm_attributes(workflow, step), llm=llm, payload=payload)
        payload = {"input": {"format": "markdown"}, "output": {"changes": ["masked 1 e-mail address"]}}
        attributes = {"steps": ["pii_mask", "markdown"]}
        child("postprocess", "format-reply", rng.randint(4, 60), attributes, payload=payload if with_payload else None)
        root_duration = t - root_offset + rng.randint(2, 9)
        attributes = {"http.route": MESSAGES_ENDPOINT, "app.version": "2026.10.3"}
        name = f"POST {MESSAGES_ENDPOINT}"
        root = PlannedSpan(root_id, None, "request", name, root_offset, root_duration, attributes)
        message.trace = PlannedTrace(trace_id, [root, *children])
        message.duration_ms = root_offset + root_duration + rng.randint(1, 12)


def _choose(rng: random.Random, options: tuple[tuple[Any, ...], tuple[float, ...]]) -> Any:
    values, cum_weights = options
    return rng.choices(values, cum_weights=cum_weights)[0]


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(low * (high / low) ** rng.random())


def _error_duration(rng: random.Random, status: int) -> int:
    if status == 502:
        return rng.randint(20_000, 60_000)  # every provider attempt timed out
    if status >= 500:
        return rng.randint(100, 3_000)
    return rng.randint(5, 60)


def _choose_model(rng: random.Random, step: LlmStep) -> str:
    models, weights = zip(*step.models, strict=True)
    return models[0] if len(models) == 1 else rng.choices(models, weights=weights)[0]


def _llm_call(
    rng: random.Random,
    profile: ModelProfile,
    step: LlmStep,
    attempt: int,
    *,
    spike: bool,
    slow_provider: str | None,
    failed: bool,
) -> tuple[PlannedLlmCall, int]:
    """One LLM call or failed attempt, and its duration."""
    input_tokens = _log_uniform(rng, *step.input_tokens)
    if spike:
        input_tokens *= _SPIKE_INPUT_MULTIPLIER
    if profile.model == catalog.LONG_CONTEXT_MODEL and rng.random() < 0.03:
        input_tokens = rng.randint(200_001, 480_000)  # a whole contract pasted in: long-context pricing
    output_tokens = _log_uniform(rng, *step.output_tokens)
    reasoning = _log_uniform(rng, 300, 3000) if profile.reasoning else 0
    output_tokens += reasoning
    cache_read, cache_write, cache_1h = _caching(rng, profile, input_tokens)
    error_type = None
    if failed:
        error_type = _choose(rng, _ERROR_TYPES)
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
    if profile.provider == slow_provider:
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
    call = PlannedLlmCall(profile, attempt, _choose(rng, _SERVICE_TIERS), usage, reported, error_type)
    return call, min(duration, _MAX_LLM_DURATION_MS)


def _llm_attributes(workflow: catalog.Workflow, step: LlmStep) -> dict[str, Any]:
    return {"prompt_template": f"{workflow.name}/{step.name}@v12", "temperature": 0.2}


def _caching(rng: random.Random, profile: ModelProfile, input_tokens: int) -> tuple[int, int, int]:
    """(cache read, cache write, of which 1-hour writes) as each provider reports them."""
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


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
    return f"{first}.{last}@example.com", f"+1 415 555 {rng.randrange(10_000):04d}"


def _retrieval_payload(rng: random.Random, documents: int) -> dict[str, Any]:
    email, _ = _person(rng)
    snippets = [_SNIPPET] * documents
    if rng.random() < 0.05:  # now and then a whole manual page: beyond the loader's 16 KiB payload limit
        snippets[0] = f"{_SNIPPET * 400}Questions? Write to {email}."
    results = [
        {"id": f"doc_{rng.randrange(100_000)}", "score": round(rng.uniform(0.5, 0.99), 3), "snippet": snippet}
        for snippet in snippets
    ]
    return {"input": {"query": f"{rng.choice(catalog.QUESTIONS)} (reply to {email})"}, "output": results}


def _llm_payload(rng: random.Random, org: SampleOrg) -> dict[str, Any]:
    email, phone = _person(rng)
    secret = f"sk-proj-{rng.getrandbits(160):040x}"
    question = rng.choice(catalog.QUESTIONS)
    return {
        "input": [
            {"role": "system", "content": f"You are the {org.name} assistant. Be concise."},
            {"role": "user", "content": f"{question} I'm {email}, call me on {phone}. Our key is {secret}"},
        ],
        "output": f"Thanks! I have sent the details to {email}. Never share keys like {secret[:12]}... here.",
    }


def _feedback(rng: random.Random, org: SampleOrg, user: dict[str, str]) -> PlannedFeedback:
    rating = _choose(rng, _RATINGS)
    reviewer = f"user:{user['user_id']}" if rng.random() < 0.8 else f"agent:{rng.choice(org.agents)}"
    comment = rng.choice(catalog.FEEDBACK_COMMENTS[rating]) if rng.random() < 0.7 else None
    return PlannedFeedback(reviewer, rating, comment)


def _count_features(features: Counter[str], span: PlannedSpan) -> None:
    llm = span.llm
    if llm is not None:
        features["llm_calls"] += 1
        features["failed_attempts"] += span.status == "error"
        features["long_context_calls"] += llm.usage["input_tokens"] > 200_000
        features["provider_reported_costs"] += llm.provider_reported_cost_usd is not None
        features["reasoning_calls"] += llm.usage["reasoning_tokens"] > 0
        features["cache_1h_writes"] += llm.usage.get("cache_creation_1h_input_tokens", 0) > 0
    if span.payload is not None:
        features["payload_spans"] += 1
        if span.kind == "retrieval":
            features["large_payloads"] += len(span.payload["output"][0]["snippet"]) > 1000
