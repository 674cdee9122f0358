"""The API client over real HTTP on loopback, against a server that answers from a script."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ingestion.client import PlatformApiError, PlatformClient, RetryPolicy


class ScriptedServer:
    """Answers each request with the next scripted (status, headers, body, delay); records the requests."""

    def __init__(self):
        self.script: deque[tuple[int, dict, object, float]] = deque()
        self.requests: list[tuple[str, dict, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                outer.requests.append((parts.path, parse_qs(parts.query), dict(self.headers)))
                status, headers, body, delay = outer.script.popleft()
                time.sleep(delay)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, status=200, body=None, headers=None, delay=0.0):
        self.script.append((status, headers or {}, body if body is not None else {}, delay))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def client_for(server, sleeps, **kwargs):
    return PlatformClient(server.url, "secret-key", sleep=sleeps.append, seed=1, **kwargs)


def page(results, next_url=None, count=None):
    return {"count": count if count is not None else len(results), "next": next_url, "results": results}


WINDOW = (datetime(2026, 11, 20), datetime(2026, 11, 21))


def test_follows_next_with_window_key_and_large_pages(server):
    server.add(body=page([{"id": "a"}, {"id": "b"}], f"{server.url}/analytics/logs/?cursor=2", count=3))
    server.add(body=page([{"id": "c"}], None, count=3))
    sleeps: list[float] = []
    pages = list(client_for(server, sleeps).pages("logs", WINDOW))
    assert [[r["id"] for r in p.records] for p in pages] == [["a", "b"], ["c"]]
    (path, query, headers), (next_path, next_query, _) = server.requests
    assert path == "/analytics/logs/"
    assert query == {"limit": ["5000"], "start": ["2026-11-20T00:00:00.000Z"], "end": ["2026-11-21T00:00:00.000Z"]}
    assert headers["X-API-Key"] == "secret-key"
    assert (next_path, next_query) == ("/analytics/logs/", {"cursor": ["2"]})
    assert sleeps == []


def test_snapshot_endpoints_send_no_window(server):
    server.add(body=page([{"id": "org_a"}]))
    list(client_for(server, []).pages("organizations", WINDOW))
    assert server.requests[0][1] == {"limit": ["5000"]}


def test_server_errors_are_retried_with_growing_backoff(server):
    server.add(500, {"status": 500, "detail": "boom", "traceback": None})
    server.add(503, {"status": 503, "detail": "busy", "traceback": None})
    server.add(body=b"{not json")
    server.add(body=page([{"id": "a"}]))
    sleeps: list[float] = []
    client = client_for(server, sleeps, retry=RetryPolicy(backoff_base_seconds=1.0))
    assert [p.records for p in client.pages("logs", WINDOW)] == [[{"id": "a"}]]
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0
    assert client.retries == 3


def test_rate_limit_waits_retry_after_without_spending_attempts(server):
    for _ in range(3):
        server.add(429, {"status": 429, "detail": "slow down"}, headers={"Retry-After": "7"})
    server.add(body=page([{"id": "a"}]))
    sleeps: list[float] = []
    client = client_for(server, sleeps, retry=RetryPolicy(max_attempts=1))
    assert [p.records for p in client.pages("logs", WINDOW)] == [[{"id": "a"}]]
    assert sleeps == [7.0, 7.0, 7.0]
    assert client.rate_limit_waits == 3


def test_timeouts_are_retried(server):
    server.add(body=page([{"id": "late"}]), delay=1.0)
    server.add(body=page([{"id": "a"}]))
    sleeps: list[float] = []
    client = client_for(server, sleeps, timeout=(2.0, 0.2))
    assert [p.records for p in client.pages("logs", WINDOW)] == [[{"id": "a"}]]
    assert len(sleeps) == 1


def test_client_errors_fail_at_once_with_the_platform_detail(server):
    server.add(401, {"status": 401, "detail": "invalid API key", "traceback": None})
    with pytest.raises(PlatformApiError, match="HTTP 401: invalid API key"):
        list(client_for(server, []).pages("logs", WINDOW))
    assert len(server.requests) == 1


def test_gives_up_after_max_attempts(server):
    for _ in range(3):
        server.add(502, {"status": 502, "detail": "bad gateway"})
    with pytest.raises(PlatformApiError, match="giving up after 3 attempts"):
        list(client_for(server, [], retry=RetryPolicy(max_attempts=3)).pages("logs", WINDOW))


def test_never_sends_the_key_to_another_host(server):
    server.add(body=page([{"id": "a"}], "http://attacker.invalid/analytics/logs/?cursor=1"))
    with pytest.raises(PlatformApiError, match="another host"):
        list(client_for(server, []).pages("logs", WINDOW))
    assert len(server.requests) == 1
