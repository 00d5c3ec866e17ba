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


def test_the_migration_history_has_one_head() -> None:
    """Branches made side by side are merged before they land: `pulseboard db upgrade` (to
    "head") refuses to choose between two."""
    from alembic.script import ScriptDirectory

    from dashapp.extensions import migrate as migrations

    with make_app("sqlite://").app_context():
        heads = ScriptDirectory.from_config(migrations.get_config()).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


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


def upgraded_with_rows(tmp_path: Path, revision: str, statements: tuple[str, ...]) -> sa.Engine:
    """A SQLite database migrated to `revision`, given rows there, then upgraded to the head."""
    from flask_migrate import upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    app = make_app(url)
    with app.app_context():
        upgrade(revision=revision)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    with app.app_context():
        upgrade()
    return engine


def test_the_rollup_migration_builds_rollups_for_existing_sales(tmp_path: Path) -> None:
    from tests.services.test_rollups import assert_rollups_match_the_lines

    engine = upgraded_with_rows(tmp_path, "8cff7321e7c3", EXISTING_SALES)  # before rollups
    with engine.connect() as connection:
        countries = connection.execute(sa.text(
            "SELECT order_id, country FROM order_lines ORDER BY id")).all()
    assert countries == [(1, "France"), (1, "France"), (2, None), (3, "France")]
    assert_rollups_match_the_lines(engine, "after the migration")
    engine.dispose()


EXISTING_SALES = (
    "INSERT INTO platforms (id, slug, name, kind) VALUES (1, 'shop', 'Shop', 'web')",
    "INSERT INTO products (id, sku, name, active, is_merchandise) VALUES "
    "(1, 'A', 'Mug', 1, 1), (2, 'POST', 'Postage', 1, 0)",
    "INSERT INTO customers (id, external_id) VALUES (1, 'C1')",
    "INSERT INTO orders (id, order_number, ordered_at, sale_date, sale_hour, platform_id, "
    "customer_id, country) VALUES (1, 'O1', '2026-03-01 10:00:00', '2026-03-01', 10, 1, 1, "
    "'France'), (2, 'O2', '2026-03-02 11:00:00', '2026-03-02', 11, 1, NULL, NULL), "
    "(3, 'O3', '2026-04-05 09:00:00', '2026-04-05', 9, 1, 1, 'France')",
    "INSERT INTO order_lines (id, order_id, product_id, quantity, unit_price, unit_cost, "
    "sale_date, sale_hour, platform_id, customer_id) VALUES "
    "(1, 1, 1, 2, 10.0, 4.0, '2026-03-01', 10, 1, 1), "
    "(2, 1, 2, 1, 3.5, NULL, '2026-03-01', 10, 1, 1), "
    "(3, 2, 1, 1, 10.0, NULL, '2026-03-02', 11, 1, NULL), "
    "(4, 3, 1, -1, 10.0, 4.0, '2026-04-05', 9, 1, 1)",
)
