"""Which models get a price, and from which map each of their rate rows follows.

Models seeded: every id a map names for any provider (genai-prices model ids and ``equals`` ids that resolve
in genai-prices, LiteLLM token-priced keys (chat, completion, responses, embedding, moderation) without their
``provider/`` prefix, Langfuse model names no other map already prices), plus the genai-prices models that a
``starts_with`` rule points at. Each seeded model carries a mode (chat, embedding, ...): LiteLLM's for the
id where it has one, else embedding for a genai-prices model without an output price, else chat.

Each id's prices come from looking the id up in every map with that map's own matching rules, then
choosing per service tier:

1. genai-prices, where it has the model: date-effective, per million tokens, with long-context tiers;
   except where it reaches the id only through a pattern (``starts_with``, ``contains``, ...) and LiteLLM
   lists the id itself with standard input/output rates that no genai-prices version has: the pattern
   then most likely caught a model genai-prices does not know yet (``starts_with: claude-opus-5``
   matching ``claude-opus-5-5``);
2. LiteLLM, for models, service tiers (batch/priority/flex) and long-context tiers only it has;
3. Langfuse last.

A service tier's rows all follow one map, except that an undated, untiered price takes the long-context
rows of the next map that has them (genai-prices has no tier for a model where LiteLLM does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time
from decimal import Decimal

from pricing.coverage import NOT_SEEDED, Gap
from pricing.maps import (
    BEDROCK_REGION_PREFIXES,
    FINE_TUNE_REASON,
    GENAI_PRICES,
    LANGFUSE,
    LITELLM,
    GenaiModel,
    LangfuseModel,
    PriceMaps,
    clause_leaves,
    is_fine_tune,
)
from pricing.rates import CHAT, DEFAULT_TIER, SERVICE_TIERS, MapPrice, Rates, TierKey, window_seconds

PRECEDENCE = (GENAI_PRICES, LITELLM, LANGFUSE)


@dataclass(frozen=True)
class PriceRow:
    """One row of provider_prices.csv."""

    provider: str
    model: str
    mode: str
    service_tier: str
    input_tokens_above: int
    valid_from: date
    valid_to: date | None
    utc_time_from: time | None
    utc_time_to: time | None
    rates: Rates
    source: str
    source_key: str

    @property
    def price_id(self) -> str:
        price_id = f"{self.provider}:{self.model}:{self.service_tier}:{self.input_tokens_above}:{self.valid_from}"
        # a time-of-day row names the start of its window (rows of whole days keep the plain id)
        return price_id if self.utc_time_from is None else f"{price_id}@{self.utc_time_from.isoformat()}"

    @property
    def seconds_of_day(self) -> int:
        return window_seconds(self.utc_time_from, self.utc_time_to)

    @property
    def sort_key(self) -> tuple:
        return (
            self.provider,
            self.model.lower(),
            self.model,
            self.service_tier,
            self.input_tokens_above,
            self.valid_from,
            self.utc_time_from or time(0),
        )


@dataclass(frozen=True)
class Lookup:
    """What each map says about one (provider, model): the entries found with each map's own rules."""

    found: Mapping[str, MapPrice]
    # genai-prices has the model but its prices cannot be dated (e.g. time-of-day rates): not comparable
    genai_unpriced: bool = False
    # genai-prices reaches the id only through a pattern and disagrees with LiteLLM's entry for the id
    genai_pattern_doubtful: bool = False

    @property
    def for_seed(self) -> Mapping[str, MapPrice]:
        """The entries the seed may follow."""
        if self.genai_pattern_doubtful:
            return {source: price for source, price in self.found.items() if source != GENAI_PRICES}
        return self.found


@dataclass(frozen=True)
class SeededModel:
    provider: str
    model: str
    lookup: Lookup
    rows: tuple[PriceRow, ...]
    mode: str
    # where the id itself was found ("litellm:gpt-4o-2024-08-06"); None = only a prefix rule leads here
    exact_rule_source: str | None


@dataclass(frozen=True)
class PrefixRule:
    provider: str
    prefix: str
    model: str
    rule_source: str


@dataclass
class Seed:
    models: dict[tuple[str, str], SeededModel] = field(default_factory=dict)
    prefix_rules: list[PrefixRule] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)
    gaps: list[Gap] = field(default_factory=list)

    def get(self, provider: str, model: str) -> SeededModel | None:
        return self.models.get((provider, model.lower()))

    def rows(self) -> list[PriceRow]:
        return sorted((row for m in self.models.values() for row in m.rows), key=lambda r: r.sort_key)


def lookup(maps: PriceMaps, provider: str, model: str, genai_model: GenaiModel | None = None) -> Lookup:
    """Each map's entry for the id; ``genai_model`` pins the genai-prices entry (for prefix targets).

    A genai-prices pattern can catch a newer model it does not know (``starts_with: claude-opus-5``
    matches ``claude-opus-5-5``): when genai-prices reaches an id only through a pattern and LiteLLM
    lists the id itself with standard input/output rates no genai-prices version has, the seed follows
    LiteLLM.
    """
    found: dict[str, MapPrice] = {}
    genai_model = genai_model or maps.genai.find(provider, model)
    if genai_model is not None and genai_model.price is not None:
        found[GENAI_PRICES] = genai_model.price
    litellm_entry = maps.litellm.find(provider, model)
    if litellm_entry is not None:
        found[LITELLM] = litellm_entry.price
    langfuse_model = maps.langfuse.find(provider, model)
    if langfuse_model is not None and langfuse_model.price is not None:
        found[LANGFUSE] = langfuse_model.price
    doubtful = (
        GENAI_PRICES in found
        and LITELLM in found
        and not genai_model.names(model)
        and not _standard_rates(found[LITELLM]) & _standard_rates(found[GENAI_PRICES])
    )
    return Lookup(found, genai_model is not None and genai_model.price is None, doubtful)


def _standard_rates(price: MapPrice) -> set[tuple[Decimal, Decimal]]:
    """The (input, output) standard rates of every version of an entry."""
    standard = TierKey(DEFAULT_TIER, 0)
    return {(v.rates[standard]["input"], v.rates[standard]["output"]) for v in price.versions}


def _has_rows(price: MapPrice, service_tier: str, thresholds: bool) -> bool:
    return any(
        key.service_tier == service_tier and (key.input_tokens_above > 0) == thresholds
        for version in price.versions
        for key in version.rates
    )


def _version_rows(provider: str, model: str, mode: str, price: MapPrice, service_tier: str, min_threshold: int):
    for version in price.versions:
        for key, rates in version.rates.items():
            if key.service_tier == service_tier and key.input_tokens_above >= min_threshold:
                yield PriceRow(
                    provider,
                    model,
                    mode,
                    service_tier,
                    key.input_tokens_above,
                    version.valid_from,
                    version.valid_to,
                    version.utc_time_from,
                    version.utc_time_to,
                    rates,
                    price.source,
                    price.source_key,
                )


def _merge_adjacent(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """Joins consecutive day windows of one rate row (and time of day) that carry identical rates from the
    same entry."""

    def slot(row: PriceRow) -> tuple:
        return row.service_tier, row.input_tokens_above, row.utc_time_from, row.utc_time_to

    merged: list[PriceRow] = []
    for row in sorted(rows, key=lambda r: (*slot(r)[:2], r.utc_time_from or time(0), r.valid_from)):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and slot(previous) == slot(row)
            and previous.valid_to == row.valid_from
            and (previous.source_key, dict(previous.rates)) == (row.source_key, dict(row.rates))
        ):
            merged[-1] = replace(previous, valid_to=row.valid_to)
        else:
            merged.append(row)
    return sorted(merged, key=lambda r: r.sort_key)


def model_mode(maps: PriceMaps, model: str, found: Mapping[str, MapPrice]) -> str:
    """What the model is for: LiteLLM's mode for it, else what the other maps' entries say, else chat."""
    modes = [found[source].mode for source in (LITELLM, *PRECEDENCE) if source in found]
    return next((mode for mode in [*modes, maps.litellm.token_mode(model)] if mode), CHAT)


def price_rows(provider: str, model: str, mode: str, found: Mapping[str, MapPrice]) -> tuple[PriceRow, ...]:
    """The seed's rows for one model, following the documented precedence per service tier."""
    rows: list[PriceRow] = []
    for service_tier in SERVICE_TIERS:
        sources = [found[s] for s in PRECEDENCE if s in found and _has_rows(found[s], service_tier, False)]
        if not sources:
            continue
        base = sources[0]
        rows.extend(_version_rows(provider, model, mode, base, service_tier, 0))
        if len(base.versions) == 1 and not _has_rows(base, service_tier, True):
            tiered = next((s for s in sources[1:] if _has_rows(s, service_tier, True)), None)
            if tiered is not None:
                rows.extend(_version_rows(provider, model, mode, tiered, service_tier, 1))
    return tuple(_merge_adjacent(rows))


def _langfuse_seed_providers(model: LangfuseModel) -> list[str]:
    """Langfuse names Claude models by their Anthropic API id; its Bedrock and Vertex AI id forms in the
    same pattern only serve the cross-checks."""
    return ["anthropic"] if model.model_name.lower().startswith("claude") else sorted(model.providers)


def _candidate_ids(maps: PriceMaps) -> Iterator[tuple[str, str, str]]:
    """(provider, id, where the id was found) in precedence order: genai-prices, then LiteLLM."""
    for provider in sorted(maps.genai.providers()):
        for genai_model in maps.genai.own_models(provider):
            ids = [genai_model.model_id] + [v for kind, v in clause_leaves(genai_model.match) if kind == "equals"]
            for model_id in ids:
                if maps.genai.find(provider, model_id) is not None and not maps.litellm.is_not_token_priced(model_id):
                    yield provider, model_id, f"{GENAI_PRICES}:{genai_model.source_key}"
    for entry in maps.litellm.entries():
        yield entry.provider, entry.model_id, f"{LITELLM}:{entry.key}"


def genai_prefixes(provider: str, genai_model: GenaiModel, notes: Counter[str]) -> list[str]:
    """The model's match clauses that can be written as prefix rules; the rest are counted in ``notes``.

    ``equals`` ids become exact rules elsewhere. On Bedrock a ``contains`` of a region-prefixed id
    (``us.anthropic.claude-...``) is a prefix, since a Bedrock id starts with its region.
    """
    region_ids = tuple(f"{region}." for region in BEDROCK_REGION_PREFIXES)
    prefixes = []
    for kind, value in clause_leaves(genai_model.match):
        value = value.lower()
        bedrock_region_id = kind == "contains" and provider == "bedrock" and value.startswith(region_ids)
        if is_fine_tune(value):
            notes["genai-prices fine-tune clauses"] += 1
        elif kind == "starts_with" or bedrock_region_id:
            prefixes.append(value)
        elif kind != "equals":
            notes[f"genai-prices {kind} clauses not expressible as exact/prefix rules"] += 1
    return prefixes


def build_seed(maps: PriceMaps) -> Seed:
    seed = Seed(gaps=[*maps.genai.gaps, *maps.litellm.gaps, *maps.langfuse.gaps])

    def add(provider: str, model: str, found: Lookup, exact_rule_source: str | None) -> None:
        mode = model_mode(maps, model, found.for_seed)
        rows = price_rows(provider, model, mode, found.for_seed)
        if rows:
            seed.models[(provider, model.lower())] = SeededModel(provider, model, found, rows, mode, exact_rule_source)
        else:
            seed.notes["ids without a usable token price in any map"] += 1

    # genai-prices entries LiteLLM knows only as image, audio, ... models (their text token prices mislead)
    for genai_id, _, genai_model in maps.genai.all_models():
        if genai_model.price is not None and maps.litellm.is_not_token_priced(genai_model.model_id):
            reason = "LiteLLM lists this id only in modes not priced per text token (audio, image, realtime, ...)"
            seed.gaps.append(Gap(GENAI_PRICES, genai_id, genai_model.model_id, NOT_SEEDED, reason))

    for provider, model, id_source in _candidate_ids(maps):
        if (provider, model.lower()) not in seed.models:
            add(provider, model, lookup(maps, provider, model), id_source)

    # Langfuse-only models: entries whose pattern matches no id seeded so far for the provider.
    for langfuse_model in maps.langfuse.models:
        name = langfuse_model.model_name

        def gap(reason: str, name=name) -> None:
            seed.gaps.append(Gap(LANGFUSE, "", name, NOT_SEEDED, reason))

        if is_fine_tune(name):
            gap(FINE_TUNE_REASON)
            continue
        if langfuse_model.price is None:
            continue  # its gap is already listed
        if maps.litellm.is_not_token_priced(name):
            gap("LiteLLM lists this id only in modes not priced per text token (audio, image, realtime, ...)")
            continue
        if not langfuse_model.pattern.search(name):
            # a display name its own pattern does not match ("claude-3.5-sonnet-20241022") is no API id
            gap("its name is not a model id (its own pattern does not match it); ids it matches are priced")
            continue
        for provider in _langfuse_seed_providers(langfuse_model):
            if not any(
                seeded.provider == provider and langfuse_model.pattern.search(seeded.model)
                for seeded in seed.models.values()
            ):
                add(provider, name, lookup(maps, provider, name), f"{LANGFUSE}:{name}")

    for provider in sorted(maps.genai.providers()):
        for genai_model in maps.genai.own_models(provider):
            if is_fine_tune(genai_model.model_id):
                continue
            prefixes = genai_prefixes(provider, genai_model, seed.notes)
            if not prefixes:
                continue
            if genai_model.price is None or maps.litellm.is_not_token_priced(genai_model.model_id):
                seed.notes["genai-prices prefix rules of models without datable token prices"] += len(prefixes)
                continue
            if seed.get(provider, genai_model.model_id) is None:
                found = lookup(maps, provider, genai_model.model_id, genai_model)
                add(provider, genai_model.model_id, found, None)
            target = seed.get(provider, genai_model.model_id)
            if target is None:
                continue
            if target.lookup.for_seed.get(GENAI_PRICES) is not genai_model.price:
                # the model's own id is priced by another entry, so a rule to it would change its price
                seed.notes["genai-prices prefix rules whose model id another entry prices"] += len(prefixes)
                continue
            source = f"{GENAI_PRICES}:{genai_model.source_key}"
            seed.prefix_rules.extend(PrefixRule(provider, p, target.model, source) for p in prefixes)
    return seed


def current_rates(model: SeededModel) -> dict[TierKey, PriceRow]:
    """The seed's open-ended rows of a model, by (service tier, threshold); of time-of-day rows, the one with
    the longest window (the standard rate)."""
    current: dict[TierKey, PriceRow] = {}
    for row in sorted(model.rows, key=lambda r: -r.seconds_of_day):
        if row.valid_to is None:
            current.setdefault(TierKey(row.service_tier, row.input_tokens_above), row)
    return current
