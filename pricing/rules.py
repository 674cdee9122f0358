"""Model match rules: how a model id a provider reports finds its price (data for the dbt lookup).

Rules compare lower-cased ids; the lookup takes an exact rule first, else the longest matching prefix.

* exact: every seeded id maps to itself;
* prefix: genai-prices ``starts_with`` clauses (and Bedrock region ``contains`` clauses) map to the
  genai-prices model they belong to;
* derived, only where no rule above has the same (provider, match type, pattern): Bedrock cross-region
  inference profiles (``us.``/``eu.``/``apac.``/``global.``/... + a Bedrock id) map to the id without the
  region, for the regions the maps show for that model publisher (``anthropic.``, ``meta.``, ...); and
  Gemini ids also match in their resource-name form ``models/gemini-...``.

The same (provider, match type, pattern) pointing at two different models is a build error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pricing.maps import BEDROCK_REGION_PREFIXES
from pricing.seed import Seed

EXACT = "exact"
PREFIX = "prefix"
GEMINI_RESOURCE_PREFIX = "models/"
GEMINI_PROVIDERS = ("google", "vertex_ai")
GEMINI_FAMILIES = ("gemini", "gemma")


@dataclass(frozen=True, order=True)
class MatchRule:
    provider: str
    match_type: str
    pattern: str
    model: str
    rule_source: str

    @property
    def slot(self) -> tuple[str, str, str]:
        return self.provider, self.match_type, self.pattern


class AmbiguousRuleError(ValueError):
    """Two different models claim the same (provider, match type, pattern)."""


def unambiguous(rules: Iterable[MatchRule]) -> dict[tuple[str, str, str], MatchRule]:
    """Rules by slot; a repeated slot is kept once when it names the same model, else an error."""
    by_slot: dict[tuple[str, str, str], MatchRule] = {}
    conflicts: dict[tuple[str, str, str], set[MatchRule]] = {}
    for rule in rules:
        kept = by_slot.setdefault(rule.slot, rule)
        if kept.model.lower() != rule.model.lower():
            conflicts.setdefault(rule.slot, {kept}).add(rule)
    if conflicts:
        lines = [
            f"  {provider} {match_type} {pattern!r} -> "
            + ", ".join(f"{rule.model!r} ({rule.rule_source})" for rule in sorted(claims))
            for (provider, match_type, pattern), claims in sorted(conflicts.items())
        ]
        raise AmbiguousRuleError("model match rules map one pattern to several models:\n" + "\n".join(lines))
    return by_slot


def _bedrock_region(pattern: str) -> tuple[str | None, str]:
    """Splits ``us.anthropic.claude-...`` into (``us``, ``anthropic.claude-...``); no region -> None."""
    region, _, rest = pattern.partition(".")
    return (region, rest) if region in BEDROCK_REGION_PREFIXES and rest else (None, pattern)


def _publisher(bedrock_id: str) -> str:
    return bedrock_id.partition(".")[0]


def _derived(rule: MatchRule, regions_by_publisher: dict[str, set[str]]) -> Iterable[MatchRule]:
    if rule.provider == "bedrock" and _bedrock_region(rule.pattern)[0] is None:
        for region in sorted(regions_by_publisher.get(_publisher(rule.pattern), ())):
            yield MatchRule(
                rule.provider, rule.match_type, f"{region}.{rule.pattern}", rule.model, "derived:bedrock-region"
            )
    if rule.provider in GEMINI_PROVIDERS and rule.pattern.startswith(GEMINI_FAMILIES):
        yield MatchRule(
            rule.provider,
            rule.match_type,
            GEMINI_RESOURCE_PREFIX + rule.pattern,
            rule.model,
            "derived:gemini-resource-name",
        )


def _bedrock_regions_by_publisher(rules: Iterable[MatchRule]) -> dict[str, set[str]]:
    """Which cross-region prefixes the maps show for each Bedrock model publisher (anthropic, meta, ...)."""
    regions: dict[str, set[str]] = {}
    for rule in rules:
        region, rest = _bedrock_region(rule.pattern)
        if rule.provider == "bedrock" and region is not None:
            regions.setdefault(_publisher(rest), set()).add(region)
    return regions


def match_rules(seed: Seed) -> list[MatchRule]:
    primary = [
        MatchRule(model.provider, EXACT, model.model.lower(), model.model, model.exact_rule_source)
        for model in seed.models.values()
        if model.exact_rule_source is not None
    ]
    primary += [MatchRule(r.provider, PREFIX, r.prefix, r.model, r.rule_source) for r in seed.prefix_rules]
    rules = unambiguous(sorted(primary))
    regions = _bedrock_regions_by_publisher(rules.values())
    derived = unambiguous(
        candidate for rule in sorted(primary) for candidate in _derived(rule, regions) if candidate.slot not in rules
    )
    return sorted([*rules.values(), *derived.values()])


def resolve(rules: Iterable[MatchRule], provider: str, model_id: str) -> str | None:
    """The priced model a reported id resolves to, as the dbt lookup does it: exact, else longest prefix."""
    reported = model_id.lower()
    candidates = [rule for rule in rules if rule.provider == provider]
    exact = [rule.model for rule in candidates if rule.match_type == EXACT and rule.pattern == reported]
    if exact:
        return exact[0]
    prefixes = [rule for rule in candidates if rule.match_type == PREFIX and reported.startswith(rule.pattern)]
    return max(prefixes, key=lambda rule: len(rule.pattern)).model if prefixes else None
