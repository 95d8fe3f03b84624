"""Application settings, from the process environment only.

The env files (.env.local here, ../../.env.compose at the repository root) are merged
by whoever starts the process (docker compose, the release tool, `just`); the
application itself never reads them, so it sees exactly what its launcher gives it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache


class SettingsError(RuntimeError):
    pass


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name}={raw!r} is neither true nor false")


def _price_map(raw: str) -> dict[str, str]:
    raw = raw.strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise SettingsError("STRIPE_PRODUCT_PRICE_MAP must be a JSON object of plan code -> price id")
        return {str(k): str(v) for k, v in value.items()}
    return dict(part.split("=", 1) for part in raw.split(",") if part)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    user = os.environ.get("POSTGRES_USER", "postgres")
    password = os.environ.get("POSTGRES_PASSWORD", "")
    host = os.environ.get("POSTGRES_HOST", "127.0.0.1")
    port = os.environ.get("POSTGRES_PORT", "5432")
    db = os.environ.get("POSTGRES_DB", "starter_dev")
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{db}"


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    enable_billing: bool
    stripe_secret_key: str
    stripe_product_price_map: dict[str, str] = field(default_factory=dict)


@lru_cache
def get_settings() -> Settings:
    return Settings(
        environment=os.environ.get("ENVIRONMENT", "local"),
        database_url=_database_url(),
        enable_billing=_bool("ENABLE_BILLING", False),
        stripe_secret_key=os.environ.get("STRIPE_SECRET_KEY", ""),
        stripe_product_price_map=_price_map(os.environ.get("STRIPE_PRODUCT_PRICE_MAP", "")),
    )
