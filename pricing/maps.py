"""Readers for the three public price maps in ``pricing_seeds/reference/``, each answering the same question:
"what does this map say about <provider>'s model <id>?", using the map's own matching rules.

* genai-prices (USD per million tokens): providers -> models with ``match`` clauses, first match wins,
  prices optionally as dated versions (``constraint.start_date``) and long-context ``tiers``.
* LiteLLM (USD per token): one object per key (``[provider/]model``) with ``litellm_provider`` and ``mode``;
  service tiers and thresholds live in the field names (``*_above_200k_tokens``, ``*_batches``, ...).
* Langfuse (USD per token): a list of models with a ``matchPattern`` regex and pricing tiers whose
  conditions name a service tier or a usage threshold.

Provider names are mapped onto the platform's ids (``openai``, ``google`` for the Gemini API,
``vertex_ai``, ``bedrock``, ...). Fine-tuned models (``ft:...`` ids, Azure's ``<base>.ft-<id>``) are never
read from any map: a fine-tune's price is the customer's own business and belongs in
``price_overrides.csv``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.rates import (
    DEFAULT_TIER,
    EPOCH,
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


def is_fine_tune(model_id: str) -> bool:
    """OpenAI fine-tunes are ``ft:<base>:<org>:...``; Azure names them ``<base>.ft-<id>``."""
    model_id = model_id.lower()
    return model_id.startswith(FINE_TUNE_PREFIX) or AZURE_FINE_TUNE_MARKER in model_id


# --------------------------------------------------------------------------------------------------
# genai-prices
# --------------------------------------------------------------------------------------------------

# genai-prices provider id -> platform provider ids it prices (Google's entry covers both Google APIs).
GENAI_PLATFORM_PROVIDERS = {
    "anthropic": ("anthropic",),
    "aws": ("bedrock",),
    "azure": ("azure",),
    "cohere": ("cohere",),
    "deepseek": ("deepseek",),
    "google": ("google", "vertex_ai"),
    "groq": ("groq",),
    "mistral": ("mistral",),
    "openai": ("openai",),
    "x-ai": ("xai",),
}

GENAI_USAGE_FIELDS = {
    "input_mtok": "input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_mtok": "output",
    "output_reasoning_mtok": "reasoning",
}


def clause_matches(clause: Mapping[str, Any], model_ref: str) -> bool:
    """genai-prices' match logic on an already lower-cased model reference."""
    ((kind, value),) = clause.items()
    if kind == "equals":
        return model_ref == value
    if kind == "starts_with":
        return model_ref.startswith(value)
    if kind == "ends_with":
        return model_ref.endswith(value)
    if kind == "contains":
        return value in model_ref
    if kind == "regex":
        return re.search(value, model_ref) is not None
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
    """One genai-prices model entry; ``price`` is None when it cannot become date-effective rows."""

    provider_id: str
    model_id: str
    match: Mapping[str, Any]
    price: MapPrice | None
    unpriced_reason: str | None

    @property
    def source_key(self) -> str:
        return f"{self.provider_id}/{self.model_id}"

    def matches(self, model_ref: str) -> bool:
        return clause_matches(self.match, model_ref.lower())

    def names(self, model_ref: str) -> bool:
        """Whether the entry names this id itself (its id or an ``equals`` clause), not just a pattern."""
        model_ref = model_ref.lower()
        return model_ref == self.model_id.lower() or ("equals", model_ref) in clause_leaves(self.match)


def _genai_rates(prices: Mapping[str, Any]) -> dict[TierKey, Rates]:
    base: dict[str, Decimal] = {}
    above: dict[int, dict[str, Decimal]] = {}
    for field_name, usage_type in GENAI_USAGE_FIELDS.items():
        value = prices.get(field_name)
        if value is None:
            continue
        if isinstance(value, Mapping):
            base[usage_type] = to_rate(value["base"], 1_000_000)
            for tier in value["tiers"]:
                above.setdefault(int(tier["start"]), {})[usage_type] = to_rate(tier["price"], 1_000_000)
        else:
            base[usage_type] = to_rate(value, 1_000_000)
    return complete_rows(expand_thresholds(DEFAULT_TIER, base, above))


def _genai_versions(prices: Any) -> tuple[tuple[date, date | None, Mapping[str, Any]], ...] | str:
    """Dated windows of a model's prices, or the reason they cannot be dated.

    genai-prices tries conditional prices last to first and uses the first active one (else the first
    entry), so on any day the active entry is the last one whose start_date has passed.
    """
    if isinstance(prices, Mapping):
        return ((EPOCH, None, prices),)
    constraints = [entry.get("constraint") or {} for entry in prices]
    other_conditions = {key for constraint in constraints for key in constraint} - {"start_date"}
    if other_conditions & {"start_time", "end_time"}:
        return "time-of-day prices"
    if other_conditions:
        return "price conditions other than a start date"
    starts = sorted({date.fromisoformat(c["start_date"]) for c in constraints if c})

    def active_on(day: date) -> int:
        for index in reversed(range(len(prices))):
            start = constraints[index].get("start_date")
            if start is None or date.fromisoformat(start) <= day:
                return index
        return 0

    windows: list[tuple[date, date | None, int]] = []
    for day in [EPOCH, *starts]:
        index = active_on(day)
        if windows and windows[-1][2] == index:
            continue
        if windows:
            windows[-1] = (windows[-1][0], day, windows[-1][2])
        windows.append((day, None, index))
    return tuple((start, end, prices[index]["prices"]) for start, end, index in windows)


def _genai_model(provider_id: str, entry: Mapping[str, Any]) -> GenaiModel:
    versions = _genai_versions(entry["prices"])
    if isinstance(versions, str):
        return GenaiModel(provider_id, entry["id"], entry["match"], None, versions)
    dated = []
    for start, end, prices in versions:
        rates = _genai_rates(prices)
        if TierKey(DEFAULT_TIER, 0) not in rates:
            return GenaiModel(provider_id, entry["id"], entry["match"], None, "no input and output token price")
        dated.append(PriceVersion(start, end, rates))
    price = MapPrice(GENAI_PRICES, f"{provider_id}/{entry['id']}", tuple(dated))
    return GenaiModel(provider_id, entry["id"], entry["match"], price, None)


class GenaiPrices:
    """genai-prices, searched per platform provider: its own models first, then its fallback providers."""

    def __init__(self, data: list[Mapping[str, Any]]):
        self._models: dict[str, list[GenaiModel]] = {}
        fallbacks: dict[str, list[str]] = {}
        for provider in data:
            if provider["id"] not in GENAI_PLATFORM_PROVIDERS:
                continue
            self._models[provider["id"]] = [_genai_model(provider["id"], m) for m in provider["models"]]
            fallbacks[provider["id"]] = list(provider.get("fallback_model_providers") or [])
        self._search_order: dict[str, list[str]] = {}
        for genai_id in self._models:
            for platform_id in GENAI_PLATFORM_PROVIDERS[genai_id]:
                order = self._search_order.setdefault(platform_id, [])
                order.extend(p for p in [genai_id, *fallbacks.get(genai_id, [])] if p not in order)

    @classmethod
    def load(cls, path: Path) -> GenaiPrices:
        return cls(read_json(path))

    @staticmethod
    def serves(platform_provider: str, model: GenaiModel) -> bool:
        # genai-prices lists Vertex AI's Claude models under Google; the Gemini API does not serve them.
        return not (platform_provider == "google" and model.model_id.lower().startswith("claude"))

    def own_models(self, platform_provider: str) -> Iterator[GenaiModel]:
        """The models genai-prices lists for this provider itself (no fallbacks)."""
        for genai_id, platform_ids in GENAI_PLATFORM_PROVIDERS.items():
            if platform_provider in platform_ids:
                yield from (m for m in self._models.get(genai_id, []) if self.serves(platform_provider, m))

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

LITELLM_PLATFORM_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure": "azure",
    "azure_text": "azure",
    "mistral": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "xai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
}
# Key prefixes LiteLLM routes by (``gemini/gemini-2.5-pro``); the model id is what follows.
LITELLM_ROUTE_PREFIXES = frozenset(LITELLM_PLATFORM_PROVIDERS) | {"vertex_ai"}
# Bedrock and Azure model ids never contain "/": a remaining path is a region, a commitment term or a
# route (``bedrock/us-east-1/...``, ``azure/eu/...``), priced for that deployment only.
LITELLM_FLAT_ID_PROVIDERS = frozenset({"bedrock", "azure"})
CHAT_MODES = frozenset({"chat", "completion", "responses"})

_LITELLM_FIELD = re.compile(
    r"^(?P<usage>input_cost_per_token|output_cost_per_token|output_cost_per_reasoning_token"
    r"|cache_read_input_token_cost|cache_creation_input_token_cost(?:_above_1hr)?)"
    r"(?:_above_(?P<thousands>\d+)k_tokens)?"
    r"(?:_(?P<tier>batches|priority|flex))?$"
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


def litellm_platform_provider(litellm_provider: str) -> str | None:
    if litellm_provider.startswith("vertex_ai"):
        return "vertex_ai"
    return LITELLM_PLATFORM_PROVIDERS.get(litellm_provider)


def litellm_rates(entry: Mapping[str, Any]) -> dict[TierKey, Rates]:
    """Every (service tier, threshold) rate row a LiteLLM entry prices completely."""
    base: dict[str, dict[str, Decimal]] = {}
    above: dict[str, dict[int, dict[str, Decimal]]] = {}
    for name, value in entry.items():
        parsed = _LITELLM_FIELD.match(name)
        if parsed is None or not isinstance(value, Decimal | int) or isinstance(value, bool):
            continue
        tier = LITELLM_SERVICE_TIERS[parsed["tier"]]
        usage_type = LITELLM_USAGE_FIELDS[parsed["usage"]]
        rate = to_rate(value, 1)
        if parsed["thousands"] is None:
            base.setdefault(tier, {})[usage_type] = rate
        else:
            threshold = int(parsed["thousands"]) * 1000
            above.setdefault(tier, {}).setdefault(threshold, {})[usage_type] = rate
    rows: dict[TierKey, Rates] = {}
    for tier in sorted(set(base) | set(above)):
        rows.update(expand_thresholds(tier, base.get(tier, {}), above.get(tier, {})))
    return complete_rows(rows)


@dataclass(frozen=True)
class LiteLLMEntry:
    provider: str
    model_id: str
    key: str
    price: MapPrice


class LiteLLMPrices:
    """LiteLLM's chat/completion/responses entries of the platform's providers, by (provider, model id).

    When both ``provider/model`` and a bare ``model`` key name the same model, the prefixed key wins,
    as in LiteLLM's own cost lookup.
    """

    def __init__(self, data: Mapping[str, Any]):
        self.skipped: Counter[str] = Counter()
        self._entries: dict[tuple[str, str], LiteLLMEntry] = {}
        self._modes: dict[str, set[str]] = {}
        prefixed: set[tuple[str, str]] = set()
        for key, entry in data.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("litellm_provider"), str):
                continue
            route, _, rest = key.partition("/")
            model_id = rest if rest and route in LITELLM_ROUTE_PREFIXES else key
            self._modes.setdefault(model_id.lower(), set()).add(str(entry.get("mode")))
            provider = litellm_platform_provider(entry["litellm_provider"])
            if provider is None or entry.get("mode") not in CHAT_MODES:
                continue
            if is_fine_tune(model_id):
                self.skipped["litellm fine-tune keys"] += 1
                continue
            if provider in LITELLM_FLAT_ID_PROVIDERS and "/" in model_id:
                self.skipped["litellm deployment-specific keys"] += 1
                continue
            rates = litellm_rates(entry)
            if TierKey(DEFAULT_TIER, 0) not in rates:
                self.skipped["litellm keys without input and output token prices"] += 1
                continue
            slot = (provider, model_id.lower())
            is_prefixed = model_id != key
            if slot in self._entries and (slot in prefixed or not is_prefixed):
                continue
            if is_prefixed:
                prefixed.add(slot)
            self._entries[slot] = LiteLLMEntry(provider, model_id, key, undated(LITELLM, key, rates))

    @classmethod
    def load(cls, path: Path) -> LiteLLMPrices:
        return cls(read_json(path))

    def entries(self) -> list[LiteLLMEntry]:
        return [self._entries[slot] for slot in sorted(self._entries)]

    def find(self, provider: str, model_id: str) -> LiteLLMEntry | None:
        return self._entries.get((provider, model_id.lower()))

    def is_not_chat(self, model_id: str) -> bool:
        """True when LiteLLM knows this id only as an embedding, image, audio, ... model."""
        modes = self._modes.get(model_id.lower())
        return bool(modes) and not modes & CHAT_MODES

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


class LangfusePrices:
    """Langfuse's default model prices; a model id matches the first entry whose regex matches it."""

    def __init__(self, data: list[Mapping[str, Any]]):
        self.skipped: Counter[str] = Counter()
        self.models: list[LangfuseModel] = []
        for entry in data:
            rows: dict[TierKey, Rates] = {}
            for tier in entry["pricingTiers"]:
                key = TierKey(DEFAULT_TIER, 0) if tier["isDefault"] else _langfuse_tier_key(tier["conditions"])
                if key is None:
                    self.skipped["langfuse pricing tiers with conditions the seed cannot express"] += 1
                    continue
                rows[key] = _langfuse_rates(tier["prices"])
            rows = complete_rows(rows)
            price = undated(LANGFUSE, entry["modelName"], rows) if TierKey(DEFAULT_TIER, 0) in rows else None
            pattern = re.compile(entry["matchPattern"], re.IGNORECASE)
            self.models.append(
                LangfuseModel(entry["modelName"], pattern, langfuse_providers(entry["modelName"]), price)
            )

    @classmethod
    def load(cls, path: Path) -> LangfusePrices:
        return cls(read_json(path))

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
    def load(cls, reference_dir: Path) -> PriceMaps:
        return cls(
            GenaiPrices.load(reference_dir / GENAI_PRICES_FILE),
            LiteLLMPrices.load(reference_dir / LITELLM_FILE),
            LangfusePrices.load(reference_dir / LANGFUSE_FILE),
        )
