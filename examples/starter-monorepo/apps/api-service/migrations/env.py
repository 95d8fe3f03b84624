"""Alembic environment of the API service.

Imports the application package, as most real projects do, so the migrations see
the same settings and metadata as the app: `src/` is put on sys.path here (the
package is not installed into the venv), and importing `starter_api` loads every
model (slow when STARTER_IMPORT_DELAY_S is set).

The database URL comes from the application's settings ($DATABASE_URL, else the
POSTGRES_* parts from ../../.env.compose). Offline mode (`--sql`) is supported:
no migration of this service needs a live connection to render its SQL.
"""

from __future__ import annotations

import sys
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SERVICE_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SERVICE_ROOT / "src"))

from starter_api.db import metadata  # noqa: E402
from starter_api.settings import get_settings  # noqa: E402

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def _fail(message: str) -> None:
    sys.stderr.write(f"ERROR: {message}\n")
    raise SystemExit(1)


def database_url() -> URL:
    raw = get_settings().database_url
    if "${" in raw:
        _fail("DATABASE_URL still contains an unexpanded ${...} placeholder; expand the env files first.")
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        url = make_url(raw)
    except ArgumentError:
        _fail("DATABASE_URL is not a valid database URL (expected postgresql://user:pass@host:port/db).")
    if url.drivername not in ("postgresql", "postgresql+psycopg2"):
        _fail(f"DATABASE_URL scheme {url.drivername!r} is not supported; use postgresql://.")
    # psycopg2 is what the venv has; SQLAlchemy 2.1 would pick psycopg 3 for postgresql://.
    return url.set(drivername="postgresql+psycopg2")


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
