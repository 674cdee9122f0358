"""POST a body to a webhook with retries and exponential backoff.

A webhook URL is a secret (whoever has it can post), so it never reaches a log: failures are reported as
``HTTP <status>`` or the exception's class name (a connection error's text spells out the URL), and
urllib3's debug lines (which print the request path) are held back while a webhook is called.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from alerting.destinations import DeliveryPolicy, WebhookDestination

SIGNATURE_HEADER = "X-Tokenbooks-Signature"
DELIVERY_ID_HEADER = "X-Tokenbooks-Delivery-Id"
EVENT_HEADER = "X-Tokenbooks-Event"
USER_AGENT = "tokenbooks-alerts"
URLLIB3_LOGGER = logging.getLogger("urllib3.connectionpool")


@dataclass(frozen=True)
class SendOutcome:
    delivered: bool
    attempts: int
    status_code: int | None  # of the last attempt; None when no answer came
    error: str | None  # of the last failed attempt, safe to log and store


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``: the receiver recomputes it with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@contextmanager
def _urls_kept_out_of_logs() -> Iterator[None]:
    """Drop urllib3's records below WARNING (its DEBUG lines carry the request path) for the block."""
    level = URLLIB3_LOGGER.level
    URLLIB3_LOGGER.setLevel(logging.WARNING)
    try:
        yield
    finally:
        URLLIB3_LOGGER.setLevel(level)


def post_with_retries(
    session: requests.Session,
    destination: WebhookDestination,
    body: bytes,
    *,
    delivery_id: str,
    event: str,
    policy: DeliveryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> SendOutcome:
    """Up to ``policy.attempts_per_run`` POSTs, waiting ``backoff_seconds`` then twice as long each time.

    Any 2xx answer is a delivery; anything else (another status, a timeout, a refused connection) is retried.
    Redirects are not followed: a webhook that moved is a configuration to fix, not a place to send to.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DELIVERY_ID_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
    if destination.secret:
        headers[SIGNATURE_HEADER] = signature(destination.secret, body)
    status_code: int | None = None
    error: str | None = None
    for attempt in range(1, policy.attempts_per_run + 1):
        if attempt > 1:
            sleep(policy.backoff_seconds * 2 ** (attempt - 2))
        try:
            with _urls_kept_out_of_logs():
                response = session.post(
                    destination.url, data=body, headers=headers, timeout=policy.timeout_seconds, allow_redirects=False
                )
        except requests.RequestException as exc:
            status_code, error = None, type(exc).__name__
            continue
        status_code = response.status_code
        response.close()
        if 200 <= status_code < 300:
            return SendOutcome(True, attempt, status_code, None)
        error = f"HTTP {status_code}"
    return SendOutcome(False, policy.attempts_per_run, status_code, error)
