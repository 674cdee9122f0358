"""The source contract: one pydantic model per platform record type, and nothing else.

These models are the single definition of what a valid record is. Two things are derived from them:

* ``validate_record`` checks one record in Python (used by tests and small batches);
* ``ingestion.validation`` compiles the same fields, types, constraints and cross-field rules into
  vectorized SQL checks, so bulk loads never validate row by row in Python.

Unknown extra fields are kept (``extra="allow"``), types are strict (``"1420"`` is not a number), and
timestamps must carry a UTC offset. Token usage follows the contract's semantics: ``input_tokens``
includes cache reads and writes, ``output_tokens`` includes reasoning tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails

# ISO 8601 with a UTC offset; the same pattern is checked in SQL by ingestion.validation. Years from 0001, hours
# and offsets below 24: what Python's datetime can hold (DuckDB would also read year 0, 24:00 and +24:00).
ISO_TIMESTAMP_PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}"
    r"[T ]([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-9]{2})$"
)
TIMESTAMP_REASON = "expected an ISO 8601 timestamp with a UTC offset"
# Counts beyond a signed 64-bit integer are not real usage; bounding them keeps warehouses exact.
MAX_INT = 2**63 - 1


def _iso_timestamp(value: Any) -> Any:
    if not isinstance(value, str) or not re.match(ISO_TIMESTAMP_PATTERN, value):
        raise ValueError(TIMESTAMP_REASON)
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # the pattern's shape but no such instant (2026-02-30, 23:59:60): the same reason
        raise ValueError(TIMESTAMP_REASON) from None


NonEmptyStr = Annotated[str, Field(min_length=1)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_timestamp)]
TokenCount = Annotated[int, Field(ge=0, le=MAX_INT)]
DurationMs = Annotated[int, Field(ge=0, le=MAX_INT)]
Usd = Annotated[float, Field(ge=0)]
JsonObject = dict[str, Any]


@dataclass(frozen=True)
class RequiredWhen:
    """Cross-field rule: ``field`` must be present (not null) when ``when_field`` equals ``when_value``."""

    field: str
    when_field: str
    when_value: str

    @property
    def reason(self) -> str:
        return f"{self.field} is required when {self.when_field} is {self.when_value!r}"

    @property
    def fields(self) -> frozenset[str]:
        return frozenset((self.field, self.when_field))

    def holds(self, values: Mapping[str, Any]) -> bool:
        return values.get(self.when_field) != self.when_value or values.get(self.field) is not None


@dataclass(frozen=True)
class NotAbove:
    """Cross-field rule: the sum of ``parts`` must not exceed ``limit`` (all paths in the same object)."""

    parts: tuple[str, ...]
    limit: str

    @property
    def reason(self) -> str:
        return f"{' + '.join(self.parts)} must not exceed {self.limit}"

    @property
    def fields(self) -> frozenset[str]:
        return frozenset((*self.parts, self.limit))

    def holds(self, values: Mapping[str, Any]) -> bool:
        return sum(values.get(p) or 0 for p in self.parts) <= (values.get(self.limit) or 0)


class ContractModel(BaseModel):
    """Base for every contract shape: strict types, extra fields kept, cross-field rules checked.

    A record's errors are all its violations, as the SQL checks of ``ingestion.validation`` list them: every
    field's, and every broken cross-field rule whose fields are all valid, whether or not other fields fail.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    rules: ClassVar[tuple[NotAbove | RequiredWhen, ...]] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _check_rules(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            record = handler(data)
        except ValidationError as error:
            if not isinstance(data, dict):  # not an object: no field to read
                raise
            errors = error.errors()
            invalid = {e["loc"][0] for e in errors if e["loc"]}
            broken = [rule for rule in cls.rules if not rule.fields & invalid and not rule.holds(data)]
            if not broken:
                raise
        else:
            errors = []
            broken = [rule for rule in cls.rules if not rule.holds(dict(record))]
            if not broken:
                return record
        rule_errors = [
            InitErrorDetails(type="value_error", loc=(), input=data, ctx={"error": ValueError(rule.reason)})
            for rule in broken
        ]
        raise ValidationError.from_exception_data(cls.__name__, [*errors, *rule_errors])


class Usage(ContractModel):
    """Token usage of one LLM attempt. Missing (or null) counts are 0."""

    input_tokens: TokenCount | None = 0
    output_tokens: TokenCount | None = 0
    cache_read_input_tokens: TokenCount | None = 0
    cache_creation_input_tokens: TokenCount | None = 0
    cache_creation_1h_input_tokens: TokenCount | None = 0
    reasoning_tokens: TokenCount | None = 0

    rules: ClassVar[tuple[NotAbove | RequiredWhen, ...]] = (
        NotAbove(("cache_read_input_tokens", "cache_creation_input_tokens"), "input_tokens"),
        NotAbove(("cache_creation_1h_input_tokens",), "cache_creation_input_tokens"),
        NotAbove(("reasoning_tokens",), "output_tokens"),
    )


class LlmCall(ContractModel):
    provider: NonEmptyStr
    model: NonEmptyStr
    usage: Usage
    attempt: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None
    service_tier: str | None = None
    provider_reported_cost_usd: Usd | None = None
    error_type: str | None = None


class CustomerData(ContractModel):
    user_id: str | None = None
    segment: str | None = None
    persona: str | None = None
    channel: str | None = None
    experiment_variant: str | None = None


class RequestError(ContractModel):
    """The platform's structured error schema (status, detail, traceback)."""

    status: Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)] | None = None
    detail: str | None = None
    traceback: str | None = None


class RequestLog(ContractModel):
    id: NonEmptyStr
    organization_id: NonEmptyStr
    timestamp: Timestamp
    api_key_id: str | None = None
    method: str | None = None
    endpoint: str | None = None
    status_code: Annotated[int, Field(ge=100, le=599)] | None = None
    duration_ms: DurationMs | None = None
    conversation_id: str | None = None
    trace_id: str | None = None
    workflow: str | None = None
    customer_data: CustomerData | None = None
    error: RequestError | None = None


class Span(ContractModel):
    span_id: NonEmptyStr
    organization_id: NonEmptyStr
    started_at: Timestamp
    trace_id: str | None = None
    parent_span_id: str | None = None
    conversation_id: str | None = None
    workflow: str | None = None
    kind: Literal["request", "retrieval", "llm", "postprocess", "tool"] | None = None
    name: str | None = None
    duration_ms: DurationMs | None = None
    status: Literal["ok", "error"] | None = None
    llm: LlmCall | None = None
    attributes: JsonObject | None = None
    payload: JsonObject | None = None

    rules: ClassVar[tuple[NotAbove | RequiredWhen, ...]] = (RequiredWhen("llm", "kind", "llm"),)


class Feedback(ContractModel):
    id: NonEmptyStr
    organization_id: NonEmptyStr
    created_at: Timestamp
    conversation_id: str | None = None
    trace_id: str | None = None
    reviewer: str | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: str | None = None


class RateLimitEvent(ContractModel):
    id: NonEmptyStr
    organization_id: NonEmptyStr
    occurred_at: Timestamp
    api_key_id: str | None = None
    outcome: Literal["allowed", "blocked"] | None = None
    limit: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None
    window_seconds: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None
    endpoint: str | None = None


class ApiKey(ContractModel):
    """A key snapshot. The secret never leaves the platform: only its ``prefix`` is delivered. A key that was
    never used has ``last_used_at`` null or absent: a valid snapshot, older than any other when ordered."""

    id: NonEmptyStr
    organization_id: NonEmptyStr
    last_used_at: Timestamp | None = None
    name: str | None = None
    prefix: str | None = None
    created_at: Timestamp | None = None
    revoked_at: Timestamp | None = None


class Organization(ContractModel):
    id: NonEmptyStr
    updated_at: Timestamp
    name: str | None = None
    plan: str | None = None
    segment: str | None = None
    monthly_budget_usd: Usd | None = None
    created_at: Timestamp | None = None


@dataclass(frozen=True)
class Endpoint:
    """One source endpoint: where it is served, where it lands, and how its records are identified."""

    name: str  # landing folder name, e.g. "rate-limits"
    path: str  # API path, e.g. "/analytics/rate-limits/"
    model: type[ContractModel]
    id_field: str
    event_time_field: str
    snapshot: bool = False  # snapshots have no time window; the latest version (by event time) wins

    @property
    def table(self) -> str:
        """Name of the raw table (``raw.<table>``)."""
        return self.name.replace("-", "_")


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("logs", "/analytics/logs/", RequestLog, "id", "timestamp"),
        Endpoint("traces", "/analytics/traces/", Span, "span_id", "started_at"),
        Endpoint("feedback", "/analytics/feedback/", Feedback, "id", "created_at"),
        Endpoint("rate-limits", "/analytics/rate-limits/", RateLimitEvent, "id", "occurred_at"),
        Endpoint("keys", "/analytics/keys/", ApiKey, "id", "last_used_at", snapshot=True),
        Endpoint("organizations", "/analytics/organizations/", Organization, "id", "updated_at", snapshot=True),
    )
}


def validate_record(endpoint: str, record: Any) -> ContractModel:
    """Validate one decoded JSON record against its endpoint's contract model (raises ``ValueError``)."""
    return ENDPOINTS[endpoint].model.model_validate_json(json.dumps(record))
