"""The base models are incremental tables: a build ranks again only the ids delivered since the previous one
(macro latest_version). Whatever the deliveries in between, each must hold what one ranking of the whole raw
table gives: the contract's dedup rules, the latest delivery for events and the latest state for snapshots."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

BASE_MODELS = "path:models/staging/platform/base"
# raw table -> (id column, the order putting the winning version first), as the base models state them
DEDUP_RULES = {
    "traces": ("span_id", "_delivery_seq desc"),
    "logs": ("id", "_delivery_seq desc"),
    "feedback": ("id", "_delivery_seq desc"),
    "rate_limits": ("id", "_delivery_seq desc"),
    "keys": ("id", "last_used_at desc nulls last, _delivery_seq desc"),
    "organizations": ("id", "updated_at desc, _delivery_seq desc"),
}


def organization(org_id: str, plan: str, updated_at: str) -> str:
    return json.dumps(
        {
            "id": org_id,
            "name": org_id,
            "plan": plan,
            "segment": "enterprise",
            "monthly_budget_usd": 1000.0,
            "created_at": "2025-06-01T00:00:00Z",
            "updated_at": updated_at,
        }
    )


def test_incremental_builds_keep_what_a_ranking_of_the_whole_history_gives(new_workspace, tiny_landing, tmp_path):
    workspace = new_workspace()
    workspace.load(tiny_landing)
    workspace.dbt("run", "--select", BASE_MODELS)
    # delivered after the first build: span and request corrections, a newer state of one organization and a
    # stale state of the other (which must not win), then a build that ranks only these ids again
    late = tmp_path / "late" / "organizations"
    late.mkdir(parents=True)
    (late / "late.jsonl").write_text(
        organization("org_acme", "scale", "2026-11-30T00:00:00Z")
        + "\n"
        + organization("org_globex", "starter", "2026-11-05T00:00:00Z")
        + "\n"
    )
    workspace.load(tmp_path / "late")
    workspace.load(tiny_landing / "late_corrections")
    workspace.dbt("run", "--select", BASE_MODELS)

    for table, (id_column, order_by) in DEDUP_RULES.items():
        base = workspace.query(f"select * from staging.base_platform__{table} order by {id_column}")
        whole_history = workspace.query(
            f"select * from raw.{table} "
            f"qualify row_number() over (partition by {id_column} order by {order_by}) = 1 order by {id_column}"
        )
        assert base == whole_history, table
    plans = workspace.query("select id, plan from staging.base_platform__organizations order by id")
    assert plans == [{"id": "org_acme", "plan": "scale"}, {"id": "org_globex", "plan": "enterprise"}]
    (span,) = workspace.query(
        "select llm__usage__output_tokens from staging.base_platform__traces where span_id = 'spn_a1_llm'"
    )
    assert span == {"llm__usage__output_tokens": 500}  # the late correction (400 before)
