"""The posting recommendation: a gradient-boosting model of a post's lift, evaluated on the
most recent posts it never saw next to the two obvious rules, and the slot it recommends.

Target: a post's lift % (lift / baseline, see `services.marketing`), clipped to [-100%, +400%]
so that a post on a near-empty baseline cannot dominate. Features: weekday, hour, post type,
platform, the level of what it promotes before the post (log of the mean daily revenue over
the 3 and 7 days up to the post day) and the log baseline. The rules it must beat: "post at
the historically best slot" (a test post is predicted by the training posts' pooled lift of
its weekday × hour band) and "post like the last post" (the lift of the post before it).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from services import marketing as posts_service
from services.cache import cached
from services.filters import Filters, Period
from services.scope import Scope

MIN_POSTS = 120  # fewer organic product posts with a lift: no model, say so
TEST_SHARE = 0.2  # the most recent fifth of the posts is held out
CLIP = (-1.0, 4.0)
HOURS = tuple(range(7, 23))
CATEGORICAL = ("post_type", "platform")
NUMERIC = ("weekday", "hour", "log_recent_3", "log_recent_7", "log_baseline")
MODEL_SETTINGS: dict[str, Any] = {"max_iter": 150, "learning_rate": 0.05, "max_depth": 3,
                                  "min_samples_leaf": 20, "random_state": 0,
                                  "early_stopping": False}


def features(posts: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """The model's feature matrix: numeric columns and one-hot post type and platform."""
    frame = pd.DataFrame({
        "weekday": posts["weekday"].to_numpy(dtype=float),
        "hour": posts["hour"].to_numpy(dtype=float),
        "log_recent_3": np.log1p(posts["recent_3"].clip(lower=0).to_numpy(dtype=float)),
        "log_recent_7": np.log1p(posts["recent_7"].clip(lower=0).to_numpy(dtype=float)),
        "log_baseline": np.log1p(posts["baseline"].clip(lower=0).to_numpy(dtype=float))})
    for column in CATEGORICAL:
        for value in categories[column]:
            frame[f"{column}={value}"] = (posts[column].to_numpy() == value).astype(float)
    return frame


def _target(posts: pd.DataFrame) -> np.ndarray:
    return posts["lift_pct"].clip(*CLIP).to_numpy(dtype=float)


def _fit(x: pd.DataFrame, y: np.ndarray, quantile: float | None = None) -> Any:
    settings = dict(MODEL_SETTINGS)
    if quantile is not None:
        settings.update(loss="quantile", quantile=quantile)
    # One thread: a few hundred rows fit in a quarter second alone, while OpenMP threads
    # fighting for a shared machine's cores took 40 times longer.
    with threadpool_limits(1):
        return HistGradientBoostingRegressor(**settings).fit(x, y)


def slot_rule(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """"Post at the historically best slot": each test post predicted by the training posts'
    pooled lift of its weekday × hour band (the overall pooled lift where the slot is new)."""
    clipped = train.assign(target=_target(train))
    overall = float(clipped["target"].mean())
    slots = clipped.groupby(["weekday", "hour_band"])["target"].mean()
    keys = zip(test["weekday"], test["hour_band"], strict=True)
    return np.array([slots.get(key, overall) for key in keys], dtype=float)


def last_post_rule(ordered: pd.DataFrame, test_index: np.ndarray) -> np.ndarray:
    """"Post like the last post": each test post predicted by the lift of the post before it."""
    target = _target(ordered)
    return target[test_index - 1]


def _mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - predicted)))


def _candidates(history: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Every weekday × hour × type × platform the history has used together, at the most
    recent level of the promoted products (the medians of the last 30 posts)."""
    pairs = history[["post_type", "platform"]].drop_duplicates()
    recent = history.tail(30)
    grid = pd.MultiIndex.from_product([range(7), HOURS], names=["weekday", "hour"]).to_frame(
        index=False).merge(pairs, how="cross")
    for column in ("recent_3", "recent_7", "baseline"):
        grid[column] = float(recent[column].median())
    return grid


@cached
def recommendation(session: Session, scope: Scope, filters: Filters, period: Period,
                   window: str = posts_service.DEFAULT_WINDOW) -> dict[str, Any]:
    """Train on the organic product posts up to the range's end, evaluate on the newest fifth,
    and recommend a weekday, hour and type with the expected lift and a 90% interval.

    Keys: status ("ok" or "too_few"), trained_posts, evaluation (method, mae, posts), beats
    (bool), recommendation (weekday, hour, post_type, platform, lift_pct, low, high, source),
    text (in words).
    """
    first = period.first_data or period.start
    history_period = Period(first, period.end, None, None, period.asof, period.label,
                            period.first_data)
    data = posts_service.post_impact(session, scope, filters, history_period, window)
    organic = posts_service.organic_product_posts(data["posts"])
    ordered = organic.loc[organic["lift"].notna() & (organic["baseline"] > 0)].sort_values(
        ["posted_at", "post_id"], ignore_index=True)
    if len(ordered) < MIN_POSTS:
        return {"status": "too_few", "trained_posts": len(ordered), "evaluation": pd.DataFrame(
            columns=["method", "mae", "posts"]), "beats": False, "recommendation": {},
            "text": f"Not enough posts to train on: {len(ordered)} organic product posts with "
                    f"a measured lift, at least {MIN_POSTS} needed."}
    return _trained(ordered)


def _trained(ordered: pd.DataFrame) -> dict[str, Any]:
    categories = {column: sorted(ordered[column].unique()) for column in CATEGORICAL}
    split = int(round(len(ordered) * (1 - TEST_SHARE)))
    train, test = ordered.iloc[:split], ordered.iloc[split:]
    actual = _target(test)
    model = _fit(features(train, categories), _target(train))
    with threadpool_limits(1):
        predicted = model.predict(features(test, categories))
    predictions = {"Gradient boosting": predicted,
                   "Best historical slot": slot_rule(train, test),
                   "Like the last post": last_post_rule(ordered, np.arange(split, len(ordered)))}
    evaluation = pd.DataFrame([{"method": name, "mae": _mae(actual, predicted),
                                "posts": len(test)} for name, predicted in predictions.items()])
    best_rule = evaluation.iloc[1:]["mae"].min()
    beats = bool(evaluation.iloc[0]["mae"] < best_rule)
    chosen = _recommend_model(ordered, categories) if beats else _recommend_rule(ordered)
    return {"status": "ok", "trained_posts": len(ordered), "evaluation": evaluation,
            "beats": beats, "recommendation": chosen, "text": _words(evaluation, beats, chosen)}


def _recommend_model(ordered: pd.DataFrame, categories: dict[str, list[str]]) -> dict[str, Any]:
    """Refit on every post; the candidate with the highest predicted lift, with the 5% and
    95% quantile models' predictions as its interval."""
    x, y = features(ordered, categories), _target(ordered)
    grid = _candidates(ordered, categories)
    grid_x = features(grid, categories)
    grid["lift_pct"] = _fit(x, y).predict(grid_x)
    best = grid["lift_pct"].idxmax()
    row = grid.loc[[best]]
    low = float(_fit(x, y, 0.05).predict(features(row, categories))[0])
    high = float(_fit(x, y, 0.95).predict(features(row, categories))[0])
    return {"weekday": posts_service.WEEKDAYS[int(row["weekday"].iloc[0])],
            "hour": int(row["hour"].iloc[0]), "post_type": str(row["post_type"].iloc[0]),
            "platform": str(row["platform"].iloc[0]), "lift_pct": float(row["lift_pct"].iloc[0]),
            "low": min(low, high), "high": max(low, high), "source": "model"}


def _recommend_rule(ordered: pd.DataFrame) -> dict[str, Any]:
    """The historically best weekday × hour band and, separately, the best type (pooled
    lift), with the slot's bootstrap interval."""
    slots = posts_service.group_lift(ordered.assign(slot=[
        f"{posts_service.WEEKDAYS[w]} {band}" for w, band in
        zip(ordered["weekday"], ordered["hour_band"], strict=True)]), "slot")
    slot = posts_service.best_group(slots) or {}
    kind = posts_service.best_group(posts_service.group_lift(ordered, "post_type")) or {}
    day, _space, band = str(slot.get("group", "")).partition(" ")
    return {"weekday": day, "hour": band, "post_type": kind.get("group", ""), "platform": "",
            "lift_pct": slot.get("lift_pct"), "low": slot.get("pct_low"),
            "high": slot.get("pct_high"), "source": "rule"}


def _words(evaluation: pd.DataFrame, beats: bool, chosen: dict[str, Any]) -> str:
    model, rules = evaluation.iloc[0], evaluation.iloc[1:]
    best = rules.loc[rules["mae"].idxmin()]
    gap = (best["mae"] - model["mae"]) / best["mae"]
    verdict = (f"The model's error on the {int(model['posts'])} newest posts it never saw is "
               f"{abs(gap):.0%} {'lower' if beats else 'higher'} than the better rule "
               f"(“{best['method']}”)")
    if not chosen or chosen.get("lift_pct") is None:
        return verdict + "."
    slot = f"{chosen['weekday']} at {chosen['hour']}" + (
        "h" if chosen["source"] == "model" else "")
    what = f"{chosen['post_type']}" + (f" on {chosen['platform']}" if chosen["platform"] else "")
    expected = (f"expected lift {chosen['lift_pct']:+.0%} (90%: {chosen['low']:+.0%} to "
                f"{chosen['high']:+.0%})")
    source = "so the model recommends" if beats else "so the page recommends the rule instead"
    return f"{verdict}, {source}: a {what} on {slot}, {expected}."


def trained_on(period: Period) -> str:
    """The history the model was trained on, in words."""
    start = period.first_data or period.start
    return f"Trained on the posts from {start:%d %b %Y} to {period.end:%d %b %Y}"

