"""The platform API emulator over real HTTP on loopback: windows, pagination, auth, rate limits, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ingestion.records import ENDPOINTS
from sample_platform.emulator import (
    DEMO_API_KEY,
    PlatformEmulator,
    configured_api_keys,
    running_emulator,
)
from sample_platform.generator import EVENT_ENDPOINTS, generate

KEY = {"X-API-Key": DEMO_API_KEY}
WINDOW = {"start": "2026-10-01T10:00:00Z", "end": "2026-10-01T12:00:00Z"}


def _log(marker: str, timestamp: str | None, **fields) -> dict:
    record = {"id": f"req_{marker}", "organization_id": "org_acme", "status_code": 200, "marker": marker, **fields}
    if timestamp is not None:
        record["timestamp"] = timestamp
    return record


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture
def landing(tmp_path) -> Path:
    """Two days of logs (a late record, an invalid one, blank and broken lines) and a key snapshot."""
    _write(
        tmp_path / "logs" / "2026-10-01.jsonl",
        [
            json.dumps(_log("a", "2026-10-01T10:00:00Z")),
            json.dumps(_log("b", "2026-10-01T10:30:00.500Z")),
            "",
            json.dumps({k: v for k, v in _log("c", "2026-10-01T11:00:00Z").items() if k != "id"}),  # invalid
            "<html>502 Bad Gateway</html>",
            json.dumps(_log("d", "2026-10-01T12:00:00Z")),
            '{"id": "req_truncated", "organiz',
        ],
    )
    _write(
        tmp_path / "logs" / "2026-10-02.jsonl",
        [
            json.dumps(_log("e", "2026-10-01T13:30:00+02:00")),  # late, and 11:30 UTC
            json.dumps(_log("f", "2026-10-02T09:00:00Z")),
            json.dumps(_log("g", None)),  # no event time: served at the start of its file's day
        ],
    )
    _write(
        tmp_path / "keys" / "snapshot-2026-10-01.jsonl",
        [
            json.dumps({"id": "key_1", "organization_id": "org_acme", "last_used_at": "2026-09-30T08:00:00Z"}),
            json.dumps({"id": "key_2", "organization_id": "org_acme", "last_used_at": "2026-10-01T08:00:00Z"}),
        ],
    )
    return tmp_path


def _markers(body: dict) -> list[str]:
    return [r["marker"] for r in body["results"]]


def _collect(session: requests.Session, url: str, params: dict | None = None) -> tuple[list[dict], list[str]]:
    """Follow ``next`` links; returns the pages' bodies and the URLs fetched."""
    bodies, urls = [], []
    response = session.get(url, params=params, headers=KEY)
    while True:
        assert response.status_code == 200, response.text
        urls.append(response.url)
        body = response.json()
        bodies.append(body)
        if body["next"] is None:
            return bodies, urls
        response = session.get(body["next"], headers=KEY)


def test_a_window_returns_exactly_its_records_in_event_time_order(landing):
    with running_emulator(landing) as url, requests.Session() as session:
        body = session.get(f"{url}/analytics/logs/", params=WINDOW, headers=KEY).json()
        day_two = session.get(
            f"{url}/analytics/logs/",
            params={"start": "2026-10-02T00:00:00Z", "end": "2026-10-03T00:00:00Z"},
            headers=KEY,
        ).json()
        everything = session.get(f"{url}/analytics/logs", headers=KEY).json()

    # half-open: 12:00 is out; the late record (11:30 UTC, delivered the next day) sits in time order;
    # the record without an id is served as delivered
    assert body == {"count": 4, "next": None, "results": body["results"]}
    assert _markers(body) == ["a", "b", "c", "e"]
    assert "id" not in body["results"][2]
    assert _markers(day_two) == ["g", "f"]
    assert everything["count"] == 7 and _markers(everything) == ["a", "b", "c", "e", "d", "g", "f"]


def test_pages_follow_absolute_next_links_with_the_same_window(landing):
    with running_emulator(landing) as url, requests.Session() as session:
        bodies, urls = _collect(session, f"{url}/analytics/logs/", {**WINDOW, "limit": 3})

    assert [_markers(b) for b in bodies] == [["a", "b", "c"], ["e"]]
    assert [b["count"] for b in bodies] == [4, 4]
    next_url = urlsplit(bodies[0]["next"])
    assert f"{next_url.scheme}://{next_url.netloc}" == url and next_url.path == "/analytics/logs/"
    query = parse_qs(next_url.query)
    assert {k: v[0] for k, v in query.items() if k != "cursor"} == {**WINDOW, "limit": "3"}
    assert query["cursor"][0]
    assert len(urls) == 2


def test_snapshot_endpoints_ignore_the_window(landing):
    with running_emulator(landing) as url:
        body = requests.get(f"{url}/analytics/keys/", params=WINDOW, headers=KEY).json()

    assert body["count"] == 2 and [r["id"] for r in body["results"]] == ["key_1", "key_2"]


def test_limit_defaults_to_500_and_is_capped_at_5000():
    emulator = PlatformEmulator(requests_per_hour=10)
    emulator.add_records(
        "rate-limits",
        [
            {"id": f"rl_{n}", "organization_id": "org_acme", "occurred_at": f"2026-10-01T00:00:{n % 60:02d}Z"}
            for n in range(5200)
        ],
    )
    with running_emulator(emulator) as url:
        default = requests.get(f"{url}/analytics/rate-limits/", headers=KEY).json()
        capped = requests.get(f"{url}/analytics/rate-limits/", params={"limit": 9999}, headers=KEY).json()
        refused = requests.get(f"{url}/analytics/rate-limits/", params={"limit": 0}, headers=KEY)

    assert (default["count"], len(default["results"])) == (5200, 500)
    assert (capped["count"], len(capped["results"])) == (5200, 5000)
    assert parse_qs(urlsplit(capped["next"]).query)["limit"] == ["5000"]
    assert refused.status_code == 400 and refused.json()["status"] == 400


def test_bad_requests_get_the_error_schema(landing):
    with running_emulator(landing) as url:
        unknown = requests.get(f"{url}/analytics/usage/", headers=KEY)
        bad_time = requests.get(f"{url}/analytics/logs/", params={"start": "yesterday"}, headers=KEY)
        bad_cursor = requests.get(f"{url}/analytics/logs/", params={"cursor": "%%%"}, headers=KEY)
        post = requests.post(f"{url}/analytics/logs/", headers=KEY)

    assert [r.status_code for r in (unknown, bad_time, bad_cursor, post)] == [404, 400, 400, 405]
    for response in (unknown, bad_time, bad_cursor, post):
        assert set(response.json()) == {"status", "detail", "traceback"}


def test_a_missing_or_unknown_key_gets_401(landing):
    with running_emulator(landing, api_keys=["secret-1", "secret-2"]) as url:
        missing = requests.get(f"{url}/analytics/logs/")
        wrong = requests.get(f"{url}/analytics/logs/", headers={"X-API-Key": DEMO_API_KEY})
        right = requests.get(f"{url}/analytics/logs/", headers={"X-API-Key": "secret-2"})

    for response in (missing, wrong):
        assert response.status_code == 401
        body = response.json()
        assert body["status"] == 401 and body["traceback"] is None and "X-API-Key" in body["detail"]
    assert right.status_code == 200


def test_keys_come_from_the_environment_or_default_to_the_demo_key():
    assert configured_api_keys(" k1, k2 ,,") == ("k1", "k2")
    assert configured_api_keys("") == (DEMO_API_KEY,)


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_each_key_gets_n_requests_per_clock_hour_then_429_with_retry_after(landing):
    clock = FakeClock(1_790_000_000.0)  # 1_789_999_200 is the start of that hour
    emulator = PlatformEmulator(landing, api_keys=["k1", "k2"], requests_per_hour=2, retry_after_seconds=1, clock=clock)
    with running_emulator(emulator) as url, requests.Session() as session:

        def get(key: str) -> requests.Response:
            return session.get(f"{url}/analytics/logs/", headers={"X-API-Key": key})

        first, second, third = get("k1"), get("k1"), get("k1")
        other_key = get("k2")
        clock.now += 3600
        next_hour = get("k1")

    assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in (first, second, third)] == ["1", "0", "0"]
    assert third.headers["Retry-After"] == "1"
    assert third.json() == {
        "status": 429,
        "detail": "Rate limit exceeded: 2 requests per hour",
        "traceback": None,
    }
    assert (other_key.status_code, other_key.headers["X-RateLimit-Remaining"]) == (200, "1")
    assert (next_hour.status_code, next_hour.headers["X-RateLimit-Remaining"]) == (200, "1")


def test_retry_after_defaults_to_the_rest_of_the_hour(landing):
    clock = FakeClock(1_789_999_200.0 + 600)
    with running_emulator(landing, requests_per_hour=1, clock=clock) as url:
        requests.get(f"{url}/analytics/logs/", headers=KEY)
        limited = requests.get(f"{url}/analytics/logs/", headers=KEY)

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3000")


def _statuses(landing: Path, **options) -> list[int]:
    with running_emulator(landing, **options) as url, requests.Session() as session:
        return [session.get(f"{url}/analytics/logs/", headers=KEY).status_code for _ in range(30)]


def test_injected_errors_use_the_error_schema_and_repeat_with_the_seed(landing):
    with running_emulator(landing, error_rate=1.0) as url:
        failures = [requests.get(f"{url}/analytics/logs/", headers=KEY) for _ in range(12)]
    mixed = _statuses(landing, error_rate=0.5, seed=3)

    assert {r.status_code for r in failures} == {500, 502, 503}
    for response in failures:
        body = response.json()
        assert set(body) == {"status", "detail", "traceback"} and body["status"] == response.status_code
        assert (body["traceback"] is not None) == (response.status_code == 500)
    assert 200 in mixed and set(mixed) - {200}
    assert _statuses(landing, error_rate=0.5, seed=3) == mixed
    assert _statuses(landing, error_rate=0.5, seed=4) != mixed
    assert set(_statuses(landing, error_rate=0.0)) == {200}


def test_an_injected_timeout_answers_only_after_the_client_gave_up(landing):
    with (
        running_emulator(landing, timeout_rate=1.0, timeout_seconds=30) as url,
        pytest.raises(requests.exceptions.ReadTimeout),
    ):
        requests.get(f"{url}/analytics/logs/", headers=KEY, timeout=0.3)
    # a patient client gets the page once the delay is over
    with running_emulator(landing, timeout_rate=1.0, timeout_seconds=0.2) as url:
        late = requests.get(f"{url}/analytics/logs/", params=WINDOW, headers=KEY, timeout=10)
    assert _markers(late.json()) == ["a", "b", "c", "e"]


def test_latency_delays_but_does_not_change_the_answer(landing):
    with running_emulator(landing, latency_ms=20) as url:
        body = requests.get(f"{url}/analytics/logs/", params=WINDOW, headers=KEY).json()

    assert _markers(body) == ["a", "b", "c", "e"]


def test_duplicate_pages_overlap_and_deliver_records_twice(landing):
    with running_emulator(landing, duplicate_page_rate=1.0) as url, requests.Session() as session:
        bodies, _ = _collect(session, f"{url}/analytics/logs/", {**WINDOW, "limit": 2})

    assert [_markers(b) for b in bodies] == [["a", "b"], ["b", "c"], ["c", "e"]]


def test_records_added_at_runtime_arrive_late_without_shifting_pages(landing):
    emulator = PlatformEmulator(landing)
    with running_emulator(emulator) as url, requests.Session() as session:
        first_page = session.get(f"{url}/analytics/logs/", params={**WINDOW, "limit": 2}, headers=KEY).json()
        emulator.add_records("logs", [_log("early", "2026-10-01T10:10:00Z"), _log("late", "2026-10-01T11:45:00Z")])
        rest, _ = _collect(session, first_page["next"])
        again = session.get(f"{url}/analytics/logs/", params=WINDOW, headers=KEY).json()

    assert _markers(first_page) == ["a", "b"]
    # the cursor is a position in event time: a record arriving behind it waits for the next window run
    assert [_markers(body) for body in rest] == [["c", "e"], ["late"]]
    assert [body["count"] for body in rest] == [6, 6]
    assert _markers(again) == ["a", "early", "b", "c", "e", "late"]


def test_options_are_checked():
    with pytest.raises(ValueError, match="error_rate"):
        PlatformEmulator(error_rate=1.5)
    with pytest.raises(ValueError, match="API key"):
        PlatformEmulator(api_keys=[])


def _event_time(endpoint: str, record: dict) -> datetime | None:
    value = record.get(ENDPOINTS[endpoint].event_time_field)
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # no offset: read as UTC, like the API


def test_a_generated_dataset_is_served_window_by_window(tmp_path):
    generate(tmp_path, days=2, spans_per_day=200, dirt_rate=0.05)
    start, middle, end = (datetime.fromisoformat(f"2026-10-0{d}T00:00:00Z") for d in (1, 2, 3))

    with running_emulator(tmp_path, requests_per_hour=1000) as url, requests.Session() as session:
        for endpoint in EVENT_ENDPOINTS:
            delivered = []  # every JSON record in delivery order, with its file's day
            for path in sorted((tmp_path / endpoint).iterdir()):
                file_day = datetime.fromisoformat(f"{path.name[:10]}T00:00:00Z")
                for line in path.read_text().splitlines():
                    try:
                        delivered.append((json.loads(line), file_day))
                    except ValueError:
                        continue
            for low, high in ((start, middle), (middle, end)):
                expected = [
                    record
                    for (record, file_day) in sorted(
                        delivered, key=lambda item: _event_time(endpoint, item[0]) or item[1]
                    )
                    if low <= (_event_time(endpoint, record) or file_day) < high
                ]
                params = {"start": low.isoformat(), "end": high.isoformat(), "limit": 97}
                bodies, _ = _collect(session, f"{url}{ENDPOINTS[endpoint].path}", params)
                served = [record for body in bodies for record in body["results"]]
                assert served == expected, endpoint
                assert {body["count"] for body in bodies} == {len(expected)}
        keys = _collect(session, f"{url}/analytics/keys/", {"limit": 5000})[0][0]
    assert keys["count"] == sum(1 for p in (tmp_path / "keys").iterdir() for _ in p.read_text().splitlines())
