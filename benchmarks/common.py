"""Helpers shared by the benchmarks and their smoke tests: the machine, demo data and the
benchmark user, gunicorn on loopback, logins, Dash callback requests recorded from a real
headless Chromium and replayed for other views, statistics and the sections of
docs/performance.md.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psutil
import requests
import sqlalchemy as sa

from layouts.panels import DUE_SUFFIX, GATE_SUFFIX
from layouts.shell import ERROR_ALERT, STORE
from layouts.shell import PLATFORM as PLATFORM_CONTROL
from layouts.shell import PRODUCT as PRODUCT_CONTROL
from layouts.shell import RANGE as RANGE_CONTROL

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "bench@example.com", "benchmark-password"
UPDATE_PATH = "/_dash-update-component"
BROWSER_CONNECTIONS = 6  # Chromium's connections per host: how many callbacks run at once
# Without these, Chromium keeps trying to reach Google's services on a closed network.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic", "--disable-extensions", "--disable-gpu",
                  "--window-size=1400,1000")
# Callbacks still queued or in flight in the Dash renderer (as dash.testing counts them).
PENDING_CALLBACKS_JS = """
const store = window.store && window.store.getState();
// Before hydration the renderer has a store but no layout yet, and nothing pending.
if (!store || store.appLifecycle !== "HYDRATED") { return -1; }
const callbacks = Object.assign({}, store.callbacks);
delete callbacks.stored; delete callbacks.completed;
return Object.values(callbacks).reduce((n, list) => n + list.length, 0);
"""


# --- the machine and the data ------------------------------------------------------------------

def machine() -> str:
    """One line describing where this ran."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.platform()}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores, {memory:.0f} GiB RAM")


def migrate_to_newest() -> None:
    """Upgrade the app's database to the newest migration (in an app context)."""
    from flask_migrate import upgrade

    upgrade(revision="heads")


def prepare(url: str, lines: int) -> float:
    """Migrate, load demo data and the benchmark user; returns the load time in seconds."""
    from dashapp.extensions import db
    from services.demo_data import generate_demo_data
    from services.maintenance import refresh_statistics
    from services.users import create_user

    app = make_app(url)
    with app.app_context():
        migrate_to_newest()
        started = time.perf_counter()
        generate_demo_data(db.session, lines=lines)
        create_user(db.session, EMAIL, PASSWORD, "admin")
        db.session.commit()
        refresh_statistics(db.session)
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.engine.dispose()
    invalidate_cache(app)  # a database made again under the same URL: older results are stale
    return elapsed


def loaded_lines(url: str) -> int | None:
    """How many order lines the database holds once migrated, with the benchmark user there;
    None for an empty or foreign database."""
    from dashapp.extensions import db
    from models import OrderLine, User

    app = make_app(url)
    with app.app_context():
        if not sa.inspect(db.engine).has_table(OrderLine.__tablename__):
            return None
        migrate_to_newest()
        has_user = db.session.scalar(sa.select(User.id).where(User.email == EMAIL))
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine))
        db.engine.dispose()
    return int(lines) if has_user else None


def reset_postgres(url: str) -> None:
    """Empty the benchmark database."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def with_statement_timeout(url: str, seconds: float) -> str:
    """The URL with a PostgreSQL statement timeout for every session (server and replay): one
    pathological query must not stall the benchmark for hours."""
    if not url.startswith("postgresql") or seconds <= 0:
        return url
    options = {"options": f"-c statement_timeout={int(seconds * 1000)}"}
    return sa.make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def make_app(url: str, **overrides: Any) -> Any:
    """The app in this process on `url`, with the same cache settings as a server started
    here (quiet: its request log would drown the report)."""
    from dashapp import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV": "test", "LOG_LEVEL": "WARNING",
                       **overrides})


def invalidate_cache(app: Any) -> None:
    """Empty the app's shared results cache, as an import does: the next refresh is cold.
    The data revision stays: stored models are still the data's (training is not part of a
    page refresh; the page benchmark trains each view's models before it measures)."""
    from dashapp.context import result_cache

    with app.app_context():
        result_cache().invalidate()


def use_private_cache(folder: str) -> None:
    """Keep this run's cached results out of instance/ (unless Redis is configured): every app
    and server started from here on inherits the setting."""
    if not os.environ.get("REDIS_URL"):
        os.environ["PULSEBOARD_CACHE_DIR"] = folder


def login_client(client: Any, email: str = EMAIL, password: str = PASSWORD) -> None:
    """Log a Flask test client in through the login form."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    response.close()
    if response.status_code != 302:
        raise RuntimeError(f"login as {email} failed: HTTP {response.status_code}")


def backend_name(url: str) -> str:
    """'SQLite' or 'PostgreSQL' for a database URL."""
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# --- loopback servers --------------------------------------------------------------------------

def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require_loopback(url: str) -> str:
    """`url` without a trailing slash, or ValueError when it is not on this machine's loopback.

    Load is only ever sent to our own server: names other than localhost are refused rather
    than resolved, so a DNS answer cannot redirect the traffic.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"{url!r} is not a loopback address (127.0.0.0/8, ::1, localhost)")
    return url.rstrip("/")


@dataclass
class Server:
    """A gunicorn started by `gunicorn()`: its URL, master process and log."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def workers(self) -> list[psutil.Process]:
        """The worker processes now alive."""
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak resident memory (MB) of the master and of each live worker so far."""
        peaks = {"master": peak_rss_mb(self.process.pid)}
        for number, worker in enumerate(self.workers(), start=1):
            peaks[f"worker {number}"] = peak_rss_mb(worker.pid)
        return peaks


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a process in MB (the kernel's high-water mark, VmHWM)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # not Linux, or gone: the current RSS is the best we have
        try:
            return psutil.Process(pid).memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def server_environment(database_url: str) -> dict[str, str]:
    """Environment of a production-mode server on loopback (plain HTTP, so cookies not
    marked Secure); a cache configured in our environment is passed on unchanged."""
    return {**os.environ, "DATABASE_URL": database_url, "PULSEBOARD_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48), "SESSION_COOKIE_SECURE": "0",
            "PYTHONUNBUFFERED": "1"}


@contextmanager
def gunicorn(database_url: str, workers: int = 2, threads: int = 1, timeout: int = 120,
             log_path: Path | None = None) -> Iterator[Server]:
    """`gunicorn -w N wsgi:app` on a free loopback port (migrate the database first)."""
    port = free_port()
    folder = None
    if log_path is None:
        folder = tempfile.TemporaryDirectory(prefix="pulseboard-gunicorn-")
        log_path = Path(folder.name) / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
               "--timeout", str(timeout), "--no-control-socket", "-b", f"127.0.0.1:{port}",
               "wsgi:app"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=server_environment(database_url),
                                   stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", process, log_path)
        try:
            wait_until_healthy(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if folder is not None:
                folder.cleanup()


def wait_until_healthy(server: Server, timeout: float = 60) -> None:
    """Block until /healthz answers 200; RuntimeError with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            with requests.get(server.url + "/healthz", timeout=2) as response:
                if response.status_code == 200:
                    return
        except requests.RequestException:  # refused, or accepted while workers boot
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not start:\n" + server.log_path.read_text()[-3000:])


# --- logins and callback requests --------------------------------------------------------------

def csrf_token(form_html: str) -> str:
    """The CSRF token of the login form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', form_html)
    if found is None:
        raise RuntimeError("the login form has no CSRF token")
    return found.group(1)


def login(base_url: str, email: str = EMAIL, password: str = PASSWORD,
          connections: int = BROWSER_CONNECTIONS) -> requests.Session:
    """A requests session logged in through the login form, as a browser does."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    with session.get(base_url + "/login", timeout=30) as form:
        token = csrf_token(form.text)
    with session.post(base_url + "/login", allow_redirects=False, timeout=30,
                      data={"email": email, "password": password, "csrf_token": token}) as done:
        if done.status_code != 302:
            session.close()
            raise RuntimeError(f"login as {email} failed: HTTP {done.status_code}")
    return session


@dataclass(frozen=True)
class CallResult:
    """One callback request: which callback, how long, and whether it failed."""

    name: str
    ms: float
    status: int
    error: str = ""
    body: bytes = field(default=b"", repr=False)


# A poster sends one callback payload and returns (HTTP status, response body).
Poster = Callable[[dict[str, Any]], tuple[int, bytes]]


def http_poster(session: requests.Session, base_url: str, timeout: float = 120) -> Poster:
    """Send callbacks over HTTP as the browser does: JSON with a same-origin Origin."""
    def post(payload: dict[str, Any]) -> tuple[int, bytes]:
        with session.post(base_url + UPDATE_PATH, json=payload, timeout=timeout,
                          headers={"Origin": base_url}) as response:
            return response.status_code, response.content
    return post


def call(poster: Poster, payload: dict[str, Any]) -> CallResult:
    """Send one callback, timing it; a failed request is a result with an error, not a raise."""
    name = callback_name(payload)
    started = time.perf_counter()
    try:
        status, body = poster(payload)
    except requests.RequestException as error:
        return CallResult(name, (time.perf_counter() - started) * 1000, 0, type(error).__name__)
    elapsed = (time.perf_counter() - started) * 1000
    return CallResult(name, elapsed, status, response_error(status, body), body)


def response_error(status: int, body: bytes) -> str:
    """Why a callback response is a failure ('' when it is not).

    204 is Dash's "nothing to update". A callback that raised still answers 200, with the
    app's error banner set: that counts as an error too.
    """
    if status == 204:
        return ""
    if status != 200:
        return f"HTTP {status}"
    if f'"{ERROR_ALERT}"'.encode() in body:
        return "callback error"
    return ""


def callback_name(payload: Mapping[str, Any]) -> str:
    """A short name of a callback: its first output, e.g. 'overview-trend.figure'."""
    first = payload["outputs"]
    while isinstance(first, list):
        first = first[0]
    component = first["id"]
    if isinstance(component, dict):
        component = component.get("chart") or component.get("type") or json.dumps(component)
    return f"{component}.{first['property']}"


# --- recorded refreshes ------------------------------------------------------------------------

@dataclass(frozen=True)
class ViewCase:
    """A view to refresh to: a range preset, filters and page-level choices."""

    name: str
    range: str
    platforms: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    page: tuple[tuple[str, str], ...] = ()  # e.g. (("sku", "FTW-0001"),): a drill-down

    def query(self) -> str:
        """The URL query string of the view (as the app writes it)."""
        pairs = [("range", self.range)]
        pairs += [("platform", slug) for slug in self.platforms]
        pairs += [("product", sku) for sku in self.products]
        return urlencode(pairs + list(self.page))


@dataclass(frozen=True)
class Recording:
    """What the browser sent for one filter change on one page: the view-sync callback, and
    every callback that fired after it (those reading the view-state store and any other)."""

    page: str
    sync: dict[str, Any]
    followers: tuple[dict[str, Any], ...]

    def sync_for(self, case: ViewCase) -> dict[str, Any]:
        """The view-sync payload of the user choosing `case.range` while on the case's URL."""
        payload = copy.deepcopy(self.sync)
        values = {("url", "search"): "?" + case.query(), (RANGE_CONTROL, "value"): case.range,
                  (PLATFORM_CONTROL, "value"): list(case.platforms),
                  (PRODUCT_CONTROL, "value"): list(case.products)}
        for item in _leaves(payload["inputs"]):
            key = (item["id"], item["property"]) if isinstance(item["id"], str) else None
            if key in values:
                item["value"] = values[key]
        payload["changedPropIds"] = [f"{RANGE_CONTROL}.value"]
        payload["parsedChangedPropsIds"] = [f"{RANGE_CONTROL}.value"]
        return payload

    def followers_for(self, store: Any) -> list[dict[str, Any]]:
        """The follower payloads with the new view-state value in place of the recorded one."""
        payloads = []
        for recorded in self.followers:
            payload = copy.deepcopy(recorded)
            for item in _leaves(payload["inputs"]) + _leaves(payload.get("state", [])):
                if _holds_view(item):
                    item["value"] = store
            payloads.append(payload)
        return payloads

    def as_dict(self) -> dict[str, Any]:
        """JSON form (see `load_recordings`)."""
        return {"page": self.page, "sync": self.sync, "followers": list(self.followers)}


def _holds_view(item: dict[str, Any]) -> bool:
    """Whether a callback input holds the view: the view-state store, a panel group's gate
    (which the browser fills with the store's value while the group is shown) or its due
    store (which the page's delivery fills when the group's answer is not cached)."""
    return item["property"] == "data" and isinstance(item["id"], str) and (
        item["id"] == STORE or item["id"].endswith((GATE_SUFFIX, DUE_SUFFIX)))


def prop_name(component_id: Any, prop: str) -> str:
    """'id.prop' as Dash writes it in a payload (a pattern id as compact, sorted JSON)."""
    if isinstance(component_id, dict):
        component_id = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return f"{component_id}.{prop}"


def declared_outputs(payload: dict[str, Any]) -> set[str]:
    """The 'id.prop' outputs a callback payload declares."""
    outputs = payload["outputs"]
    return {prop_name(item["id"], item["property"])
            for item in _leaves(outputs if isinstance(outputs, list) else [outputs])}


def updated_props(body: bytes) -> set[str]:
    """The 'id.prop' a callback response set (a 204 or no_update sets nothing)."""
    if not body:
        return set()
    response = json.loads(body).get("response", {})
    return {f"{component_id}.{prop}" for component_id, props in response.items()
            for prop in props}


def _triggers(payload: dict[str, Any]) -> set[str]:
    return set(payload.get("changedPropIds") or [])


def _fired(triggers: set[str], chained: set[str], updated: set[str]) -> bool:
    """Whether the browser sends a callback with these triggers: one fired by a component
    being drawn (no trigger) or by the browser itself always; one fired by callback outputs
    only when a response set one of them."""
    return not triggers or not triggers <= chained or bool(triggers & updated)


def _leaves(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Input or state entries, pattern-matching (ALL) lists flattened."""
    flat: list[dict[str, Any]] = []
    for item in items:
        flat.extend(_leaves(item) if isinstance(item, list) else [item])
    return flat


def save_recordings(path: Path, recordings: Mapping[str, Recording]) -> None:
    """Write recordings as JSON, for the load test to reuse."""
    path.write_text(json.dumps([r.as_dict() for r in recordings.values()], indent=1))


def load_recordings(path: Path) -> dict[str, Recording]:
    """Recordings written by `save_recordings`, by page path."""
    items = json.loads(path.read_text())
    return {item["page"]: Recording(item["page"], item["sync"], tuple(item["followers"]))
            for item in items}


def store_of(sync_result: CallResult) -> Any:
    """The new view-state value from a view-sync response."""
    if sync_result.error or sync_result.status != 200:
        return None
    return json.loads(sync_result.body)["response"][STORE]["data"]


@dataclass(frozen=True)
class RefreshResult:
    """A full refresh: every callback's result and the wall time until the last answered."""

    wall_ms: float
    calls: tuple[CallResult, ...]

    @property
    def server_ms(self) -> float:
        """Sum of the callbacks' times (their wall time when sent one after another)."""
        return sum(result.ms for result in self.calls)

    @property
    def errors(self) -> list[str]:
        """The failed callbacks, 'name: why'."""
        return [f"{result.name}: {result.error}" for result in self.calls if result.error]


def refresh(poster: Poster, recording: Recording, case: ViewCase,
            pool: ThreadPoolExecutor | None = None) -> RefreshResult:
    """Fire every callback a filter change fires: the view sync, then the callbacks that
    follow it, one after another or, given a pool, at once as the browser does."""
    started = time.perf_counter()
    sync = call(poster, recording.sync_for(case))
    store = store_of(sync)
    if store is None:  # nothing follows a failed sync in the browser either
        failed = sync if sync.error else replace(sync, error="no view in the response")
        return RefreshResult((time.perf_counter() - started) * 1000, (failed,))
    followers = follow(poster, recording, recording.followers_for(store), sync, pool)
    return RefreshResult((time.perf_counter() - started) * 1000, (sync, *followers))


def follow(poster: Poster, recording: Recording, payloads: Sequence[dict[str, Any]],
           sync: CallResult, pool: ThreadPoolExecutor | None = None) -> list[CallResult]:
    """Send the followers as the browser would: a callback fired by another callback's
    output (a panel group by the page's delivery) only when that output was set this time
    (a cached group's is not), in waves; the others at once."""
    chained = set().union(*(declared_outputs(p) for p in (recording.sync, *recording.followers)))
    updated = updated_props(sync.body)
    waiting = list(payloads)
    results: list[CallResult] = []
    while waiting:
        ready = [p for p in waiting if _fired(_triggers(p), chained, updated)]
        if not ready:
            break  # what is left was not fired this time
        waiting = [p for p in waiting if not any(p is r for r in ready)]
        if pool is None:
            answered = [call(poster, payload) for payload in ready]
        else:
            answered = list(pool.map(lambda payload: call(poster, payload), ready))
        for result in answered:
            updated |= updated_props(result.body) if result.status == 200 else set()
        results += answered
    return results


# --- recording in Chromium ---------------------------------------------------------------------

@contextmanager
def chromium(performance_log: bool = True) -> Iterator[Any]:
    """A headless Chromium (selenium) that logs its network events."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options)
    try:
        yield driver
    finally:
        driver.quit()


def browser_login(driver: Any, base_url: str, email: str = EMAIL, password: str = PASSWORD,
                  timeout: float = 30) -> None:
    """Log the browser in through the login form (the app binds a session to the browser
    that made it, so a cookie from another client would not do)."""
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/login")
    driver.find_element(By.NAME, "email").send_keys(email)
    field = driver.find_element(By.NAME, "password")
    field.send_keys(password)
    field.submit()
    deadline = time.monotonic() + timeout
    while "/login" in driver.current_url:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the browser could not log in as {email}")
        time.sleep(0.05)


def wait_for_callbacks(driver: Any, timeout: float, settle: float = 0.3) -> None:
    """Block until the Dash renderer has no callback pending (for `settle` seconds)."""
    deadline = time.monotonic() + timeout
    idle_since, pending = None, -1
    while time.monotonic() < deadline:
        pending = driver.execute_script(PENDING_CALLBACKS_JS)
        if pending == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return
        else:
            idle_since = None
        time.sleep(0.05)
    what = "no Dash page drawn" if pending < 0 else f"{pending} callbacks still pending"
    raise TimeoutError(f"{what} after {timeout:.0f} s at {driver.current_url}")


def callback_posts(driver: Any) -> list[dict[str, Any]]:
    """Bodies of the callback requests logged since the last call (drains the log)."""
    bodies = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        sent = message["params"]["request"]
        # Dash 4 adds a query (?endId=…) to each request; the server does not need it.
        if urlsplit(sent["url"]).path.endswith(UPDATE_PATH) and sent.get("postData"):
            bodies.append(json.loads(sent["postData"]))
    return bodies


def choose_range(driver: Any, label: str) -> None:
    """Pick a preset in the Date range dropdown (Dash 4: a button and option items)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, RANGE_CONTROL).click()
    for option in driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"):
        if option.text.strip() == label:
            option.click()
            return
    raise RuntimeError(f"no date range option {label!r}")


def record_page(driver: Any, base_url: str, path: str, timeout: float = 300) -> Recording:
    """Open a page (a path, with page choices after a `?`), change the date range like a
    user, and record the callbacks it fires."""
    page, _, choices = path.partition("?")
    driver.get(f"{base_url}{page}?{choices + '&' if choices else ''}range=30d")
    wait_for_callbacks(driver, timeout)
    callback_posts(driver)  # drop the page load's requests
    choose_range(driver, "Last 7 days")
    wait_for_callbacks(driver, timeout)
    posts = callback_posts(driver)
    # The view sync is the callback the range change triggered; another that may write the
    # store fires with no trigger when its buttons are drawn again (the payouts' status
    # buttons): a request of the refresh like any other.
    syncs = [p for p in posts if f"{STORE}.data" in p["output"] and p.get("changedPropIds")]
    if len(syncs) != 1:
        triggers = "; ".join(", ".join(p.get("changedPropIds") or []) for p in syncs)
        raise RuntimeError(f"{path}: expected one view-sync request, recorded {len(syncs)} "
                           f"(triggered by {triggers})")
    followers = tuple(p for p in posts if p is not syncs[0])
    if not any(_holds_view(item) for p in followers for item in _leaves(p["inputs"])):
        raise RuntimeError(f"{path}: no callback followed the view change")
    # A group answered from the cache sends no request: the recording would lack it.
    due = {name for p in followers for name in declared_outputs(p)
           if name.endswith(f"{DUE_SUFFIX}.data")}
    fired = set().union(*(_triggers(p) for p in followers))
    if due - fired:
        raise RuntimeError(f"{path}: recorded while cached (no request for "
                           f"{', '.join(sorted(due - fired))}); clear the cache first")
    return Recording(path, syncs[0], followers)


def record_refreshes(base_url: str, pages: Sequence[str],
                     timeout: float = 300) -> dict[str, Recording]:
    """Record one filter change per page in headless Chromium, logged in as the bench user."""
    with chromium() as driver:
        browser_login(driver, base_url)
        return {path: record_page(driver, base_url, path, timeout) for path in pages}


# --- statistics and reports --------------------------------------------------------------------

def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0–1) by linear interpolation; NaN for no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: Sequence[float]) -> float:
    """The median; NaN for no samples."""
    return statistics.median(samples) if samples else float("nan")


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so servers started here are stopped on the way out."""
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(143))


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace (or append) the section under `heading` (e.g. '## Imports') of a Markdown file,
    leaving the rest alone."""
    text = path.read_text() if path.exists() else "# Performance\n"
    start = text.find(f"\n{heading}\n")
    if start < 0:
        path.write_text(text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n")
        return
    end = text.find("\n## ", start + len(heading) + 2)
    rest = text[end:] if end >= 0 else "\n"
    path.write_text(text[:start + 1] + section.rstrip("\n") + "\n" + rest)
