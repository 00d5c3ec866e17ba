"""The application factory: a list of register_* steps, nothing at import time."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dash import Dash, html
from flask import Flask, abort, has_request_context, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from callbacks.exports import can_export
from dashapp import api, auth, health
from dashapp.cli import register_commands
from dashapp.config import load_config
from dashapp.context import fetch
from dashapp.errors import on_callback_error, register_error_handlers
from dashapp.extensions import db, migrate
from dashapp.security import add_security_headers, csrf, init_security, init_session_rules
from layouts.pages import nav_links, page_for
from layouts.shell import app_shell
from services.audit import record
from services.cache import ResultCache, backend_from_settings
from services.dimensions import category_options, platform_options
from services.request_stats import RequestStats

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
MIGRATIONS = ROOT / "migrations"
DASH_CATCH_ALL = "/<path:path>"  # the endpoint names Dash gives its index routes
DASH_INDEX = "/"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Flask app with config, extensions, auth, API, health check and Dash mounted."""
    app = Flask("dashapp", instance_path=str(ROOT / "instance"))
    app.config.update(load_config(app.instance_path, overrides))
    register_extensions(app)
    init_security(app)
    auth.init_token_auth(app)
    init_session_rules(app)
    auth.init_auth(app)
    csrf.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    register_error_handlers(app)
    register_commands(app)
    dash_app = mount_dash(app)
    app.extensions["dash"] = dash_app
    app.before_request(refuse_unknown_paths)
    add_security_headers(app, dash_app.csp_hashes())
    exempt_dash_from_form_csrf(app)
    return app


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
    if current_user.is_authenticated and not page.allows(current_user.role):
        record(db.session, "access_denied", current_user.id, request.remote_addr,
               what=request.path)
        db.session.commit()
        abort(403)


def register_extensions(app: Flask) -> None:
    """Database, migrations."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    enabled = app.config["CACHE"] != "none"
    backend = backend_from_settings(app.config["REDIS_URL"] if enabled else None,
                                    app.config["CACHE_DIR"] if enabled else None,
                                    app.config["CACHE_TTL"])
    cache = ResultCache(backend, app.config["SQLALCHEMY_DATABASE_URI"])
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


def mount_dash(app: Flask) -> Dash:
    """Create the Dash app on the Flask server and register its callbacks."""
    from callbacks import register_all  # imported here: callbacks import layouts and dash

    dash_app = Dash(
        __name__,
        server=app,
        url_base_pathname="/",
        assets_folder=str(ASSETS),
        title="Pulseboard",
        update_title=None,
        suppress_callback_exceptions=True,
        on_error=on_callback_error,
        serve_locally=True,
        external_stylesheets=[],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    dash_app.layout = serve_layout
    register_all(dash_app)
    return dash_app



