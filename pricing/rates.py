"""The shared vocabulary of the price seeds: usage types, tier keys, dated price versions, exact decimals.

Every price map is read into the same shape, ``MapPrice``: what one map says about one model, as a list
of non-overlapping ``PriceVersion``s (a range of UTC days, optionally a window of the UTC day for
time-of-day prices), each holding the rates of every (service tier, long-context threshold) the map
prices: USD per million tokens for each token bucket, USD per thousand requests for the request fee.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import ROUND_HALF_EVEN, Decimal

# Token usage types in seed column order; each has a `<usage>_usd_per_mtok` column in provider_prices.csv.
USAGE_TYPES = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")
# A fixed fee per request (genai-prices' requests_kcount, LiteLLM's input_cost_per_request), charged once per
# call; its column is `request_usd_per_thousand`.
REQUEST = "request"
PRICE_COMPONENTS = (*USAGE_TYPES, REQUEST)
RATE_COLUMNS = {
    **{usage_type: f"{usage_type}_usd_per_mtok" for usage_type in USAGE_TYPES},
    REQUEST: "request_usd_per_thousand",
}

# What an empty rate falls back to (the dbt side applies the same chain): a cache read or write without
# its own rate costs the input rate, a 1-hour write the 5-minute write rate, reasoning the output rate.
FALLBACK = {
    "cache_read": "input",
    "cache_write_5m": "input",
    "cache_write_1h": "cache_write_5m",
    "reasoning": "output",
}

DEFAULT_TIER = "default"
CHAT = "chat"
EMBEDDING = "embedding"
SERVICE_TIERS = (DEFAULT_TIER, "batch", "priority", "flex")

# Undated prices apply since the beginning of time; valid_to None means "still current".
EPOCH = date(1970, 1, 1)

# 1e-9 USD per million tokens (1e-15 per token) is far below any real price step and absorbs the
# binary-float noise some maps carry (2.9999900000000002e-06 per token is 2.99999 per million).
RATE_QUANTUM = Decimal("1e-9")

Rates = Mapping[str, Decimal]


@dataclass(frozen=True, order=True)
class TierKey:
    """Which rate row a request uses: its service tier and the long-context threshold it is above."""

    service_tier: str
    input_tokens_above: int


@dataclass(frozen=True)
class PriceVersion:
    """One version of a model's prices: UTC days [valid_from, valid_to), valid_to None = open-ended; with a
    time-of-day window, only the UTC times [utc_time_from, utc_time_to) of those days (utc_time_to None =
    until midnight); without one (both None), the whole day."""

    valid_from: date
    valid_to: date | None
    rates: Mapping[TierKey, Rates]
    utc_time_from: time | None = None
    utc_time_to: time | None = None

    @property
    def seconds_of_day(self) -> int:
        return window_seconds(self.utc_time_from, self.utc_time_to)


def window_seconds(utc_time_from: time | None, utc_time_to: time | None) -> int:
    """How much of a UTC day a time-of-day window covers (no window: all of it)."""

    def second_of_day(moment: time) -> int:
        return moment.hour * 3600 + moment.minute * 60 + moment.second

    if utc_time_from is None:
        return 86_400
    end = 86_400 if utc_time_to is None else second_of_day(utc_time_to)
    return end - second_of_day(utc_time_from)


@dataclass(frozen=True)
class MapPrice:
    """What one price map says about one model (``source_key`` names the entry in that map)."""

    source: str
    source_key: str
    versions: tuple[PriceVersion, ...]
    # what the map says the model is for (chat, embedding, ...), where it says so
    mode: str | None = None

    @property
    def current(self) -> Mapping[TierKey, Rates]:
        """The rates of the latest days; with time-of-day prices, those of the longest window (the standard
        rate, not the off-peak discount)."""
        latest = [v for v in self.versions if v.valid_from == self.versions[-1].valid_from]
        return max(latest, key=lambda v: v.seconds_of_day).rates

    def service_tiers(self) -> set[str]:
        return {key.service_tier for version in self.versions for key in version.rates}


def undated(source: str, source_key: str, rates: Mapping[TierKey, Rates]) -> MapPrice:
    """A map entry without dates: one version valid from the epoch, open-ended."""
    return MapPrice(source, source_key, (PriceVersion(EPOCH, None, rates),))


def to_rate(value: Decimal | int | float | str, per_units: int, seed_units: int = 1_000_000) -> Decimal:
    """A price for ``per_units`` units as an exact decimal price for ``seed_units`` units (the seed's unit: a
    million tokens, or a thousand requests for the request fee)."""
    per_seed_units = Decimal(str(value)) * seed_units / per_units
    quantized = per_seed_units.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
    # normalize() turns 10.000000000 into 1E+1; adding 0 brings it back to a plain exponent-free form
    return quantized.normalize() + 0 if quantized else Decimal(0)


def format_rate(value: Decimal | None) -> str:
    """A rate as a CSV cell: a plain decimal string (no exponent, no trailing zeros); empty when None."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def effective_rate(rates: Rates, usage_type: str) -> Decimal | None:
    """The rate a usage type is billed at once the documented fallbacks are applied."""
    while usage_type not in rates and usage_type in FALLBACK:
        usage_type = FALLBACK[usage_type]
    return rates.get(usage_type)


def is_complete(rates: Rates) -> bool:
    """A rate row is usable only when it prices both input and output."""
    return "input" in rates and "output" in rates


def expand_thresholds(service_tier: str, base: Rates, above: Mapping[int, Rates]) -> dict[TierKey, dict[str, Decimal]]:
    """Rate rows of one service tier from its base rates and the rates a map gives above thresholds.

    A long-context row replaces the base row for the whole request, so every usage type it does not
    re-price keeps the rate of the highest lower threshold (else the base rate).
    """
    rows = {TierKey(service_tier, 0): dict(base)}
    carried = dict(base)
    for threshold in sorted(above):
        carried = {**carried, **above[threshold]}
        rows[TierKey(service_tier, threshold)] = dict(carried)
    return rows


def complete_rows(rows: Mapping[TierKey, Rates]) -> dict[TierKey, Rates]:
    """Only the rate rows that price both input and output (others cannot bill a call)."""
    return {key: rates for key, rates in rows.items() if is_complete(rates)}
