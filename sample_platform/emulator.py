"""A local emulator of the platform's analytics API, serving a landing dataset, with fault injection.

Serves ``GET <path>?start=<ISO8601>&end=<ISO8601>&limit=<n>`` for every endpoint of the source contract
(paths from ``ingestion.records.ENDPOINTS``) and answers ``{"count", "next", "results"}``:

* records are served as delivered in the landing files (invalid-but-JSON records too; lines that are not
  a JSON object are skipped), ordered by event time, then delivery order (files by name, then line);
* the window is half-open on the record's event time and ignored for the snapshot endpoints (keys,
  organizations). A record whose event time is missing or unreadable sits at the start of its file's day
  (or, when added at runtime, at the emulator clock's now), so it is still served once;
* ``limit`` defaults to 500 and is capped at 5000; ``next`` is an absolute URL carrying the same window
  and an opaque keyset cursor, so records that arrive later (``add_records``) never shift a page;
* ``X-API-Key`` must be one of the configured keys, else 401 with the platform's error schema
  ``{"status", "detail", "traceback"}``. The CLI takes the keys from ``TOKENBOOKS_EMULATOR_API_KEYS``
  (comma separated); without it the only key is the demo key ``tokenbooks-demo-key``;
* each key may make ``requests_per_hour`` requests per fixed clock hour (injectable clock); beyond that,
  429 with ``Retry-After`` (``retry_after_seconds``, or the seconds left in the hour). Every authenticated
  response carries ``X-RateLimit-Remaining``.

Faults are drawn per request from ``Random(f"{seed}:{n}")``, ``n`` counting requests that passed auth and
the rate limit, so the same sequence of requests meets the same faults: ``latency_ms`` on every such
request; ``timeout_rate`` (answer only after ``timeout_seconds``), ``error_rate`` (500/502/503 with the
error schema), ``duplicate_page_rate`` (the ``next`` cursor steps back half a page, so pages overlap and
records are delivered twice).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import gzip
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import settings
from ingestion.records import ENDPOINTS, Endpoint
from ingestion.sources import LandingSource

log = logging.getLogger(__name__)

DEMO_API_KEY = "tokenbooks-demo-key"
API_KEYS_ENV = settings.env_name("emulator_api_keys")
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000

_FILE_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ERROR_STATUSES = (500, 502, 503)
_ERROR_DETAILS = {
    500: "Internal server error",
    502: "Upstream timeout",
    503: "Service temporarily unavailable",
}
_TRACEBACK_500 = (
    "Traceback (most recent call last):\n"
    '  File "app/analytics/api.py", line 57, in list_records\n'
    "    page = paginator.page(cursor)\n"
    "RuntimeError: injected fault"
)


def configured_api_keys(configured: str | None = None) -> tuple[str, ...]:
    """The keys the emulator accepts: ``configured`` else ``TOKENBOOKS_EMULATOR_API_KEYS`` (comma separated),
    else the demo key."""
    configured = settings.current().emulator_api_keys if configured is None else configured
    keys = tuple(k.strip() for k in configured.split(",") if k.strip())
    return keys or (DEMO_API_KEY,)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0  # wait this long before answering (latency and timeout faults)


def _error(status: int, detail: str, traceback: str | None = None, **headers: str) -> Response:
    body = json.dumps({"status": status, "detail": detail, "traceback": traceback}, separators=(",", ":")).encode()
    return Response(status, body, dict(headers))


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _parse_time(value: Any) -> int | None:
    """Microseconds since the epoch of an ISO 8601 time (no offset read as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        return _micros(datetime.fromisoformat(value))
    except ValueError:
        return None


class _Store:
    """One endpoint's records, sorted by (event time, delivery sequence), kept as delivered bytes."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.keys: list[tuple[int, int]] = []
        self.lines: list[bytes] = []
        self.next_seq = 0

    def key(self, record: dict[str, Any], fallback_us: int) -> tuple[int, int]:
        event_us = _parse_time(record.get(self.endpoint.event_time_field))
        self.next_seq += 1
        return (fallback_us if event_us is None else event_us, self.next_seq)

    def extend(self, items: list[tuple[tuple[int, int], bytes]]) -> None:
        """Add keyed lines: one sort for a bulk load, an ordered insert for a few late arrivals."""
        if len(items) > 64:
            merged = sorted([*zip(self.keys, self.lines, strict=True), *items], key=lambda item: item[0])
            self.keys = [k for k, _ in merged]
            self.lines = [line for _, line in merged]
            return
        for key, line in items:
            position = bisect.bisect_right(self.keys, key)
            self.keys.insert(position, key)
            self.lines.insert(position, line)


class PlatformEmulator:
    """The platform API over an in-memory copy of a landing dataset; ``make_server`` puts it on HTTP."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        api_keys: Iterable[str] = (DEMO_API_KEY,),
        requests_per_hour: int = 100,
        retry_after_seconds: int | None = None,
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_seconds: float = 30.0,
        duplicate_page_rate: float = 0.0,
        latency_ms: int = 0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        log_requests: bool = False,
    ):
        self.api_keys = frozenset(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key is required")
        for name, rate in (
            ("error_rate", error_rate),
            ("timeout_rate", timeout_rate),
            ("duplicate_page_rate", duplicate_page_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        self.requests_per_hour = requests_per_hour
        self.retry_after_seconds = retry_after_seconds
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self.timeout_seconds = timeout_seconds
        self.duplicate_page_rate = duplicate_page_rate
        self.latency_ms = latency_ms
        self.seed = seed
        self.clock = clock
        self.log_requests = log_requests
        self.closing = threading.Event()  # set on shutdown: wakes handlers sleeping in a fault
        self._lock = threading.Lock()
        self._stores = {name: _Store(endpoint) for name, endpoint in ENDPOINTS.items()}
        self._by_path = {endpoint.path.rstrip("/"): self._stores[name] for name, endpoint in ENDPOINTS.items()}
        self._usage: dict[str, tuple[int, int]] = {}  # api key -> (clock hour, requests in it)
        self._requests = 0
        if data_dir is not None:
            self._load(Path(data_dir))

    # -- data --

    def _load(self, data_dir: Path) -> None:
        """Read ``<data_dir>/<endpoint>/**/*.jsonl[.gz]`` in delivery order (file name, then line)."""
        landing = LandingSource(data_dir)
        for name, store in self._stores.items():
            items = []
            for path in landing.files(name):
                match = _FILE_DATE.search(path.name)
                day_us = _parse_time(f"{match.group(1)}T00:00:00+00:00") if match else None
                opener = gzip.open if path.name.endswith(".gz") else open
                with opener(path, "rb") as lines:
                    for raw in lines:
                        line = raw.strip()
                        record = _json_object(line)
                        if record is not None:
                            items.append((store.key(record, day_us or 0), line))
            store.extend(items)

    def add_records(self, endpoint: str, records: Iterable[dict[str, Any]]) -> None:
        """Make records visible now (thread-safe): a test's late arrival or correction."""
        store = self._stores[endpoint]
        now_us = int(self.clock() * 1_000_000)
        encoded = [(json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode(), r) for r in records]
        with self._lock:
            store.extend([(store.key(record, now_us), line) for line, record in encoded])

    def record_count(self, endpoint: str) -> int:
        return len(self._stores[endpoint].keys)

    # -- requests --

    def respond(self, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str], base_url: str) -> Response:
        """Answer one GET (no I/O; the HTTP handler only writes what this returns)."""
        api_key = headers.get("X-API-Key")
        if api_key not in self.api_keys:
            return _error(401, "Invalid or missing API key (send it in the X-API-Key header)")
        remaining, retry_after = self._take_quota(api_key)
        if retry_after is not None:
            return _error(
                429,
                f"Rate limit exceeded: {self.requests_per_hour} requests per hour",
                **{"Retry-After": str(retry_after), "X-RateLimit-Remaining": "0"},
            )
        response = self._faulty_page(path, query, base_url)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        return response

    def _take_quota(self, api_key: str) -> tuple[int, int | None]:
        """(requests left this hour, None) when allowed, else (0, seconds to wait)."""
        now = self.clock()
        hour = int(now // 3600)
        with self._lock:
            window, used = self._usage.get(api_key, (hour, 0))
            if window != hour:
                used = 0
            if used >= self.requests_per_hour:
                seconds_left = max(1, math.ceil((hour + 1) * 3600 - now))
                retry = self.retry_after_seconds if self.retry_after_seconds is not None else seconds_left
                return 0, retry
            self._usage[api_key] = (hour, used + 1)
            return self.requests_per_hour - used - 1, None

    def _faulty_page(self, path: str, query: Mapping[str, list[str]], base_url: str) -> Response:
        with self._lock:
            self._requests += 1
            number = self._requests
        draw = random.Random(f"{self.seed}:{number}")
        times_out, fails, overlaps = draw.random(), draw.random(), draw.random()
        delay = self.latency_ms / 1000
        if times_out < self.timeout_rate:
            delay += self.timeout_seconds
        if fails < self.error_rate:
            status = draw.choice(_ERROR_STATUSES)
            response = _error(status, _ERROR_DETAILS[status], _TRACEBACK_500 if status == 500 else None)
        else:
            response = self._page(path, query, base_url, overlap=overlaps < self.duplicate_page_rate)
        response.delay_seconds = delay
        return response

    def _page(self, path: str, query: Mapping[str, list[str]], base_url: str, *, overlap: bool) -> Response:
        store = self._by_path.get(path.rstrip("/"))
        if store is None:
            return _error(404, f"Not found: {path}")
        params = {name: values[-1] for name, values in query.items() if values}
        try:
            limit = min(int(params.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
            if limit < 1:
                raise ValueError
        except ValueError:
            return _error(400, f"limit must be a positive integer (at most {MAX_LIMIT})")
        bounds = []
        for name in ("start", "end"):
            value = params.get(name)
            micros = _parse_time(value) if value is not None else None
            if value is not None and micros is None:
                return _error(400, f"{name} must be an ISO 8601 timestamp, got {value!r}")
            bounds.append(micros)
        cursor = None
        if "cursor" in params:
            cursor = _decode_cursor(params["cursor"])
            if cursor is None:
                return _error(400, "invalid cursor")

        with self._lock:
            keys = store.keys
            low, high = 0, len(keys)
            if not store.endpoint.snapshot:
                if bounds[0] is not None:
                    low = bisect.bisect_left(keys, (bounds[0], -1))
                if bounds[1] is not None:
                    high = max(low, bisect.bisect_left(keys, (bounds[1], -1)))
            first = max(low, bisect.bisect_right(keys, cursor)) if cursor is not None else low
            last = min(first + limit, high)
            lines = store.lines[first:last]
            following = None
            if last < high:
                # stepping back half a page re-delivers those records on the next page
                resume = last - 1 - ((last - first) // 2 if overlap else 0)
                following = keys[resume]
        next_url = None
        if following is not None:
            next_params = {k: params[k] for k in ("start", "end") if k in params}
            next_params.update(limit=str(limit), cursor=_encode_cursor(following))
            next_url = f"{base_url}{path}?{urlencode(next_params)}"
        body = b'{"count":%d,"next":%s,"results":[%s]}' % (
            high - low,
            json.dumps(next_url).encode(),
            b",".join(lines),
        )
        return Response(200, body, {})

    # -- HTTP --

    def make_server(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((host, port), _Handler)
        server.emulator = self  # type: ignore[attr-defined]
        return server

    def close(self) -> None:
        self.closing.set()


def _json_object(line: bytes) -> dict[str, Any] | None:
    """The record on a landing line, or None for a blank line, malformed JSON (too deep for Python's parser
    included) or a non-object."""
    if not line:
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _encode_cursor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[int, int] | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        event_us, seq = raw.split(":")
        return int(event_us), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a paging client reuses one connection
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart on keep-alive
    timeout = 120  # drop idle keep-alive connections

    def do_GET(self) -> None:
        emulator: PlatformEmulator = self.server.emulator  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        response = emulator.respond(url.path, parse_qs(url.query), self.headers, f"http://{host}")
        if response.delay_seconds and emulator.closing.wait(response.delay_seconds):
            self.close_connection = True  # shutting down: the client has long given up
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client timed out and left

    def _not_allowed(self) -> None:
        self._send(_error(405, f"{self.command} is not supported; use GET", **{"Allow": "GET"}))

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.log_requests:  # type: ignore[attr-defined]
            log.info("%s - %s", self.address_string(), format % args)


@contextmanager
def running_emulator(data_dir: str | Path | PlatformEmulator | None = None, **options: Any) -> Iterator[str]:
    """Serve on a free loopback port in a background thread; yields the base URL (``http://127.0.0.1:<port>``).

    Pass a ``PlatformEmulator`` instead of a directory to keep a handle on it (e.g. for ``add_records``).
    """
    if isinstance(data_dir, PlatformEmulator):
        if options:
            raise TypeError("options belong to the PlatformEmulator when one is passed")
        emulator = data_dir
    else:
        emulator = PlatformEmulator(data_dir, **options)
    server = emulator.make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        emulator.close()
        server.shutdown()
        server.server_close()
        thread.join()


def serve(
    data_dir: str | Path | None,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    api_keys: Iterable[str] | None = None,
    **options: Any,
) -> None:
    """Serve until interrupted. Without ``api_keys``, they come from ``TOKENBOOKS_EMULATOR_API_KEYS``."""
    emulator = PlatformEmulator(data_dir, api_keys=api_keys or configured_api_keys(), **options)
    server = emulator.make_server(host, port)
    log.info(
        "platform API emulator on http://%s:%d (%s)",
        host,
        server.server_address[1],
        ", ".join(f"{name}: {emulator.record_count(name)} records" for name in ENDPOINTS),
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
        server.server_close()
