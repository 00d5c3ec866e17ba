"""The application factory: a list of register_* steps, nothing at import time."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dash import Dash, html
from flask import Flask, abort, has_request_context, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from dashapp import api, auth, downloads, health, security, views
from dashapp.cli import register_commands
from dashapp.config import load_config
from dashapp.context import fetch
from dashapp.errors import on_callback_error, register_error_handlers
from dashapp.extensions import db, db_session, migrate
from dashapp.permissions import can_export, may_open
from dashapp.security import csrf
from layouts.pages import nav_links, page_for
from layouts.shell import app_shell
from services.audit import record
from services.cache import ResultCache, backend_from_settings, source_fingerprint
from services.dimensions import category_options, platform_options
from services.request_stats import RequestStats

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
MIGRATIONS = ROOT / "migrations"
# Cached results and callback outputs belong to the code that computed them.
CODE_PACKAGES = ("services", "layouts", "callbacks", "dashapp", "models")
CODE_VERSION = source_fingerprint([ROOT / name for name in CODE_PACKAGES])
DASH_CATCH_ALL = "/<path:path>"  # the endpoint names Dash gives its index routes
DASH_INDEX = "/"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Flask app with config, extensions, auth, API, health check and Dash mounted."""
    app = Flask("dashapp", instance_path=str(ROOT / "instance"))
    app.config.update(load_config(app.instance_path, overrides))
    register_extensions(app)
    # The request hooks. Flask runs before-request hooks in the order they are registered,
    # after-request hooks in the reverse order. Before a request:
    #  1. its id and timer: first, so that every log line of the request carries the id;
    #  2. the cross-site rule: a forged callback is refused before any work is done for it;
    #  3. a bearer token sets the API caller's user before anything reads the session cookie
    #     (flask-login's "strong" protection would otherwise discard the login, token too);
    #  4. session timeouts: a stale session ends before the login rule counts it;
    #  5. the login rule: everything but the public routes needs a login;
    #  6. CSRF tokens of forms, after the login rule: an anonymous form post is sent to the
    #     login page rather than told about a missing token;
    #  7. Dash's own first-request setup (added when Dash is mounted);
    #  8. the page guard, after the login rule: an anonymous visitor is sent to log in
    #     rather than told that a page does not exist or is not theirs.
    # After a request: the security headers (they need Dash's script hashes, hence so late),
    # flask-login's remember-me cookie, and last the log line, with the final status.
    security.register_request_log(app)  # 1, and the log line after
    security.register_cross_site_rule(app)  # 2
    auth.register_token_auth(app)  # 3
    security.register_session_timeouts(app)  # 4
    auth.register_login(app)  # 5, and the remember-me cookie after
    security.register_csrf(app)  # 6
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    dash_app = register_dash(app)  # 7
    register_page_guard(app)  # 8
    security.register_security_headers(app, dash_app.csp_hashes())
    exempt_dash_from_form_csrf(app)
    trust_proxies(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address, scheme and host from
    the X-Forwarded-* headers they append (the login limits per address need the client's
    address). With none (the default), those headers are ignored: a client could forge them."""
    count = app.config["TRUSTED_PROXIES"]
    if count > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_blueprints(app: Flask) -> None:
    """The routes besides the login ones (`auth.register_login`) and Dash's."""
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(views.bp)  # saved views' permalinks, /v/<id>


def register_page_guard(app: Flask) -> None:
    """Before every request for a Dash page: 404 for an unknown path, 403 for a page the
    user's role may not open."""
    app.before_request(refuse_unknown_paths)


def exempt_dash_from_form_csrf(app: Flask) -> None:
    """Dash posts JSON, guarded by `refuse_cross_site_json`; form tokens are for forms."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_dash-"):
            csrf.exempt(app.view_functions[rule.endpoint])


def refuse_unknown_paths() -> None:
    """Dash answers every path with its index page; only real pages the user may open
    should get one (the role rule is also applied to every callback, by the services)."""
    if request.endpoint not in (DASH_CATCH_ALL, DASH_INDEX):
        return
    page = page_for(request.path)
    if page is None:
        abort(404)
    if current_user.is_authenticated and not may_open(current_user.role, page.roles):
        record(db_session(), "access_denied", current_user.id, request.remote_addr,
               what=request.path)
        db.session.commit()
        abort(403)


def use_write_ahead_log(connection: Any, _record: Any) -> None:
    """SQLite in WAL mode: readers (the web threads) and the one writer (an import, a model's
    training in its job process) no longer block each other; a database file keeps the mode."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def turn_off_jit(connection: Any, _record: Any) -> None:
    """A PostgreSQL session without JIT compilation (`POSTGRES_JIT`). Committed: the pool's
    rollback on every checkin would otherwise undo the setting."""
    cursor = connection.cursor()
    cursor.execute("SET jit = off")
    cursor.close()
    connection.commit()


def register_extensions(app: Flask) -> None:
    """Database, migrations."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    if url.startswith("sqlite:///"):
        with app.app_context():
            event.listen(db.engine, "connect", use_write_ahead_log)
    elif url.startswith("postgresql") and not app.config.get("POSTGRES_JIT"):
        with app.app_context():
            event.listen(db.engine, "connect", turn_off_jit)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    enabled = app.config["CACHE"] != "none"
    backend = backend_from_settings(app.config["REDIS_URL"] if enabled else None,
                                    app.config["CACHE_DIR"] if enabled else None,
                                    app.config["CACHE_TTL"],
                                    directory_bytes=app.config["CACHE_DIR_MAX_BYTES"])
    cache = ResultCache(backend, app.config["SQLALCHEMY_DATABASE_URI"],
                        code_version=CODE_VERSION)
    app.extensions["result_cache"] = cache
    app.extensions["request_stats"] = RequestStats(backend, f"{cache.namespace}:stats")


def serve_layout() -> html.Div:
    """The page frame for the logged-in user (filter options are limited to their scope)."""
    if not has_request_context() or not current_user.is_authenticated:
        return html.Div()  # never served: every Dash route requires a login
    platforms = fetch(platform_options)
    viewing_as = None
    if current_user.viewed_by:
        access = ", ".join(p["name"] for p in platforms) if current_user.scope.is_limited \
            else "all platforms"
        viewing_as = f"{current_user.email} ({current_user.role}; {access})"
    return app_shell(current_user.email, nav_links(current_user.role), platforms,
                     fetch(category_options), csrf_token=generate_csrf(),
                     can_export=can_export(), viewing_as=viewing_as)


# What Dash puts in every page's `_dash-config` for its debug-mode version check: the Python,
# Dash, Plotly and DDK versions. We never run its dev tools, and they tell an attacker which
# vulnerabilities to try.
VERSION_CONFIG_KEYS = ("python_version", "dash_version", "plotly_version", "ddk_version",
                       "dash_version_url")


class PulseboardDash(Dash):
    """Dash without the software versions in the page's `_dash-config`."""

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = super()._config()
        for key in VERSION_CONFIG_KEYS:
            config.pop(key, None)
        return config


def register_dash(app: Flask) -> Dash:
    """Mount the Dash app on the Flask server (`app.extensions["dash"]`) with its callbacks."""
    from callbacks import register_all  # imported here: callbacks import layouts and dash

    dash_app = PulseboardDash(
        __name__,
        server=app,  # type: ignore[arg-type]  # Dash documents a Flask app here; its hint omits it
        url_base_pathname="/",
        assets_folder=str(ASSETS),
        title="Pulseboard",
        update_title=None,  # type: ignore[arg-type]  # documented as allowed; its hint says str
        suppress_callback_exceptions=True,
        on_error=on_callback_error,
        serve_locally=True,
        external_stylesheets=[],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    dash_app.layout = serve_layout
    register_all(dash_app)
    app.extensions["dash"] = dash_app
    return dash_app



