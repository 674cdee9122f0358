"""The shared vocabulary of the price seeds: usage types, tier keys, dated price versions, exact decimals.

Every price map is read into the same shape, ``MapPrice``: what one map says about one model, as a list
of non-overlapping dated ``PriceVersion``s, each holding the rates (USD per million tokens) of every
(service tier, long-context threshold) the map prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

# Usage types in seed column order; each has a `<usage>_usd_per_mtok` column in provider_prices.csv.
USAGE_TYPES = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")

# What an empty rate falls back to (the dbt side applies the same chain): a cache read or write without
# its own rate costs the input rate, a 1-hour write the 5-minute write rate, reasoning the output rate.
FALLBACK = {
    "cache_read": "input",
    "cache_write_5m": "input",
    "cache_write_1h": "cache_write_5m",
    "reasoning": "output",
}

DEFAULT_TIER = "default"
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
    """One dated version of a model's prices: [valid_from, valid_to), valid_to None = open-ended."""

    valid_from: date
    valid_to: date | None
    rates: Mapping[TierKey, Rates]


@dataclass(frozen=True)
class MapPrice:
    """What one price map says about one model (``source_key`` names the entry in that map)."""

    source: str
    source_key: str
    versions: tuple[PriceVersion, ...]

    @property
    def current(self) -> Mapping[TierKey, Rates]:
        """The rates of the latest version (the one left open-ended)."""
        return self.versions[-1].rates

    def service_tiers(self) -> set[str]:
        return {key.service_tier for version in self.versions for key in version.rates}


def undated(source: str, source_key: str, rates: Mapping[TierKey, Rates]) -> MapPrice:
    """A map entry without dates: one version valid from the epoch, open-ended."""
    return MapPrice(source, source_key, (PriceVersion(EPOCH, None, rates),))


def to_rate(value: Decimal | int | float | str, per_tokens: int) -> Decimal:
    """A price for ``per_tokens`` tokens as an exact USD-per-million-tokens decimal."""
    per_million = Decimal(str(value)) * 1_000_000 / per_tokens
    quantized = per_million.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
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
