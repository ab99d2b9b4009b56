"""Apply the Alembic migrations to the configured database."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from shared.db.session import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


# Any fixed number: gateways starting together on PostgreSQL migrate one after the other.
MIGRATION_LOCK = 7_262_611


def upgrade_database(db: Database) -> None:
    config = alembic_config()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
