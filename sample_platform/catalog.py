"""Static facts of the sample platform: models, workflows, organizations, and the texts records quote.

Everything here is fiction shaped like the real thing. The provider/model pairs are exactly the ones the
first price seed knows about (plus one fine-tune with no public price), so a generated dataset exercises
priced, provider-reported and pending calls.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelProfile:
    """How one provider/model behaves on the sample platform."""

    provider: str
    model: str
    base_latency_ms: int
    ms_per_output_token: float
    # prompt caching as the provider reports it: "openai" (automatic reads), "anthropic" (reads and
    # explicit 5-minute / 1-hour writes), "deepseek" (automatic reads) or "none"
    caching: str = "none"
    reasoning: bool = False
    # What the fake provider puts on its own invoice, USD per million (input, output) tokens. Only used to
    # fill ``provider_reported_cost_usd`` with a plausible number; tokenbooks' prices live in its seeds.
    invoice_usd_per_million: tuple[float, float] = (1.0, 4.0)

    def invoice_cost_usd(self, usage: dict[str, int]) -> float:
        """The fake provider's own figure for one call (cache reads at 10%, cache writes at 125%)."""
        input_rate, output_rate = self.invoice_usd_per_million
        cache_read = usage["cache_read_input_tokens"]
        cache_write = usage["cache_creation_input_tokens"]
        uncached = usage["input_tokens"] - cache_read - cache_write
        cost = (uncached + 0.1 * cache_read + 1.25 * cache_write) * input_rate + usage["output_tokens"] * output_rate
        return round(cost / 1_000_000, 9)


MODELS: dict[str, ModelProfile] = {
    m.model: m
    for m in (
        ModelProfile("openai", "gpt-4o-mini-2024-07-18", 250, 11.0, "openai", False, (0.15, 0.6)),
        ModelProfile("openai", "gpt-4o-2024-08-06", 400, 17.0, "openai", False, (2.5, 10.0)),
        ModelProfile("openai", "o3-mini-2025-01-31", 900, 8.0, "openai", True, (1.1, 4.4)),
        ModelProfile("anthropic", "claude-sonnet-4-5-20250929", 600, 22.0, "anthropic", False, (3.0, 15.0)),
        ModelProfile("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", 800, 26.0, "none", False, (3.0, 15.0)),
        ModelProfile("vertex_ai", "gemini-2.5-pro", 700, 14.0, "none", False, (1.25, 10.0)),
        ModelProfile("mistral", "mistral-small-latest", 200, 9.0, "none", False, (0.15, 0.6)),
        ModelProfile("deepseek", "deepseek-chat", 500, 28.0, "deepseek", False, (0.28, 0.42)),
        # A customer's fine-tune: no public price exists, so tokenbooks marks its calls pending.
        ModelProfile("openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3", 300, 12.0, "openai", False, (0.3, 1.2)),
    )
}

FINE_TUNED_MODEL = "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"
LONG_CONTEXT_MODEL = "gemini-2.5-pro"

# Where a failed first attempt goes next: always another provider.
FAILOVER: dict[str, str] = {
    "gpt-4o-mini-2024-07-18": "mistral-small-latest",
    "gpt-4o-2024-08-06": "claude-sonnet-4-5-20250929",
    "o3-mini-2025-01-31": "deepseek-chat",
    "claude-sonnet-4-5-20250929": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0": "claude-sonnet-4-5-20250929",
    "gemini-2.5-pro": "claude-sonnet-4-5-20250929",
    "mistral-small-latest": "gpt-4o-mini-2024-07-18",
    "deepseek-chat": "gpt-4o-mini-2024-07-18",
    FINE_TUNED_MODEL: "claude-sonnet-4-5-20250929",
}


@dataclass(frozen=True)
class LlmStep:
    """One LLM step of a workflow: how often it runs, which models serve it, and its token ranges."""

    name: str
    probability: float
    models: tuple[tuple[str, float], ...]  # (model, weight)
    input_tokens: tuple[int, int]
    output_tokens: tuple[int, int]


@dataclass(frozen=True)
class Workflow:
    name: str
    steps: tuple[LlmStep, ...]
    tool_probability: float
    tools: tuple[str, ...]
    retrieval_index: str


WORKFLOWS: dict[str, Workflow] = {
    w.name: w
    for w in (
        Workflow(
            "support-answer",
            (
                LlmStep(
                    "classify-intent",
                    0.6,
                    (("gpt-4o-mini-2024-07-18", 0.7), ("mistral-small-latest", 0.3)),
                    (300, 1400),
                    (4, 40),
                ),
                LlmStep(
                    "answer",
                    1.0,
                    (
                        ("claude-sonnet-4-5-20250929", 0.5),
                        ("gpt-4o-mini-2024-07-18", 0.3),
                        ("deepseek-chat", 0.2),
                    ),
                    (2500, 9000),
                    (120, 700),
                ),
            ),
            0.35,
            ("crm_lookup", "order_status", "refund_policy"),
            "help-center",
        ),
        Workflow(
            "doc-qa",
            (
                LlmStep("plan", 0.35, (("o3-mini-2025-01-31", 1.0),), (800, 3000), (60, 400)),
                LlmStep(
                    "answer",
                    1.0,
                    (
                        ("gemini-2.5-pro", 0.5),
                        ("claude-sonnet-4-5-20250929", 0.3),
                        ("deepseek-chat", 0.2),
                    ),
                    (6000, 40000),
                    (200, 900),
                ),
            ),
            0.1,
            ("pdf_extract",),
            "documents",
        ),
        Workflow(
            "marketing-summary",
            (
                LlmStep(
                    "draft",
                    1.0,
                    (
                        ("gpt-4o-2024-08-06", 0.6),
                        ("mistral-small-latest", 0.25),
                        ("claude-sonnet-4-5-20250929", 0.15),
                    ),
                    (1500, 6000),
                    (300, 1200),
                ),
                LlmStep("polish", 0.4, (("gpt-4o-mini-2024-07-18", 1.0),), (800, 2500), (200, 900)),
            ),
            0.05,
            ("brand_guidelines",),
            "campaigns",
        ),
    )
}


@dataclass(frozen=True)
class OrgProfile:
    slug: str
    name: str
    plan: str
    segment: str
    workflows: tuple[tuple[str, float], ...]  # (workflow, weight)
    # model substitutions for this org, e.g. a data-residency customer served through bedrock
    model_overrides: tuple[tuple[str, str], ...] = ()


ORG_PROFILES: tuple[OrgProfile, ...] = (
    OrgProfile(
        "acme",
        "Acme Corp",
        "growth",
        "mid-market",
        (("support-answer", 0.75), ("doc-qa", 0.25)),
        (("gpt-4o-mini-2024-07-18", FINE_TUNED_MODEL),),
    ),
    OrgProfile(
        "globex",
        "Globex",
        "enterprise",
        "enterprise",
        (("support-answer", 0.4), ("doc-qa", 0.3), ("marketing-summary", 0.3)),
    ),
    OrgProfile("initech", "Initech", "starter", "smb", (("marketing-summary", 0.6), ("support-answer", 0.4))),
    OrgProfile(
        "umbrella",
        "Umbrella Health",
        "enterprise",
        "enterprise",
        (("doc-qa", 0.6), ("support-answer", 0.4)),
        (("claude-sonnet-4-5-20250929", "anthropic.claude-3-5-sonnet-20241022-v2:0"),),
    ),
    OrgProfile("hooli", "Hooli", "free", "startup", (("support-answer", 1.0),)),
    OrgProfile("vandelay", "Vandelay Imports", "starter", "smb", (("marketing-summary", 0.5), ("doc-qa", 0.5))),
    OrgProfile("stark", "Stark Logistics", "growth", "mid-market", (("support-answer", 0.6), ("doc-qa", 0.4))),
    OrgProfile("wayne", "Wayne Retail", "growth", "enterprise", (("marketing-summary", 0.5), ("support-answer", 0.5))),
)

PLAN_TRAFFIC_WEIGHT = {"free": 0.4, "starter": 1.0, "growth": 2.0, "enterprise": 3.0}
# Monthly budgets at the default volume (400 spans/day); the generator scales them with the volume so the
# same organizations end a month near or over budget at any size.
PLAN_MONTHLY_BUDGET_USD = {"free": 1.0, "starter": 5.0, "growth": 12.0, "enterprise": 20.0}
DEFAULT_SPANS_PER_DAY = 400
# The plan a free org upgrades to during the sample period (the organization-update scenario).
UPGRADE = {"free": "starter", "starter": "growth", "growth": "enterprise", "enterprise": "enterprise"}

KEY_NAMES = ("prod backend", "staging", "analytics export", "mobile app")

END_USER_SEGMENTS = ("enterprise", "mid-market", "smb", "consumer")
PERSONAS = ("agent", "end-user", "admin", "marketer")
CHANNELS = ("web", "mobile", "email", "slack", "api")
EXPERIMENT_VARIANTS = ("A", "B", "control")

# Relative request volume by UTC hour: business hours in Europe and the Americas.
HOURLY_WEIGHTS = (
    0.25, 0.2, 0.15, 0.12, 0.15, 0.3, 0.5, 0.8, 1.2, 1.5, 1.6, 1.6,
    1.5, 1.6, 1.7, 1.6, 1.4, 1.2, 1.0, 0.9, 0.8, 0.6, 0.45, 0.35,
)  # fmt: skip
WEEKDAY_FACTOR = 1.15
WEEKEND_FACTOR = 0.625  # with the weekday factor, a week averages 1.0

FEEDBACK_COMMENTS = {
    1: ("wrong answer, quoted an old policy", "did not understand the question", "made up an order number"),
    2: ("too slow and vague", "had to ask twice", "missed the attachment"),
    3: ("ok but generic", "correct, a bit long", "fine"),
    4: ("good, a bit slow", "helpful", "nice summary, one typo"),
    5: ("perfect, thanks!", "exactly what I needed", "great answer, très bien", "solved it in one go"),
}

FIRST_NAMES = ("maria", "li", "jonas", "amara", "pedro", "sofia", "kenji", "zoe", "omar", "ines")
LAST_NAMES = ("lopez", "chen", "berg", "okafor", "silva", "rossi", "tanaka", "martin", "haddad", "novak")
QUESTIONS = (
    "How do I reset my password?",
    "Where is my order?",
    "Can I get a refund for last month?",
    "Summarise the Q3 campaign results",
    "What does clause 7 of the contract say?",
    "Draft a launch email for the spring sale",
)

ERROR_DETAILS = {
    400: "Invalid request body: 'content' must not be empty",
    401: "API key revoked",
    404: "Conversation not found",
    422: "Message exceeds the maximum length of 32000 characters",
    429: "Rate limit exceeded: 100 requests per hour",
    500: "Internal server error",
    502: "Upstream provider error: every attempt failed",
    503: "Service temporarily unavailable",
}

TRACEBACKS = {
    500: (
        "Traceback (most recent call last):\n"
        '  File "app/conversations/api.py", line 142, in post_message\n'
        "    reply = workflow.run(conversation, message)\n"
        '  File "app/workflows/engine.py", line 88, in run\n'
        "    context = self.retriever.fetch(query)\n"
        "KeyError: 'embedding'"
    ),
    502: (
        "Traceback (most recent call last):\n"
        '  File "app/llm/router.py", line 61, in complete\n'
        "    return self._failover(request)\n"
        "app.llm.errors.AllProvidersFailed: 2 attempts, last: upstream timeout"
    ),
    503: (
        "Traceback (most recent call last):\n"
        '  File "app/db/pool.py", line 33, in acquire\n'
        "    raise PoolExhausted()\n"
        "app.db.errors.PoolExhausted: no connection available within 5s"
    ),
}
