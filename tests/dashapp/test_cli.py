"""The `pulseboard` command: migrations, demo data, users and tokens on a fresh database."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from dashapp.extensions import db
from models import OrderLine, User
from services.users import user_for_token
from tests.conftest import make_app


@pytest.fixture
def fresh_app(tmp_path: Path) -> Flask:
    """An app on an empty SQLite file."""
    return make_app(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.fixture
def runner(fresh_app: Flask) -> FlaskCliRunner:
    """A CLI runner for the fresh app, with the schema migrated."""
    cli = fresh_app.test_cli_runner()
    result = cli.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return cli


def count(app: Flask, model: type) -> int:
    """Rows in a model's table."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_db_upgrade_creates_every_table(runner: FlaskCliRunner, fresh_app: Flask) -> None:
    with fresh_app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert {"orders", "order_lines", "products", "platforms", "customers", "media_posts",
            "influencers", "campaigns", "tracking", "payouts", "funnel_days", "opportunities",
            "users", "api_tokens", "audit_events", "import_jobs", "alembic_version"} <= tables


def test_demo_data_loads_once_and_refuses_a_second_time(runner: FlaskCliRunner,
                                                        fresh_app: Flask) -> None:
    first = runner.invoke(args=["demo-data", "--lines", "3000", "--seed", "3"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output
    lines = count(fresh_app, OrderLine)
    assert 2700 <= lines <= 3300
    again = runner.invoke(args=["demo-data", "--lines", "3000"])
    assert again.exit_code != 0 and "already has sales" in again.output
    skipped = runner.invoke(args=["demo-data", "--if-empty"])
    assert skipped.exit_code == 0 and "not loaded" in skipped.output
    assert count(fresh_app, OrderLine) == lines


def test_users_create_reads_the_password_from_stdin_and_limits_platforms(
        runner: FlaskCliRunner, fresh_app: Flask) -> None:
    runner.invoke(args=["demo-data", "--lines", "2000"])
    result = runner.invoke(args=["users", "create", "Ana@Example.com", "--role", "analyst",
                                 "--platform", "instagram", "--platform", "TikTok"],
                           input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "Created analyst ana@example.com (Instagram, TikTok)" in result.output
    with fresh_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "ana@example.com"))
        assert sorted(p.slug for p in user.platforms) == ["instagram", "tiktok"]
        assert "a-long-password" not in user.password_hash


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "create", "x@example.com", "--role", "owner"], "a-long-password\n",
     "Invalid value for '--role'"),
    (["users", "create", "x@example.com", "--role", "viewer"], "short\n", "at least 8"),
    (["users", "create", "not-an-email", "--role", "viewer"], "a-long-password\n",
     "not a valid e-mail"),
    (["users", "create", "x@example.com", "--role", "viewer", "--platform", "myspace"],
     "a-long-password\n", "Unknown platform"),
    (["users", "create", "x@example.com", "--role", "viewer"], "", "No password"),
    (["tokens", "create", "nobody@example.com"], "", "No user"),
])
def test_bad_cli_input_gets_a_clear_message_and_changes_nothing(
        runner: FlaskCliRunner, fresh_app: Flask, args: list[str], stdin: str,
        message: str) -> None:
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(fresh_app, User) == 0


def test_duplicate_user_is_refused(runner: FlaskCliRunner, fresh_app: Flask) -> None:
    args = ["users", "create", "dup@example.com", "--role", "viewer"]
    assert runner.invoke(args=args, input="a-long-password\n").exit_code == 0
    again = runner.invoke(args=[*args[:2], "DUP@example.com", *args[3:]],
                          input="another-password\n")
    assert again.exit_code != 0 and "already exists" in again.output
    assert count(fresh_app, User) == 1


def test_tokens_create_prints_a_token_that_authenticates_once_stored_hashed(
        runner: FlaskCliRunner, fresh_app: Flask) -> None:
    runner.invoke(args=["users", "create", "bot@example.com", "--role", "viewer"],
                  input="a-long-password\n")
    result = runner.invoke(args=["tokens", "create", "bot@example.com", "--name", "reports"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("pb_") and len(token) > 40
    with fresh_app.app_context():
        assert user_for_token(db.session, token).email == "bot@example.com"
        stored = db.session.scalar(sa.text("SELECT token_hash FROM api_tokens"))
        assert token not in stored
    response = fresh_app.test_client().get("/api/v1/overview",
                                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_ensure_demo_creates_the_demo_login_once(runner: FlaskCliRunner,
                                                 fresh_app: Flask) -> None:
    for _ in range(2):
        result = runner.invoke(args=["users", "ensure-demo"])
        assert result.exit_code == 0 and "demo@pulseboard.local" in result.output
    assert count(fresh_app, User) == 1


@pytest.mark.parametrize("env", [None, "production"])
def test_ensure_demo_refuses_unless_development_is_asked_for(
        runner: FlaskCliRunner, fresh_app: Flask, monkeypatch: pytest.MonkeyPatch,
        env: str | None) -> None:
    # A host that only forgot PULSEBOARD_ENV (the CLI then defaults to development) gets no
    # demo admin with its published password.
    if env is None:
        monkeypatch.delenv("PULSEBOARD_ENV", raising=False)
    else:
        monkeypatch.setenv("PULSEBOARD_ENV", env)
    fresh_app.config["ENV"] = "development"
    result = runner.invoke(args=["users", "ensure-demo"])
    assert result.exit_code != 0 and "PULSEBOARD_ENV=development" in result.output
    assert count(fresh_app, User) == 0
    monkeypatch.setenv("PULSEBOARD_ENV", "development")
    result = runner.invoke(args=["users", "ensure-demo"])
    assert result.exit_code == 0 and count(fresh_app, User) == 1


def test_cache_clear_bumps_the_data_version(runner: FlaskCliRunner, fresh_app: Flask) -> None:
    cache = fresh_app.extensions["result_cache"]
    before = cache.data_version()
    result = runner.invoke(args=["cache", "clear"])
    assert result.exit_code == 0 and "cleared" in result.output
    assert cache.data_version() == before + 1


def test_rollups_rebuild_follows_a_change_made_by_hand(runner: FlaskCliRunner,
                                                       fresh_app: Flask) -> None:
    assert runner.invoke(args=["demo-data", "--lines", "3000", "--seed", "3"]).exit_code == 0
    day_total = sa.text("SELECT SUM(net_revenue) FROM rollup_sales_day")
    line_total = sa.text("SELECT SUM(l.quantity * l.unit_price) FROM order_lines l "
                         "JOIN products p ON p.id = l.product_id WHERE p.is_merchandise")
    with fresh_app.app_context():
        db.session.execute(sa.text("UPDATE order_lines SET quantity = quantity * 2"))
        db.session.commit()
        stale, wanted = db.session.scalar(day_total), db.session.scalar(line_total)
    assert stale != pytest.approx(wanted)  # SQL by hand does not touch the rollups
    cache = fresh_app.extensions["result_cache"]
    before = cache.data_version()
    result = runner.invoke(args=["rollups", "rebuild"])
    assert result.exit_code == 0 and "Rollups rebuilt" in result.output, result.output
    with fresh_app.app_context():
        assert db.session.scalar(day_total) == pytest.approx(wanted)
    assert cache.data_version() == before + 1


def test_without_a_broker_jobs_stay_on_this_machine_and_no_worker_starts(
        fresh_app: Flask) -> None:
    """`make run` needs no Redis: one disk-cache manager serves every background callback,
    and `pulseboard worker` says what it needs instead of waiting for a broker."""
    from dash import DiskcacheManager

    from dashapp import jobs

    assert jobs.celery_app(fresh_app) is None
    manager = jobs.background_manager(fresh_app)
    assert isinstance(manager, DiskcacheManager)
    used = {id(callback.get("manager"))
            for callback in fresh_app.extensions["dash"].callback_map.values()
            if callback.get("manager") is not None}
    assert used == {id(manager)}  # the import, the PDF and the model jobs share it
    result = fresh_app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 1
    assert "Set CELERY_BROKER_URL" in result.output
