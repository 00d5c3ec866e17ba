"""The `pulseboard` command: a Flask CLI group around create_app().

`pulseboard db upgrade` (migrations, from Flask-Migrate), `pulseboard demo-data`,
`pulseboard users create`, `pulseboard tokens create`, `pulseboard cache clear`,
`pulseboard rollups rebuild`, `pulseboard worker` (a Celery worker for the background jobs),
`pulseboard run` (the development server).

`pulseboard run` serves HTTP, so a missing PULSEBOARD_ENV means production for it, as for
`wsgi.py`: only an explicit PULSEBOARD_ENV=development (what `make run` sets) runs it with the
development secret key.
"""
from __future__ import annotations

import os
import sys
import time
from typing import NoReturn, cast

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, run_command, shell_command, with_appcontext

from dashapp.cli_import import import_command, warn_unless_cache_cleared
from services.errors import ServiceError

# Each command imports what it uses (the database, pandas, the app's services) when it runs,
# so that `pulseboard --help` answers without loading them (tests/dashapp/test_cli_help.py).

DEMO_EMAIL = "demo@pulseboard.local"
DEMO_PASSWORD = "pulseboard-demo"


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def _read_password(prompt: bool) -> str:
    """From an interactive prompt, or the first line of standard input when piped."""
    if prompt and sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        _fail("No password given on standard input.")
    return line.rstrip("\r\n")


@click.command("demo-data")
@click.option("--lines", type=click.IntRange(1_000, 20_000_000), default=None,
              help="Approximate number of order lines (default 80,000).")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Do nothing when sales already exist.")
@with_appcontext
def demo_data_command(lines: int | None, seed: int, if_empty: bool) -> None:
    """Load deterministic demo data (two years, every entity) into an empty database."""
    from dashapp.context import data_changed, setting
    from dashapp.extensions import db_session
    from services.demo_data import DEFAULT_LINES, has_sales
    from services.imports.demo_load import load_demo

    if has_sales(db_session()):
        if if_empty:
            click.echo("Sales data already present: demo data not loaded.")
            return
        _fail("The database already has sales; demo data loads into an empty database only.")
    started = time.perf_counter()
    try:  # the same code as the Data page's demo load
        summary = load_demo(db_session(), setting("TIMEZONE"), lines or DEFAULT_LINES, seed)
        cleared = data_changed()
    except ServiceError as error:
        _fail(str(error))
    click.echo(f"Demo data loaded in {time.perf_counter() - started:.1f} s: {summary}")
    warn_unless_cache_cleared(cleared)


@click.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "analyst", "viewer"]), required=True)
@click.option("--platform", "platforms", multiple=True,
              help="Limit the user to this platform (repeatable); default: all platforms.")
@click.option("--name", default=None, help="Display name.")
@with_appcontext
def create_user_command(email: str, role: str, platforms: tuple[str, ...],
                        name: str | None) -> None:
    """Create a user; the password is prompted for, or read from standard input."""
    from dashapp.extensions import db, db_session
    from services.users import create_user

    password = _read_password(prompt=True)
    try:
        user = create_user(db_session(), email, password, role, platforms, name)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        _fail(str(error))
    limited = ", ".join(p.name for p in user.platforms) or "all platforms"
    click.echo(f"Created {user.role} {user.email} ({limited}).")


@users_group.command("ensure-demo")
@with_appcontext
def ensure_demo_user_command() -> None:
    """Create the demo login if missing and print it (development only)."""
    # Only where development was asked for by name (make run does), or under tests: a host
    # that merely forgot PULSEBOARD_ENV must not get an admin with a published password.
    asked_for = os.environ.get("PULSEBOARD_ENV") == "development"
    if current_app.config["ENV"] != "test" and not asked_for:
        _fail("The demo login is for development only: set PULSEBOARD_ENV=development (make "
              "run does), or create real users with `users create`.")
    from dashapp.extensions import db, db_session
    from services.users import authenticate, create_user

    if authenticate(db_session(), DEMO_EMAIL, DEMO_PASSWORD) is None:
        try:
            create_user(db_session(), DEMO_EMAIL, DEMO_PASSWORD, "admin", name="Demo admin")
        except ServiceError as error:
            db.session.rollback()
            _fail(f"{error} (its password was changed: log in with that one).")
    db.session.commit()
    click.echo(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


@click.group("tokens")
def tokens_group() -> None:
    """Manage API tokens."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default=None, help="What the token is for.")
@with_appcontext
def create_token_command(email: str, name: str | None) -> None:
    """Create an API token for a user and print it once (only its hash is stored)."""
    from dashapp.extensions import db, db_session
    from services.users import create_token

    try:
        token = create_token(db_session(), email, name)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        _fail(str(error))
    click.echo(token)


@click.group("cache")
def cache_group() -> None:
    """The results cache."""


@cache_group.command("clear")
@with_appcontext
def clear_cache_command() -> None:
    """Forget every cached result (after changing data by hand)."""
    from dashapp.context import data_changed

    if not data_changed():
        _fail("The results cache does not answer: nothing was cleared. Run this again once "
              "it is back.")
    click.echo("Cached results cleared.")


@click.group("rollups")
def rollups_group() -> None:
    """The pre-aggregated sales the pages read."""


@rollups_group.command("rebuild")
@with_appcontext
def rebuild_rollups_command() -> None:
    """Rebuild them from the order lines (after changing sales by hand)."""
    from dashapp.context import data_changed
    from dashapp.extensions import db, db_session
    from services import rollups

    started = time.perf_counter()
    rollups.refresh(db_session())
    db.session.commit()
    cleared = data_changed()
    click.echo(f"Rollups rebuilt in {time.perf_counter() - started:.1f} s.")
    warn_unless_cache_cleared(cleared)


def _running_app() -> Flask:
    """The app itself (not the proxy): the senders push their own contexts of it."""
    return cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]


@click.group("digests")
def digests_group() -> None:
    """E-mailed digests of saved views (and alerts)."""


@digests_group.command("send-due")
@with_appcontext
def send_due_command() -> None:
    """Send every digest due now and check the alerts; for cron, safe on several hosts."""
    from dashapp.mailings import send_due

    outcome = send_due(_running_app())
    click.echo(f"{outcome.sent} e-mail(s) sent, {outcome.failed} failed (retried later).")


@click.group("alerts")
def alerts_group() -> None:
    """E-mailed alerts on saved views."""


@alerts_group.command("check")
@with_appcontext
def check_alerts_command() -> None:
    """Check every alert not fired today and e-mail those that fire."""
    from dashapp.mailings import check_alerts

    outcome = check_alerts(_running_app())
    click.echo(f"{outcome.sent} alert(s) sent, {outcome.failed} failed (retried later).")


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Jobs run at once (processes).")
@click.option("--loglevel", default="INFO", show_default=True, help="Celery's log level.")
@with_appcontext
def worker_command(concurrency: int, loglevel: str) -> None:
    """A Celery worker for the background jobs (imports, models, PDFs); needs
    CELERY_BROKER_URL."""
    from dashapp.jobs import celery_app

    celery = celery_app(_running_app())
    if celery is None:
        _fail("Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/1) to run a worker; "
              "without it the web app runs background jobs itself.")
    celery.worker_main(["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
                        "--without-gossip", "--without-mingle"])


COMMANDS = (demo_data_command, users_group, tokens_group, import_command, cache_group,
            rollups_group, digests_group, alerts_group, worker_command)


def register_commands(app: Flask) -> None:
    """Attach the Pulseboard commands to the app's CLI."""
    for command in COMMANDS:
        app.cli.add_command(command)


class MigrationsEntry(click.Command):
    """`db` in the list of commands: Flask-Migrate's group (what Migrate.init_app adds to
    app.cli) and Alembic load when `pulseboard db …` runs, not to list it."""

    def __init__(self) -> None:
        super().__init__("db", help="Perform database migrations.")

    @staticmethod
    def group() -> click.Command:
        """Flask-Migrate's `db` group."""
        from flask_migrate.cli import db  # type: ignore[import-not-found]  # untyped module

        return cast(click.Command, db)


class PulseboardGroup(FlaskGroup):
    """Flask's command group, listing the commands added to it without creating the app
    (FlaskGroup creates it to list the app's commands: Dash, pandas and every page)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The group's own commands, by name."""
        return sorted(self.commands)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """The command to run: Flask-Migrate's group itself for `db`."""
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, MigrationsEntry):
            command = command.group()
        return name, command, rest


def _create_app() -> Flask:
    from dashapp import create_app

    return create_app()


@click.command("run", params=run_command.params, help=run_command.help,
               short_help=run_command.short_help, context_settings=run_command.context_settings)
@click.pass_context
def run_server_command(ctx: click.Context, **options: object) -> None:
    """Flask's development server, in production mode unless PULSEBOARD_ENV says otherwise."""
    os.environ.setdefault("PULSEBOARD_ENV", "production")
    ctx.invoke(run_command, **options)


def main() -> None:
    """Entry point of the `pulseboard` console script."""
    group = PulseboardGroup(create_app=_create_app, help="Pulseboard administration.",
                            add_default_commands=False)
    for command in (run_server_command, shell_command, routes_command, *COMMANDS):
        group.add_command(command)
    group.add_command(MigrationsEntry())
    group()
