"""Provider ids: the platform names a provider by the id a price map uses for it (``perplexity``,
``together_ai``, ...). Where two maps name one provider differently, ``provider_aliases.csv`` (maintained by
hand, read by this build and by the dbt price lookup) says which id is the platform's:

* the build seeds a map provider's models under the platform ids its alias rows name, else under its own id;
* the ledger prices a call reported under an alias (``aws``, ``together``) as the platform id (``bedrock``,
  ``together_ai``). A map provider with several platform ids (genai-prices' ``google``: the Gemini API and
  Vertex AI) must list itself among them, so a call reported under it stays as reported.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ALIASES_FILE = "provider_aliases.csv"
ALIASES_COLUMNS = ("price_map", "map_provider", "provider", "note")


class AliasError(ValueError):
    """provider_aliases.csv contradicts itself."""


@dataclass(frozen=True)
class ProviderAliases:
    """(price map, the map's provider id) -> the platform provider ids it prices."""

    platform_ids_by_map: Mapping[tuple[str, str], tuple[str, ...]]

    @classmethod
    def load(cls, path: Path) -> ProviderAliases:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if rows and tuple(rows[0]) != ALIASES_COLUMNS:
            raise AliasError(f"{path}: expected the columns {', '.join(ALIASES_COLUMNS)}")
        return cls.from_rows((row["price_map"], row["map_provider"], row["provider"]) for row in rows)

    @classmethod
    def from_rows(cls, rows) -> ProviderAliases:
        targets: dict[tuple[str, str], list[str]] = {}
        for price_map, map_provider, provider in rows:
            targets.setdefault((price_map, map_provider), []).append(provider)
        for (price_map, map_provider), providers in targets.items():
            if len(providers) > 1 and map_provider not in providers:
                raise AliasError(
                    f"{price_map} provider {map_provider!r} prices several platform providers "
                    f"({', '.join(providers)}): list {map_provider!r} itself among them"
                )
        by_alias: dict[str, set[str]] = {}
        for (_, map_provider), providers in targets.items():
            by_alias.setdefault(map_provider, set()).update(providers)
        for map_provider, providers in by_alias.items():
            if len(providers) > 1 and map_provider not in providers:
                raise AliasError(f"{map_provider!r} means different providers in different maps: {sorted(providers)}")
        return cls({key: tuple(sorted(providers)) for key, providers in targets.items()})

    def platform_ids(self, price_map: str, map_provider: str) -> tuple[str, ...]:
        return self.platform_ids_by_map.get((price_map, map_provider), (map_provider,))
