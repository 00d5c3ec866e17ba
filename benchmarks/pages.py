"""Page refresh benchmark: demo data of a given size into SQLite (and PostgreSQL with
--postgres), a real gunicorn on loopback, and for the Overview, Sales and Products pages (and
a product drill-down) the time of the FULL refresh a filter change triggers: every callback
that fires, POSTed to /_dash-update-component with the payloads a headless Chromium sent
(recorded once per page, replayed with the view changed), cold (results cache emptied first)
and cached (the same refresh again). Next to each, the bare SQL of the same numbers: the
statements the services ran for that refresh, captured in this process and replayed on a raw
database connection. Also the peak RSS of the server processes and the time Chromium takes to
draw the Overview.

    python -m benchmarks.pages [--lines 1000000] [--postgres URL] [--repeat 5]
                               [--output docs/performance.md] [--save-recording FILE]

Medians are reported (these machines are shared and noisy), with p95 over the samples.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from benchmarks.common import (
    EMAIL,
    PENDING_CALLBACKS_JS,
    Poster,
    Recording,
    RefreshResult,
    Server,
    ViewCase,
    backend_name,
    browser_login,
    call,
    chromium,
    exit_cleanly_on_sigterm,
    gunicorn,
    http_poster,
    invalidate_cache,
    loaded_lines,
    login,
    login_client,
    machine,
    make_app,
    median,
    percentile,
    prepare,
    record_refreshes,
    refresh,
    reset_postgres,
    save_recordings,
    store_of,
    use_private_cache,
    wait_for_callbacks,
    with_statement_timeout,
    write_section,
)

SECTION = "## Page refresh"
PAGES = {"/": "Overview", "/sales": "Sales", "/products": "Products", "/customers": "Customers",
         "/marketing": "Marketing", "/forecasts": "Forecasts", "/funnel": "Funnel",
         "/pipeline": "Pipeline"}
DRILL_DOWN = "Products drill-down"
MARKETING_TABS = ("influencers", "payouts", "attribution")  # besides the default, posts
PLATFORM, PRODUCT = "online-store", "FTW-0001"  # a large platform, a product of every size
RANGES = (("30d", "last 30 days"), ("12m", "last 12 months"), ("all", "all time"))
RENDER_RANGES = (("30d", "last 30 days"), ("all", "all time"))
BREAKDOWN_CASE = "all time"  # the case whose callbacks are listed one by one
# Every Overview graph holds data or an "empty" message: the page is fully drawn.
OVERVIEW_DRAWN_JS = """
const graphs = Array.from(document.querySelectorAll('.js-plotly-plot'));
const drawn = graphs.filter(g => g._fullLayout && g.querySelector('.main-svg') &&
    ((g.data || []).length > 0 || ((g.layout || {}).annotations || []).length > 0));
return [graphs.length, drawn.length, performance.now()];
"""
OVERVIEW_GRAPHS = 10  # trend, platforms, categories, products and six KPI sparklines
TARGETS = {"PostgreSQL": 300.0, "SQLite": 1000.0}
CACHED_TARGET_MS, OVERHEAD_TARGET, RSS_TARGET_MB, RENDER_TARGET_S = 30.0, 1.5, 300.0, 2.0


@dataclass(frozen=True)
class PageCase:
    """One row of the benchmark: a page (as recorded) and the view it refreshes to."""

    title: str
    path: str
    case: ViewCase

    @property
    def recorded(self) -> str:
        """The page as recorded: its path with the case's page choices (a tab, a drilled
        product), since those decide which of its panels' callbacks the browser sends."""
        return f"{self.path}?{urlencode(self.case.page)}" if self.case.page else self.path


def page_cases(one_per_page: bool = False,
               pages: Sequence[str] = tuple(PAGES)) -> list[PageCase]:
    """Every page × range × filter combination of `pages` (or one case per page, for smoke
    tests), with the product drill-down and the other Marketing tabs."""
    cases = []
    for path in pages:
        title = PAGES[path]
        for key, label in RANGES:
            cases += [PageCase(title, path, ViewCase(label, key)),
                      PageCase(title, path, ViewCase(f"{label}, one platform", key, (PLATFORM,))),
                      PageCase(title, path, ViewCase(f"{label}, one product", key, (),
                                                     (PRODUCT,)))]
    for key, label in RANGES if "/products" in pages else ():
        cases.append(PageCase(DRILL_DOWN, "/products",
                              ViewCase(label, key, page=(("sku", PRODUCT),))))
    for tab in MARKETING_TABS if "/marketing" in pages else ():
        cases.append(PageCase(f"Marketing · {tab}", "/marketing",
                              ViewCase("last 12 months", "12m", page=(("tab", tab),))))
    if one_per_page:
        first: dict[str, PageCase] = {}
        for case in cases:
            first.setdefault(case.title, case)
        cases = list(first.values())
    return cases


# --- the bare SQL ------------------------------------------------------------------------------

Statement = tuple[str, Any]


class StatementLog:
    """Records the SQL the services run (inside `dashapp.context.fetch`) while active; the
    login and session queries every request makes are server overhead, not the numbers."""

    def __init__(self, engine: sa.Engine) -> None:
        import dashapp.context

        self._fetch_code = dashapp.context.fetch.__code__
        self.engine = engine
        self.statements: list[Statement] = []
        self.active = False
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _connection: Any, _cursor: Any, statement: str, parameters: Any,
                _context: Any, _executemany: bool) -> None:
        if self.active and self._inside_fetch():
            self.statements.append((statement, parameters))

    def _inside_fetch(self) -> bool:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code is self._fetch_code:
                return True
            frame = frame.f_back
        return False

    @contextmanager
    def recording(self) -> Iterator[list[Statement]]:
        """Collect the statements run inside the block."""
        self.statements, self.active = [], True
        try:
            yield self.statements
        finally:
            self.active = False

    def close(self) -> None:
        """Stop listening."""
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


def replay_ms(engine: sa.Engine, statements: Sequence[Statement]) -> float:
    """Milliseconds to run the statements on a raw DBAPI connection and fetch every row."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return elapsed


class InProcessApp:
    """The app in this process, on the server's database and cache: it empties the shared
    cache before cold refreshes and captures the SQL a refresh runs."""

    def __init__(self, url: str) -> None:
        from dashapp.extensions import db

        self.app = make_app(url)
        self.client = self.app.test_client()
        login_client(self.client)
        with self.app.app_context():
            self.engine = db.engine
        self.log = StatementLog(self.engine)

    def poster(self) -> Poster:
        """Send callbacks through the Flask test client."""
        def post(payload: dict[str, Any]) -> tuple[int, bytes]:
            response = self.client.post("/_dash-update-component", json=payload)
            try:
                return response.status_code, response.get_data()
            finally:
                response.close()
        return post

    def invalidate(self) -> None:
        """Empty the shared results cache."""
        invalidate_cache(self.app)

    def train_models(self, path: str, case: ViewCase) -> float:
        """Train and store the models the view needs (not part of a refresh: a page scores
        stored models); the seconds it took."""
        from dashapp.extensions import db
        from dashapp.model_jobs import TrainingRequest, run_request
        from layouts.pages import page_for
        from models import User

        page = page_for(path)
        if page is None or not page.models:
            return 0.0
        with self.app.app_context():
            user_id = db.session.scalar(sa.select(User.id).where(User.email == EMAIL))
        started = time.perf_counter()
        run_request(self.app, TrainingRequest(int(user_id or 0), path, case.query(),
                                              tuple(job.kind for job in page.models)), page)
        return time.perf_counter() - started

    def capture(self, recording: Recording, case: ViewCase) -> tuple[
            dict[str, list[Statement]], list[str]]:
        """The statements each callback of a cold refresh runs, by callback name, and the
        callbacks that failed (a statement past the timeout, say)."""
        self.invalidate()
        poster, by_callback, failed = self.poster(), {}, []
        with self.log.recording() as statements:
            sync = call(poster, recording.sync_for(case))
        by_callback[sync.name] = list(statements)
        for payload in recording.followers_for(store_of(sync)):
            with self.log.recording() as statements:
                result = call(poster, payload)
            by_callback[result.name] = list(statements)
            if result.error:
                failed.append(result.name)
        return by_callback, failed

    def close(self) -> None:
        """Release the database connections."""
        self.log.close()
        self.engine.dispose()


# --- measuring ---------------------------------------------------------------------------------

@dataclass
class CaseResult:
    """The samples of one page case."""

    case: PageCase
    cold: list[RefreshResult] = field(default_factory=list)
    cached: list[RefreshResult] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    sql_by_callback: dict[str, list[float]] = field(default_factory=dict)
    statements: int = 0
    failed: list[str] = field(default_factory=list)  # callbacks that could not be measured
    training_s: float = 0.0  # training the view's models first (not part of the refresh)

    @property
    def errors(self) -> list[str]:
        """Every failed callback in any sample."""
        return [error for sample in self.cold + self.cached for error in sample.errors]

    def cold_by_callback(self) -> dict[str, list[float]]:
        """Cold milliseconds of each callback over the samples."""
        times: dict[str, list[float]] = defaultdict(list)
        for sample in self.cold:
            for result in sample.calls:
                times[result.name].append(result.ms)
        return times


def measure_case(poster: Poster, local: InProcessApp, recording: Recording, case: PageCase,
                 repeat: int) -> CaseResult:
    """Cold and cached refreshes through the server, and the bare SQL of the same numbers."""
    result = CaseResult(case)
    result.training_s = local.train_models(case.path, case.case)
    captured, result.failed = local.capture(recording, case.case)
    result.statements = sum(len(statements) for statements in captured.values())
    if result.failed:  # it would only fail again, after as long, on the server
        return result
    for _ in range(repeat):
        local.invalidate()
        result.cold.append(refresh(poster, recording, case.case))
        result.cached.append(refresh(poster, recording, case.case))
        per_callback = {name: replay_ms(local.engine, statements)
                        for name, statements in captured.items()}
        for name, ms in per_callback.items():
            result.sql_by_callback.setdefault(name, []).append(ms)
        result.sql_ms.append(sum(per_callback.values()))
    return result


def overview_render_s(driver: Any, url: str, timeout: float = 300) -> float:
    """Seconds from navigation start until every Overview graph is drawn with its data."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        graphs, drawn, now_ms = driver.execute_script(OVERVIEW_DRAWN_JS)
        if graphs >= OVERVIEW_GRAPHS and drawn == graphs and \
                driver.execute_script(PENDING_CALLBACKS_JS) == 0:
            return now_ms / 1000
        time.sleep(0.02)
    raise TimeoutError(f"the Overview was not drawn within {timeout:.0f} s at "
                       f"{driver.current_url}")


RENDER_SAMPLES = 3


def render_times(server: Server, local: InProcessApp, ranges: Sequence[tuple[str, str]],
                 samples: int = RENDER_SAMPLES) -> dict[str, tuple[float, float]]:
    """Median (cold, cached) seconds for Chromium to draw the Overview per (range, label)."""
    times = {}
    with chromium(performance_log=False) as driver:
        browser_login(driver, server.url)
        overview_render_s(driver, server.url + "/?range=7d")  # warm the browser's caches
        wait_for_callbacks(driver, 300)
        for key, label in ranges:
            cold, cached = [], []
            for _ in range(samples):
                local.invalidate()
                cold.append(overview_render_s(driver, f"{server.url}/?range={key}"))
                cached.append(overview_render_s(driver, f"{server.url}/?range={key}"))
            times[label] = (statistics.median(cold), statistics.median(cached))
    return times


@dataclass
class BackendResult:
    """Everything measured on one database."""

    name: str
    load_seconds: float
    cases: list[CaseResult]
    rss_mb: dict[str, float]
    render: dict[str, tuple[float, float]]
    workers: int
    render_samples: int = RENDER_SAMPLES


def run_backend(url: str, recordings: dict[str, Recording] | None, cases: Sequence[PageCase],
                repeat: int, load_seconds: float, workers: int = 2,
                render_ranges: Sequence[tuple[str, str]] = RENDER_RANGES,
                render_samples: int = RENDER_SAMPLES,
                progress: Callable[[str], None] = lambda _line: None) -> tuple[
                    BackendResult, dict[str, Recording]]:
    """Start gunicorn on a prepared database and measure every case (recording the pages in
    Chromium first when no recordings are given)."""
    local = InProcessApp(url)
    try:
        with gunicorn(url, workers=workers, timeout=600) as server:
            pages = list(dict.fromkeys(case.path for case in cases))
            for path in pages:  # the views recorded and warmed up score stored models
                for key in ("30d", "7d"):
                    local.train_models(path, ViewCase(key, key))
            recorded = list(dict.fromkeys(case.recorded for case in cases))
            recordings = recordings or record_refreshes(server.url, recorded)
            results = []
            with login(server.url) as session:
                poster = http_poster(session, server.url, timeout=600)
                for page in recorded:  # the first refresh of a worker opens connections
                    refresh(poster, recordings[page], ViewCase("warm-up", "7d"))
                for case in cases:
                    progress(f"{backend_name(url)}: {case.title}, {case.case.name}")
                    results.append(measure_case(poster, local, recordings[case.recorded],
                                                case, repeat))
            times = render_times(server, local, render_ranges, render_samples) \
                if render_ranges else {}
            rss = server.peak_rss_mb()
    finally:
        local.close()
    return BackendResult(backend_name(url), load_seconds, results, rss, times, workers,
                         render_samples), \
        recordings


# --- the report --------------------------------------------------------------------------------

def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def case_rows(cases: Sequence[CaseResult]) -> list[str]:
    """One Markdown table row per case."""
    rows = ["| page | view | callbacks | cold median ms | cold p95 | cached median ms | "
            "cached p95 | SQL statements | bare SQL ms | cold ÷ SQL | errors | "
            "models trained first, s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for result in cases:
        if result.failed:
            rows.append(f"| {result.case.title} | {result.case.case.name} | | | | | | "
                        f"{result.statements} | | | not measured, failed in-process: "
                        f"{', '.join(f'`{name}`' for name in result.failed)} | |")
            continue
        cold = [sample.server_ms for sample in result.cold]
        cached = [sample.server_ms for sample in result.cached]
        sql = median(result.sql_ms)
        ratio = f"{median(cold) / sql:.1f}×" if sql > 0 else "n/a"
        calls = len(result.cold[0].calls) if result.cold else 0
        rows.append(f"| {result.case.title} | {result.case.case.name} | {calls} | "
                    f"{_ms(median(cold))} | {_ms(percentile(cold, 0.95))} | "
                    f"{_ms(median(cached))} | {_ms(percentile(cached, 0.95))} | "
                    f"{result.statements} | {_ms(sql)} | "
                    f"{ratio} | {len(result.errors)} | "
                    f"{f'{result.training_s:.1f}' if result.training_s else ''} |")
    return rows


def breakdown_rows(cases: Sequence[CaseResult]) -> list[str]:
    """Each callback of the all-time refresh of every page: where the time goes."""
    rows = ["| page | callback | cold median ms | bare SQL ms |", "|---|---|---:|---:|"]
    for result in cases:
        if result.case.case.name != BREAKDOWN_CASE:
            continue
        sql = result.sql_by_callback
        for name, times in sorted(result.cold_by_callback().items(),
                                  key=lambda item: -median(item[1])):
            rows.append(f"| {result.case.title} | `{name}` | {_ms(median(times))} | "
                        f"{_ms(median(sql.get(name, [])) if sql.get(name) else 0.0)} |")
    return rows


def target_lines(result: BackendResult) -> list[str]:
    """The issue's targets for this database, met or not."""
    measured = [c for c in result.cases if not c.failed]
    cold = [median([s.server_ms for s in c.cold]) for c in measured] or [float("nan")]
    cached = [median([s.server_ms for s in c.cached]) for c in measured] or [float("nan")]
    ratios = [median([s.server_ms for s in c.cold]) / median(c.sql_ms)
              for c in measured if median(c.sql_ms) > 0]
    worker_rss = max((mb for name, mb in result.rss_mb.items() if name != "master"), default=0)
    target = TARGETS[result.name]
    failed = len(result.cases) - len(measured)
    unmeasured = f" ({failed} case{'s' if failed != 1 else ''} not measured: failed)" \
        if failed else ""
    lines = [_target(f"slowest median cold refresh {_ms(max(cold))} ms{unmeasured}",
                     max(cold) <= target and not failed, f"≤ {target:,.0f} ms"),
             _target(f"slowest median cached refresh {_ms(max(cached))} ms",
                     max(cached) <= CACHED_TARGET_MS, f"≤ {CACHED_TARGET_MS:.0f} ms")]
    if ratios:
        lines.append(_target(f"server time ÷ bare SQL {min(ratios):.1f}×–{max(ratios):.1f}×, "
                             f"median {statistics.median(ratios):.1f}×",
                             max(ratios) <= OVERHEAD_TARGET, f"≤ {OVERHEAD_TARGET}×"))
    lines.append(_target(f"peak worker RSS {worker_rss:,.0f} MB", worker_rss < RSS_TARGET_MB,
                         f"< {RSS_TARGET_MB:.0f} MB"))
    for label, (cold_s, _cached_s) in result.render.items():
        lines.append(_target(f"Chromium draws the Overview ({label}, cold) in {cold_s:.2f} s",
                             cold_s <= RENDER_TARGET_S, f"≤ {RENDER_TARGET_S:.0f} s"))
    return lines


def _target(what: str, met: bool, target: str) -> str:
    return f"- {what} (target {target}): **{'met' if met else 'missed'}**"


def report(lines: int, results: Sequence[BackendResult], repeat: int) -> str:
    """The "## Page refresh" section of docs/performance.md."""
    out = [SECTION, "",
           "Measured by `python -m benchmarks.pages` (`make bench-pages`). A real "
           "`gunicorn -w N` on loopback; for each page, the full refresh a filter change "
           "triggers: the view-sync callback, then every callback that reads the view, sent "
           "one after another to `/_dash-update-component` with the payloads headless Chromium "
           "sent for a date-range change on that page, replayed with the view changed. "
           "Times are the sum of the callbacks' response times (the server time of the "
           "refresh; the browser sends the followers in parallel, so with two workers the "
           "wall time it waits can be lower). *Cold*: the results cache emptied first "
           "(as an import does); *cached*: the same refresh again. *Bare SQL*: the statements "
           "the services ran for that refresh, captured in-process and replayed on a raw "
           "connection with every row fetched. Median and p95 of "
           f"{repeat} samples each; filters: platform `{PLATFORM}`, product `{PRODUCT}`.", "",
           f"- Machine: {machine()}; other work may have run at the same time",
           f"- Data: demo data, {lines:,} order lines (two years)", ""]
    for result in results:
        rss = ", ".join(f"{name} {mb:,.0f} MB" for name, mb in result.rss_mb.items())
        out += [f"### {result.name}", "",
                f"Demo data load: {load_time(result.load_seconds)}. Server: gunicorn "
                f"`-w {result.workers}`; peak RSS {rss}.", ""]
        out += case_rows(result.cases) + [""]
        breakdown = breakdown_rows(result.cases)
        if len(breakdown) > 2:
            out += [f"Where the time goes ({BREAKDOWN_CASE}, cold):", ""] + breakdown + [""]
        if result.render:
            out += ["Chromium (headless, this machine) from navigation to every Overview "
                    f"graph drawn, median of {result.render_samples}: " + "; ".join(
                        f"{label} {cold:.2f} s cold, {cached:.2f} s cached"
                        for label, (cold, cached) in result.render.items()) + ".", ""]
        out += ["Targets:", ""] + target_lines(result) + [""]
    return "\n".join(out)


def load_data(url: str, lines: int, reuse: bool, progress: Callable[[str], None]) -> float:
    """Fill the database with `lines` demo lines (PostgreSQL emptied first) and return the load
    time; NaN when `reuse` kept a PostgreSQL database that already held them."""
    postgres = url.startswith("postgresql")
    found = loaded_lines(url) if postgres and reuse else None
    # The demo generator makes about the lines asked for (orders have whole numbers of lines).
    if found is not None and abs(found - lines) <= lines * 0.01:
        progress(f"{backend_name(url)}: reusing its {found:,} lines")
        return float("nan")
    if postgres:
        reset_postgres(url)
    progress(f"{backend_name(url)}: loading {lines:,} lines")
    return prepare(url, lines)


def load_time(seconds: float) -> str:
    """The demo data's load time for the report; a reused database says so."""
    return "not measured (database reused)" if seconds != seconds else f"{seconds:.1f} s"


def main() -> None:
    """Prepare the databases, run the benchmark, print (and optionally write) the report."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--postgres", metavar="URL",
                        help="an existing database that may be emptied, e.g. postgresql+"
                             "psycopg2://pulse:pulse@127.0.0.1:5432/pulse_bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one case per page")
    parser.add_argument("--pages", default=",".join(PAGES),
                        help="the pages to measure, comma-separated paths (default: all)")
    parser.add_argument("--skip-sqlite", action="store_true",
                        help="measure PostgreSQL only (needs --postgres)")
    parser.add_argument("--reuse-postgres", action="store_true",
                        help="keep the PostgreSQL database when it already holds --lines "
                             "order lines and the benchmark user (no reload; its load time is "
                             "then not measured)")
    parser.add_argument("--statement-timeout", type=float, default=60,
                        help="PostgreSQL: cancel any statement running longer (seconds); "
                             "a case that hits it is reported as not measured")
    parser.add_argument("--output", type=Path, help="rewrite this section of that file")
    parser.add_argument("--save-recording", type=Path,
                        help="keep the recorded payloads for benchmarks.load")
    args = parser.parse_args()

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    exit_cleanly_on_sigterm()
    cases = page_cases(one_per_page=args.quick, pages=[
        path for path in args.pages.split(",") if path in PAGES])
    results, recordings = [], None
    with tempfile.TemporaryDirectory(prefix="pulseboard-bench-") as folder:
        use_private_cache(str(Path(folder) / "cache"))
        urls = [] if args.skip_sqlite and args.postgres else [
            f"sqlite:///{Path(folder) / 'bench.db'}"]
        if args.postgres:
            urls.append(args.postgres)
        for url in urls:
            load_seconds = load_data(url, args.lines, args.reuse_postgres, progress)
            result, recordings = run_backend(with_statement_timeout(url, args.statement_timeout),
                                             recordings, cases, args.repeat, load_seconds,
                                             args.workers, progress=progress)
            results.append(result)
            print(report(args.lines, [result], args.repeat), flush=True)  # kept if a later one dies
            if args.save_recording:
                args.save_recording.parent.mkdir(parents=True, exist_ok=True)
                save_recordings(args.save_recording, recordings)
    section = report(args.lines, results, args.repeat)
    print(section)
    if args.output:
        write_section(args.output, SECTION, section)


if __name__ == "__main__":
    main()
