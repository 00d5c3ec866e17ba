"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base
from tests.conftest import TestDatabase, make_app, migrate


def schema_differences(engine: sa.Engine) -> list:
    """What autogenerate would still change to match the models (empty when in sync)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_database_matches_the_models(database: TestDatabase) -> None:
    assert schema_differences(database.engine) == []


def test_migrations_upgrade_and_downgrade_cleanly(tmp_path: Path) -> None:
    from flask_migrate import downgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    app = make_app(url)
    migrate(app)
    engine = sa.create_engine(url)
    assert "order_lines" in sa.inspect(engine).get_table_names()
    with app.app_context():
        downgrade(revision="base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()
