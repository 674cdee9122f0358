"""Where alerts go and how hard delivery tries: webhook destinations and the delivery policy, built from
``settings`` (webhook URLs and secrets are never in files, logs or reprs).

Each destination named in ``TOKENBOOKS_ALERT_WEBHOOKS`` has its own variables,
``TOKENBOOKS_ALERT_WEBHOOK_<NAME>_<SETTING>`` (``<NAME>`` is the destination name upper-cased, ``-`` read as ``_``):

===============  =============================================================================
``URL``          the destination's http(s) URL (required)
``FORMAT``       ``json`` (default) or ``slack``
``SECRET``       optional: bodies are signed, header ``X-Tokenbooks-Signature``
``MIN_SEVERITY`` ``info`` (default), ``warning`` or ``critical``
``ALERT_TYPES``  comma-separated alert types to send (default: every type)
===============  =============================================================================

The policy's settings (``TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN`` and the others) are in ``settings``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from settings import ALERT_WEBHOOK_PREFIX, ConfigError, Settings
from settings import env_name as setting_env_name

WEBHOOKS_ENV = setting_env_name("alert_webhooks")
FORMATS = ("json", "slack")
SEVERITIES = ("info", "warning", "critical")
ALERT_TYPES = (
    "cost_spike",
    "sla_latency",
    "error_rate",
    "failover_rate",
    "budget",
    "runaway_key",
    "pending_cost",
    "stale_ingestion",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class WebhookDestination:
    """One webhook. ``url`` and ``secret`` stay out of ``repr`` (and so out of logs and tracebacks)."""

    name: str
    url: str = field(repr=False)
    format: str = "json"
    secret: str | None = field(default=None, repr=False)
    min_severity: str = "info"
    alert_types: frozenset[str] | None = None  # None: every type

    def accepts(self, alert_type: str, severity: str) -> bool:
        """Whether this destination routes an alert of this type and severity."""
        severe_enough = SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)
        return severe_enough and (self.alert_types is None or alert_type in self.alert_types)


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts_per_run: int = 3
    backoff_seconds: float = 1.0
    retry_seconds: float = 60.0
    max_retry_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    max_age: timedelta | None = timedelta(hours=72)  # None: no limit

    def retry_delay(self, failed_runs: int) -> timedelta:
        """How long after its ``failed_runs``-th failed run (1, 2, ...) an alert is tried again."""
        seconds = self.retry_seconds * 2 ** max(0, failed_runs - 1)
        return timedelta(seconds=min(self.max_retry_seconds, seconds))


def env_name(destination: str, setting: str) -> str:
    return f"{ALERT_WEBHOOK_PREFIX}{destination.upper().replace('-', '_')}_{setting}"


def destinations_from_settings(configured: Settings) -> tuple[WebhookDestination, ...]:
    """The destinations named in ``TOKENBOOKS_ALERT_WEBHOOKS`` (none when it is unset or empty)."""
    names = [name.strip() for name in configured.alert_webhooks.split(",") if name.strip()]
    destinations = []
    for name in names:
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{WEBHOOKS_ENV}: {name!r} is not a destination name (letters, digits, - and _)")
        destinations.append(_destination(name, configured.alert_webhook_variables))
    if len({d.name.lower() for d in destinations}) != len(destinations):
        raise ConfigError(f"{WEBHOOKS_ENV}: a destination is named twice")
    return tuple(destinations)


def _destination(name: str, environ: Mapping[str, str]) -> WebhookDestination:
    url_env = env_name(name, "URL")
    url = environ.get(url_env, "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # the value is not echoed: a malformed URL may still hold a token
        raise ConfigError(f"{url_env}: expected an http(s) URL for the destination {name!r}")
    format_env = env_name(name, "FORMAT")
    output = (environ.get(format_env) or "json").strip().lower()
    if output not in FORMATS:
        raise ConfigError(f"{format_env}: expected one of {', '.join(FORMATS)}, got {output!r}")
    severity_env = env_name(name, "MIN_SEVERITY")
    min_severity = (environ.get(severity_env) or "info").strip().lower()
    if min_severity not in SEVERITIES:
        raise ConfigError(f"{severity_env}: expected one of {', '.join(SEVERITIES)}, got {min_severity!r}")
    types_env = env_name(name, "ALERT_TYPES")
    types = {t.strip().lower() for t in (environ.get(types_env) or "").split(",") if t.strip()}
    unknown = sorted(types - set(ALERT_TYPES))
    if unknown:
        raise ConfigError(f"{types_env}: unknown alert types {', '.join(unknown)} (known: {', '.join(ALERT_TYPES)})")
    return WebhookDestination(
        name=name,
        url=url,
        format=output,
        secret=environ.get(env_name(name, "SECRET")) or None,
        min_severity=min_severity,
        alert_types=frozenset(types) or None,
    )


def policy_from_settings(configured: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        attempts_per_run=configured.alert_attempts_per_run,
        backoff_seconds=configured.alert_backoff_seconds,
        retry_seconds=configured.alert_retry_seconds,
        timeout_seconds=configured.alert_timeout_seconds,
        max_age=timedelta(hours=configured.alert_max_age_hours) if configured.alert_max_age_hours else None,
    )
