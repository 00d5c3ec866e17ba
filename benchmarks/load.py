"""Load test of a Pulseboard on this machine's loopback: N simulated users log in (with the
login form's CSRF token), then each keeps changing filters with a think time between changes,
firing every callback of the page's refresh the way Chromium does (the view sync, then its
followers in parallel), with payloads recorded from a real headless Chromium. Then a
throughput run: a few clients repeating one cached callback with no think time.

    python -m benchmarks.load --url http://127.0.0.1:8000 --users 50 --duration 300 --think 2 8
    python -m benchmarks.load --database-url URL [--workers 2] ...   # starts gunicorn itself

Loopback only (any other address is refused), bounded in time and in requests: it stops by
itself. Reports requests/s, p50/p95/p99 latency and errors as Markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import (
    BROWSER_CONNECTIONS,
    CallResult,
    Recording,
    RefreshResult,
    ViewCase,
    backend_name,
    call,
    exit_cleanly_on_sigterm,
    gunicorn,
    http_poster,
    invalidate_cache,
    load_recordings,
    login,
    machine,
    make_app,
    median,
    percentile,
    prepare,
    record_refreshes,
    refresh,
    require_loopback,
    reset_postgres,
    store_of,
    use_private_cache,
    with_statement_timeout,
    write_section,
)
from layouts.shell import PLATFORM, PRODUCT

SECTION = "## Load test"
PAGES = ("/", "/sales", "/products")
RANGES = ("7d", "30d", "90d", "mtd", "qtd", "ytd", "12m", "all")
# How often users open each kind of page, and how often they set each filter.
PAGE_WEIGHTS = {"/": 4, "/sales": 2, "/products": 2, "drill-down": 1}
PLATFORM_SHARE, PRODUCT_SHARE, PRODUCT_CHOICES = 0.4, 0.25, 20
MAX_USERS, MAX_DURATION_S, MAX_REQUESTS = 1_000, 3_600, 2_000_000
P95_TARGET_MS, THROUGHPUT_TARGET = 500.0, 100.0


# --- what users choose from --------------------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    """The platforms and products simulated users pick filters from."""

    platforms: tuple[str, ...]
    products: tuple[str, ...]


def _find_options(node: Any, component_id: str) -> list[dict[str, Any]] | None:
    """The `options` of the component with that id somewhere in a Dash layout tree."""
    if isinstance(node, list):
        for child in node:
            found = _find_options(child, component_id)
            if found is not None:
                return found
    elif isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == component_id:
            return props.get("options") or []
        return _find_options(props.get("children"), component_id)
    return None


def discover_choices(session: requests.Session, base_url: str, overview: Recording) -> Choices:
    """Platforms from the filter bar the user is served, products from the product options
    the view sync returns: what a user could pick in the browser."""
    with session.get(base_url + "/_dash-layout", timeout=60) as response:
        response.raise_for_status()
        platforms = _find_options(response.json(), PLATFORM) or []
    sync = call(http_poster(session, base_url), overview.sync_for(ViewCase("start", "30d")))
    if sync.error:
        raise RuntimeError(f"the view sync failed: {sync.error}")
    options = json.loads(sync.body)["response"][PRODUCT]["options"]
    return Choices(tuple(option["value"] for option in platforms),
                   tuple(option["value"] for option in options[:PRODUCT_CHOICES]))


def random_view(rng: random.Random, choices: Choices,
                pages: Sequence[str]) -> tuple[str, ViewCase]:
    """A page and a view a user might switch to."""
    drillable = "/products" in pages and bool(choices.products)
    kinds = [kind for kind in PAGE_WEIGHTS
             if kind in pages or (kind == "drill-down" and drillable)]
    kind = rng.choices(kinds, weights=[PAGE_WEIGHTS[k] for k in kinds])[0]
    platforms = (rng.choice(choices.platforms),) \
        if choices.platforms and rng.random() < PLATFORM_SHARE else ()
    if kind == "drill-down":
        sku = rng.choice(choices.products)
        return "/products", ViewCase(kind, rng.choice(RANGES), platforms, page=(("sku", sku),))
    products = (rng.choice(choices.products),) \
        if choices.products and rng.random() < PRODUCT_SHARE else ()
    return kind, ViewCase("random", rng.choice(RANGES), platforms, products)


# --- statistics --------------------------------------------------------------------------------

@dataclass
class Tally:
    """Latencies and errors collected by every thread of a run."""

    request_ms: list[float] = field(default_factory=list)
    refresh_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_calls(self, calls: Sequence[CallResult]) -> None:
        """Count finished requests."""
        with self.lock:
            self.request_ms.extend(result.ms for result in calls)
            self.errors.update(f"{result.name}: {result.error}" for result in calls
                               if result.error)

    def add_refresh(self, result: RefreshResult) -> None:
        """Count a refresh and its requests."""
        self.add_calls(result.calls)
        with self.lock:
            self.refresh_ms.append(result.wall_ms)

    def add_error(self, message: str) -> None:
        """Count a failure outside a callback (a login)."""
        with self.lock:
            self.errors[message] += 1

    @property
    def requests(self) -> int:
        """Requests finished so far."""
        return len(self.request_ms)


@dataclass(frozen=True)
class RunResult:
    """One run's figures."""

    label: str
    seconds: float
    requests: int
    refreshes: int
    request_ms: tuple[float, ...]
    refresh_ms: tuple[float, ...]
    errors: dict[str, int]

    @property
    def per_second(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        """Failed requests and logins."""
        return sum(self.errors.values())

    @classmethod
    def of(cls, label: str, seconds: float, tally: Tally) -> RunResult:
        """Freeze a tally."""
        with tally.lock:
            return cls(label, seconds, tally.requests, len(tally.refresh_ms),
                       tuple(tally.request_ms), tuple(tally.refresh_ms), dict(tally.errors))


# --- the runs ----------------------------------------------------------------------------------

class Budget:
    """When to stop: a deadline and a ceiling on requests, whichever comes first."""

    def __init__(self, seconds: float, max_requests: int, tally: Tally) -> None:
        self.deadline = time.monotonic() + seconds
        self.max_requests = max_requests
        self.tally = tally
        self.stop = threading.Event()

    def left(self) -> bool:
        """Whether another request may start."""
        if time.monotonic() >= self.deadline or self.tally.requests >= self.max_requests:
            self.stop.set()
        return not self.stop.is_set()

    def pause(self, seconds: float) -> bool:
        """Think for `seconds`; False when the run ends meanwhile."""
        seconds = min(seconds, max(0.0, self.deadline - time.monotonic()))
        return not self.stop.wait(seconds) and self.left()


def simulate_user(number: int, base_url: str, recordings: dict[str, Recording],
                  choices: Choices, think: tuple[float, float], start_delay: float,
                  budget: Budget, timeout: float, seed: int) -> None:
    """One user: log in, then change the view and think, until the budget runs out."""
    rng = random.Random(seed * 10_007 + number)
    if not budget.pause(start_delay):
        return
    try:
        session = login(base_url)
    except (requests.RequestException, RuntimeError) as error:
        budget.tally.add_error(f"login: {error}")
        return
    with session, ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
        poster = http_poster(session, base_url, timeout)
        # A user who got in changes the view at least once, even when a slow login ate the
        # run's time (a short run on a loaded machine would otherwise measure nothing).
        while True:
            path, case = random_view(rng, choices, list(recordings))
            budget.tally.add_refresh(refresh(poster, recordings[path], case, pool))
            if not budget.pause(rng.uniform(*think)):
                break


def run_threads(threads: Sequence[threading.Thread], budget: Budget, timeout: float) -> float:
    """Start the threads, wait for them (at most a request timeout past the deadline) and
    return the seconds the run took."""
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.1, budget.deadline + timeout + 5 - time.monotonic()))
    budget.stop.set()  # any thread still waiting on a request exits after it
    return time.monotonic() - started


def run_users(base_url: str, recordings: dict[str, Recording], users: int, duration: float,
              think: tuple[float, float], timeout: float = 60, ramp: float = 10,
              seed: int = 1, max_requests: int = MAX_REQUESTS) -> RunResult:
    """N users changing filters with think time, for `duration` seconds."""
    with login(base_url) as session:
        choices = discover_choices(session, base_url, recordings["/"])
    tally = Tally()
    budget = Budget(duration, max_requests, tally)
    threads = [threading.Thread(
        target=simulate_user, daemon=True, name=f"user-{number}",
        args=(number, base_url, recordings, choices, think, ramp * number / users, budget,
              timeout, seed)) for number in range(users)]
    seconds = run_threads(threads, budget, timeout)
    label = f"{users} users, think {think[0]:g}–{think[1]:g} s, {duration:g} s"
    return RunResult.of(label, seconds, tally)


def cached_request(session: requests.Session, base_url: str,
                   overview: Recording) -> dict[str, Any]:
    """The Overview KPI callback of the default view (falls back to the first follower)."""
    sync = call(http_poster(session, base_url), overview.sync_for(ViewCase("default", "30d")))
    payloads = overview.followers_for(store_of(sync))
    return next((p for p in payloads if "kpi" in json.dumps(p["outputs"])), payloads[0])


def repeat_request(session: requests.Session, base_url: str, payload: dict[str, Any],
                   budget: Budget, timeout: float) -> None:
    """Send the same callback again and again until the budget runs out."""
    poster = http_poster(session, base_url, timeout)
    while budget.left():
        budget.tally.add_calls([call(poster, payload)])


def run_throughput(base_url: str, overview: Recording, clients: int, duration: float,
                   timeout: float = 60, max_requests: int = MAX_REQUESTS) -> RunResult:
    """Clients repeating one callback with no think time: after the first answer it is
    served from the results cache."""
    sessions = [login(base_url) for _ in range(clients)]
    try:
        payload = cached_request(sessions[0], base_url, overview)
        call(http_poster(sessions[0], base_url, timeout), payload)  # fill the cache
        tally = Tally()
        budget = Budget(duration, max_requests, tally)
        threads = [threading.Thread(target=repeat_request, daemon=True,
                                    args=(session, base_url, payload, budget, timeout))
                   for session in sessions]
        seconds = run_threads(threads, budget, timeout)
    finally:
        for session in sessions:
            session.close()
    return RunResult.of(f"cached throughput: {clients} clients repeating one callback",
                        seconds, tally)


# --- the report --------------------------------------------------------------------------------

def result_row(result: RunResult) -> str:
    """One Markdown table row."""
    requests_ms = result.request_ms
    refresh = f"{median(result.refresh_ms):,.0f} / {percentile(result.refresh_ms, 0.95):,.0f}" \
        if result.refresh_ms else "–"
    return (f"| {result.label} | {result.requests:,} | {result.per_second:,.1f} | "
            f"{median(requests_ms):,.0f} | {percentile(requests_ms, 0.95):,.0f} | "
            f"{percentile(requests_ms, 0.99):,.0f} | {refresh} | {result.error_count:,} |")


def report(setup: str, results: Sequence[RunResult], rss_mb: dict[str, float]) -> str:
    """The "## Load test" section of docs/performance.md."""
    out = [SECTION, "",
           "Measured by `python -m benchmarks.load` (`make load`). Simulated users log in "
           "through the login form, then each repeatedly opens a view (page: Overview 4 : "
           "Sales 2 : Products 2 : a product drill-down 1; one of 8 date presets; a platform "
           f"filter {PLATFORM_SHARE:.0%} and a product filter {PRODUCT_SHARE:.0%} of the time) "
           "by firing every callback of that refresh as Chromium does (the view sync, then "
           f"the followers over up to {BROWSER_CONNECTIONS} connections at once, payloads "
           "recorded from headless Chromium), then thinks. The load generator runs on the "
           "same machine and takes CPU from the server.", "",
           f"- Machine: {machine()}; other work may have run at the same time",
           f"- {setup}", "",
           "| run | requests | requests/s | p50 ms | p95 ms | p99 ms | "
           "refresh median / p95 ms | errors |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += [result_row(result) for result in results]
    out.append("")
    errors = Counter[str]()
    for result in results:
        errors.update(result.errors)
    if errors:
        out += ["Errors: " + "; ".join(f"{message} × {count}"
                                       for message, count in errors.most_common(5)) + ".", ""]
    if rss_mb:
        out += ["Peak RSS: " + ", ".join(f"{name} {mb:,.0f} MB"
                                         for name, mb in rss_mb.items()) + ".", ""]
    out += ["Targets:", ""] + target_lines(results, rss_mb) + [""]
    return "\n".join(out)


def target_lines(results: Sequence[RunResult], rss_mb: dict[str, float]) -> list[str]:
    """The issue's load targets, met or not."""
    lines = []
    for result in results:
        if result.refreshes:
            p95 = percentile(result.request_ms, 0.95)
            lines.append(_target(f"{result.label}: request p95 {p95:,.0f} ms",
                                 p95 <= P95_TARGET_MS, f"≤ {P95_TARGET_MS:.0f} ms"))
            lines.append(_target(f"{result.label}: {result.error_count:,} errors",
                                 result.error_count == 0, "none"))
        else:
            lines.append(_target(f"{result.label}: {result.per_second:,.1f} requests/s",
                                 result.per_second >= THROUGHPUT_TARGET,
                                 f"≥ {THROUGHPUT_TARGET:.0f}/s"))
    workers = [mb for name, mb in rss_mb.items() if name != "master"]
    if workers:
        lines.append(_target(f"peak worker RSS {max(workers):,.0f} MB", max(workers) < 300,
                             "< 300 MB"))
    return lines


def _target(what: str, met: bool, target: str) -> str:
    return f"- {what} (target {target}): **{'met' if met else 'missed'}**"


# --- command line ------------------------------------------------------------------------------

@contextmanager
def target_server(args: argparse.Namespace) -> Iterator[tuple[str, str, Any]]:
    """(URL, description, server or None): the given URL, or a gunicorn started here."""
    if args.url:
        yield require_loopback(args.url), f"Server: {args.url} (as started by you)", None
        return
    if args.lines:
        if args.database_url.startswith("postgresql"):
            reset_postgres(args.database_url)
        prepare(args.database_url, args.lines)
    invalidate_cache(make_app(args.database_url))  # start cold
    # A statement may run longer than a worker may answer: cancel it before the worker dies
    # and leaves it running on the database.
    database = with_statement_timeout(args.database_url, args.timeout / 2)
    with gunicorn(database, args.workers, args.threads, args.timeout) as server:
        cache = "Redis" if os.environ.get("REDIS_URL") else "a directory (filesystem)"
        if os.environ.get("PULSEBOARD_CACHE") == "none":
            cache = "none"
        timeout = f", statement timeout {args.timeout / 2:g} s" \
            if database != args.database_url else ""
        setup = (f"Server: gunicorn `-w {args.workers} --threads {args.threads} --timeout "
                 f"{args.timeout}` on {backend_name(args.database_url)}{timeout}"
                 f"{f' ({args.lines:,} demo lines)' if args.lines else ''}; results cache: "
                 f"{cache}")
        yield server.url, setup, server


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with its bounds checked."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running Pulseboard on loopback")
    where.add_argument("--database-url", help="start gunicorn on this (migrated) database")
    parser.add_argument("--lines", type=int, default=0,
                        help="with --database-url: empty it and load this many demo lines")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=60,
                        help="gunicorn's worker timeout and each request's, seconds")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 8.0),
                        metavar=("MIN", "MAX"))
    parser.add_argument("--ramp", type=float, default=10, help="seconds to start every user")
    parser.add_argument("--throughput-clients", type=int, default=8)
    parser.add_argument("--throughput-duration", type=float, default=60,
                        help="0 skips the cached throughput run")
    parser.add_argument("--recording", type=Path,
                        help="payloads saved by benchmarks.pages --save-recording "
                             "(default: record them now in headless Chromium)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, help="rewrite this section of that file")
    args = parser.parse_args(argv)
    if not 0 < args.users <= MAX_USERS or not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--users must be 1–{MAX_USERS} and --duration 1–{MAX_DURATION_S} s")
    if not 0 <= args.think[0] <= args.think[1]:
        parser.error("--think MIN MAX with 0 ≤ MIN ≤ MAX")
    if args.url:
        try:
            require_loopback(args.url)
        except ValueError as error:
            parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> str:
    """Run the load test (and the throughput run), print and return the report."""
    args = parse_arguments(argv)
    exit_cleanly_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="pulseboard-load-") as folder:
        if not os.environ.get("PULSEBOARD_CACHE_DIR"):
            use_private_cache(folder)  # only used by a server started here
        section = report(*run(args))
    print(section)
    if args.output:
        write_section(args.output, SECTION, section)
    return section


def run(args: argparse.Namespace) -> tuple[str, list[RunResult], dict[str, float]]:
    """Both runs against the chosen server: (setup, results, peak RSS of a server started
    here)."""
    with target_server(args) as (url, setup, server):
        recordings = (load_recordings(args.recording) if args.recording
                      else record_refreshes(url, list(PAGES)))
        print(f"load: {args.users} users for {args.duration:g} s against {url}",
              file=sys.stderr, flush=True)
        results = [run_users(url, recordings, args.users, args.duration, tuple(args.think),
                             args.timeout, args.ramp, args.seed)]
        if args.throughput_duration > 0:
            results.append(run_throughput(url, recordings["/"], args.throughput_clients,
                                          args.throughput_duration, args.timeout))
        rss = server.peak_rss_mb() if server is not None else {}
    return f"{setup}; users started over {args.ramp:g} s", results, rss


if __name__ == "__main__":
    main()
