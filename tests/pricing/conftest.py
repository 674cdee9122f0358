"""Fixtures for the price-seed builder: one real build of the reference maps, and tiny crafted maps."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO / "pricing_seeds" / "reference"

# The editable install maps only the packages pyproject lists; until it lists `pricing*`, the tests
# import the package from the checkout.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pricing.build import BuildSummary, build  # noqa: E402


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def real_build(tmp_path_factory) -> tuple[Path, BuildSummary]:
    out_dir = tmp_path_factory.mktemp("pricing_seeds")
    return out_dir, build(REFERENCE_DIR, out_dir)


@pytest.fixture(scope="session")
def price_rows(real_build) -> list[dict[str, str]]:
    return read_csv(real_build[0] / "provider_prices.csv")


@pytest.fixture(scope="session")
def rule_rows(real_build) -> list[dict[str, str]]:
    return read_csv(real_build[0] / "model_match_rules.csv")


@pytest.fixture(scope="session")
def disagreement_rows(real_build) -> list[dict[str, str]]:
    return read_csv(real_build[0] / "pricing_source_disagreements.csv")


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
