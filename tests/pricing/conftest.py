"""Fixtures for the price-seed builder: one real build of the reference maps, and builds of tiny crafted maps."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# The editable install maps only the packages pyproject lists; until it lists `pricing*`, the tests
# import the package from the checkout.
REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pricing.build import (  # noqa: E402
    DEFAULT_REFERENCE_DIR,
    DISAGREEMENTS_FILE,
    MATCH_RULES_FILE,
    PROVIDER_PRICES_FILE,
    UNPRICED_FILE,
    BuildSummary,
    build,
)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def read_csv() -> Callable[[Path], list[dict[str, str]]]:
    return _read_csv


@dataclass(frozen=True)
class BuiltSeeds:
    out_dir: Path
    summary: BuildSummary

    @property
    def prices(self) -> dict[str, dict[str, str]]:
        """provider_prices.csv rows by price_id."""
        return {row["price_id"]: row for row in _read_csv(self.out_dir / PROVIDER_PRICES_FILE)}

    @property
    def rules(self) -> list[dict[str, str]]:
        return _read_csv(self.out_dir / MATCH_RULES_FILE)

    @property
    def disagreements(self) -> list[dict[str, str]]:
        return _read_csv(self.out_dir / DISAGREEMENTS_FILE)

    @property
    def gap_rows(self) -> list[dict[str, str]]:
        return _read_csv(self.out_dir / UNPRICED_FILE)

    @property
    def gaps(self) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """unpriced_map_entries.csv: (price map, entry) -> [(effect, reason), ...]."""
        gaps: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for row in _read_csv(self.out_dir / UNPRICED_FILE):
            gaps.setdefault((row["price_map"], row["map_entry"]), []).append((row["effect"], row["reason"]))
        return gaps


@pytest.fixture(scope="session")
def real_build(tmp_path_factory) -> BuiltSeeds:
    out_dir = tmp_path_factory.mktemp("pricing_seeds")
    return BuiltSeeds(out_dir, build(DEFAULT_REFERENCE_DIR, out_dir))


@pytest.fixture(scope="session")
def price_rows(real_build) -> list[dict[str, str]]:
    return list(real_build.prices.values())


@pytest.fixture(scope="session")
def rule_rows(real_build) -> list[dict[str, str]]:
    return real_build.rules


@pytest.fixture(scope="session")
def disagreement_rows(real_build) -> list[dict[str, str]]:
    return real_build.disagreements


@pytest.fixture
def write_reference(tmp_path) -> Callable[..., Path]:
    """Writes a crafted set of the three maps (empty unless given) and returns their folder."""

    def write(genai: list | None = None, litellm: dict | None = None, langfuse: list | None = None) -> Path:
        reference = tmp_path / "reference"
        reference.mkdir(exist_ok=True)
        (reference / "genai_prices_v2.json").write_text(json.dumps(genai or []))
        (reference / "litellm_model_prices.json").write_text(json.dumps(litellm or {}))
        (reference / "langfuse_default_model_prices.json").write_text(json.dumps(langfuse or []))
        return reference

    return write


@pytest.fixture
def build_crafted(write_reference, tmp_path) -> Callable[..., BuiltSeeds]:
    """Builds the seeds from crafted maps (keyword arguments as for ``write_reference``)."""

    def run(**maps) -> BuiltSeeds:
        out_dir = tmp_path / "out"
        return BuiltSeeds(out_dir, build(write_reference(**maps), out_dir))

    return run
