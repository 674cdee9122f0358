"""Where the three price maps disagree about a seeded model (price_map_disagreements.csv).

Each seeded (provider, model) is looked up in every map with that map's own matching rules (genai-prices
``match`` clauses, LiteLLM keys, Langfuse ``matchPattern`` regexes, case-insensitive) and the maps'
current rates (for genai-prices the latest dated version) are compared:

* ``missing_in_<map>``: the map has no entry for the model although it covers the provider (Langfuse only
  tracks OpenAI, Anthropic and Google models, and Claude on Bedrock/Vertex AI; a genai-prices entry whose
  prices vary by time of day cannot be compared and is not reported missing);
* ``tier_differs``: maps that price the service tier disagree on whether a long-context threshold
  exists (one row per usage type priced at that threshold; the maps lacking it show empty);
* ``price_differs``: maps with the same (service tier, threshold) bill a usage type differently, after the
  documented fallbacks (an unpriced cache read costs the input rate, ...), so "not priced separately"
  and "priced at the input rate" agree. The cells show what each map writes, empty = not priced; a
  usage type no map prices separately is not repeated (its difference shows on the rate it falls back to).

Service tiers are compared only between maps that price them (genai-prices has no batch/priority/flex). The fee
per request is compared like a usage type (``usage_type`` ``request``; its cells are USD per thousand requests).
A model with time-of-day prices is compared at its standard (longest) window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pricing.maps import GENAI_PRICES, LANGFUSE, LITELLM, PriceMaps
from pricing.rates import DEFAULT_TIER, PRICE_COMPONENTS, SERVICE_TIERS, Rates, TierKey, effective_rate
from pricing.seed import PRECEDENCE, PriceRow, Seed, SeededModel, current_rates

PRICE_DIFFERS = "price_differs"
TIER_DIFFERS = "tier_differs"
MISSING_IN = {LITELLM: "missing_in_litellm", GENAI_PRICES: "missing_in_genai_prices", LANGFUSE: "missing_in_langfuse"}


@dataclass(frozen=True)
class Disagreement:
    provider: str
    model: str
    usage_type: str
    service_tier: str
    input_tokens_above: int
    map_rates: Mapping[str, Decimal | None]
    seed_rate: Decimal | None
    seed_source: str
    disagreement: str

    @property
    def sort_key(self) -> tuple:
        usage_order = PRICE_COMPONENTS.index(self.usage_type) if self.usage_type else -1
        return (
            self.provider,
            self.model.lower(),
            self.model,
            SERVICE_TIERS.index(self.service_tier),
            self.input_tokens_above,
            usage_order,
            self.disagreement,
        )


def _covers(maps: PriceMaps, source: str, model: SeededModel) -> bool:
    if source == GENAI_PRICES:
        return model.provider in maps.genai.providers() and not model.lookup.genai_unpriced
    if source == LITELLM:
        return model.provider in maps.litellm.providers()
    return maps.langfuse.covers(model.provider, model.model)


def _tier_rates(current: Mapping[TierKey, Rates], service_tier: str) -> dict[int, Rates]:
    return {key.input_tokens_above: rates for key, rates in current.items() if key.service_tier == service_tier}


def _compare_tier(
    model: SeededModel, service_tier: str, by_map: Mapping[str, dict[int, Rates]], seed_rows: dict[TierKey, PriceRow]
) -> list[Disagreement]:
    found = []
    for threshold in sorted(set().union(*by_map.values())):
        seed_row = seed_rows.get(TierKey(service_tier, threshold))
        tier_missing_somewhere = any(threshold not in rows for rows in by_map.values())
        for usage_type in PRICE_COMPONENTS:
            written = {source: rows.get(threshold, {}).get(usage_type) for source, rows in by_map.items()}
            if all(rate is None for rate in written.values()):
                continue  # no map prices it separately: any difference shows on the rate it falls back to
            if tier_missing_somewhere:
                kind = TIER_DIFFERS
            else:
                billed = {effective_rate(rows[threshold], usage_type) for rows in by_map.values()}
                if len(billed) < 2:
                    continue
                kind = PRICE_DIFFERS
            found.append(
                Disagreement(
                    model.provider,
                    model.model,
                    usage_type,
                    service_tier,
                    threshold,
                    written,
                    seed_row.rates.get(usage_type) if seed_row else None,
                    seed_row.source if seed_row else "",
                    kind,
                )
            )
    return found


def model_disagreements(maps: PriceMaps, model: SeededModel) -> list[Disagreement]:
    found = model.lookup.found
    seed_rows = current_rates(model)
    default_row = seed_rows.get(TierKey(DEFAULT_TIER, 0))
    result = [
        Disagreement(
            model.provider,
            model.model,
            "",
            DEFAULT_TIER,
            0,
            {},
            None,
            default_row.source if default_row else "",
            MISSING_IN[source],
        )
        for source in PRECEDENCE
        if source not in found and _covers(maps, source, model)
    ]
    for service_tier in SERVICE_TIERS:
        by_map = {source: _tier_rates(found[source].current, service_tier) for source in PRECEDENCE if source in found}
        by_map = {source: rows for source, rows in by_map.items() if 0 in rows}
        if len(by_map) >= 2:
            result.extend(_compare_tier(model, service_tier, by_map, seed_rows))
    return result


def disagreements(maps: PriceMaps, seed: Seed) -> list[Disagreement]:
    found = [d for model in seed.models.values() for d in model_disagreements(maps, model)]
    return sorted(found, key=lambda d: d.sort_key)
