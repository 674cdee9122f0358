"""Client for the platform's analytics API: auth, time windows, pagination, retries, rate limits.

Frugal and patient by contract: large pages, one pooled connection (``requests.Session``), exponential
backoff with jitter on 5xx, timeouts and dropped connections, and ``Retry-After`` honoured on 429. The
API key travels only to the configured host: a ``next`` link to another host is refused.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from ingestion.records import ENDPOINTS

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


class PlatformApiError(RuntimeError):
    """The API refused the request for a reason retrying cannot fix, or retries ran out."""


@dataclass
class RetryPolicy:
    max_attempts: int = 8  # per page, for 5xx / timeouts / connection errors
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 60.0
    max_rate_limit_waits: int = 50  # per page; 429s wait Retry-After and do not use up attempts
    max_retry_after_seconds: float = 3600.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for the given (1-based) failed attempt."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


def isoformat_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Page:
    url: str
    records: list[Any]
    count: int | None


class PlatformClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        page_size: int = 5000,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ):
        if not api_key:
            raise ValueError("api_key is required (from TOKENBOOKS_API_KEY)")
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.update({"X-API-Key": api_key, "Accept": "application/json"})
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._origin = urlsplit(self.base_url)[:2]
        self.requests_made = 0
        self.retries = 0
        self.rate_limit_waits = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pages(self, endpoint: str, window: tuple[datetime, datetime] | None = None) -> Iterator[Page]:
        """Every page of an endpoint for a half-open event-time window, following ``next`` links."""
        spec = ENDPOINTS[endpoint]
        params: dict[str, Any] = {"limit": self.page_size}
        if window is not None and not spec.snapshot:
            params["start"], params["end"] = isoformat_utc(window[0]), isoformat_utc(window[1])
        url: str | None = self.base_url + spec.path
        first = True
        while url:
            body = self._get(url, params if first else None)
            first = False
            results = body.get("results")
            if not isinstance(results, list):
                raise PlatformApiError(f"{url}: response has no 'results' list")
            yield Page(url, results, body.get("count"))
            url = body.get("next")
            if url and urlsplit(url)[:2] != self._origin:
                raise PlatformApiError(f"refusing to follow 'next' to another host: {urlsplit(url).netloc}")

    def _get(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        failures = 0
        waits = 0
        while True:
            self.requests_made += 1
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                failures += 1
                self._retry_or_raise(url, failures, f"{type(exc).__name__}")
                continue
            if response.status_code == 429:
                waits += 1
                if waits > self.retry.max_rate_limit_waits:
                    raise PlatformApiError(f"{url}: still rate limited after {waits - 1} waits")
                delay = self._retry_after(response)
                self.rate_limit_waits += 1
                log.info("rate limited by the platform; waiting %.1fs (Retry-After)", delay)
                self._sleep(delay)
                continue
            if response.status_code in RETRYABLE_STATUS:
                failures += 1
                self._retry_or_raise(url, failures, f"HTTP {response.status_code}")
                continue
            if response.status_code != 200:
                raise PlatformApiError(f"{url}: HTTP {response.status_code}: {_error_detail(response)}")
            try:
                body = response.json()
            except ValueError:
                failures += 1  # a truncated body is a transport failure: fetch the page again
                self._retry_or_raise(url, failures, "invalid JSON body")
                continue
            if not isinstance(body, dict):
                raise PlatformApiError(f"{url}: expected a JSON object page, got {type(body).__name__}")
            return body

    def _retry_or_raise(self, url: str, failures: int, what: str) -> None:
        if failures >= self.retry.max_attempts:
            raise PlatformApiError(f"{url}: {what}; giving up after {failures} attempts")
        delay = self.retry.backoff(failures, self._rng)
        self.retries += 1
        log.warning("%s from %s; retry %d in %.2fs", what, url, failures, delay)
        self._sleep(delay)

    def _retry_after(self, response: requests.Response) -> float:
        value = response.headers.get("Retry-After", "")
        try:
            seconds = float(value)
        except ValueError:
            seconds = self.retry.backoff_max_seconds  # missing or an HTTP date: wait the longest backoff
        return min(max(seconds, 0.0), self.retry.max_retry_after_seconds)


def _error_detail(response: requests.Response) -> str:
    """The platform's structured error (status, detail), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:200]
