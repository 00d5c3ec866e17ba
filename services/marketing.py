"""The Marketing page: what each media post did to the sales of what it promoted.

A post's lift is its window's net revenue (days +1..+w after the local post date) minus a
counterfactual baseline: what the promoted product would have sold without the post. The
baseline is the product's share of the shop's revenue on the same weekdays of the previous
four weeks, times the shop's revenue on the window days, so weekday, trend and season cancel
(a December post is measured against December's shop). A post without a product is measured
on the whole shop: the same weekdays of the previous four weeks, each week scaled to the
level of the week up to the post day. The interval is a prediction interval from the spread
of the four weekly baselines (Student t, 3 degrees of freedom).

Sums are taken in the database (per product and day, per day); pandas and numpy only combine
those daily sums per post.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import MediaPost, OrderLine, Platform, Product
from services.cache import cached
from services.errors import NotFound
from services.filters import Filters, Period
from services.query import as_date, product_filter, scope_condition
from services.rollups import Lines, aggregate, aggregate_select
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


def _post_rows(session: Session, scope: Scope, filters: Filters, start: dt.date,
               end: dt.date) -> pd.DataFrame:
    """The posts published in the dates, on the scope's and the filter's platforms, of the
    filtered products (every post, with or without a product, when no product is chosen)."""
    stmt = (select(MediaPost.id, MediaPost.external_id, MediaPost.posted_at, MediaPost.post_date,
                   MediaPost.post_type, Platform.slug, Platform.name, Product.sku, Product.name,
                   MediaPost.campaign_id, MediaPost.caption, MediaPost.impressions,
                   MediaPost.reach, *[getattr(MediaPost, name) for name in ENGAGEMENT],
                   MediaPost.cost)
            .join(Platform, Platform.id == MediaPost.platform_id)
            .outerjoin(Product, Product.id == MediaPost.product_id)
            .where(MediaPost.post_date.between(start, end),
                   scope_condition(scope, MediaPost.platform_id))
            .order_by(MediaPost.posted_at, MediaPost.id))
    if filters.platforms:
        stmt = stmt.where(Platform.slug.in_(filters.platforms))
    condition = product_filter(filters)
    if condition is not None:
        stmt = stmt.where(condition)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=POST_COLUMNS)
    frame["post_date"] = frame["post_date"].map(as_date)
    frame["posted_at"] = pd.to_datetime(frame["posted_at"])
    return frame


def _sales_filters(filters: Filters) -> Filters:
    """The filters of the sales a post is measured on: every platform and country in scope."""
    return replace(filters, platforms=(), products=(), categories=(), country="")


def _daily_sales(session: Session, scope: Scope, filters: Filters, start: dt.date,
                 end: dt.date, skus: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    """Shop net revenue per day, and per promoted product and day (columns: SKUs)."""
    base = _sales_filters(filters)
    day = OrderLine.sale_date.label("day")
    shop = pd.DataFrame(aggregate(session, Lines(base, scope, start, end), ["net_revenue"], [day]),
                        columns=["day", "net_revenue"])
    shop["day"] = shop["day"].map(as_date)
    shop_series = shop.set_index("day")["net_revenue"].astype(float)
    if not skus:
        return shop_series, pd.DataFrame(index=shop_series.index)
    # Tens of thousands of product-day sums: read as tuples straight into a frame (not a dict
    # per row, which took most of the page's time) and pivoted before the days are parsed.
    result = session.execute(aggregate_select(
        Lines(replace(base, products=tuple(sorted(skus))), scope, start, end), ["net_revenue"],
        [Product.sku.label("sku"), day], [(Product, Product.id == OrderLine.product_id)]))
    keys, rows = list(result.keys()), result.all()
    products = pd.DataFrame(dict(zip(keys, map(list, zip(*rows, strict=True)), strict=True))
                            if rows else {key: [] for key in keys})
    grid = products.pivot(index="day", columns="sku", values="net_revenue").fillna(0.0)
    grid.index = [as_date(value) for value in grid.index]
    return shop_series, grid.astype(float)


def post_lifts(posts: pd.DataFrame, shop: pd.Series, products: pd.DataFrame,
               window: int) -> pd.DataFrame:
    """Each post's actual window revenue, baseline, lift and interval (pure: daily sums in).

    `shop` is net revenue per day, `products` per day and SKU; days absent from `shop` before
    its first or after its last day are unknown, and a post whose window or baseline needs
    them gets no lift (NaN), while days between with no sales are zero.
    """
    frame = posts.copy()
    n = len(frame)
    if n == 0 or shop.empty:
        frame["recent_3"] = frame["recent_7"] = np.full(n, np.nan)
        return _with_lift(frame, np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan))
    first, last = min(shop.index), max(shop.index)
    days = pd.date_range(first, last, freq="D").date
    s = shop.reindex(days, fill_value=0.0).to_numpy()
    p = products.reindex(index=days, fill_value=0.0)
    position = np.array([(day - first).days for day in frame["post_date"]])
    offsets = np.arange(1, window + 1)
    weeks = np.arange(1, BASELINE_WEEKS + 1)
    window_days = position[:, None] + offsets[None, :]  # posts × k
    base_days = window_days[:, None, :] - 7 * weeks[None, :, None]  # posts × j × k
    valid = (window_days.max(axis=1) < len(days)) & (base_days.min(axis=(1, 2)) >= 0)

    def take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
        return values[np.clip(index, 0, len(values) - 1)]

    shop_window = take(s, window_days).sum(axis=1)
    shop_weeks = take(s, base_days).sum(axis=2)  # posts × j
    # Whole-shop posts: baseline week j (the seven days ending 7(j-1) days before the post
    # day) is scaled by the level of the week up to the post day over its own level.
    level_days = position[:, None, None] - 7 * (weeks[None, :, None] - 1) \
        - np.arange(7)[None, None, :]
    weekly_level = take(s, level_days).sum(axis=2)  # posts × j
    recent = weekly_level[:, 0]
    actual = shop_window.copy()
    counterfactual = shop_weeks * _ratio(recent[:, None], weekly_level)
    # The level before the post (features of the recommendation model): mean daily revenue
    # of what it promotes over the 3 and 7 days up to the post day.
    before = position[:, None] - np.arange(7)[None, :]
    level = {span: take(s, before[:, :span]).mean(axis=1) for span in (3, 7)}
    has_product = frame["sku"].notna().to_numpy()
    for sku in pd.unique(frame.loc[has_product, "sku"]):
        rows = np.flatnonzero(frame["sku"].to_numpy() == sku)
        values = p[sku].to_numpy() if sku in p else np.zeros(len(days))
        actual[rows] = take(values, window_days[rows]).sum(axis=1)
        share = _ratio(take(values, base_days[rows]).sum(axis=2), shop_weeks[rows])
        counterfactual[rows] = share * shop_window[rows, None]
        for span in level:
            level[span][rows] = take(values, before[rows, :span]).mean(axis=1)
    frame["recent_3"], frame["recent_7"] = level[3], level[7]
    actual = np.where(valid, actual, np.nan)
    counterfactual = np.where(valid[:, None], counterfactual, np.nan)
    return _with_lift(frame, actual, counterfactual.mean(axis=1),
                      counterfactual.std(axis=1, ddof=1))


def _ratio(part: Any, whole: Any) -> np.ndarray:
    """part / whole, NaN where the whole is zero."""
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)


def _with_lift(frame: pd.DataFrame, actual: np.ndarray, baseline: np.ndarray,
               spread: np.ndarray) -> pd.DataFrame:
    """The posts with their lift columns and the descriptive ones the page shows."""
    t = stats.t.ppf(0.5 + LEVEL / 2, BASELINE_WEEKS - 1)
    half = t * spread * np.sqrt(1 + 1 / BASELINE_WEEKS)
    frame = frame.assign(actual=actual, baseline=baseline, lift=actual - baseline)
    frame["lift_low"], frame["lift_high"] = frame["lift"] - half, frame["lift"] + half
    frame["lift_pct"] = _ratio(frame["lift"], frame["baseline"])
    frame["engagement"] = frame[list(ENGAGEMENT)].sum(axis=1).astype("int64")
    frame["engagement_rate"] = _ratio(frame["engagement"], frame["reach"])
    frame["lift_per_cost"] = _ratio(frame["lift"], frame["cost"].astype(float))
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
    posts = _post_rows(session, scope, filters, period.start, period.end)
    start = period.start - dt.timedelta(days=7 * BASELINE_WEEKS + 7)
    end = period.end + dt.timedelta(days=w)
    skus = sorted(set(posts["sku"].dropna()))
    chosen = _chosen_skus(session, filters)
    shop, products = _daily_sales(session, scope, filters, start, end,
                                  sorted(set(skus) | set(chosen)))
    lifted = in_zone(post_lifts(posts, shop, products[[c for c in products.columns
                                                       if c in skus]], w), timezone)
    days = pd.date_range(period.start, period.end, freq="D").date
    revenue = (products[[c for c in products.columns if c in chosen]].sum(axis=1)
               if chosen else shop).reindex(days, fill_value=0.0)
    daily = pd.DataFrame({"day": days, "net_revenue": revenue.to_numpy(dtype=float)})
    return {"posts": lifted, "daily": daily, "window": w, "method": method_text(w),
            "timezone": timezone}


def _chosen_skus(session: Session, filters: Filters) -> list[str]:
    """The SKUs of the product filter (a category names its products)."""
    condition = product_filter(filters)
    if condition is None:
        return []
    return list(session.scalars(select(Product.sku).where(condition).order_by(Product.sku)))


def group_lift(posts: pd.DataFrame, by: str, order: tuple[Any, ...] | None = None,
               seed: int = 0) -> pd.DataFrame:
    """Per group of `by`: posts, mean lift per post with a t interval, and the pooled lift
    (Σ lift / Σ baseline) with a bootstrap interval over posts; fewer than `MIN_POSTS`
    posts are flagged, not estimated.

    Columns: group, posts, mean_lift, mean_low, mean_high, lift_pct, pct_low, pct_high,
    enough.
    """
    measured = posts.loc[posts["lift"].notna()]
    rng = np.random.default_rng(seed)
    groups = list(order) if order else sorted(measured[by].dropna().unique())
    rows = []
    for group in groups:
        part = measured.loc[measured[by] == group]
        rows.append({"group": group, "posts": len(part),
                     **_interval_of(part["lift"].to_numpy(), part["baseline"].to_numpy(), rng)})
    frame = pd.DataFrame(rows, columns=["group", "posts", "mean_lift", "mean_low", "mean_high",
                                        "lift_pct", "pct_low", "pct_high"])
    frame["enough"] = frame["posts"] >= MIN_POSTS
    estimates = ["mean_lift", "mean_low", "mean_high", "lift_pct", "pct_low", "pct_high"]
    frame.loc[~frame["enough"], estimates] = np.nan
    return frame


def _interval_of(lift: np.ndarray, baseline: np.ndarray,
                 rng: np.random.Generator) -> dict[str, float]:
    n = len(lift)
    if n < 2:
        return dict.fromkeys(("mean_lift", "mean_low", "mean_high", "lift_pct", "pct_low",
                              "pct_high"), np.nan)
    mean, sem = float(lift.mean()), float(lift.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * sem
    samples = rng.integers(0, n, (BOOTSTRAP, n))
    pooled = _ratio(lift[samples].sum(axis=1), baseline[samples].sum(axis=1))
    pooled = pooled[np.isfinite(pooled)]  # resamples whose baselines are all zero
    low, high = np.quantile(pooled, [0.5 - LEVEL / 2, 0.5 + LEVEL / 2]) if len(pooled) \
        else (np.nan, np.nan)
    return {"mean_lift": mean, "mean_low": mean - half, "mean_high": mean + half,
            "lift_pct": float(_ratio(lift.sum(), baseline.sum())),
            "pct_low": float(low), "pct_high": float(high)}


def organic_product_posts(posts: pd.DataFrame) -> pd.DataFrame:
    """The posts the comparisons are about: they promote a product and are not part of a
    campaign (a campaign post's window holds the campaign's own lift)."""
    return posts.loc[posts["sku"].notna() & posts["campaign_id"].isna()]


def by_type(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift by media type, organic product posts only."""
    return group_lift(organic_product_posts(data["posts"]), "post_type")


def by_weekday(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift by posting weekday (Monday first), organic product posts only."""
    frame = group_lift(organic_product_posts(data["posts"]), "weekday", tuple(range(7)))
    return frame.assign(group=[WEEKDAYS[day] for day in frame["group"]])


def by_hour_band(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift by posting-hour band, organic product posts only."""
    return group_lift(organic_product_posts(data["posts"]), "hour_band",
                      tuple(label for label, _first, _last in HOUR_BANDS))


def ratio_of_sums(part: pd.Series, whole: pd.Series) -> float:
    """Σ part / Σ whole, NaN for an empty or zero whole."""
    return float(_ratio(float(part.sum()), float(whole.sum())))


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
    found = session.execute(select(MediaPost.post_date).where(
        MediaPost.id == int(post or 0), scope_condition(scope, MediaPost.platform_id))).first()
    if found is None:
        raise NotFound(f"No media post #{post} that you may see.")
    day = as_date(found[0])
    everything = Filters(range="custom", start=day, end=day)
    posts = _post_rows(session, scope, everything, day, day)
    posts = posts.loc[posts["post_id"] == int(post)]
    shop, products = _daily_sales(session, scope, everything,
                                  day - dt.timedelta(days=7 * BASELINE_WEEKS + 7),
                                  day + dt.timedelta(days=w), sorted(set(posts["sku"].dropna())))
    row = in_zone(post_lifts(posts, shop, products, w), timezone).iloc[0]
    return {"post": {key: (None if isinstance(value, float) and np.isnan(value) else value)
                     for key, value in row.items()}, "window": w}


MIN_CELL_POSTS = 3  # a weekday × hour cell with fewer posts shows its count, not a lift


def by_slot(data: dict[str, Any]) -> pd.DataFrame:
    """Pooled lift (Σ lift / Σ baseline) and post count per posting weekday × hour, organic
    product posts only; cells with fewer than `MIN_CELL_POSTS` posts have no lift.

    Columns: weekday (0 = Monday), day, hour, posts, lift_pct (every one of the 7 × 24 cells).
    """
    posts = organic_product_posts(data["posts"])
    measured = posts.loc[posts["lift"].notna()]
    sums = measured.groupby(["weekday", "hour"]).agg(posts=("lift", "size"),
                                                      lift=("lift", "sum"),
                                                      baseline=("baseline", "sum"))
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    cells = sums.reindex(grid).reset_index()
    cells["posts"] = cells["posts"].fillna(0).astype("int64")
    cells["lift_pct"] = np.where(cells["posts"] >= MIN_CELL_POSTS,
                                 _ratio(cells["lift"], cells["baseline"]), np.nan)
    cells["day"] = [WEEKDAYS[day] for day in cells["weekday"]]
    return cells[["weekday", "day", "hour", "posts", "lift_pct"]]
