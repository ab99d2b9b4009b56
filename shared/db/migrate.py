"""Apply the Alembic migrations to the configured database."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db.session import get_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_database() -> None:
    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
