"""The posting recommendation: a gradient-boosting model of a post's lift, evaluated on the
most recent posts it never saw next to the two obvious rules, and the slot it recommends.

Target: a post's lift % (lift / baseline, see `services.marketing`), clipped to [-100%, +400%]
so that a post on a near-empty baseline cannot dominate. Features: weekday, hour, post type,
platform, the level of what it promotes before the post (log of the mean daily revenue over
the 3 and 7 days up to the post day) and the log baseline. The rules it must beat: "post at
the historically best slot" (a test post is predicted by the training posts' pooled lift of
its weekday × hour band) and "post like the last post" (the lift of the post before it).

The model lives in the model store: `train_recommendation` fits and evaluates it (a
background job of the page), `recommendation` only reads the stored one, or answers
"pending" (never cached) until it is trained. A run keeps, with the fitted models, the slot
they recommend (the best of a fixed grid, scored once) and the posts' lifts it learnt from:
a post's lift does not depend on the view's range, so `view_impact` cuts any range's posts
from them instead of measuring them again.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from services import marketing as posts_service
from services import model_store
from services.cache import cached
from services.filters import Filters, Period
from services.model_store import ModelKey, Trained
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


KIND = "post_recommendation"


def _history_period(period: Period) -> Period:
    """The model's history: from the first day of data to the range's end."""
    first = period.first_data or period.start
    return Period(first, period.end, None, None, period.asof, period.label, period.first_data)


def recommendation_key(scope: Scope, filters: Filters, period: Period,
                       window: str = posts_service.DEFAULT_WINDOW,
                       timezone: str = "UTC") -> ModelKey:
    """The stored model a view scores: the posts' filters, the history's first and last day,
    the lift window and the clock its hours are read on (not the range's start)."""
    narrowed = [*filters.platforms, *filters.categories, *filters.products]
    label = (f"Post recommendation · {', '.join(narrowed) or 'all posts'} · {window}-day "
             f"window · to {period.end.isoformat()}")
    return model_store.model_key(KIND, scope, label, platforms=filters.platforms,
                                 products=filters.products, categories=filters.categories,
                                 first=period.first_data or period.start, end=period.end,
                                 window=window, timezone=timezone)


def training_posts(impact: dict[str, Any]) -> pd.DataFrame:
    """The organic product posts of a `post_impact` with a lift and a positive baseline,
    oldest first."""
    organic = posts_service.organic_product_posts(impact["posts"])
    return organic.loc[organic["lift"].notna() & (organic["baseline"] > 0)].sort_values(
        ["posted_at", "post_id"], ignore_index=True)


def fit_recommendation(ordered: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
    """The fitted models (None below `MIN_POSTS` posts: a refusal is stored, not retried)
    and the JSON-able hold-out evaluation next to both rules."""
    if len(ordered) < MIN_POSTS:
        return None, {"status": "too_few", "trained_posts": len(ordered), "evaluation": [],
                      "beats": False}
    categories = {column: sorted(ordered[column].unique()) for column in CATEGORICAL}
    split = int(round(len(ordered) * (1 - TEST_SHARE)))
    train, test = ordered.iloc[:split], ordered.iloc[split:]
    actual = _target(test)
    fitted = _fit(features(train, categories), _target(train))
    with threadpool_limits(1):
        predicted = fitted.predict(features(test, categories))
    predictions = {"Gradient boosting": predicted,
                   "Best historical slot": slot_rule(train, test),
                   "Like the last post": last_post_rule(ordered, np.arange(split, len(ordered)))}
    errors = {name: _mae(actual, guess) for name, guess in predictions.items()}
    evaluation = [{"method": name, "mae": mae, "posts": len(test)}
                  for name, mae in errors.items()]
    model_error, *rule_errors = errors.values()
    beats = bool(model_error < min(rule_errors))
    x, y = features(ordered, categories), _target(ordered)
    # Refitted on every post, with the 5% and 95% quantile models of the interval; the rule's
    # answer is kept too, for when the model does not beat it.
    artefact = {"categories": categories, "grid": _candidates(ordered, categories),
                "models": (_fit(x, y), _fit(x, y, 0.05), _fit(x, y, 0.95)) if beats else None,
                "rule": _recommend_rule(ordered)}
    return artefact, {"status": "ok", "trained_posts": len(ordered), "evaluation": evaluation,
                      "beats": beats}


def train_recommendation(session: Session, scope: Scope, filters: Filters, period: Period,
                         window: str = posts_service.DEFAULT_WINDOW,
                         timezone: str = "UTC") -> Trained:
    """Fit, evaluate and store the view's model (the background job runs this), with the
    slot it recommends and the history's posts and lifts it learnt from."""
    def trainer() -> tuple[dict[str, Any], dict[str, Any]]:
        impact = posts_service.post_impact(session, scope, filters, _history_period(period),
                                           window, timezone)
        fitted, metrics = fit_recommendation(training_posts(impact))
        return {"fitted": fitted, "recommended": _recommended(fitted, metrics),
                "impact": impact}, metrics
    return model_store.train(
        session, recommendation_key(scope, filters, period, window, timezone), trainer)


def _recommended(fitted: dict[str, Any] | None, metrics: dict[str, Any]) -> dict[str, Any]:
    """What the page recommends: the model's best slot where it beats both rules, else the
    rule's; nothing below the minimum of posts."""
    if fitted is None:
        return {}
    return _recommend_model(fitted) if metrics["beats"] else fitted["rule"]


def _parts(artefact: Any) -> dict[str, Any]:
    """A stored run's parts: runs stored before the recommendation and the posts were kept
    with it held only the fitted models (None below the minimum of posts)."""
    if isinstance(artefact, dict) and "fitted" in artefact:
        return artefact
    return {"fitted": artefact, "recommended": None, "impact": None}


def view_impact(session: Session, scope: Scope, filters: Filters, period: Period,
                window: str = posts_service.DEFAULT_WINDOW,
                timezone: str = "UTC") -> dict[str, Any]:
    """`services.marketing.post_impact` of the view: cut from the posts and daily revenue
    the view's trained recommendation kept of its history (the same numbers), else
    measured."""
    history = _history_period(period)
    trained = model_store.stored(session, recommendation_key(scope, filters, period, window,
                                                             timezone))
    kept = _parts(trained.artefact)["impact"] if trained is not None else None
    if kept is None or period.start < history.start:
        return posts_service.post_impact(session, scope, filters, period, window, timezone)
    return posts_service.impact_between(kept, period.start, period.end)


@cached
def recommendation(session: Session, scope: Scope, filters: Filters, period: Period,
                   window: str = posts_service.DEFAULT_WINDOW,
                   timezone: str = "UTC") -> dict[str, Any]:
    """The stored model's recommended weekday, hour and type with the expected lift and a 90%
    interval, next to its error on the newest posts it never saw and the two rules'.

    Keys: status ("ok", "too_few" or "pending"), trained_posts, evaluation (method, mae,
    posts), beats (bool), recommendation (weekday, hour, post_type, platform, lift_pct, low,
    high, source), text (in words), model (when and how it was trained), failed (why the
    last training failed, while pending).
    """
    trained, failed = model_store.stored_or_pending(
        session, recommendation_key(scope, filters, period, window, timezone))
    if trained is None:  # the panel redraws with the scores once training ends
        return {"status": "pending", "trained_posts": 0, "evaluation": _evaluation([]),
                "beats": False, "recommendation": {}, "text": "", "model": None,
                "failed": failed}
    metrics = trained.metrics
    result = {"status": metrics["status"], "trained_posts": metrics["trained_posts"],
              "evaluation": _evaluation(metrics["evaluation"]), "beats": metrics["beats"],
              "model": model_store.describe(trained), "failed": None}
    parts = _parts(trained.artefact)
    if parts["fitted"] is None:
        return {**result, "recommendation": {},
                "text": f"Not enough posts to train on: {metrics['trained_posts']} organic "
                        f"product posts with a measured lift, at least {MIN_POSTS} needed."}
    chosen = parts["recommended"]
    if chosen is None:
        chosen = _recommended(parts["fitted"], metrics)
    return {**result, "recommendation": chosen,
            "text": _words(result["evaluation"], metrics["beats"], chosen)}


def _evaluation(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "mae", "posts"])


def _recommend_model(artefact: dict[str, Any]) -> dict[str, Any]:
    """Score every candidate with the stored model: the highest predicted lift, with the 5%
    and 95% quantile models' predictions as its interval."""
    categories, (model, low_model, high_model) = artefact["categories"], artefact["models"]
    grid = artefact["grid"].copy()
    with threadpool_limits(1):
        grid["lift_pct"] = model.predict(features(grid, categories))
        row = grid.loc[[grid["lift_pct"].idxmax()]]
        low = float(low_model.predict(features(row, categories))[0])
        high = float(high_model.predict(features(row, categories))[0])
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

