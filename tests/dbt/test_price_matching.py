"""The dbt lookup resolves reported model ids exactly as the price builder's rules say (``pricing.rules.resolve``):
every id the generated match rules name, as reported (case changed), extended past a prefix, and cut short,
on the real seeds; and a few ids to the literal models worked out by hand from the seeds. The same build runs
the seeds' own tests (unique ids, non-overlapping validity, ...)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pricing.rules import EXACT, MatchRule, resolve

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "pricing_seeds" / "model_match_rules.csv"
# Read off pricing_seeds/ by hand (model_match_rules.csv, provider_aliases.csv; every model named here has rows in
# provider_prices.csv), not computed: what the lookup must answer for these ids, whatever pricing.rules says.
HAND_CHECKED = {
    # exact rules
    ("openai", "gpt-4o-mini"): "gpt-4o-mini",
    ("xai", "grok-3"): "grok-3",
    # case-insensitive: the lower-cased id meets the rule; the priced model keeps its own spelling
    ("openai", "GPT-4o-Mini"): "gpt-4o-mini",
    ("anthropic", "CLAUDE-HAIKU-4-5-20990101"): "claude-haiku-4-5",
    # a version suffix past a prefix rule (no exact rule): the longest prefix decides
    ("anthropic", "claude-3-7-sonnet-20990101"): "claude-3-7-sonnet-latest",
    ("anthropic", "claude-opus-4-1-20990101"): "claude-opus-4-1",
    ("anthropic", "claude-3.5-haiku-20990101"): "claude-3-5-haiku-latest",
    # providers reported under a map's name, priced as the platform's provider (provider_aliases.csv)
    ("aws", "anthropic.claude-3-5-haiku-20241022-v1:0"): "anthropic.claude-3-5-haiku-20241022-v1:0",
    ("x-ai", "grok-3"): "grok-3",
    ("gemini", "gemini-2.5-flash"): "gemini-2.5-flash",
    ("together", "META-LLAMA/Llama-3.3-70B-Instruct-Turbo"): "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    # unmatched, so pending: OpenAI has no prefix rule to strip an unknown date, no rule has this id, an alias
    # finds only its provider's rules, and a provider with no rules prices nothing
    ("openai", "gpt-4o-mini-2099-01-01"): None,
    ("anthropic", "claude-unknown-9"): None,
    ("aws", "mystery-model"): None,
    ("acme_llm", "gpt-4o-mini"): None,
}


def read_rules() -> list[MatchRule]:
    with RULES.open(newline="", encoding="utf-8") as rules:
        return [MatchRule(**row) for row in csv.DictReader(rules)]


def reported_ids(rules: list[MatchRule]) -> set[tuple[str, str]]:
    """(provider, id) as a provider might report it, around every rule's pattern."""
    ids = set()
    for rule in rules:
        ids.add((rule.provider, rule.pattern.upper() if rule.match_type == EXACT else rule.pattern))
        ids.add((rule.provider, rule.pattern + "-20991231"))
        ids.add((rule.provider, rule.pattern[:-1]))
    ids.add(("openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"))
    ids.add(("some_new_provider", "gpt-4o"))
    return ids


@pytest.fixture(scope="module")
def rules() -> list[MatchRule]:
    return read_rules()


@pytest.fixture(scope="module")
def sql_resolution(rules, new_workspace, tmp_path_factory) -> dict[tuple[str, str], str | None]:
    workspace = new_workspace()
    landing = tmp_path_factory.mktemp("matching") / "landing"
    (landing / "traces").mkdir(parents=True)
    spans = [
        {
            "span_id": f"spn_{number}",
            "trace_id": f"trc_{number}",
            "organization_id": "org_a",
            "kind": "llm",
            "name": "generate",
            "started_at": "2026-11-20T12:00:00Z",
            "duration_ms": 1,
            "status": "ok",
            "llm": {"provider": provider, "model": model, "usage": {"input_tokens": 1, "output_tokens": 1}},
        }
        for number, (provider, model) in enumerate(sorted(reported_ids(rules) | HAND_CHECKED.keys()))
    ]
    (landing / "traces" / "spans.jsonl").write_text("".join(json.dumps(span) + "\n" for span in spans))
    workspace.load(landing)
    workspace.dbt("build", "--select", "+int_llm_calls_priced", "--indirect-selection", "cautious")
    rows = workspace.query("select provider, model, priced_model from intermediate.int_llm_calls_priced")
    return {(row["provider"], row["model"]): row["priced_model"] for row in rows}


def test_the_sql_lookup_resolves_every_id_as_the_builder_rules_do(rules, sql_resolution):
    expected = {(provider, model): resolve(rules, provider, model) for provider, model in reported_ids(rules)}
    assert {key: sql_resolution[key] for key in expected} == expected


def test_hand_checked_ids_resolve_to_their_literal_models(sql_resolution):
    assert {key: sql_resolution[key] for key in HAND_CHECKED} == HAND_CHECKED


def test_dated_regional_and_versioned_ids_reach_their_prices(sql_resolution):
    assert {
        key: sql_resolution[key]
        for key in [
            ("openai", "GPT-4O-2024-08-06"),
            ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0-20991231"),
            ("vertex_ai", "gemini-2.5-pro-20991231"),
            ("vertex_ai", "CLAUDE-SONNET-4-5@20250929"),
            ("openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"),
        ]
    } == {
        ("openai", "GPT-4O-2024-08-06"): "gpt-4o-2024-08-06",
        # a Bedrock cross-region profile, through the prefix rule of the model's regional id
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0-20991231"): (
            "regional.anthropic.claude-sonnet-4-5-20250929-v1:0"
        ),
        ("vertex_ai", "gemini-2.5-pro-20991231"): "gemini-2.5-pro",
        # Vertex AI's versioned Claude id
        ("vertex_ai", "CLAUDE-SONNET-4-5@20250929"): "claude-sonnet-4-5@20250929",
        # a fine-tune is never priced from the maps: it waits for a price override
        ("openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"): None,
    }
