"""Readers for the three public price maps in ``pricing_seeds/reference/``, each answering the same question:
"what does this map say about <provider>'s model <id>?", using the map's own matching rules.

* genai-prices (USD per million tokens): providers -> models with ``match`` clauses, first match wins,
  prices optionally as dated versions (``constraint.start_date``) and long-context ``tiers``.
* LiteLLM (USD per token): one object per key (``[provider/]model``) with ``litellm_provider`` and ``mode``;
  service tiers and thresholds live in the field names (``*_above_200k_tokens``, ``*_batches``, ...).
* Langfuse (USD per token): a list of models with a ``matchPattern`` regex and pricing tiers whose
  conditions name a service tier or a usage threshold.

Every provider of genai-prices and LiteLLM is read, under the platform's id for it: the map's own provider id,
or the one ``provider_aliases.csv`` names where two maps name a provider differently (``aws`` and
``bedrock``). Langfuse has no provider names; its models are placed by family (``claude`` on Anthropic, ...).
An entry, or a price component of one, that the seed cannot take becomes a ``Gap`` with the reason.
Fine-tuned models (``ft:...`` ids, Azure's ``<base>.ft-<id>``) are never
read from any map: a fine-tune's price is the customer's own business and belongs in
``price_overrides.csv``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.coverage import COMPONENT_NOT_CHARGED, NOT_SEEDED, Gap
from pricing.providers import ProviderAliases
from pricing.rates import (
    DEFAULT_TIER,
    EMBEDDING,
    EPOCH,
    REQUEST,
    MapPrice,
    PriceVersion,
    Rates,
    TierKey,
    complete_rows,
    expand_thresholds,
    to_rate,
    undated,
)

GENAI_PRICES = "genai-prices"
LITELLM = "litellm"
LANGFUSE = "langfuse"

GENAI_PRICES_FILE = "genai_prices_v2.json"
LITELLM_FILE = "litellm_model_prices.json"
LANGFUSE_FILE = "langfuse_default_model_prices.json"

FINE_TUNE_PREFIX = "ft:"
AZURE_FINE_TUNE_MARKER = ".ft-"

# Bedrock cross-region inference profiles put a geography in front of the model id.
BEDROCK_REGION_PREFIXES = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca")


def read_json(path: Path) -> Any:
    # Decimals straight from the JSON text: no binary float ever touches a price.
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


FINE_TUNE_REASON = "a fine-tune: its price is the customer's own (price_overrides.csv)"


def is_fine_tune(model_id: str) -> bool:
    """OpenAI fine-tunes are ``ft:<base>:<org>:...``; Azure names them ``<base>.ft-<id>``."""
    model_id = model_id.lower()
    return model_id.startswith(FINE_TUNE_PREFIX) or AZURE_FINE_TUNE_MARKER in model_id


# --------------------------------------------------------------------------------------------------
# genai-prices
# --------------------------------------------------------------------------------------------------

GENAI_USAGE_FIELDS = {
    "input_mtok": "input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_mtok": "output",
    "output_reasoning_mtok": "reasoning",
}
GENAI_REQUEST_FIELD = "requests_kcount"  # USD per thousand requests
# Components the contract carries no quantity for. Optional ones (a tool a call may not use, input it may not
# send) are left uncharged: the model is seeded and such calls are exact. Ones every call of the model incurs
# (its output is audio or images) keep the model out, so its calls stay pending rather than under-priced.
GENAI_UNCHARGED_FIELDS = {
    "web_searches_kcount": "web-search tool fees: the contract carries no search count",
    "input_audio_mtok": "audio input tokens: the contract counts them in input_tokens, at the text rate",
    "cache_audio_read_mtok": "cached audio input tokens: the contract counts them as text cache reads",
    "input_image_mtok": "image input tokens: the contract counts them in input_tokens, at the text rate",
    "cache_image_read_mtok": "cached image input tokens: the contract counts them as text cache reads",
    "input_video_mtok": "video input tokens: the contract counts them in input_tokens, at the text rate",
}
GENAI_KEEP_OUT_FIELDS = {
    "output_audio_mtok": "prices audio output tokens, which the contract does not carry",
    "output_image_mtok": "prices image output tokens, which the contract does not carry",
    "output_video_mtok": "prices video output tokens, which the contract does not carry",
    "output_citation_mtok": "prices citation tokens, which the contract does not carry",
}


def clause_matches(clause: Mapping[str, Any], model_ref: str) -> bool:
    """genai-prices' match logic on an already lower-cased model reference; model ids compare
    case-insensitively, so the clause's text is lower-cased too (some providers' clauses keep the API's case)."""
    ((kind, value),) = clause.items()
    if isinstance(value, str) and kind != "regex":
        value = value.lower()
    if kind == "equals":
        return model_ref == value
    if kind == "starts_with":
        return model_ref.startswith(value)
    if kind == "ends_with":
        return model_ref.endswith(value)
    if kind == "contains":
        return value in model_ref
    if kind == "regex":
        return re.search(value, model_ref, re.IGNORECASE) is not None
    if kind == "or":
        return any(clause_matches(inner, model_ref) for inner in value)
    if kind == "and":
        return all(clause_matches(inner, model_ref) for inner in value)
    raise ValueError(f"unknown genai-prices match clause {kind!r}")


def clause_leaves(clause: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The (kind, value) leaves of a clause that is a plain ``or`` of simple tests; ``and`` is opaque."""
    ((kind, value),) = clause.items()
    if kind == "or":
        for inner in value:
            yield from clause_leaves(inner)
    else:
        yield kind, value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class GenaiModel:
    """One genai-prices model entry; ``price`` is None when it cannot become seed rows (``unpriced_reason``)."""

    provider_id: str
    model_id: str
    match: Mapping[str, Any]
    price: MapPrice | None
    unpriced_reason: str | None
    uncharged: tuple[str, ...] = ()

    @property
    def source_key(self) -> str:
        return f"{self.provider_id}/{self.model_id}"

    def matches(self, model_ref: str) -> bool:
        return clause_matches(self.match, model_ref.lower())

    def names(self, model_ref: str) -> bool:
        """Whether the entry names this id itself (its id or an ``equals`` clause), not just a pattern."""
        model_ref = model_ref.lower()
        equals = {value.lower() for kind, value in clause_leaves(self.match) if kind == "equals"}
        return model_ref == self.model_id.lower() or model_ref in equals


def _genai_rates(prices: Mapping[str, Any]) -> dict[TierKey, Rates]:
    """Rate rows of one genai-prices price set. genai-prices charges nothing for a bucket it gives no price:
    an embedding model's missing output price is 0, and a free model (``prices: {}``) costs 0 in and out."""
    base: dict[str, Decimal] = {"input": Decimal(0), "output": Decimal(0)}
    above: dict[int, dict[str, Decimal]] = {}
    for field_name, usage_type in [*GENAI_USAGE_FIELDS.items(), (GENAI_REQUEST_FIELD, REQUEST)]:
        value = prices.get(field_name)
        if value is None:
            continue
        units = 1000 if usage_type == REQUEST else 1_000_000  # the map's unit is the seed's
        if isinstance(value, Mapping):
            base[usage_type] = to_rate(value["base"], units, units)
            for tier in value["tiers"]:
                above.setdefault(int(tier["start"]), {})[usage_type] = to_rate(tier["price"], units, units)
        else:
            base[usage_type] = to_rate(value, units, units)
    return complete_rows(expand_thresholds(DEFAULT_TIER, base, above))


def _utc_time(text: str) -> time:
    moment = time.fromisoformat(text.replace("Z", "+00:00"))
    if moment.utcoffset() not in (None, timedelta(0)):
        raise ValueError(f"genai-prices time of day {text!r} is not in UTC")
    return moment.replace(tzinfo=None)


def _constraint_active(constraint: Mapping[str, Any], day: date, moment: time) -> bool:
    """genai-prices' rule: a start date is active from that day on; a time window over [start, end)."""
    if "start_date" in constraint and day < date.fromisoformat(constraint["start_date"]):
        return False
    if "start_time" in constraint:
        return _utc_time(constraint["start_time"]) <= moment < _utc_time(constraint["end_time"])
    return True


GenaiWindow = tuple[date, date | None, time | None, time | None, Mapping[str, Any]]


def _genai_versions(prices: Any) -> tuple[GenaiWindow, ...] | str:
    """(valid_from, valid_to, utc_time_from, utc_time_to, prices) windows of a model's prices, or the reason
    they cannot be cut into windows.

    genai-prices tries conditional prices last to first and uses the first active one (else the first entry).
    Days are cut at every start date and each day at every start and end time; each piece gets the entry
    active at its start, and neighbouring pieces with the same entry are joined.
    """
    if isinstance(prices, Mapping):
        return ((EPOCH, None, None, None, prices),)
    constraints = [entry.get("constraint") or {} for entry in prices]
    unknown = {key for constraint in constraints for key in constraint} - {"start_date", "start_time", "end_time"}
    if unknown:
        return f"price conditions other than a start date or a time of day ({', '.join(sorted(unknown))})"
    days = sorted({EPOCH} | {date.fromisoformat(c["start_date"]) for c in constraints if "start_date" in c})
    times = sorted(
        {time(0)} | {_utc_time(c[key]) for c in constraints for key in ("start_time", "end_time") if key in c}
    )

    def active(day: date, moment: time) -> int:
        for index in reversed(range(len(prices))):
            if _constraint_active(constraints[index], day, moment):
                return index
        return 0

    # per start day, the pieces of the day as (from, to, entry index), neighbours with one entry joined
    day_plans: list[tuple[date, tuple[tuple[time, time | None, int], ...]]] = []
    for day in days:
        pieces: list[tuple[time, time | None, int]] = []
        for start, end in zip(times, [*times[1:], None], strict=True):
            index = active(day, start)
            if pieces and pieces[-1][2] == index:
                pieces[-1] = (pieces[-1][0], end, index)
            else:
                pieces.append((start, end, index))
        plan = tuple(pieces)
        if not day_plans or day_plans[-1][1] != plan:
            day_plans.append((day, plan))
    windows: list[GenaiWindow] = []
    for (start_day, plan), next_start in zip(day_plans, [*(d for d, _ in day_plans[1:]), None], strict=True):
        for time_from, time_to, index in plan:
            all_day = len(plan) == 1
            windows.append(
                (
                    start_day,
                    next_start,
                    None if all_day else time_from,
                    None if all_day else time_to,
                    prices[index]["prices"],
                )
            )
    return tuple(windows)


def _genai_model(provider_id: str, entry: Mapping[str, Any]) -> GenaiModel:
    def unpriced(reason: str) -> GenaiModel:
        return GenaiModel(provider_id, entry["id"], entry["match"], None, reason)

    versions = _genai_versions(entry["prices"])
    if isinstance(versions, str):
        return unpriced(versions)
    fields = {name for *_, prices in versions for name in prices}
    keep_out = sorted(GENAI_KEEP_OUT_FIELDS[name] for name in fields & set(GENAI_KEEP_OUT_FIELDS))
    known = {*GENAI_USAGE_FIELDS, GENAI_REQUEST_FIELD, *GENAI_UNCHARGED_FIELDS, *GENAI_KEEP_OUT_FIELDS}
    keep_out += [f"price field {name!r} has no seed column" for name in sorted(fields - known)]
    if keep_out:
        return unpriced("; ".join(keep_out))
    dated = []
    for start, end, time_from, time_to, prices in versions:
        rates = _genai_rates(prices)
        if TierKey(DEFAULT_TIER, 0) not in rates:
            return unpriced("no input and output token price")
        dated.append(PriceVersion(start, end, rates, time_from, time_to))
    # a price set with no output price at all is an embedding model's (output free)
    mode = EMBEDDING if all("output_mtok" not in prices for *_, prices in versions) and fields else None
    price = MapPrice(GENAI_PRICES, f"{provider_id}/{entry['id']}", tuple(dated), mode)
    uncharged = tuple(sorted(GENAI_UNCHARGED_FIELDS[name] for name in fields & set(GENAI_UNCHARGED_FIELDS)))
    return GenaiModel(provider_id, entry["id"], entry["match"], price, None, uncharged)


class GenaiPrices:
    """genai-prices, searched per platform provider: its own models first, then its fallback providers."""

    def __init__(self, data: list[Mapping[str, Any]], aliases: ProviderAliases):
        self._models: dict[str, list[GenaiModel]] = {}
        self._platform_ids: dict[str, tuple[str, ...]] = {}
        fallbacks: dict[str, list[str]] = {}
        self.gaps: list[Gap] = []
        for provider in data:
            self._models[provider["id"]] = [_genai_model(provider["id"], m) for m in provider["models"]]
            self._platform_ids[provider["id"]] = aliases.platform_ids(GENAI_PRICES, provider["id"])
            fallbacks[provider["id"]] = list(provider.get("fallback_model_providers") or [])
            for model in self._models[provider["id"]]:
                if is_fine_tune(model.model_id):
                    self.gaps.append(Gap(GENAI_PRICES, provider["id"], model.model_id, NOT_SEEDED, FINE_TUNE_REASON))
                elif model.unpriced_reason:
                    self.gaps.append(
                        Gap(GENAI_PRICES, provider["id"], model.model_id, NOT_SEEDED, model.unpriced_reason)
                    )
                else:
                    self.gaps += [
                        Gap(GENAI_PRICES, provider["id"], model.model_id, COMPONENT_NOT_CHARGED, reason)
                        for reason in model.uncharged
                    ]
        self._search_order: dict[str, list[str]] = {}
        for genai_id in self._models:
            for platform_id in self._platform_ids[genai_id]:
                order = self._search_order.setdefault(platform_id, [])
                order.extend(p for p in [genai_id, *fallbacks.get(genai_id, [])] if p not in order)

    @classmethod
    def load(cls, path: Path, aliases: ProviderAliases) -> GenaiPrices:
        return cls(read_json(path), aliases)

    @staticmethod
    def serves(platform_provider: str, model: GenaiModel) -> bool:
        # genai-prices lists Vertex AI's Claude models under Google; the Gemini API does not serve them.
        return not (platform_provider == "google" and model.model_id.lower().startswith("claude"))

    def own_models(self, platform_provider: str) -> Iterator[GenaiModel]:
        """The models genai-prices lists for this provider itself (no fallbacks)."""
        for genai_id, platform_ids in self._platform_ids.items():
            if platform_provider in platform_ids:
                yield from (m for m in self._models[genai_id] if self.serves(platform_provider, m))

    def all_models(self) -> Iterator[tuple[str, tuple[str, ...], GenaiModel]]:
        """(genai-prices provider id, platform ids, model) for every model entry of the map."""
        for genai_id, models in self._models.items():
            for model in models:
                yield genai_id, self._platform_ids[genai_id], model

    def find(self, platform_provider: str, model_id: str) -> GenaiModel | None:
        """The model genai-prices would price this id with (first match wins), fine-tunes never."""
        if is_fine_tune(model_id):
            return None
        for genai_id in self._search_order.get(platform_provider, []):
            for model in self._models.get(genai_id, []):
                if self.serves(platform_provider, model) and model.matches(model_id):
                    return model
        return None

    def providers(self) -> set[str]:
        return set(self._search_order)


# --------------------------------------------------------------------------------------------------
# LiteLLM
# --------------------------------------------------------------------------------------------------

# Bedrock and Azure model ids never contain "/": a remaining path is a region, a commitment term or a
# route (``bedrock/us-east-1/...``, ``azure/eu/...``), priced for that deployment only.
LITELLM_FLAT_ID_PROVIDERS = frozenset({"bedrock", "azure"})
# Modes whose calls are priced per text token (an embedding's output is free).
TOKEN_MODES = frozenset({"chat", "completion", "responses", "embedding", "moderation"})

_LITELLM_FIELD = re.compile(
    r"^(?P<usage>input_cost_per_token|output_cost_per_token|output_cost_per_reasoning_token"
    r"|cache_read_input_token_cost|cache_creation_input_token_cost(?:_above_1hr)?)"
    r"(?:_above_(?P<thousands>\d+)k_tokens)?"
    r"(?:_(?P<tier>[a-z]+))?$"
)
LITELLM_USAGE_FIELDS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "reasoning",
}
LITELLM_SERVICE_TIERS = {None: DEFAULT_TIER, "batches": "batch", "priority": "priority", "flex": "flex"}
LITELLM_REQUEST_FIELD = "input_cost_per_request"  # USD per request
# Fields that say nothing the seed needs: synonyms of priced fields, and non-USD units.
LITELLM_IGNORED_FIELDS = frozenset(
    {"input_cost_per_token_cache_hit", "input_dbu_cost_per_token", "output_dbu_cost_per_token"}
)
# Perplexity's models search on every request, and LiteLLM prices that search by a context size the contract
# does not carry; elsewhere the same field prices an optional web-search tool.
PER_REQUEST_SEARCH_PROVIDERS = frozenset({"perplexity"})
SEARCH_CONTEXT_FIELD = "search_context_cost_per_query"


def litellm_rates(entry: Mapping[str, Any]) -> dict[TierKey, Rates]:
    """Every (service tier, threshold) rate row a LiteLLM entry prices completely; an embedding's missing
    output price is 0."""
    base: dict[str, dict[str, Decimal]] = {}
    above: dict[str, dict[int, dict[str, Decimal]]] = {}
    for name, value in entry.items():
        parsed = _LITELLM_FIELD.match(name)
        if parsed is None or not isinstance(value, Decimal | int) or isinstance(value, bool):
            continue
        if parsed["tier"] not in LITELLM_SERVICE_TIERS:
            continue  # a service tier the seed has no rows for (listed by _litellm_components)
        tier = LITELLM_SERVICE_TIERS[parsed["tier"]]
        usage_type = LITELLM_USAGE_FIELDS[parsed["usage"]]
        rate = to_rate(value, 1)
        if parsed["thousands"] is None:
            base.setdefault(tier, {})[usage_type] = rate
        else:
            threshold = int(parsed["thousands"]) * 1000
            above.setdefault(tier, {}).setdefault(threshold, {})[usage_type] = rate
    request = entry.get(LITELLM_REQUEST_FIELD)
    if isinstance(request, Decimal | int) and not isinstance(request, bool):
        base.setdefault(DEFAULT_TIER, {})[REQUEST] = to_rate(request, 1, 1000)
    if entry.get("mode") == EMBEDDING:
        for rates in base.values():
            if "input" in rates:
                rates.setdefault("output", Decimal(0))
    rows: dict[TierKey, Rates] = {}
    for tier in sorted(set(base) | set(above)):
        rows.update(expand_thresholds(tier, base.get(tier, {}), above.get(tier, {})))
    return complete_rows(rows)


def _litellm_price_fields(entry: Mapping[str, Any]) -> list[str]:
    return sorted(name for name, value in entry.items() if "cost" in name and value not in (None, 0, {}, []))


def _litellm_components(provider: str, entry: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(reasons to keep the entry out, components left uncharged) among the price fields the seed has no
    column for. As for genai-prices: an output priced apart (audio, images, citations) is charged on every
    call, so it keeps the model out; an input or tool priced apart (image inputs, per-second media, web
    search) is optional, so it is left uncharged."""
    keep_out: list[str] = []
    uncharged: list[str] = []
    for name in _litellm_price_fields(entry):
        parsed = _LITELLM_FIELD.match(name)
        if parsed and parsed["tier"] not in LITELLM_SERVICE_TIERS:
            uncharged.append(f"rates of service tier {parsed['tier']!r}: the seed has batch, priority and flex rows")
        elif parsed or name in LITELLM_IGNORED_FIELDS or name == LITELLM_REQUEST_FIELD:
            continue
        elif name == SEARCH_CONTEXT_FIELD and provider in PER_REQUEST_SEARCH_PROVIDERS:
            keep_out.append("a search fee on every request, by a search context size the contract does not carry")
        elif name == SEARCH_CONTEXT_FIELD:
            uncharged.append("web-search tool fees: the contract carries no search count")
        elif name.startswith(("output_", "citation_")):
            keep_out.append(f"prices {name}, which the contract does not carry")
        else:
            uncharged.append(f"{name}: the contract carries no quantity for it")
    return sorted(set(keep_out)), sorted(set(uncharged))


def _litellm_route_prefix(key: str, names: set[str]) -> str:
    """The model id of a key: LiteLLM routes by ``<provider>/<model id>``; the model id itself may contain
    "/" (``together_ai/meta-llama/Llama-3-70b``), so only a first segment that names the entry's own
    provider is a route."""
    route, _, rest = key.partition("/")
    return rest if rest and route.replace("-", "_") in names else key


@dataclass(frozen=True)
class LiteLLMEntry:
    provider: str
    model_id: str
    key: str
    price: MapPrice


class LiteLLMPrices:
    """LiteLLM's token-priced entries, by (platform provider, model id).

    When both ``provider/model`` and a bare ``model`` key name the same model, the prefixed key wins,
    as in LiteLLM's own cost lookup. Every entry it does not take is in ``gaps`` with the reason.
    """

    def __init__(self, data: Mapping[str, Any], aliases: ProviderAliases):
        self.gaps: list[Gap] = []
        self._entries: dict[tuple[str, str], LiteLLMEntry] = {}
        self._modes: dict[str, set[str]] = {}
        prefixed: set[tuple[str, str]] = set()
        for key, entry in data.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("litellm_provider"), str):
                continue  # the file's sample_spec, not a model
            litellm_provider = entry["litellm_provider"]

            def gap(reason: str, effect: str = NOT_SEEDED, litellm_provider=litellm_provider, key=key) -> None:
                self.gaps.append(Gap(LITELLM, litellm_provider, key, effect, reason))

            (provider, *others) = aliases.platform_ids(LITELLM, litellm_provider)
            names = {name.replace("-", "_") for name in (litellm_provider, provider, *others)}
            model_id = _litellm_route_prefix(key, names)
            mode = entry.get("mode")
            self._modes.setdefault(model_id.lower(), set()).add(str(mode))
            if mode not in TOKEN_MODES:
                fields = ", ".join(_litellm_price_fields(entry)) or "no price fields"
                gap(f"mode {mode}: not priced per text token ({fields})")
                continue
            if is_fine_tune(model_id):
                gap(FINE_TUNE_REASON)
                continue
            if provider in LITELLM_FLAT_ID_PROVIDERS and "/" in model_id:
                gap("priced for one deployment (a region, commitment term or route in the key)")
                continue
            keep_out, uncharged = _litellm_components(provider, entry)
            if keep_out:
                gap("; ".join(keep_out))
                continue
            rates = litellm_rates(entry)
            if TierKey(DEFAULT_TIER, 0) not in rates:
                gap("no input and output token prices")
                continue
            slot = (provider, model_id.lower())
            is_prefixed = model_id != key
            if slot in self._entries and (slot in prefixed or not is_prefixed):
                continue
            if is_prefixed:
                prefixed.add(slot)
            for reason in uncharged:
                gap(reason, COMPONENT_NOT_CHARGED)
            price = MapPrice(LITELLM, key, (PriceVersion(EPOCH, None, rates),), mode)
            self._entries[slot] = LiteLLMEntry(provider, model_id, key, price)

    @classmethod
    def load(cls, path: Path, aliases: ProviderAliases) -> LiteLLMPrices:
        return cls(read_json(path), aliases)

    def entries(self) -> list[LiteLLMEntry]:
        return [self._entries[slot] for slot in sorted(self._entries)]

    def find(self, provider: str, model_id: str) -> LiteLLMEntry | None:
        return self._entries.get((provider, model_id.lower()))

    def is_not_token_priced(self, model_id: str) -> bool:
        """True when LiteLLM knows this id only as an image, audio, rerank, ... model."""
        modes = self._modes.get(model_id.lower())
        return bool(modes) and not modes & TOKEN_MODES

    def token_mode(self, model_id: str) -> str | None:
        """The token-priced mode LiteLLM lists this id under (any provider), if exactly one."""
        modes = self._modes.get(model_id.lower(), set()) & TOKEN_MODES
        return next(iter(modes)) if len(modes) == 1 else None

    def providers(self) -> set[str]:
        return {provider for provider, _ in self._entries}


# --------------------------------------------------------------------------------------------------
# Langfuse
# --------------------------------------------------------------------------------------------------

# Langfuse names several usage keys for one usage type (per SDK); the first one present is used.
LANGFUSE_USAGE_KEYS = {
    "input": ("input", "input_tokens", "input_text", "prompt_token_count", "promptTokenCount"),
    "cache_read": (
        "input_cache_read",
        "input_cached_tokens",
        "cache_read_input_tokens",
        "input_cached_text_tokens",
        "cached_content_token_count",
    ),
    "cache_write_5m": (
        "input_cache_creation_5m",
        "input_cache_creation",
        "cache_creation_input_tokens",
        "cache_write_tokens",
    ),
    "cache_write_1h": ("input_cache_creation_1h",),
    "output": ("output", "output_tokens", "output_text", "candidates_token_count", "candidatesTokenCount"),
    "reasoning": (
        "output_reasoning_tokens",
        "output_reasoning",
        "reasoning_tokens",
        "thoughts_token_count",
        "thoughtsTokenCount",
    ),
}
LANGFUSE_SERVICE_TIERS = {"priority": "priority", "fast": "priority", "flex": "flex"}
PALM_MODEL_MARKERS = ("bison", "gecko", "unicorn")


def langfuse_providers(model_name: str) -> tuple[str, ...]:
    """Platform providers a Langfuse model entry prices (its patterns carry Bedrock/Vertex id forms)."""
    name = model_name.lower()
    if name.startswith("claude"):
        return ("anthropic", "bedrock", "vertex_ai")
    if name.startswith("gemini"):
        return ("google", "vertex_ai")
    if any(marker in name for marker in PALM_MODEL_MARKERS):
        return ("vertex_ai",)
    return ("openai",)


def _langfuse_tier_key(conditions: list[Mapping[str, Any]]) -> TierKey | None:
    service_tier, threshold = DEFAULT_TIER, 0
    for condition in conditions:
        if condition.get("key") == "service_tier" and condition.get("operator") == "in":
            tiers = {LANGFUSE_SERVICE_TIERS.get(value) for value in condition["values"]}
            if len(tiers) != 1 or None in tiers:
                return None
            (service_tier,) = tiers
        elif "usageDetailPattern" in condition and condition.get("operator") == "gt":
            threshold = int(condition["value"])
        else:
            return None  # a condition the seed has no column for (e.g. Anthropic's "speed: fast")
    return TierKey(service_tier, threshold)


def _langfuse_rates(prices: Mapping[str, Any]) -> dict[str, Decimal]:
    rates = {}
    for usage_type, keys in LANGFUSE_USAGE_KEYS.items():
        present = next((prices[key] for key in keys if key in prices), None)
        if present is not None:
            rates[usage_type] = to_rate(present, 1)
    return rates


@dataclass(frozen=True)
class LangfuseModel:
    model_name: str
    pattern: re.Pattern[str]
    providers: tuple[str, ...]
    price: MapPrice | None

    def matches(self, provider: str, model_id: str) -> bool:
        return provider in self.providers and self.pattern.search(model_id) is not None


def _langfuse_components(prices: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(reasons to keep the model out, components left uncharged) among usage keys with no seed column; the
    rule of the other maps: a separately priced output is on every call, an input or tool is optional."""
    known = {key for keys in LANGFUSE_USAGE_KEYS.values() for key in keys}
    keep_out, uncharged = [], []
    for key in sorted(set(prices) - known):
        if key.startswith("output"):
            keep_out.append(f"prices {key}, which the contract does not carry")
        else:
            uncharged.append(f"{key}: the contract carries no quantity for it")
    return keep_out, uncharged


class LangfusePrices:
    """Langfuse's default model prices; a model id matches the first entry whose regex matches it."""

    def __init__(self, data: list[Mapping[str, Any]]):
        self.gaps: list[Gap] = []
        self.models: list[LangfuseModel] = []
        for entry in data:
            name = entry["modelName"]
            rows: dict[TierKey, Rates] = {}
            keep_out: list[str] = []
            for tier in entry["pricingTiers"]:
                key = TierKey(DEFAULT_TIER, 0) if tier["isDefault"] else _langfuse_tier_key(tier["conditions"])
                if key is None:
                    reason = f"a pricing tier the seed cannot express: {json.dumps(tier['conditions'], sort_keys=True)}"
                    self.gaps.append(Gap(LANGFUSE, "", name, COMPONENT_NOT_CHARGED, reason))
                    continue
                out, uncharged = _langfuse_components(tier["prices"])
                keep_out += out
                self.gaps += [Gap(LANGFUSE, "", name, COMPONENT_NOT_CHARGED, reason) for reason in uncharged]
                rows[key] = _langfuse_rates(tier["prices"])
            rows = complete_rows(rows)
            price = None
            if keep_out:
                self.gaps.append(Gap(LANGFUSE, "", name, NOT_SEEDED, "; ".join(sorted(set(keep_out)))))
            elif TierKey(DEFAULT_TIER, 0) not in rows:
                self.gaps.append(Gap(LANGFUSE, "", name, NOT_SEEDED, "no input and output token prices"))
            else:
                price = undated(LANGFUSE, name, rows)
            pattern = re.compile(entry["matchPattern"], re.IGNORECASE)
            self.models.append(
                LangfuseModel(entry["modelName"], pattern, langfuse_providers(entry["modelName"]), price)
            )

    @classmethod
    def load(cls, path: Path) -> LangfusePrices:
        return cls(read_json(path))

    def find_by_name(self, model_name: str) -> LangfuseModel | None:
        return next((m for m in self.models if m.model_name == model_name), None)

    def find(self, provider: str, model_id: str) -> LangfuseModel | None:
        if is_fine_tune(model_id):
            return None
        return next((m for m in self.models if m.matches(provider, model_id)), None)

    @staticmethod
    def covers(provider: str, model_id: str) -> bool:
        """Whether Langfuse's list aims to price this model at all (it only tracks a few families)."""
        name = model_id.lower()
        if provider in ("openai", "anthropic", "google"):
            return True
        if provider == "vertex_ai":
            return name.startswith(("gemini", "claude")) or any(m in name for m in PALM_MODEL_MARKERS)
        if provider == "bedrock":
            return "claude" in name
        return False


@dataclass
class PriceMaps:
    genai: GenaiPrices
    litellm: LiteLLMPrices
    langfuse: LangfusePrices

    @classmethod
    def load(cls, reference_dir: Path, aliases: ProviderAliases) -> PriceMaps:
        return cls(
            GenaiPrices.load(reference_dir / GENAI_PRICES_FILE, aliases),
            LiteLLMPrices.load(reference_dir / LITELLM_FILE, aliases),
            LangfusePrices.load(reference_dir / LANGFUSE_FILE),
        )
