"""API key snapshots, as the contract orders them: the latest last_used_at wins, a never-used snapshot
(last_used_at null or absent) is older than any use, and delivery order breaks ties. Real loader, real dbt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

KEY = {"organization_id": "org_a", "name": "backend", "prefix": "cmp_live_x", "created_at": "2026-01-01T00:00:00Z"}
# one file, delivered in this order
SNAPSHOTS = [
    # never used, then used: the used snapshot wins
    {"id": "k_used_later", **KEY, "last_used_at": None},
    {"id": "k_used_later", **KEY, "last_used_at": "2026-11-01T08:00:00Z"},
    # used, then a stale never-used snapshot delivered late: the use still wins
    {"id": "k_stale_null", **KEY, "last_used_at": "2026-11-02T08:00:00Z"},
    {"id": "k_stale_null", **KEY, "name": "renamed", "last_used_at": None},
    # never used at all, once with the field null and once without it: the later delivery wins the tie
    {"id": "k_never_used", **KEY, "last_used_at": None},
    {"id": "k_never_used", **{**KEY, "name": "never used, renamed"}},
]
# one request, so the mart has a reference date
REQUEST = {
    "id": "req_1", "organization_id": "org_a", "api_key_id": "k_used_later", "timestamp": "2026-11-01T08:00:00Z",
    "method": "POST", "endpoint": "/api/v1/conversations", "status_code": 200, "duration_ms": 100,
}  # fmt: skip


@pytest.fixture(scope="module")
def keys(new_workspace, tmp_path_factory) -> dict[str, dict]:
    workspace = new_workspace()
    landing = tmp_path_factory.mktemp("keys") / "landing"
    (landing / "keys").mkdir(parents=True)
    (landing / "keys" / "keys.jsonl").write_text("".join(json.dumps(k) + "\n" for k in SNAPSHOTS), encoding="utf-8")
    (landing / "logs").mkdir()
    (landing / "logs" / "logs.jsonl").write_text(json.dumps(REQUEST) + "\n", encoding="utf-8")
    (result,) = [r for r in workspace.load(Path(landing)) if r.endpoint == "keys"]
    assert (result.fetched, result.loaded, result.quarantined) == (6, 6, 0)
    workspace.dbt(
        "build", "--select", "+agg_api_key_usage", "--exclude", "resource_type:unit_test",
        "--indirect-selection", "cautious",
    )  # fmt: skip
    return {row["api_key_id"]: row for row in workspace.query("select * from marts.agg_api_key_usage")}


def test_a_never_used_snapshot_is_older_than_any_use(keys):
    assert {key: (row["api_key_name"], row["last_used_at"], row["is_never_used"]) for key, row in keys.items()} == {
        "k_used_later": ("backend", keys["k_used_later"]["last_used_at"], False),
        "k_stale_null": ("backend", keys["k_stale_null"]["last_used_at"], False),
        "k_never_used": ("never used, renamed", None, True),
    }
    assert str(keys["k_used_later"]["last_used_at"]) == "2026-11-01 08:00:00"
    assert str(keys["k_stale_null"]["last_used_at"]) == "2026-11-02 08:00:00"


def test_a_never_used_key_has_no_traffic_and_no_cost(keys):
    row = keys["k_never_used"]
    assert (row["is_in_key_snapshot"], row["requests"], row["blocked_events"], row["cost_usd"]) == (True, 0, 0, 0)
    assert keys["k_used_later"]["requests"] == 1
