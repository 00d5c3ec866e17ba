"""A PDF of any view, as one user sees it: headless Chromium prints the page.

`render_view_pdf(server, user_id, "/sales?range=90d", "A4")` serves `server` on a private
loopback port in this process, starts one Chromium for this one PDF, signs it in as the user
with a one-time token (signed with the app's SECRET_KEY, valid for a minute, usable once and
only in this process), opens the page, waits for the page's print mode (`assets/pdf.js`) to
report every panel drawn, adds the header and prints. The page is the one the user would get:
their role decides the pages, their platform limit every number. Why Chromium and not charts
exported one by one into a PDF library: see docs/sharing.md.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
import shutil
import threading
import time
from base64 import b64decode
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Request,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from dashapp.auth import SessionUser, safe_next
from dashapp.context import business, current_scope, fetch
from dashapp.extensions import db, db_session, login_manager
from dashapp.filters import View, page_choices
from dashapp.model_jobs import train_for_view
from dashapp.security import start_session_clock
from dashapp.views import checked_view
from layouts.pages import Page, page_for
from layouts.shell import format_moment
from models import User
from services import signing
from services.audit import record
from services.dimensions import platform_options, product_options
from services.filters import COMPARES, CUSTOM, GRAINS, PRESETS, Filters, Period, format_range

# Paper sizes in centimetres (what the WebDriver print command takes), portrait.
PAPERS: dict[str, tuple[float, float]] = {"A4": (21.0, 29.7), "Letter": (21.59, 27.94)}
MARGIN_CM = 1.0
# The page is laid out at this width (the desktop layout, charts side by side) and printed
# scaled down to the paper's printable width.
VIEWPORT = (1100, 1400)
CM_PER_CSS_PX = 2.54 / 96
TOKEN_SALT = "pulseboard-pdf-sign-in"
JOB_SALT = "pulseboard-pdf-job"
JOB_MAX_AGE = 600  # seconds between the click and the background job picking it up
TOKEN_MAX_AGE = 60  # seconds between signing the token and Chromium using it
DEFAULT_TIMEOUT = 90  # seconds for one PDF (PDF_TIMEOUT_SECONDS); a forecast page fits models
QUIET_SECONDS = 1.0  # the page must stay drawn, with no callback running, this long
SIGN_IN_ROUTE = "/pdf-sign-in"  # under the API's prefix (the API registers this blueprint)

bp = Blueprint("pdf", __name__)
# Nonces of the tokens signed in this process and not used yet, with when they expire.
_pending: dict[str, float] = {}
_pending_lock = threading.Lock()


class PdfError(RuntimeError):
    """A PDF could not be made (no Chromium, a timeout, a page that did not draw)."""


class PdfRefused(PdfError):
    """The user may not have this PDF: an unknown page, one their role may not open, or an
    inactive user."""


@dataclass(frozen=True)
class Header:
    """What the PDF's header says about the view, in words."""

    business: str
    page: str
    filters: tuple[str, ...]
    dates: str
    last_data: str
    generated: str
    url: str

    def as_dict(self) -> dict[str, Any]:
        """The header as the page's print mode takes it (`pulseboardPdf.prepare`)."""
        return {"business": self.business, "page": self.page, "filters": list(self.filters),
                "dates": self.dates, "lastData": self.last_data,
                "generated": self.generated, "url": self.url}


def render_view_pdf(server: Flask, user_id: int, path_and_query: str, paper: str = "A4") -> bytes:
    """The PDF of the page at `path_and_query` as the user `user_id` sees it (A4 or Letter)."""
    return render_pdf(server, user_id, path_and_query, paper)


def render_pdf(server: Flask, user_id: int, path_and_query: str, paper: str = "A4",
               progress: Callable[[str, float], None] | None = None,
               base_url: str | None = None) -> bytes:
    """`render_view_pdf`, telling `progress(text, fraction)` how far it got; the header's
    link starts with PUBLIC_URL, else `base_url` (the address the request reached)."""
    step = progress or (lambda _text, _fraction: None)
    if paper not in PAPERS:
        raise PdfRefused(f"Unknown paper size {paper!r}: choose {' or '.join(PAPERS)}.")
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        raise PdfError("PDFs need Chromium and its driver on the server "
                       "(apt-get install chromium chromium-driver).")
    step("Reading the view", 0.05)
    header = view_header(server, user_id, path_and_query, base_url)
    # The page would show "training…" in a model's panel and redraw later: a PDF cannot.
    step("Training the view's models", 0.1)
    train_for_view(server, user_id, path_and_query)
    timeout = float(server.config.get("PDF_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT)
    deadline = time.monotonic() + timeout
    with serving(server) as base, chromium() as driver:
        step("Signing in", 0.15)
        driver.set_page_load_timeout(timeout)
        driver.set_script_timeout(timeout)
        driver.get(base + sign_in_url(server, sign_token(server, user_id, path_and_query)))
        step("Drawing the panels", 0.3)
        wait_until_drawn(driver, deadline)
        step("Printing", 0.85)
        driver.execute_script("window.pulseboardPdf.prepare(arguments[0])", header.as_dict())
        pdf = b64decode(driver.print_page(print_options(paper)))
    step("Done", 1.0)
    return pdf


def view_header(server: Flask, user_id: int, path_and_query: str,
                base_url: str | None = None) -> Header:
    """The header of the view, computed in the user's own scope (refuses what the page would:
    an unknown page, a page the role may not open, an inactive user)."""
    parts = urlsplit(path_and_query)
    page = page_for(parts.path)
    if page is None or parts.scheme or parts.netloc:
        raise PdfRefused(f"There is no page at {parts.path or path_and_query!r}.")
    # A fresh app context: g (and the user flask-login keeps in it) is this render's own, even
    # when a request of the same app asks for the PDF.
    with server.app_context(), server.test_request_context(path_and_query):
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            raise PdfRefused("That user does not exist or is not active.")
        if not page.allows(user.role):
            raise PdfRefused(f"The {page.title} page is not available to a {user.role}.")
        login_user(SessionUser.of(user))
        view, period = checked_view(parts.query, page.params, page.span)
        settings = business()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return Header(
            business=settings.name, page=page.title,
            filters=tuple(filters_in_words(view, page, period)),
            dates=period.label or format_range(period.start, period.end),
            last_data=format_range(period.last_data, period.last_data)
            if period.last_data else "no sales data yet",
            generated=f"{format_moment(now, settings.timezone)} "
                      f"({ZoneInfo(settings.timezone).key})",
            url=public_url(server, path_and_query, base_url))


def public_url(server: Flask, path_and_query: str, base_url: str | None = None) -> str:
    """The view's address for people: PUBLIC_URL (the app's address as people reach it),
    else `base_url` (the request's), plus the path; the path alone when neither is known."""
    base = str(server.config.get("PUBLIC_URL") or os.environ.get("PUBLIC_URL") or base_url
               or "").rstrip("/")
    return base + path_and_query


def filters_in_words(view: View, page: Page, period: Period) -> list[str]:
    """Every filter of the view as a line a reader understands: 'Platforms: Instagram'."""
    filters = view.filters
    lines = [f"Date range: {PRESETS.get(filters.range, 'Custom dates')}"]
    if filters.asof:
        lines.append(f"As of: {format_range(filters.asof, filters.asof)}")
    lines += _named_lines(filters)
    for name in ("country", "state"):
        if getattr(filters, name):
            lines.append(f"{name.capitalize()}: {getattr(filters, name)}")
    lines.append(f"Granularity: {GRAINS[filters.grain]}")
    lines.append(f"Compared with: {_comparison(filters, period)}")
    choices = page_choices(view, page.params)
    lines += [f"{name.capitalize()}: {value}" for name, value in choices.items()
              if value and name not in ("country", "state")]
    return lines


def _named_lines(filters: Filters) -> list[str]:
    """Platforms, categories and products by name ('all' when none is chosen)."""
    platform_names = {option["slug"]: option["name"] for option in fetch(platform_options)}
    product_names = {option["sku"]: option["name"]
                     for option in fetch(product_options, "", filters.products)} \
        if filters.products else {}
    platforms = [platform_names.get(slug, slug) for slug in filters.platforms]
    if not platforms and current_scope().is_limited:  # "all" would overstate what they see
        platforms = [f"{', '.join(platform_names.values())} (every platform this user sees)"]
    products = [f"{sku} · {product_names[sku]}" if sku in product_names else sku
                for sku in filters.products]
    return [f"Platforms: {_listed(platforms, 'all platforms')}",
            f"Categories: {_listed(filters.categories, 'all categories')}",
            f"Products: {_listed(products, 'all products')}"]


def _listed(values: Sequence[str], none: str) -> str:
    return ", ".join(values) if values else none


def _comparison(filters: Filters, period: Period) -> str:
    if filters.compare == "none":
        return "nothing"
    name = "custom dates" if filters.compare == CUSTOM else COMPARES[filters.compare].lower()
    if period.compare_start and period.compare_end:
        return f"{name} ({format_range(period.compare_start, period.compare_end)})"
    return f"{name} (not available for these dates)"


# --- The signed job of the app's PDF dialog ----------------------------------------------

@dataclass(frozen=True)
class PdfJob:
    """What the dialog's background job makes: whose PDF, of which view, on which paper."""

    user_id: int
    path_and_query: str
    paper: str = "A4"
    base_url: str | None = None


def sign_job(server: Flask, job: PdfJob) -> str:
    """The job as a ticket signed with the app's secret key (the job has no request)."""
    return signing.sign(server.config["SECRET_KEY"], JOB_SALT, dataclasses.asdict(job))


def read_job(server: Flask, ticket: str) -> PdfJob | None:
    """The job of a ticket; None for a forged one or one past JOB_MAX_AGE."""
    payload = signing.read(server.config["SECRET_KEY"], JOB_SALT, ticket, JOB_MAX_AGE)
    try:
        return None if payload is None else PdfJob(**payload)
    except TypeError:  # signed by another version of PdfJob
        return None


# --- The one-time sign-in ----------------------------------------------------------------

def sign_token(server: Flask, user_id: int, next_url: str) -> str:
    """A token that signs Chromium in as `user_id` once, within TOKEN_MAX_AGE, in this
    process only (its nonce is remembered here until it is used)."""
    nonce = secrets.token_urlsafe(16)
    now = time.monotonic()
    with _pending_lock:
        for stale in [key for key, expires in _pending.items() if expires < now]:
            del _pending[stale]  # never used (Chromium failed before signing in)
        _pending[nonce] = now + TOKEN_MAX_AGE
    return signing.sign(server.config["SECRET_KEY"], TOKEN_SALT,
                        {"user": user_id, "next": next_url, "nonce": nonce})


def sign_in_url(server: Flask, token: str) -> str:
    """The path (and query) of the sign-in route for `token`."""
    with server.test_request_context():
        return url_for(_sign_in_endpoint(server), token=token)


def _sign_in_endpoint(server: Flask) -> str:
    return next(name for name, view in server.view_functions.items() if view is sign_in)


def read_token(server: Flask, token: str) -> tuple[int, str] | None:
    """(user id, where to go) of a valid token, which is used up; None for a forged, late,
    used or foreign token."""
    payload = signing.read(server.config["SECRET_KEY"], TOKEN_SALT, token, TOKEN_MAX_AGE)
    if not isinstance(payload, dict):
        return None
    with _pending_lock:
        if _pending.pop(str(payload.get("nonce")), None) is None:
            return None
    return int(payload["user"]), str(payload["next"])


def _token_user(req: Request) -> SessionUser | None:
    """flask-login's request loader: the sign-in route's token is its login (every other
    request is the session's)."""
    if req.endpoint is None or current_app.view_functions.get(req.endpoint) is not sign_in:
        return None
    found = read_token(current_app, req.args.get("token", ""))
    user = db.session.get(User, found[0]) if found else None
    if found is None or user is None or not user.active:
        return None
    g.pdf_next = found[1]
    return SessionUser.of(user)


@bp.record_once
def _accept_tokens(_state: Any) -> None:
    login_manager.request_loader(_token_user)


@bp.get(SIGN_IN_ROUTE)
def sign_in() -> Response:
    """Chromium's way in: the token's user gets a session, then the page (audited)."""
    if "pdf_next" not in g:  # set by `_token_user` only for a good token
        return Response("This PDF link has expired or was already used.", status=403)
    target = safe_next(g.pdf_next)
    record(db_session(), "pdf_rendered", current_user.id, request.remote_addr, what=target)
    db.session.commit()
    session.clear()
    login_user(current_user._get_current_object())
    start_session_clock()
    return redirect(target)


# --- The local server and the browser ----------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    """No line per request: a PDF makes dozens, and the app logs its own."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@contextmanager
def serving(server: Flask) -> Iterator[str]:
    """`server` on a free loopback port in a thread of this process, for as long as the
    block runs; yields its base URL."""
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, server, threaded=True,
                                        request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="pdf-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic", "--disable-extensions",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--force-color-profile=srgb",
                  f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}")


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium (through chromedriver) for one PDF, always closed."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options)
    except WebDriverException as error:
        raise PdfError(f"Chromium did not start: {error.msg}") from error
    try:
        yield driver
    except WebDriverException as error:
        raise PdfError(f"Chromium failed while printing the page: {error.msg}") from error
    finally:
        driver.quit()


def wait_until_drawn(driver: Any, deadline: float) -> None:
    """Wait for the page's print mode to see every panel drawn and no callback running for
    QUIET_SECONDS (the DOM marker `data-pdf-drawn` on <html>)."""
    quiet_ms = int(QUIET_SECONDS * 1000)
    state: Any = "loading"
    while time.monotonic() < deadline:
        state = driver.execute_script(
            "return window.pulseboardPdf ? window.pulseboardPdf.ready(arguments[0]) : 'loading'",
            quiet_ms)
        if state == "ready":
            return
        if isinstance(state, str) and state.startswith("error:"):
            raise PdfError(f"The page did not draw: {state.removeprefix('error:').strip()}")
        time.sleep(0.2)
    raise PdfError(f"The page did not finish drawing in time (PDF_TIMEOUT_SECONDS): {state}.")


def print_options(paper: str) -> Any:
    """Portrait paper with backgrounds, scaled so the page's width fits between margins."""
    from selenium.webdriver.common.print_page_options import PrintOptions

    width, height = PAPERS[paper]
    options = PrintOptions()
    options.page_width, options.page_height = width, height
    options.margin_top = options.margin_bottom = MARGIN_CM
    options.margin_left = options.margin_right = MARGIN_CM
    options.background = True
    options.scale = round((width - 2 * MARGIN_CM) / (VIEWPORT[0] * CM_PER_CSS_PX), 3)
    return options


def file_name(page_title: str, today: dt.date | None = None) -> str:
    """'pulseboard-sales-2026-12-01.pdf'."""
    slug = "-".join(page_title.lower().split())
    return f"pulseboard-{slug}-{(today or dt.date.today()).isoformat()}.pdf"
