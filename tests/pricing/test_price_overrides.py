"""The hand-maintained price_overrides.csv: its shape, and that the sample fine-tune stays unpriced."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from pricing.build import DEFAULT_OUT_DIR, OVERRIDES_COLUMNS, OVERRIDES_FILE

OVERRIDES = DEFAULT_OUT_DIR / OVERRIDES_FILE
RATE_COLUMNS = [column for column in OVERRIDES_COLUMNS if column.endswith("_usd_per_mtok")]


@pytest.fixture(scope="module")
def overrides(read_csv) -> list[dict[str, str]]:
    return read_csv(OVERRIDES)


def test_overrides_have_the_provider_price_columns_plus_a_note():
    assert OVERRIDES.read_text(encoding="utf-8").splitlines()[0] == ",".join(OVERRIDES_COLUMNS)


def test_every_override_is_explicit_and_explained(overrides):
    assert overrides
    assert len({row["price_id"] for row in overrides}) == len(overrides)
    for row in overrides:
        assert row["source"] == "override" and row["note"], row["price_id"]
        assert row["input_usd_per_mtok"] and row["output_usd_per_mtok"], row["price_id"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["valid_from"])
        assert all(Decimal(row[column]) >= 0 for column in RATE_COLUMNS if row[column])


def test_a_self_hosted_model_is_zero_rated(overrides):
    zero_rated = [row for row in overrides if all(Decimal(row[column]) == 0 for column in RATE_COLUMNS if row[column])]
    assert ("self_hosted", "llama-3.1-8b-instruct") in {(row["provider"], row["model"]) for row in zero_rated}


def test_the_sample_fine_tune_gets_no_override_so_its_calls_stay_pending(overrides):
    assert not [row for row in overrides if row["model"].lower().startswith("ft:")]
