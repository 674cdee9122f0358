"""Where alerts go and how hard delivery tries, from the environment only (webhook URLs and secrets are
never in files, logs or reprs).

=========================================  ===============================================================
``TOKENBOOKS_ALERT_WEBHOOKS``              comma-separated destination names, e.g. ``oncall,slack``
``TOKENBOOKS_ALERT_WEBHOOK_<NAME>_URL``    the destination's http(s) URL (required)
``TOKENBOOKS_ALERT_WEBHOOK_<NAME>_FORMAT`` ``json`` (default) or ``slack``
``TOKENBOOKS_ALERT_WEBHOOK_<NAME>_SECRET`` optional: bodies are signed, header ``X-Tokenbooks-Signature``
``..._<NAME>_MIN_SEVERITY``                ``info`` (default), ``warning`` or ``critical``
``..._<NAME>_ALERT_TYPES``                 comma-separated alert types to send (default: every type)
``TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN``      HTTP attempts per alert in one delivery run (default 3)
``TOKENBOOKS_ALERT_BACKOFF_SECONDS``       wait before the 2nd attempt of a run, doubling (default 1)
``TOKENBOOKS_ALERT_RETRY_SECONDS``         wait before a later run retries a failed alert, doubling per
                                           failed run up to one hour (default 60)
``TOKENBOOKS_ALERT_TIMEOUT_SECONDS``       HTTP timeout per attempt (default 10)
``TOKENBOOKS_ALERT_MAX_AGE_HOURS``         alerts whose window ended longer before the evaluation time are
                                           not sent (backfills do not page anyone); 0 = no limit (default 72)
=========================================  ===============================================================

``<NAME>`` is the destination name upper-cased, ``-`` read as ``_``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from ingestion.sources import ConfigError

WEBHOOKS_ENV = "TOKENBOOKS_ALERT_WEBHOOKS"
WEBHOOK_ENV_PREFIX = "TOKENBOOKS_ALERT_WEBHOOK_"
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
    return f"{WEBHOOK_ENV_PREFIX}{destination.upper().replace('-', '_')}_{setting}"


def destinations_from_env(environ: Mapping[str, str] | None = None) -> tuple[WebhookDestination, ...]:
    """The destinations named in ``TOKENBOOKS_ALERT_WEBHOOKS`` (none when it is unset or empty)."""
    environ = os.environ if environ is None else environ
    names = [name.strip() for name in (environ.get(WEBHOOKS_ENV) or "").split(",") if name.strip()]
    destinations = []
    for name in names:
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{WEBHOOKS_ENV}: {name!r} is not a destination name (letters, digits, - and _)")
        destinations.append(_destination(name, environ))
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


def policy_from_env(environ: Mapping[str, str] | None = None) -> DeliveryPolicy:
    environ = os.environ if environ is None else environ
    max_age_hours = _number(environ, "TOKENBOOKS_ALERT_MAX_AGE_HOURS", 72, minimum=0)
    return DeliveryPolicy(
        attempts_per_run=int(_number(environ, "TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN", 3, minimum=1, integer=True)),
        backoff_seconds=_number(environ, "TOKENBOOKS_ALERT_BACKOFF_SECONDS", 1.0, minimum=0),
        retry_seconds=_number(environ, "TOKENBOOKS_ALERT_RETRY_SECONDS", 60.0, minimum=0),
        timeout_seconds=_number(environ, "TOKENBOOKS_ALERT_TIMEOUT_SECONDS", 10.0, minimum=0.001),
        max_age=timedelta(hours=max_age_hours) if max_age_hours else None,
    )


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float, integer: bool = False) -> float:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}: expected {kind} of at least {minimum:g}, got {value!r}")
    return number
