"""The Marketing page: what each media post did to the sales of what it promoted.

A post's lift is its window's net revenue (days +1..+w after the local post date) minus a
counterfactual baseline: what the promoted product would have sold without the post. The
baseline is the product's share of the shop's revenue on the same weekdays of the previous
four weeks, times the shop's revenue on the window days, so weekday, trend and season cancel
(a December post is measured against December's shop). A post without a product is measured
on the whole shop: the same weekdays of the previous four weeks, each week scaled to the
level of the week up to the post day. The interval is a prediction interval from the spread
of the four weekly baselines (Student t, 3 degrees of freedom).

Sums are taken in the database: the shop's net revenue per day and each promoted product's
per day (from the day and product-day rollups); each post's window, baseline weeks and days
before it are differences of their cumulative sums (`_post_sums`), and numpy combines those
few sums per post.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, Date, Float, cast, literal, select
from sqlalchemy.orm import Session

from models import MediaPost, OrderLine, Platform, Product
from services.cache import cached
from services.errors import NotFound
from services.filters import Filters, Period
from services.metrics import ratio
from services.query import as_date, days_between, frame_of, product_filter, scope_condition
from services.rollups import Lines, aggregate_select
from services.sales import data_bounds
from services.scope import Scope

WINDOWS = ("1", "2", "3", "5", "7")  # the lift window's length in days (`window=`)
DEFAULT_WINDOW = "3"
BASELINE_WEEKS = 4
LEVEL = 0.90  # every interval on the page
MIN_POSTS = 10  # a group with fewer posts is "not enough posts", not a mean
BOOTSTRAP = 1000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_BANDS = (("07–10", 7, 10), ("11–14", 11, 14), ("15–17", 15, 17), ("18–21", 18, 21),
              ("22–06", 22, 30))
SHOP = "Whole shop"
ENGAGEMENT = ("likes", "comments", "shares", "saves")
POST_COLUMNS = ["post_id", "external_id", "posted_at", "post_date", "post_type", "slug",
                "platform", "sku", "product", "campaign_id", "caption", "impressions", "reach",
                *ENGAGEMENT, "cost"]
METHOD = (
    "Lift = net revenue of what the post promoted on days +1 to +{w} after its local post "
    "date, minus a counterfactual baseline: the product's share of the shop's revenue on the "
    "same weekdays of the previous four weeks, times the shop's revenue on the window days "
    "(so weekday, trend and season cancel out). A post without a product is measured on the "
    "whole shop: the same weekdays of the previous four weeks, each week scaled to the "
    "level of the week up to the post. The {level:.0%} interval is a prediction interval from "
    "the spread of the four weekly baselines. Other posts and campaigns in those weeks are "
    "not removed from the baseline, and sales on every platform you may see count: a post "
    "sells beyond its own platform.")


def method_text(window: int) -> str:
    """The lift method in words, for the page and the API."""
    return METHOD.format(w=window, level=LEVEL)


def _post_conditions(scope: Scope, filters: Filters, start: dt.date,
                     end: dt.date) -> list[ColumnElement[bool]]:
    """The posts published in the dates, on the scope's and the filter's platforms, of the
    filtered products (every post, with or without a product, when no product is chosen)."""
    return [MediaPost.post_date.between(start, end),
            *filtered(scope, filters, MediaPost.platform_id, MediaPost.product_id)]


def filtered(scope: Scope, filters: Filters, platform_id: Any,
             product_id: Any) -> list[ColumnElement[bool]]:
    """A post's or a campaign's conditions: its platform in the scope and the platform
    filter, its promoted product in the product filter."""
    conditions = [scope_condition(scope, platform_id)]
    if filters.platforms:
        conditions.append(platform_id.in_(
            select(Platform.id).where(Platform.slug.in_(filters.platforms))))
    condition = product_filter(filters)
    if condition is not None:
        conditions.append(product_id.in_(select(Product.id).where(condition)))
    return conditions


def _post_rows(session: Session, conditions: list[ColumnElement[bool]]) -> pd.DataFrame:
    """The posts that meet the conditions, oldest first, with what they promoted."""
    stmt = (select(MediaPost.id, MediaPost.external_id, MediaPost.posted_at, MediaPost.post_date,
                   MediaPost.post_type, Platform.slug, Platform.name, Product.sku, Product.name,
                   MediaPost.campaign_id, MediaPost.caption, MediaPost.impressions,
                   MediaPost.reach, *[getattr(MediaPost, name) for name in ENGAGEMENT],
                   MediaPost.cost)
            .join(Platform, Platform.id == MediaPost.platform_id)
            .outerjoin(Product, Product.id == MediaPost.product_id)
            .where(*conditions)
            .order_by(MediaPost.posted_at, MediaPost.id))
    frame = frame_of(session.execute(stmt).all(), POST_COLUMNS)
    frame["post_date"] = frame["post_date"].map(as_date)
    frame["posted_at"] = pd.to_datetime(frame["posted_at"])
    return frame


def _sales_filters(filters: Filters) -> Filters:
    """The filters of the sales a post is measured on: every platform and country in scope."""
    return replace(filters, platforms=(), products=(), categories=(), country="")


# --- the per-post sums -------------------------------------------------------------------------
# The database sums net revenue per day: the shop's (day rollup) and each promoted product's
# (product-day rollup), a few hundred to a few ten thousand rows. Each post's sums over the
# days around it (offsets from its post day, `_spans`) are then differences of cumulative
# sums: one array lookup per post and sum. Joining every post to its 35 days in SQL instead
# took 1.5 s at all time on a million lines.

SUMS = (*[f"{who}_{name}" for who in ("shop", "product") for name in ("win", "r3", "r7")],
        *[f"shop_week{j}" for j in range(1, BASELINE_WEEKS + 1)],
        *[f"shop_level{j}" for j in range(1, BASELINE_WEEKS + 1)],
        *[f"product_week{j}" for j in range(1, BASELINE_WEEKS + 1)])


def _spans(window: int, levels: bool) -> dict[str, tuple[int, int]]:
    """The days each sum covers, as first and last offset from the post day: the window
    (+1..+w), baseline week j (the window 7j days earlier), the 3 and 7 days up to the post
    day and, for the shop, level week j (the seven days ending 7(j-1) days before it)."""
    weeks = range(1, BASELINE_WEEKS + 1)
    spans = {"win": (1, window), "r3": (-2, 0), "r7": (-6, 0),
             **{f"week{j}": (1 - 7 * j, window - 7 * j) for j in weeks}}
    if levels:
        spans |= {f"level{j}": (1 - 7 * j, 7 - 7 * j) for j in weeks}
    return spans


def day_sums(daily: np.ndarray, rows: np.ndarray, first: np.ndarray,
             last: np.ndarray) -> np.ndarray:
    """Σ of row `rows[i]` of `daily` (a series per row, a column a day) from column
    `first[i]` to `last[i]`, for each i (pure): a difference of cumulative sums. Columns
    outside `daily` count as zero."""
    return _span_sums(_cumulative(daily), rows, first, last)


def _cumulative(daily: np.ndarray) -> np.ndarray:
    """Each row's running sum, with a zero column first (so a span is one difference)."""
    return np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(daily, axis=1)], axis=1)


def _span_sums(cumulative: np.ndarray, rows: np.ndarray, first: np.ndarray,
               last: np.ndarray) -> np.ndarray:
    edge = cumulative.shape[1] - 1
    return (cumulative[rows, np.clip(last + 1, 0, edge)]
            - cumulative[rows, np.clip(first, 0, edge)])


def window_sums(daily: np.ndarray, rows: np.ndarray, days: np.ndarray,
                spans: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """`day_sums` over each named span of offsets around each post's day (`days`: its
    column), of its row of `daily` (the running sums are taken once for every span)."""
    cumulative = _cumulative(daily)
    return {name: _span_sums(cumulative, rows, days + first, days + last)
            for name, (first, last) in spans.items()}


def daily_sums(session: Session, lines: Lines, measure: str,
               products: Sequence[int] | None = None) -> np.ndarray:
    """The stored `measure` per day from `lines.start` to `lines.end` (a column a day): one
    row for the lines, or a row per product id of `products`, in that order (their lines)."""
    day = OrderLine.sale_date.label("day")
    if products is None:
        sums = aggregate_select(lines, [measure], [day]).subquery("daily")
        keys: list[Any] = []
    else:
        sums = aggregate_select(replace(lines, product_ids=frozenset(products)), [measure],
                                [OrderLine.product_id.label("product_id"), day]) \
            .subquery("daily")
        keys = [sums.c.product_id]
    # The day's number and a float, not a date and a Decimal, through the connection (not
    # the ORM's row loading): at all time the products' days are 30,000 rows, and turning
    # them into Python objects took longer than the query.
    stmt = select(*keys, days_between(sums.c.day, literal(lines.start, Date)),
                  cast(sums.c[measure], Float))
    found = np.array([tuple(row) for row in session.connection().execute(stmt).all()],
                     dtype=float).reshape(-1, len(keys) + 2)
    daily = np.zeros((1 if products is None else len(products),
                      (lines.end - lines.start).days + 1))
    if products is None:
        rows = np.zeros(len(found), dtype=int)
    else:
        row_of = np.zeros(max(products, default=0) + 1, dtype=int)  # a product id's row
        row_of[list(products)] = np.arange(len(products))
        rows = row_of[found[:, 0].astype(int)]
    daily[rows, found[:, -2].astype(int)] = found[:, -1]
    return daily


def _sales_days(start: dt.date, end: dt.date, window: int) -> tuple[dt.date, dt.date]:
    """The days of sales the sums of the posts published from `start` to `end` read."""
    return start - dt.timedelta(days=7 * BASELINE_WEEKS - 1), end + dt.timedelta(days=window)


def _post_sums(session: Session, lines: Lines, shop: np.ndarray, posts: pd.DataFrame,
               window: int) -> pd.DataFrame:
    """Per post (by post id): its product's and the shop's net revenue in its window,
    baseline weeks and the days before it (columns `SUMS`), from the shop's daily revenue
    over the `lines` (every platform and country in scope) and its products'."""
    days = np.array([(day - lines.start).days for day in posts["post_date"]], dtype=int)
    sums = {f"shop_{name}": values for name, values in
            window_sums(shop, np.zeros(len(posts), dtype=int), days,
                        _spans(window, levels=True)).items()}
    skus = sorted(set(posts["sku"].dropna()))
    ids = dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus)))
               .all()) if skus else {}
    products = (daily_sums(session, lines, "net_revenue", [ids[sku] for sku in skus]) if skus
                else np.zeros((1, 1)))
    index = {sku: i for i, sku in enumerate(skus)}
    rows = np.array([index.get(sku, -1) for sku in posts["sku"]], dtype=int)
    promoted = rows >= 0
    for name, values in window_sums(products, np.maximum(rows, 0), days,
                                    _spans(window, levels=False)).items():
        sums[f"product_{name}"] = np.where(promoted, values, 0.0)
    return pd.DataFrame(sums, index=posts["post_id"].to_numpy())[list(SUMS)]


def post_lifts(posts: pd.DataFrame, sums: pd.DataFrame, first: dt.date | None,
               last: dt.date | None, window: int) -> pd.DataFrame:
    """Each post's actual window revenue, baseline, lift and interval (pure: the per-post
    sums of `_post_sums` in, by post id).

    Days before `first` or after `last` (the data's first and last day) are unknown:
    a post whose window or baseline needs them gets no lift (NaN); days between without
    sales are zero.
    """
    n = len(posts)
    if n == 0 or first is None or last is None:
        frame = posts.assign(recent_3=np.full(n, np.nan), recent_7=np.full(n, np.nan))
        return _with_lift(frame, np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan))
    s = sums.reindex(posts["post_id"]).fillna(0.0)
    weeks = range(1, BASELINE_WEEKS + 1)
    column = lambda who, name: s[f"{who}_{name}"].to_numpy()  # noqa: E731
    stacked = lambda who, name: np.column_stack([column(who, f"{name}{j}")  # noqa: E731
                                                 for j in weeks])
    shop_weeks = stacked("shop", "week")
    # Whole-shop posts: baseline week j is scaled by the level of the week up to the post
    # day over the level of week j's own seven days.
    levels = stacked("shop", "level")
    counterfactual = shop_weeks * ratio(levels[:, :1], levels)
    actual = column("shop", "win").copy()
    recent = {span: column("shop", f"r{span}") / span for span in (3, 7)}
    has_product = posts["sku"].notna().to_numpy()
    share = ratio(stacked("product", "week"), shop_weeks)
    counterfactual[has_product] = (share * column("shop", "win")[:, None])[has_product]
    actual[has_product] = column("product", "win")[has_product]
    for span in recent:
        recent[span][has_product] = (column("product", f"r{span}") / span)[has_product]
    days = np.array([(day - first).days for day in posts["post_date"]])
    valid = (days + window <= (last - first).days) & (days + 1 - 7 * BASELINE_WEEKS >= 0)
    frame = posts.assign(recent_3=recent[3], recent_7=recent[7])
    actual = np.where(valid, actual, np.nan)
    counterfactual = np.where(valid[:, None], counterfactual, np.nan)
    return _with_lift(frame, actual, counterfactual.mean(axis=1),
                      counterfactual.std(axis=1, ddof=1))


def _lifted(session: Session, scope: Scope, filters: Filters,
            conditions: list[ColumnElement[bool]], start: dt.date, end: dt.date,
            window: int, timezone: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The posts that meet the conditions (published from `start` to `end`) with their
    lift against the data's days (the scope's first and last sale), on the business
    clock; and the shop's daily revenue it read (over `_sales_days`)."""
    posts = _post_rows(session, conditions)
    lines = Lines(_sales_filters(filters), scope, *_sales_days(start, end, window))
    shop = daily_sums(session, lines, "net_revenue")
    sums = _post_sums(session, lines, shop, posts, window)
    first, last = data_bounds(session, scope)  # whatever days the caller's period holds
    return in_zone(post_lifts(posts, sums, first, last, window), timezone), shop[0]


def _with_lift(frame: pd.DataFrame, actual: np.ndarray, baseline: np.ndarray,
               spread: np.ndarray) -> pd.DataFrame:
    """The posts with their lift columns and the descriptive ones the page shows."""
    t = stats.t.ppf(0.5 + LEVEL / 2, BASELINE_WEEKS - 1)
    half = t * spread * np.sqrt(1 + 1 / BASELINE_WEEKS)
    frame = frame.assign(actual=actual, baseline=baseline, lift=actual - baseline)
    frame["lift_low"], frame["lift_high"] = frame["lift"] - half, frame["lift"] + half
    frame["lift_pct"] = ratio(frame["lift"], frame["baseline"])
    frame["engagement"] = frame[list(ENGAGEMENT)].sum(axis=1).astype("int64")
    frame["engagement_rate"] = ratio(frame["engagement"], frame["reach"])
    frame["lift_per_cost"] = ratio(frame["lift"], frame["cost"].astype(float))
    frame["weekday"] = [day.weekday() for day in frame["post_date"]]
    frame["hour"] = frame["posted_at"].dt.hour.astype("int64") if len(frame) else []
    frame["hour_band"] = [hour_band(hour) for hour in frame["hour"]]
    frame["product"] = frame["product"].fillna(SHOP)
    return frame


def hour_band(hour: int) -> str:
    """The posting-hour band of an hour (night hours wrap around midnight)."""
    for label, first, last in HOUR_BANDS:
        if first <= hour <= last or first <= hour + 24 <= last:
            return label
    return HOUR_BANDS[-1][0]


def in_zone(posts: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The posts with their hour (and hour band) on the business's clock, not UTC: the stored
    `posted_at` is UTC, while the post date was made local when the posts were imported."""
    local = posts["posted_at"].dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
    hours = local.dt.hour.astype("int64")
    return posts.assign(posted_local=local, hour=hours,
                        hour_band=[hour_band(hour) for hour in hours])


@cached
def post_impact(session: Session, scope: Scope, filters: Filters, period: Period,
                window: str = DEFAULT_WINDOW, timezone: str = "UTC") -> dict[str, Any]:
    """The posts published in the range with their lift, the daily revenue they sit on, and
    the method in words; hours are those of the business `timezone`.

    Keys: posts (a row per post, see `post_lifts`), daily (day, net_revenue of the shop or,
    with a product filter, of the chosen products), window, method, timezone.
    """
    w = int(window)
    conditions = _post_conditions(scope, filters, period.start, period.end)
    posts, shop = _lifted(session, scope, filters, conditions, period.start, period.end, w,
                          timezone)
    # The line under the markers: the shop's revenue (read for the sums already), or the
    # chosen products' on every platform (a category names its products).
    shown = replace(filters, platforms=(), country="")
    if shown != _sales_filters(filters):
        shop = daily_sums(session, Lines(shown, scope,
                                         *_sales_days(period.start, period.end, w)),
                          "net_revenue")[0]
    days = pd.date_range(period.start, period.end, freq="D").date
    skipped = 7 * BASELINE_WEEKS - 1  # the days `_sales_days` reads before the range
    daily = pd.DataFrame({"day": days, "net_revenue": shop[skipped:skipped + len(days)]})
    return {"posts": posts, "daily": daily, "window": w, "method": method_text(w),
            "timezone": timezone}


def impact_between(impact: dict[str, Any], start: dt.date, end: dt.date) -> dict[str, Any]:
    """A `post_impact` cut to the posts published from `start` to `end` and the revenue of
    those days (what `post_impact` over those days answers: a post's lift does not depend
    on the range it is seen in)."""
    posts, daily = impact["posts"], impact["daily"]
    published = (posts["post_date"] >= start) & (posts["post_date"] <= end)
    shown = (daily["day"] >= start) & (daily["day"] <= end)
    return {**impact, "posts": posts.loc[published].reset_index(drop=True),
            "daily": daily.loc[shown].reset_index(drop=True)}


def group_lift(posts: pd.DataFrame, by: str, order: tuple[Any, ...] | None = None,
               seed: int = 0) -> pd.DataFrame:
    """Per group of `by`: posts, mean lift per post with a t interval, and the pooled lift
    (Σ lift / Σ baseline) with a bootstrap interval over posts; fewer than `MIN_POSTS`
    posts are flagged, not estimated.

    Columns: group, posts, mean_lift, mean_low, mean_high, lift_pct, pct_low, pct_high,
    enough.
    """
    lift = posts["lift"].to_numpy(dtype=float)
    measured = ~np.isnan(lift)
    keys = posts[by].to_numpy()[measured]
    groups = list(order) if order else sorted(pd.unique(keys[pd.notna(keys)]))
    position = {group: i for i, group in enumerate(groups)}
    codes = np.fromiter((position.get(key, -1) for key in keys), np.intp, len(keys))
    kept = codes >= 0  # a post outside `order`, or without a value of `by`
    codes, lift = codes[kept], lift[measured][kept]
    baseline = posts["baseline"].to_numpy(dtype=float)[measured][kept]
    counts = np.bincount(codes, minlength=len(groups))
    estimates = {**_mean_intervals(codes, lift, counts),
                 "lift_pct": ratio(np.bincount(codes, lift, len(groups)),
                                   np.bincount(codes, baseline, len(groups)))}
    estimates["pct_low"], estimates["pct_high"] = _pooled_intervals(
        codes, lift, baseline, counts, np.random.default_rng(seed))
    enough = counts >= MIN_POSTS
    return pd.DataFrame({"group": groups, "posts": counts.astype("int64"),
                         **{name: np.where(enough, values, np.nan)
                            for name, values in estimates.items()}, "enough": enough})


def _mean_intervals(codes: np.ndarray, lift: np.ndarray,
                    counts: np.ndarray) -> dict[str, np.ndarray]:
    """Each group's mean lift per post with its Student t interval (NaN below two posts)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(codes, lift, len(counts)) / counts
        squares = np.bincount(codes, (lift - mean[codes]) ** 2, len(counts))
        sem = np.sqrt(squares / (counts - 1) / counts)
    half = stats.t.ppf(0.5 + LEVEL / 2, np.maximum(counts - 1, 1)) * sem
    return {"mean_lift": mean, "mean_low": mean - half, "mean_high": mean + half}


# Resampled posts drawn at a time: half a megabyte per array stays in the allocator's reused
# memory (a whole 1000-resample matrix is mapped afresh each time: twice as slow) and bounds
# the memory at any number of posts.
BOOTSTRAP_BLOCK = 65_536


def _pooled_intervals(codes: np.ndarray, lift: np.ndarray, baseline: np.ndarray,
                      counts: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each group's percentile interval of Σ lift / Σ baseline over `BOOTSTRAP` resamples of
    its posts (NaN below two posts); every group is resampled in the same draws."""
    low, high = np.full(len(counts), np.nan), np.full(len(counts), np.nan)
    sampled = np.flatnonzero(counts >= 2)
    if not len(sampled):
        return low, high
    chosen = np.isin(codes, sampled)
    order = np.argsort(codes[chosen], kind="stable")
    lift, baseline = lift[chosen][order], baseline[chosen][order]
    sizes = counts[sampled]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # One column per post of each group: a resample draws each column from its own group.
    column_start, column_size = np.repeat(starts, sizes), np.repeat(sizes, sizes)
    rows = max(1, BOOTSTRAP_BLOCK // len(lift))
    pooled = []
    for done in range(0, BOOTSTRAP, rows):
        drawn = column_start + (rng.random((min(rows, BOOTSTRAP - done), len(lift)))
                                * column_size).astype(np.intp)
        pooled.append(ratio(np.add.reduceat(lift[drawn], starts, axis=1),
                            np.add.reduceat(baseline[drawn], starts, axis=1)))
    resampled = np.concatenate(pooled)
    finite = np.isfinite(resampled).any(axis=0)  # resamples whose baselines are all zero
    if not finite.any():
        return low, high
    levels = [0.5 - LEVEL / 2, 0.5 + LEVEL / 2]
    bounds = np.quantile(resampled, levels, axis=0) if np.isfinite(resampled).all() \
        else np.nanquantile(resampled[:, finite], levels, axis=0)
    low[sampled[finite]], high[sampled[finite]] = bounds
    return low, high


def organic_product_posts(posts: pd.DataFrame,
                          columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The posts the comparisons are about: they promote a product and are not part of a
    campaign (a campaign post's window holds the campaign's own lift); only `columns` of
    them when given (a comparison reads three of the thirty)."""
    organic = (posts["sku"].notna() & posts["campaign_id"].isna()).to_numpy()
    return posts.loc[organic, list(columns) if columns is not None else posts.columns]


def _organic(data: dict[str, Any], *columns: str) -> pd.DataFrame:
    """The organic product posts of a `post_impact` result, with their lift and baseline."""
    return organic_product_posts(data["posts"], ("lift", "baseline", *columns))


def by_type(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift by media type, organic product posts only."""
    return group_lift(_organic(data, "post_type"), "post_type")


def by_weekday(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift by posting weekday (Monday first), organic product posts only."""
    frame = group_lift(_organic(data, "weekday"), "weekday", tuple(range(7)))
    return frame.assign(group=[WEEKDAYS[day] for day in frame["group"]])


def by_hour_band(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift by posting-hour band, organic product posts only."""
    return group_lift(_organic(data, "hour_band"), "hour_band",
                      tuple(label for label, _first, _last in HOUR_BANDS))


def ratio_of_sums(part: pd.Series, whole: pd.Series) -> float:
    """Σ part / Σ whole, NaN for an empty or zero whole."""
    return float(ratio(float(part.sum()), float(whole.sum())))


def rank_correlation(x: pd.Series, y: pd.Series) -> float:
    """Spearman's rank correlation of two columns (NaN with fewer than three rows)."""
    if len(x) < 3:
        return float("nan")
    return float(pd.Series(x.to_numpy()).corr(pd.Series(y.to_numpy()), method="spearman"))


def best_group(groups: pd.DataFrame) -> dict[str, Any] | None:
    """The group with the highest pooled lift among those with enough posts, or None."""
    enough = groups.loc[groups["enough"] & groups["lift_pct"].notna()]
    if enough.empty:
        return None
    return dict(enough.loc[enough["lift_pct"].idxmax()])


@cached
def post_detail(session: Session, scope: Scope, filters: Filters, period: Period,
                post: str, window: str = DEFAULT_WINDOW,
                timezone: str = "UTC") -> dict[str, Any]:
    """One post by id (in the scope, wherever its date) with its lift and its hour in the
    business `timezone`; NotFound otherwise.

    Keys: post (the row of `post_lifts` as a dict), window.
    """
    w = int(window)
    conditions = [MediaPost.id == int(post or 0), scope_condition(scope, MediaPost.platform_id)]
    found = session.execute(select(MediaPost.post_date).where(*conditions)).first()
    if found is None:
        raise NotFound(f"No media post #{post} that you may see.")
    day = as_date(found[0])
    row = _lifted(session, scope, Filters(range="custom", start=day, end=day), conditions,
                  day, day, w, timezone)[0].iloc[0]
    return {"post": {key: (None if isinstance(value, float) and np.isnan(value) else value)
                     for key, value in row.items()}, "window": w}


MIN_CELL_POSTS = 3  # a weekday × hour cell with fewer posts shows its count, not a lift


def by_slot(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift (Σ lift / Σ baseline) and post count per posting weekday × hour, organic
    product posts only; cells with fewer than `MIN_CELL_POSTS` posts have no lift.

    Columns: weekday (0 = Monday), day, hour, posts, lift_pct (every one of the 7 × 24 cells).
    """
    posts = _organic(data, "weekday", "hour")
    lift = posts["lift"].to_numpy(dtype=float)
    measured = ~np.isnan(lift)
    cell = (posts["weekday"].to_numpy() * 24 + posts["hour"].to_numpy())[measured].astype(
        np.intp)  # an empty frame's columns are float
    count = np.bincount(cell, minlength=7 * 24)
    pooled = ratio(np.bincount(cell, lift[measured], 7 * 24),
                   np.bincount(cell, posts["baseline"].to_numpy(dtype=float)[measured], 7 * 24))
    weekday, hour = np.divmod(np.arange(7 * 24), 24)
    return pd.DataFrame({"weekday": weekday, "day": np.repeat(WEEKDAYS, 24), "hour": hour,
                         "posts": count.astype("int64"),
                         "lift_pct": np.where(count >= MIN_CELL_POSTS, pooled, np.nan)})
