"""Where records come from: a landing directory of JSONL files, or the platform's analytics API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import settings
from ingestion.records import ENDPOINTS
from settings import ConfigError

LANDING_SUFFIXES = (".jsonl", ".jsonl.gz")


@dataclass(frozen=True)
class LandingSource:
    """``<path>/<endpoint>/**/*.jsonl[.gz]``; delivery order is file name order, then line order."""

    path: Path

    def files(self, endpoint: str) -> list[Path]:
        folder = Path(self.path) / ENDPOINTS[endpoint].name
        if not folder.is_dir():
            return []
        found = [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(LANDING_SUFFIXES)]
        return sorted(found, key=lambda p: p.relative_to(folder).as_posix())

    def describe(self) -> str:
        return f"landing:{self.path}"


@dataclass(frozen=True)
class ApiSource:
    """The platform's analytics API; the key is never printed (``repr=False``)."""

    base_url: str
    api_key: str = field(repr=False)
    page_size: int = 5000
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    backoff_base_seconds: float = 0.5

    def describe(self) -> str:
        return f"api:{self.base_url}"


Source = LandingSource | ApiSource


def source_from_settings(landing_dir: str | Path | None, api_url: str | None) -> Source:
    """Exactly one of a landing directory or an API URL; the API key comes from ``TOKENBOOKS_API_KEY``."""
    if bool(landing_dir) == bool(api_url):
        raise ConfigError(
            "set exactly one source: TOKENBOOKS_LANDING_DIR (a landing directory, --landing) "
            "or TOKENBOOKS_API_URL (the platform API base URL, --api-url)"
        )
    if landing_dir:
        path = Path(landing_dir)
        if not path.is_dir():
            raise ConfigError(f"TOKENBOOKS_LANDING_DIR / --landing: expected an existing directory, got {path}")
        return LandingSource(path)
    assert api_url is not None
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"TOKENBOOKS_API_URL / --api-url: expected an http(s) URL, got {api_url!r}")
    configured = settings.current()
    if configured.api_key is None:
        raise ConfigError("TOKENBOOKS_API_KEY: expected the platform API key in the environment (never in files)")
    return ApiSource(
        api_url.rstrip("/"),
        configured.api_key.get_secret_value(),
        page_size=configured.api_page_size,
        timeout_seconds=configured.api_timeout_seconds,
        max_attempts=configured.api_max_attempts,
        backoff_base_seconds=configured.api_backoff_seconds,
    )
