"""The two baselines the pipeline is measured against, computing the same number: LLM cost per org per day.

* ``floor``: what the engine itself can do at best — DuckDB ``read_json`` of the LLM span files into a table,
  then one SQL statement pricing every call against the same seeds the pipeline uses (match rules, overrides,
  service tiers, long-context tiers, dated versions, time-of-day windows, fallback rates, the fee per request,
  provider-reported cost winning).
* ``pandas``: what a user would write instead — an idiomatic pandas script over the same files and seeds.

Both run on clean benchmark data (no deliberate dirt: no duplicates, corrections or invalid records), where
"deduplicate, validate, quarantine" is a no-op, so their numbers must equal the pipeline's to the micro-cent.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from warehouse import configure_duckdb

SPAN_COLUMNS = {
    "span_id": "VARCHAR",
    "organization_id": "VARCHAR",
    "kind": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "llm": "STRUCT(provider VARCHAR, model VARCHAR, service_tier VARCHAR, provider_reported_cost_usd DOUBLE, "
    "usage STRUCT(input_tokens BIGINT, output_tokens BIGINT, cache_read_input_tokens BIGINT, "
    "cache_creation_input_tokens BIGINT, cache_creation_1h_input_tokens BIGINT, reasoning_tokens BIGINT))",
}


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def floor(landing: Path, seeds: Path) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """DuckDB read_json of the span files + one SQL statement; returns costs and timings."""
    # the loader's settings (UTC, TOKENBOOKS_DUCKDB_MEMORY_LIMIT); spilling, if any, goes to a temp folder
    spill = tempfile.mkdtemp(prefix="tokenbooks-floor-")
    con = configure_duckdb(duckdb.connect(config={"temp_directory": spill}))
    columns = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in SPAN_COLUMNS.items()) + "}"
    started = time.perf_counter()
    con.execute(f"""
        create table llm_spans as
        select * from read_json({_sql_str(str(landing / "traces" / "*.jsonl"))}, format = 'newline_delimited',
                                columns = {columns})
        where kind = 'llm'
    """)
    loaded = time.perf_counter()
    for name in ("provider_prices", "price_overrides", "model_match_rules"):
        con.execute(
            f"create table {name} as select * from read_csv({_sql_str(str(seeds / (name + '.csv')))}, "
            "header = true, all_varchar = true)"
        )
    seeded = time.perf_counter()
    rows = con.execute(FLOOR_SQL).fetchall()
    done = time.perf_counter()
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    costs = {(org, str(day)): float(cost) for org, day, cost in rows}
    return costs, {
        "load_s": loaded - started,
        "query_s": done - seeded,
        "total_s": (loaded - started) + (done - seeded),
    }


# One statement: resolve each reported model (exact rule, else the longest prefix; overrides match exactly and
# win), take the service tier's rows (else default), the highest long-context tier strictly below the call's
# input tokens, the version valid at started_at (its day, and its time of day for time-of-day rows), fall back
# for empty rates, add the fee per request, and let reported cost win (also for calls no price matches).
FLOOR_SQL = """
with calls as (
    select span_id, organization_id, started_at at time zone 'UTC' as started_at,
           llm.provider as provider, lower(llm.model) as model, coalesce(llm.service_tier, 'default') as tier,
           llm.provider_reported_cost_usd as reported,
           coalesce(llm.usage.input_tokens, 0) as input_tokens,
           coalesce(llm.usage.output_tokens, 0) as output_tokens,
           coalesce(llm.usage.cache_read_input_tokens, 0) as cache_read,
           coalesce(llm.usage.cache_creation_input_tokens, 0) as cache_write,
           coalesce(llm.usage.cache_creation_1h_input_tokens, 0) as cache_write_1h,
           coalesce(llm.usage.reasoning_tokens, 0) as reasoning
    from llm_spans
),
prices as (
    select *, 1 as is_override from price_overrides
    union all by name
    select *, 0 as is_override from provider_prices
),
models as (
    select distinct provider, model from calls
),
resolved as (
    select m.provider, m.model as reported_model, r.model as priced_model
    from models m
    join model_match_rules r
      on r.provider = m.provider
     and ((r.match_type = 'exact' and r.pattern = m.model)
          or (r.match_type = 'prefix' and starts_with(m.model, r.pattern)))
    qualify row_number() over (
        partition by m.provider, m.model order by (r.match_type = 'exact') desc, length(r.pattern) desc) = 1
),
priced as (
    select c.*, p.*,
           row_number() over (
               partition by c.span_id
               order by p.is_override desc, (p.service_tier = c.tier) desc,
                        cast(p.input_tokens_above as bigint) desc) as pick
    from calls c
    left join resolved r on r.provider = c.provider and r.reported_model = c.model
    left join prices p
      on p.provider = c.provider
     and ((p.is_override = 1 and lower(p.model) = c.model) or (p.is_override = 0 and p.model = r.priced_model))
     and p.service_tier in (c.tier, 'default')
     and c.input_tokens > cast(p.input_tokens_above as bigint)
     and c.started_at >= cast(p.valid_from as timestamp)
     and (p.valid_to is null or c.started_at < cast(p.valid_to as timestamp))
     and (p.utc_time_from is null
          or (cast(c.started_at as time) >= cast(p.utc_time_from as time)
              and (p.utc_time_to is null or cast(c.started_at as time) < cast(p.utc_time_to as time))))
)
select organization_id, cast(started_at as date) as day,
       sum(coalesce(reported,
           ((input_tokens - cache_read - cache_write) * cast(input_usd_per_mtok as double)
            + cache_read * coalesce(cast(cache_read_usd_per_mtok as double), cast(input_usd_per_mtok as double))
            + (cache_write - cache_write_1h)
              * coalesce(cast(cache_write_5m_usd_per_mtok as double), cast(input_usd_per_mtok as double))
            + cache_write_1h * coalesce(cast(cache_write_1h_usd_per_mtok as double),
                                        cast(cache_write_5m_usd_per_mtok as double),
                                        cast(input_usd_per_mtok as double))
            + (output_tokens - reasoning) * cast(output_usd_per_mtok as double)
            + reasoning * coalesce(cast(reasoning_usd_per_mtok as double), cast(output_usd_per_mtok as double))
           ) / 1e6
           + coalesce(cast(request_usd_per_thousand as double), 0) / 1e3)) as cost_usd
from priced
-- a call without a price counts only with the provider's reported cost (else it is pending, as in the marts)
where pick = 1 and (reported is not null or input_usd_per_mtok is not null)
group by organization_id, day
order by organization_id, day
"""


def pandas_costs(landing: Path, seeds: Path) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """The idiomatic pandas version: json_normalize the spans, merge the seeds, compute, groupby."""
    started = time.perf_counter()
    frames = []
    for path in sorted((landing / "traces").glob("*.jsonl")):
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        frames.append(pd.json_normalize([r for r in records if r.get("kind") == "llm"]))
    spans = pd.concat(frames, ignore_index=True)
    loaded = time.perf_counter()
    calls = pd.DataFrame(
        {
            "organization_id": spans["organization_id"],
            "started_at": pd.to_datetime(spans["started_at"], utc=True, format="ISO8601").dt.tz_localize(None),
            "provider": spans["llm.provider"],
            "model": spans["llm.model"].str.lower(),
            "tier": spans.get("llm.service_tier", pd.Series(index=spans.index, dtype=object)).fillna("default"),
            "reported": spans.get("llm.provider_reported_cost_usd"),
        }
    )
    for column, source in (
        ("input_tokens", "llm.usage.input_tokens"),
        ("output_tokens", "llm.usage.output_tokens"),
        ("cache_read", "llm.usage.cache_read_input_tokens"),
        ("cache_write", "llm.usage.cache_creation_input_tokens"),
        ("cache_write_1h", "llm.usage.cache_creation_1h_input_tokens"),
        ("reasoning", "llm.usage.reasoning_tokens"),
    ):
        calls[column] = spans[source].fillna(0).astype("int64") if source in spans else 0
    calls["call"] = range(len(calls))

    rules = pd.read_csv(seeds / "model_match_rules.csv", dtype=str)
    text_columns = {"valid_to": str, "utc_time_from": str, "utc_time_to": str}
    prices = pd.read_csv(seeds / "provider_prices.csv", dtype=text_columns)
    overrides = pd.read_csv(seeds / "price_overrides.csv", dtype=text_columns)
    models = calls[["provider", "model"]].drop_duplicates()
    candidates = models.merge(rules, on="provider")
    candidates = candidates[
        ((candidates.match_type == "exact") & (candidates.pattern == candidates.model_x))
        | ((candidates.match_type == "prefix") & candidates.apply(lambda r: r.model_x.startswith(r.pattern), axis=1))
    ].assign(exact=lambda d: d.match_type == "exact", length=lambda d: d.pattern.str.len())
    resolved = (
        candidates.sort_values(["exact", "length"], ascending=False)
        .drop_duplicates(["provider", "model_x"])
        .rename(columns={"model_x": "model", "model_y": "priced_model"})[["provider", "model", "priced_model"]]
    )
    calls = calls.merge(resolved, on=["provider", "model"], how="left")
    overrides = overrides.assign(priced_model=overrides.model.str.lower(), is_override=1)
    prices = prices.assign(priced_model=prices.model, is_override=0)
    by_override = calls.assign(priced_model=calls.model).merge(overrides, on=["provider", "priced_model"])
    by_rule = calls.merge(prices, on=["provider", "priced_model"])
    joined = pd.concat([by_override, by_rule], ignore_index=True)
    valid_to = pd.to_datetime(joined.valid_to).fillna(pd.Timestamp.max)
    # time-of-day rows: "HH:MM:SS" strings compare in time order, like the call's own time of day
    time_of_day = joined.started_at.dt.strftime("%H:%M:%S.%f")
    in_time_window = joined.utc_time_from.isna() | (
        (time_of_day >= joined.utc_time_from) & (joined.utc_time_to.isna() | (time_of_day < joined.utc_time_to))
    )
    joined = joined[
        (joined.service_tier.isin(["default"]) | (joined.service_tier == joined.tier))
        & (joined.input_tokens > joined.input_tokens_above)
        & (joined.started_at >= pd.to_datetime(joined.valid_from))
        & (joined.started_at < valid_to)
        & in_time_window
    ]
    joined = joined.assign(tier_match=joined.service_tier == joined.tier)
    best = joined.sort_values(["is_override", "tier_match", "input_tokens_above"], ascending=False).drop_duplicates(
        "call"
    )
    # a call without a price counts only with the provider's reported cost (else it is pending, as in the marts)
    reported_only = calls[~calls.call.isin(best.call) & calls.reported.notna()]
    best = pd.concat([best, reported_only], ignore_index=True)
    rate_in = best.input_usd_per_mtok
    rate_5m = best.cache_write_5m_usd_per_mtok.fillna(rate_in)
    computed = (
        (best.input_tokens - best.cache_read - best.cache_write) * rate_in
        + best.cache_read * best.cache_read_usd_per_mtok.fillna(rate_in)
        + (best.cache_write - best.cache_write_1h) * rate_5m
        + best.cache_write_1h * best.cache_write_1h_usd_per_mtok.fillna(rate_5m)
        + (best.output_tokens - best.reasoning) * best.output_usd_per_mtok
        + best.reasoning * best.reasoning_usd_per_mtok.fillna(best.output_usd_per_mtok)
    ) / 1e6 + best.request_usd_per_thousand.fillna(0) / 1e3
    best = best.assign(cost=best.reported.fillna(computed), day=best.started_at.dt.date.astype(str))
    totals = best.groupby(["organization_id", "day"])["cost"].sum()
    done = time.perf_counter()
    costs = {(org, day): float(cost) for (org, day), cost in totals.items()}
    return costs, {"load_s": loaded - started, "query_s": done - loaded, "total_s": done - started}
