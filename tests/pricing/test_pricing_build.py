"""The price seeds built from the real reference maps: known rows (hand-checked in the JSON files),
validity windows, coverage, and the sample platform's models resolving through the match rules."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest

from pricing.build import (
    DEFAULT_ALIASES,
    DEFAULT_OUT_DIR,
    DEFAULT_REFERENCE_DIR,
    DISAGREEMENTS_COLUMNS,
    DISAGREEMENTS_FILE,
    MATCH_RULES_COLUMNS,
    MATCH_RULES_FILE,
    PROVIDER_PRICES_COLUMNS,
    PROVIDER_PRICES_FILE,
    build,
    main,
)
from pricing.maps import LITELLM_FILE, PriceMaps, clause_leaves, is_fine_tune, read_json
from pricing.providers import ProviderAliases
from pricing.rules import MatchRule, resolve

PROVIDERS = (
    "openai",
    "anthropic",
    "google",
    "vertex_ai",
    "bedrock",
    "azure",
    "mistral",
    "groq",
    "deepseek",
    "xai",
    "cohere",
)
RATE_COLUMNS = [column for column in PROVIDER_PRICES_COLUMNS if column.endswith("_usd_per_mtok")]
FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"
PLAIN_DECIMAL = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")


def rates(row: dict[str, str]) -> dict[str, str]:
    """A row's rate cells, keyed by usage type (empty cells left out)."""
    return {column.removesuffix("_usd_per_mtok"): row[column] for column in RATE_COLUMNS if row[column]}


@pytest.fixture(scope="module")
def by_price_id(real_build) -> dict[str, dict[str, str]]:
    return real_build.prices


@pytest.fixture(scope="module")
def rules(rule_rows) -> list[MatchRule]:
    return [MatchRule(**row) for row in rule_rows]


GENERATED_FILES = (PROVIDER_PRICES_FILE, MATCH_RULES_FILE, DISAGREEMENTS_FILE)


def test_the_same_inputs_give_byte_identical_files(tmp_path, real_build, capsys):
    from cli import main as tokenbooks

    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    build(DEFAULT_REFERENCE_DIR, first)
    assert main(["--reference", str(DEFAULT_REFERENCE_DIR), "--out", str(second)]) == 0
    # the documented command
    assert tokenbooks(["pricing", "build", "--out", str(third)]) == 0
    for name in GENERATED_FILES:
        expected = (real_build.out_dir / name).read_bytes()
        assert (first / name).read_bytes() == (second / name).read_bytes() == (third / name).read_bytes() == expected
    assert f"wrote {PROVIDER_PRICES_FILE}:" in capsys.readouterr().out


def test_the_committed_seed_files_are_up_to_date_with_the_reference_maps(real_build):
    # after replacing a snapshot in pricing_seeds/reference, run `tokenbooks pricing build` and commit
    for name in GENERATED_FILES:
        assert (DEFAULT_OUT_DIR / name).read_bytes() == (real_build.out_dir / name).read_bytes(), name


def test_headers_are_the_documented_columns(real_build):
    headers = {name: (real_build.out_dir / name).read_text().splitlines()[0] for name in GENERATED_FILES}
    assert headers == {
        PROVIDER_PRICES_FILE: ",".join(PROVIDER_PRICES_COLUMNS),
        MATCH_RULES_FILE: ",".join(MATCH_RULES_COLUMNS),
        DISAGREEMENTS_FILE: ",".join(DISAGREEMENTS_COLUMNS),
    }


def test_gpt_4o_dated_id_follows_genai_prices_with_litellm_service_tiers(by_price_id):
    default = by_price_id["openai:gpt-4o-2024-08-06:default:0:1970-01-01"]
    assert rates(default) == {"input": "2.5", "cache_read": "1.25", "output": "10"}
    assert (default["valid_to"], default["source"], default["source_key"]) == ("", "genai-prices", "openai/gpt-4o")
    batch = by_price_id["openai:gpt-4o-2024-08-06:batch:0:1970-01-01"]
    assert rates(batch) == {"input": "1.25", "output": "5"}
    assert (batch["source"], batch["source_key"]) == ("litellm", "gpt-4o-2024-08-06")
    priority = by_price_id["openai:gpt-4o-2024-08-06:priority:0:1970-01-01"]
    assert rates(priority) == {"input": "4.25", "cache_read": "2.125", "output": "17"}


def test_claude_sonnet_4_5_cache_writes_and_long_context_tier(by_price_id):
    # All three maps say 3 / 0.3 / 3.75 (5m write) / 6 (1h write) / 15; only genai-prices has the
    # > 200k tier (6 / 0.6 / 7.5 / 12 / 22.5), so the seed follows genai-prices for both rows.
    base = by_price_id["anthropic:claude-sonnet-4-5-20250929:default:0:1970-01-01"]
    assert rates(base) == {
        "input": "3",
        "cache_read": "0.3",
        "cache_write_5m": "3.75",
        "cache_write_1h": "6",
        "output": "15",
    }
    assert base["source_key"] == "anthropic/claude-sonnet-4-5"
    long_context = by_price_id["anthropic:claude-sonnet-4-5-20250929:default:200000:1970-01-01"]
    assert rates(long_context) == {
        "input": "6",
        "cache_read": "0.6",
        "cache_write_5m": "7.5",
        "cache_write_1h": "12",
        "output": "22.5",
    }
    assert long_context["input_tokens_above"] == "200000"
    batch = by_price_id["anthropic:claude-sonnet-4-5-20250929:batch:0:1970-01-01"]
    assert rates(batch) == {"input": "1.5", "cache_read": "0.15", "cache_write_5m": "1.875", "output": "7.5"}


def test_gemini_2_5_pro_on_vertex_has_a_long_context_row(by_price_id):
    base = by_price_id["vertex_ai:gemini-2.5-pro:default:0:1970-01-01"]
    assert rates(base) == {"input": "1.25", "cache_read": "0.125", "output": "10"}
    tier = by_price_id["vertex_ai:gemini-2.5-pro:default:200000:1970-01-01"]
    assert rates(tier) == {"input": "2.5", "cache_read": "0.25", "output": "15"}
    assert (tier["source"], tier["source_key"]) == ("genai-prices", "google/gemini-2.5-pro")
    batch_tier = by_price_id["vertex_ai:gemini-2.5-pro:batch:200000:1970-01-01"]
    assert rates(batch_tier) == {"input": "1.25", "output": "7.5"}


def test_a_dated_genai_prices_change_gives_two_abutting_windows(by_price_id):
    before = by_price_id["openai:o3:default:0:1970-01-01"]
    after = by_price_id["openai:o3:default:0:2025-06-10"]
    assert (before["valid_from"], before["valid_to"]) == ("1970-01-01", "2025-06-10")
    assert (after["valid_from"], after["valid_to"]) == ("2025-06-10", "")
    assert rates(before) == {"input": "10", "cache_read": "0.5", "output": "40"}
    assert rates(after) == {"input": "2", "cache_read": "0.5", "output": "8"}


def test_a_tier_dropped_by_a_later_version_ends_while_unchanged_base_rates_stay_one_row(by_price_id):
    # genai-prices' claude-opus-4-6: the > 200k tier exists until 2026-03-13, the base rates never change
    tier = by_price_id["anthropic:claude-opus-4-6:default:200000:1970-01-01"]
    assert (tier["valid_to"], rates(tier)["input"]) == ("2026-03-13", "10")
    base = by_price_id["anthropic:claude-opus-4-6:default:0:1970-01-01"]
    assert (base["valid_to"], rates(base)["input"], rates(base)["output"]) == ("", "5", "25")
    assert not any(key.startswith("anthropic:claude-opus-4-6:default:0:2026") for key in by_price_id)


def test_sample_models_other_than_openai_and_anthropic(by_price_id):
    bedrock = by_price_id["bedrock:anthropic.claude-3-5-sonnet-20241022-v2:0:default:0:1970-01-01"]
    assert rates(bedrock) == {"input": "3", "cache_read": "0.3", "cache_write_5m": "3.75", "output": "15"}
    mistral = by_price_id["mistral:mistral-small-latest:default:0:1970-01-01"]
    assert (rates(mistral), mistral["source"]) == ({"input": "0.1", "output": "0.3"}, "genai-prices")
    # genai-prices prices deepseek-chat by time of day: the standard rate from 00:30 to 16:30 UTC, half otherwise
    deepseek = {
        window: by_price_id[f"deepseek:deepseek-chat:default:0:1970-01-01@{window}"]
        for window in ("00:00:00", "00:30:00", "16:30:00")
    }
    assert {window: (row["utc_time_to"], rates(row)) for window, row in deepseek.items()} == {
        "00:00:00": ("00:30:00", {"input": "0.135", "cache_read": "0.035", "output": "0.55"}),
        "00:30:00": ("16:30:00", {"input": "0.27", "cache_read": "0.07", "output": "1.1"}),
        "16:30:00": ("", {"input": "0.135", "cache_read": "0.035", "output": "0.55"}),
    }
    assert {row["source_key"] for row in deepseek.values()} == {"deepseek/deepseek-chat"}


def test_validity_windows_never_overlap(price_rows):
    windows = defaultdict(list)
    for row in price_rows:
        key = (
            row["provider"],
            row["model"].lower(),
            row["service_tier"],
            row["input_tokens_above"],
            row["utc_time_from"],
        )
        end = date.fromisoformat(row["valid_to"]) if row["valid_to"] else date.max
        windows[key].append((date.fromisoformat(row["valid_from"]), end))
    for key, spans in windows.items():
        spans.sort()
        assert all(start < end for start, end in spans), key
        assert all(left[1] <= right[0] for left, right in pairwise(spans)), key


def test_price_ids_are_unique_and_readable(price_rows):
    ids = [row["price_id"] for row in price_rows]
    assert len(ids) == len(set(ids))
    for row in price_rows:
        parts = (row["provider"], row["model"], row["service_tier"], row["input_tokens_above"], row["valid_from"])
        time_of_day = f"@{row['utc_time_from']}" if row["utc_time_from"] else ""
        assert row["price_id"] == ":".join(parts) + time_of_day


def test_rates_are_plain_non_negative_decimals_and_every_row_prices_input_and_output(price_rows):
    for row in price_rows:
        assert row["input_usd_per_mtok"] and row["output_usd_per_mtok"], row["price_id"]
        for cell in rates(row).values():
            assert PLAIN_DECIMAL.match(cell), (row["price_id"], cell)
            assert Decimal(cell) >= 0


def test_rows_carry_known_service_tiers_and_sources(price_rows):
    assert {row["service_tier"] for row in price_rows} == {"default", "batch", "priority", "flex"}
    assert {row["source"] for row in price_rows} == {"genai-prices", "litellm", "langfuse"}
    assert all(row["source_key"] for row in price_rows)


def test_every_provider_of_the_platform_has_prices(price_rows, real_build):
    providers = {row["provider"] for row in price_rows}
    assert providers >= set(PROVIDERS)
    # beyond the first eleven, under the id the maps use
    assert providers >= {"perplexity", "dashscope", "together_ai", "fireworks_ai", "openrouter", "voyage"}
    summary = real_build.summary
    assert set(summary.models_per_provider) == providers
    assert sum(summary.price_rows_per_provider.values()) == len(price_rows)


def test_every_map_provider_is_priced_or_each_of_its_entries_says_why_not(real_build, price_rows):
    """Every provider id of genai-prices and LiteLLM gets rows under its platform id, unless every entry of it
    is in unpriced_map_entries.csv with a reason."""
    maps = PriceMaps.load(DEFAULT_REFERENCE_DIR, ProviderAliases.load(DEFAULT_ALIASES))
    priced = {row["provider"] for row in price_rows}
    gaps = {(row["price_map"], row["map_entry"]) for row in real_build.gap_rows if row["effect"] == "not_seeded"}
    genai_entries = defaultdict(set)
    for genai_id, platform_ids, model in maps.genai.all_models():
        genai_entries[(genai_id, platform_ids)].add(model.model_id)
    for (genai_id, platform_ids), models in genai_entries.items():
        assert set(platform_ids) <= priced or {("genai-prices", m) for m in models} <= gaps, genai_id
    litellm_entries = defaultdict(set)
    for key, entry in read_json(DEFAULT_REFERENCE_DIR / LITELLM_FILE).items():
        if isinstance(entry, dict) and isinstance(entry.get("litellm_provider"), str):
            litellm_entries[entry["litellm_provider"]].add(key)
    aliases = ProviderAliases.load(DEFAULT_ALIASES)
    for litellm_provider, keys in litellm_entries.items():
        (platform_id,) = aliases.platform_ids("litellm", litellm_provider)
        assert platform_id in priced or {("litellm", key) for key in keys} <= gaps, litellm_provider


def test_a_model_a_map_prices_is_seeded_unless_the_gap_list_says_why(real_build, rules):
    """Each LiteLLM and genai-prices entry resolves to a seeded model through the rules (a genai-prices entry by
    its id or by an id its match clauses name: some ids are labels, like Bedrock's `regional.<model>`), or is
    listed."""
    maps = PriceMaps.load(DEFAULT_REFERENCE_DIR, ProviderAliases.load(DEFAULT_ALIASES))
    gaps = {(row["price_map"], row["map_entry"]) for row in real_build.gap_rows if row["effect"] == "not_seeded"}
    unexplained = []
    for genai_id, platform_ids, model in maps.genai.all_models():
        served = [p for p in platform_ids if maps.genai.serves(p, model)]
        ids = [model.model_id, *(value for _, value in clause_leaves(model.match))]
        if ("genai-prices", model.model_id) not in gaps and not any(resolve(rules, p, i) for p in served for i in ids):
            unexplained.append(("genai-prices", genai_id, model.model_id))
    aliases = ProviderAliases.load(DEFAULT_ALIASES)
    for key, entry in read_json(DEFAULT_REFERENCE_DIR / LITELLM_FILE).items():
        if not (isinstance(entry, dict) and isinstance(entry.get("litellm_provider"), str)):
            continue
        (platform_id,) = aliases.platform_ids("litellm", entry["litellm_provider"])
        model_id = key.partition("/")[2] if key.startswith(f"{entry['litellm_provider']}/") else key
        if (
            ("litellm", key) not in gaps
            and not resolve(rules, platform_id, model_id)
            and not resolve(rules, platform_id, key.partition("/")[2] or key)
        ):
            unexplained.append(("litellm", entry["litellm_provider"], key))
    assert unexplained == []


def test_embeddings_are_seeded_and_image_audio_and_speech_models_are_not(price_rows, real_build):
    by_model = {(row["provider"], row["model"]): row for row in price_rows}
    embedding = by_model[("openai", "text-embedding-3-small")]
    assert (embedding["mode"], embedding["input_usd_per_mtok"], embedding["output_usd_per_mtok"]) == (
        "embedding",
        "0.02",
        "0",
    )
    assert by_model[("cohere", "embed-v4.0")]["mode"] == "embedding"
    gaps = {(row["price_map"], row["map_entry"]): row["reason"] for row in real_build.gap_rows}
    assert gaps[("litellm", "whisper-1")].startswith("mode audio_transcription: not priced per text token")
    assert gaps[("litellm", "tts-1")].startswith("mode audio_speech: not priced per text token")
    for not_token_priced in ("dall-e-3", "whisper-1", "tts-1"):
        assert ("openai", not_token_priced) not in by_model


def test_per_request_and_reasoning_rates_of_the_real_maps(by_price_id):
    # genai-prices' Perplexity Sonar: 1 / 1 per million tokens and 12 USD per thousand requests
    sonar = by_price_id["perplexity:sonar:default:0:1970-01-01"]
    assert (rates(sonar), sonar["request_usd_per_thousand"]) == ({"input": "1", "output": "1"}, "12")


def test_every_rule_leads_to_a_priced_model(price_rows, rule_rows):
    priced = {(row["provider"], row["model"]) for row in price_rows}
    assert {(rule["provider"], rule["model"]) for rule in rule_rows} <= priced
    assert {rule["match_type"] for rule in rule_rows} == {"exact", "prefix"}
    assert all(rule["pattern"] == rule["pattern"].lower() for rule in rule_rows)


@pytest.mark.parametrize(
    ("provider", "reported", "priced_as"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
        ("openai", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
        ("openai", "o3-mini-2025-01-31", "o3-mini-2025-01-31"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ("vertex_ai", "gemini-2.5-pro", "gemini-2.5-pro"),
        ("mistral", "mistral-small-latest", "mistral-small-latest"),
        ("deepseek", "deepseek-chat", "deepseek-chat"),
        # id forms the providers report
        ("bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ("bedrock", "global.anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ("bedrock", "apac.anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ("google", "models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("vertex_ai", "claude-3-5-sonnet@20240620", "claude-3-5-sonnet@20240620"),
        ("openai", "GPT-4o-2024-08-06", "gpt-4o-2024-08-06"),
        # a dated id no map lists yet falls to genai-prices' starts_with rule
        ("anthropic", "claude-sonnet-4-5-20991231", "claude-sonnet-4-5"),
    ],
)
def test_reported_ids_resolve_through_the_rules(rules, provider, reported, priced_as):
    assert resolve(rules, provider, reported) == priced_as


def test_the_sample_fine_tune_resolves_to_nothing(rules):
    assert resolve(rules, "openai", FINE_TUNE) is None
    assert not [rule for rule in rules if FINE_TUNE.lower().startswith(rule.pattern)]
    # no fine-tune of any form (OpenAI's ft:..., Azure's <base>.ft-<id>) is priced from the public maps
    assert not [rule for rule in rules if is_fine_tune(rule.pattern) or is_fine_tune(rule.model)]


def test_known_disagreements_are_reported(disagreement_rows):
    def rows_for(provider, model):
        return [r for r in disagreement_rows if (r["provider"], r["model"]) == (provider, model)]

    sonnet = {
        (r["usage_type"], r["input_tokens_above"], r["disagreement"]): r
        for r in rows_for("anthropic", "claude-sonnet-4-5-20250929")
    }
    tier_input = sonnet[("input", "200000", "tier_differs")]
    assert (tier_input["genai_prices_usd_per_mtok"], tier_input["litellm_usd_per_mtok"]) == ("6", "")
    assert (tier_input["langfuse_usd_per_mtok"], tier_input["seed_usd_per_mtok"]) == ("", "6")
    assert not [key for key in sonnet if key[2] == "price_differs"]  # the base rates agree everywhere

    mistral = {(r["usage_type"], r["disagreement"]): r for r in rows_for("mistral", "mistral-small-latest")}
    assert set(mistral) == {("input", "price_differs"), ("cache_read", "price_differs"), ("output", "price_differs")}
    output = mistral[("output", "price_differs")]
    assert (output["litellm_usd_per_mtok"], output["genai_prices_usd_per_mtok"]) == ("0.6", "0.3")
    assert (output["seed_usd_per_mtok"], output["seed_source"]) == ("0.3", "genai-prices")

    gpt_4o = rows_for("openai", "gpt-4o-2024-08-06")
    assert gpt_4o == []  # all three maps agree on 2.5 / 1.25 / 10 and on the priority tier


def test_disagreement_kinds_are_the_documented_ones(disagreement_rows):
    kinds = {row["disagreement"] for row in disagreement_rows}
    assert kinds == {
        "price_differs",
        "tier_differs",
        "missing_in_litellm",
        "missing_in_genai_prices",
        "missing_in_langfuse",
    }


def test_generated_files_stay_modest(real_build):
    # about 6,000 price rows over 150 providers: dbt seeds them in seconds
    assert all(size < 1_500_000 for size in real_build.summary.bytes_per_file.values())
