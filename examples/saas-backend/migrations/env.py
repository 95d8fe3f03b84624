"""Alembic environment for the sample SaaS backend.

The database URL comes from the DATABASE_URL environment variable (never from
alembic.ini). Accepted forms:

    postgresql://user:pass@host:5432/db
    postgresql+psycopg2://user:pass@host:5432/db
    postgres://user:pass@host:5432/db        (rewritten to postgresql://)

All of them are run with the psycopg2 driver (SQLAlchemy 2.1 would otherwise
pick psycopg 3 for a bare postgresql://, and that is not installed).

Each migration runs in its own transaction (transaction_per_migration), so a
failure in revision N leaves the database at revision N-1, not at base.
"""

from __future__ import annotations

import os
import sys
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# No ORM models in this sample: migrations are written by hand.
target_metadata = None

_ACCEPTED_SCHEMES = ("postgresql", "postgresql+psycopg2")


def _fail(message: str) -> None:
    sys.stderr.write(f"ERROR: {message}\n")
    raise SystemExit(1)


def database_url() -> URL:
    raw = os.environ.get("DATABASE_URL", "").strip()
    if not raw:
        _fail(
            "DATABASE_URL is not set. Export it (e.g. "
            "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/saas_dev) or run via "
            "scripts/run_with_env.py, which loads .env.compose and .env.local."
        )
    if "${" in raw:
        _fail(
            "DATABASE_URL still contains an unexpanded ${...} placeholder; "
            "expand the env files before running alembic (scripts/run_with_env.py does)."
        )
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        url = make_url(raw)
    except ArgumentError:
        _fail("DATABASE_URL is not a valid database URL (expected postgresql://user:pass@host:port/db).")
    if url.drivername not in _ACCEPTED_SCHEMES:
        _fail(
            f"DATABASE_URL scheme {url.drivername!r} is not supported; "
            "use postgresql://, postgresql+psycopg2:// or postgres://."
        )
    # Pin the driver: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg (v3),
    # which is not installed; this project ships psycopg2-binary.
    return url.set(drivername="postgresql+psycopg2")


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of executing it (`alembic upgrade head --sql`)."""
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
