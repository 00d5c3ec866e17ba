"""Marketing page: what media posts did to the sales of what they promoted, by post, type and
posting slot, on a timeline (`/marketing`)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import dcc, html
from sqlalchemy.orm import Session

from dashapp.context import current_role, setting
from dashapp.filters import View, to_query
from layouts import figures
from layouts.components import chart_card
from layouts.controls import button_group
from layouts.model_status import ModelJob, pending, trained_line
from layouts.panels import Context, Drawn, Panel, Source, panel_card
from layouts.shell import PAGE_PARAM
from services import marketing as service
from services import marketing_campaigns as campaigns
from services import marketing_model as model
from services import payouts as payout_rules
from services.cache import cached
from services.filters import Filters, ParamSpec, Period, format_range
from services.model_store import ModelKey, Trained
from services.sales_analysis import has_times_of_day
from services.scope import Scope
from services.settings import describe

PATH = "/marketing"
TITLE = "Marketing"
TABS = {"posts": "Posts", "influencers": "Influencers", "payouts": "Payouts",
        "attribution": "Attribution"}
NO_POST = ""
PARAMS = (
    ParamSpec("tab", default="posts", choices=tuple(TABS)),
    ParamSpec("window", default=service.DEFAULT_WINDOW, choices=service.WINDOWS),
    ParamSpec("post", default=NO_POST, validate=lambda text: text.isdigit() and len(text) < 10),
    ParamSpec("campaign", default=NO_POST,
              validate=lambda text: text.isdigit() and len(text) < 10),
)
TAB = {"type": PAGE_PARAM, "name": "tab"}
WINDOW = {"type": PAGE_PARAM, "name": "window"}
SECTIONS = {tab: f"marketing-tab-{tab}" for tab in TABS}
POST_ROW = "marketing-post-row"
CAMPAIGN_ROW = "marketing-campaign-row"
PAYOUT_ACTION = "marketing-payout-action"  # a status button's id type (payout, to)
PAYOUT_FEEDBACK = "marketing-payout-feedback"
HIDDEN = {"display": "none"}
# Posts are filtered by their platform and promoted product; a post has no order country,
# and the lift is measured per day, so granularity and the comparison do not apply.
POST_FILTERS = frozenset({"platform", "product", "category"})
TABLE_COLUMNS = (
    ("post", "Post", 80), ("posted", "Posted", 150), ("post_type", "Type", 90),
    ("platform", "Platform", 110), ("product", "Promoted", 200),
    ("engagement", "Engagement", 110), ("engagement_rate", "Eng. rate", 95),
    ("actual", "Window revenue", 130), ("baseline", "Baseline", 110), ("lift", "Lift", 110),
    ("interval", "90% interval", 170), ("lift_pct", "Lift %", 90), ("cost", "Cost", 90),
    ("lift_per_cost", "Lift / cost", 100),
)
TEXT_COLUMNS = frozenset({"post", "posted", "post_type", "platform", "product", "interval"})
SHOWN_AS_TEXT = ("engagement_rate", "actual", "baseline", "lift", "lift_pct", "cost",
                 "lift_per_cost")


def on_tab(tab: str) -> Any:
    """A `when=` for the panels of one tab."""
    return lambda view: view.page["tab"] == tab


def post_chosen(view: View) -> bool:
    """Whether the view shows one post's detail."""
    return view.page["tab"] == "posts" and bool(view.page["post"])


def campaign_chosen(view: View) -> bool:
    """Whether the view shows one campaign's drill-down."""
    return view.page["tab"] == "influencers" and bool(view.page["campaign"])


def campaign_href(view: View, campaign: int | str) -> str:
    """The link that opens a campaign's drill-down, keeping the filters and the tab."""
    page = {**view.page, "campaign": str(campaign)}
    return f"{PATH}?{to_query(view.filters, page, PARAMS)}"


def post_href(view: View, post: int | str) -> str:
    """The link that selects a post, keeping the filters and the other choices."""
    return f"{PATH}?{to_query(view.filters, {**view.page, 'post': str(post)}, PARAMS)}"


def post_hrefs(view: View, posts: Sequence[int]) -> list[str]:
    """`post_href` of many posts: the query is written once (a thousand posts wrote it a
    thousand times), the post's number put in its place."""
    mark = "987654321"  # a valid post number no other part of a query holds
    template = post_href(view, mark)
    return [template.replace(f"post={mark}", f"post={int(post)}") for post in posts]


def _window_words(context: Context) -> str:
    window = int(context.view.page["window"])
    return "day +1" if window == 1 else f"days +1 to +{window}"


def _posts_empty(context: Context) -> str:
    period = context.period
    return f"No media posts in {format_range(period.start, period.end)} for these filters: " \
           "import posts on the Data page."


def _measured(posts: pd.DataFrame) -> pd.DataFrame:
    return posts.loc[posts["lift"].notna()]


# --- drawing the posts tab ----------------------------------------------------------------------

def draw_method(method: dict[str, Any], context: Context) -> Drawn:
    """How lift is measured, in words, with what the range holds."""
    posts = context.data["posts"]
    measured = _measured(posts)
    organic = service.organic_product_posts(measured)
    total = service.ratio_of_sums(organic["lift"], organic["baseline"])
    money = figures.format_money(float(organic["lift"].sum()), context.currency)
    summary = (f"{len(posts):,} posts in the range, {len(measured):,} with a complete window "
               f"and baseline. The {len(organic):,} organic product posts added {money} "
               f"({figures.format_percent(total, signed=True)} over their baseline).")
    return Drawn(html.Div([html.P(summary, className="mb-1", id="marketing-summary"),
                           html.P(method["method"], className="small text-muted mb-0")]))


def draw_timeline(daily: pd.DataFrame, context: Context) -> Drawn:
    """Daily revenue with a marker per post, by type; hover shows the post and its lift."""
    posts = context.data["posts"]
    if posts.empty:
        return Drawn(figures.empty_figure(_posts_empty(context)))
    markers = pd.DataFrame({"day": posts["post_date"], "key": posts["post_id"].astype(str),
                            "post_type": posts["post_type"],
                            "hover": _post_hovers(posts, context.currency)})
    what = "the chosen products" if context.filters.products or context.filters.categories \
        else "the whole shop"
    figure = figures.timeline_markers_figure(daily, markers, "post_type", "hover",
                                             context.currency,
                                             groups=sorted(posts["post_type"].unique()))
    return Drawn(figure, f"The line: net revenue of {what} per day. Markers sit on the day of "
                         "the post; click one to open it.")


def _post_hovers(posts: pd.DataFrame, currency: str) -> list[str]:
    """Each post's hover on the timeline: what it promoted, where, and its lift."""
    lifts = [f"lift {money} ({figures.format_percent(pct, signed=True)})" if lift == lift
             else "no lift (window or baseline outside the data)"  # NaN: not measured
             for money, pct, lift in zip(figures.money_texts(posts["lift"].tolist(), currency),
                                         posts["lift_pct"].tolist(), posts["lift"].tolist(),
                                         strict=True)]
    return [f"#{post} {kind} on {platform}: {product}<br>{lift}" for post, kind, platform,
            product, lift in zip(posts["post_id"].tolist(), posts["post_type"].tolist(),
                                 posts["platform"].tolist(), posts["product"].tolist(), lifts,
                                 strict=True)]


def draw_scatter(posts: pd.DataFrame, context: Context) -> Drawn:
    """Engagement against sales lift per post: engagement is not sales."""
    measured = _measured(posts)
    measured = measured.loc[measured["engagement"] > 0]
    if measured.empty:
        return Drawn(figures.empty_figure(_posts_empty(context)))
    correlation = service.rank_correlation(measured["engagement"], measured["lift"])
    named = pd.DataFrame({"engagement": measured["engagement"], "lift": measured["lift"],
                          "post_type": measured["post_type"],
                          "name": "#" + measured["post_id"].astype(str) + " "
                                  + measured["product"].astype(str)})
    figure = figures.grouped_scatter_figure(named, "engagement", "lift", "post_type", "name",
                                            "Engagement (likes + comments + shares + saves)",
                                            "Sales lift", "money", context.currency, x_log=True)
    figure["layout"]["xaxis"].update(decade_ticks(named["engagement"]))
    note = (f"Rank correlation between engagement and lift: {correlation:+.2f} over "
            f"{len(named):,} posts." if pd.notna(correlation) else "")
    return Drawn(figure, note)


def decade_ticks(values: pd.Series) -> dict[str, Any]:
    """Ticks of a log axis at the powers of ten the values span, written 1, 10, 100, 1k, 10k…
    (Plotly's own log ticks read "5, 100, 2, 5, 1000")."""
    low = int(np.floor(np.log10(max(float(values.min()), 1.0))))
    high = int(np.ceil(np.log10(max(float(values.max()), 1.0)))) or 1
    powers = [10 ** k for k in range(low, high + 1)]
    names = {0: "", 3: "k", 6: "M", 9: "B"}
    text = [f"{10 ** (k % 3)}{names[k - k % 3]}" for k in range(low, high + 1)]
    return {"tickmode": "array", "tickvals": powers, "ticktext": text}


def draw_types(groups: pd.DataFrame, context: Context) -> Drawn:
    """Pooled lift per media type with its interval and post count."""
    return _draw_groups(groups, context, "type")


def draw_weekdays(groups: pd.DataFrame, context: Context) -> Drawn:
    """Pooled lift per posting weekday."""
    return _draw_groups(groups, context, "weekday")


def draw_hours(groups: pd.DataFrame, context: Context) -> Drawn:
    """Pooled lift per posting-hour band."""
    return _draw_groups(groups, context, "hour band")


def _draw_groups(groups: pd.DataFrame, context: Context, what: str) -> Drawn:
    if groups.empty or not groups["posts"].any():
        return Drawn(figures.empty_figure(_posts_empty(context)))
    figure = figures.interval_bar_figure(groups, "group", "lift_pct", "pct_low", "pct_high",
                                         "posts")
    best = service.best_group(groups)
    lead = f"Highest lift: {best['group']} ({figures.format_percent(best['lift_pct'], 0, True)})"\
        if best else ""
    short = groups.loc[~groups["enough"], "group"].tolist()
    notes = [f"Bars: Σ lift / Σ baseline of the organic product posts of each {what} "
             f"({_window_words(context)}), {service.LEVEL:.0%} bootstrap interval over posts.",
             f"Lead: {lead}." if lead else "",
             f"Not enough posts (fewer than {service.MIN_POSTS}): {', '.join(map(str, short))}."
             if short else "", _clock(context) if what == "hour band" else ""]
    return Drawn(figure, " ".join(note for note in notes if note))


def draw_slots(cells: pd.DataFrame, context: Context) -> Drawn:
    """Pooled lift per posting weekday × hour, the post count in each cell."""
    if not cells["posts"].any():
        return Drawn(figures.empty_figure(_posts_empty(context)))
    if not has_times_of_day(cells, "posts"):
        return Drawn(figures.empty_figure("These posts have no times of day"),
                     "Every post is at 00:00: the post file gave dates without times, so the "
                     "hour of a post cannot be shown.")
    if not cells["lift_pct"].notna().any():
        measured = int(cells["posts"].sum())
        return Drawn(figures.empty_figure(
            f"Too few posts to show a lift per day and hour: {measured} measured organic "
            f"product posts, and no weekday × hour holds {service.MIN_CELL_POSTS}."),
            "Widen the date range, or see the lift by weekday and by hour band above.")
    figure = figures.heatmap_counts_figure(cells, "lift_pct", "posts", "Lift", "percent",
                                           context.currency)
    return Drawn(figure, f"Colour: Σ lift / Σ baseline of the organic product posts in the "
                         f"cell; the number: its posts. Cells with fewer than "
                         f"{service.MIN_CELL_POSTS} posts are left blank: one post is noise. "
                         f"{_clock(context)}")


def _clock(context: Context) -> str:
    return f"Hours in the business time zone ({context.data['timezone']})."


def draw_recommendation(result: dict[str, Any], context: Context) -> Drawn:
    """The recommended slot and type in words, next to the model's held-out error and the
    two rules'."""
    if result["status"] == "pending":
        return Drawn(pending(ADVICE_LABEL, model.KIND, result["failed"]))
    trained = trained_line(result["model"], model.KIND, context.business.timezone)
    if result["status"] != "ok":
        return Drawn(html.Div([html.P(result["text"], className="text-muted small mb-0"),
                               trained]))
    rows = [html.Tr([html.Td(row.method), html.Td(f"{row.mae:.1%}", className="text-end"),
                     html.Td(f"{row.posts:,}", className="text-end")],
                    className="table-active" if i == 0 else None)
            for i, row in enumerate(result["evaluation"].itertuples())]
    table = dbc.Table([html.Thead(html.Tr([html.Th("Predictor"),
                                           html.Th("Mean abs. error of lift %",
                                                   className="text-end"),
                                           html.Th("Held-out posts", className="text-end")])),
                       html.Tbody(rows)], size="sm", className="mb-1 numeric-table")
    return Drawn(html.Div([html.P(result["text"], className="mb-2", id="marketing-advice"),
                           html.Div(table, className="table-responsive"), trained]),
                 f"{model.trained_on(context.period)} (the range's start does not apply), "
                 f"{result['trained_posts']:,} organic product posts; the newest "
                 f"{model.TEST_SHARE:.0%} are held out. The interval comes from 5% and 95% "
                 "quantile models (from the slot's bootstrap when the rule is recommended).")


def post_rows(posts: pd.DataFrame, view: View, currency: str) -> list[dict[str, Any]]:
    """The posts as grid rows, newest first: numbers stay numbers next to their text.

    Built column by column: a thousand posts' eighteen cells, written one row at a time, took
    a fifth of the posts tab's refresh."""
    newest = posts.iloc[::-1]
    money = {name: figures.money_texts(newest[name].tolist(), currency)
             for name in ("actual", "baseline", "lift", "lift_low", "lift_high", "cost")}
    measured = newest["lift"].notna().to_numpy()
    costed = newest["cost"].notna().to_numpy()
    columns: dict[str, list[Any]] = {
        "post": [f"[#{post}]({href})" for post, href in
                 zip(newest["post_id"], post_hrefs(view, newest["post_id"].tolist()),
                     strict=True)],
        "posted": [f"{day:%a %d %b %Y} {hour:02d}h"
                   for day, hour in zip(newest["post_date"], newest["hour"].tolist(), strict=True)],
        **{name: newest[name].tolist() for name in ("post_type", "platform", "product")},
        "engagement": newest["engagement"].astype("int64").tolist(),
        "interval": [f"{low} to {high}" if shown else "" for low, high, shown in
                     zip(money["lift_low"], money["lift_high"], measured, strict=True)],
        **{name: _numbers(newest[name]) for name in SHOWN_AS_TEXT},
        "engagement_rate_text": [figures.format_percent(rate)
                                 for rate in newest["engagement_rate"].tolist()],
        "actual_text": money["actual"], "baseline_text": money["baseline"],
        "lift_text": money["lift"],
        "lift_pct_text": [figures.format_percent(pct, 0, signed=True)
                          for pct in newest["lift_pct"].tolist()],
        "cost_text": [text if shown else "" for text, shown in
                      zip(money["cost"], costed, strict=True)],
        "lift_per_cost_text": [f"{ratio:.2f}×" if ratio == ratio else ""  # NaN: no cost
                               for ratio in newest["lift_per_cost"].tolist()]}
    return [dict(zip(columns, cells, strict=True))
            for cells in zip(*columns.values(), strict=True)]


def _numbers(column: pd.Series) -> list[float | None]:
    """A numeric column as floats, missing values as None (null in the grid)."""
    return [None if value != value else value for value in column.astype(float).tolist()]


def draw_table(posts: pd.DataFrame, context: Context) -> Drawn:
    """Every post of the view with its engagement, lift and lift per cost."""
    return Drawn(post_rows(posts, context.view, context.currency),
                 f"{len(posts):,} posts; click a post's number to open it. Lift per cost: lift "
                 f"/ the post's stored cost (paid posts only). {_clock(context)}")


def posts_table(posts: pd.DataFrame, _view: View) -> pd.DataFrame:
    """The posts as exported: every column of the lift computation."""
    return posts.drop(columns=["caption"])


def posts_of(data: dict[str, Any], _view: View) -> pd.DataFrame:
    """The posts of the source's result."""
    return data["posts"]


def draw_detail(post: dict[str, Any], context: Context) -> Drawn:
    """One post: what it promoted, its window revenue against the baseline, the interval."""
    money = figures.format_money
    currency = context.currency
    facts = [("Posted", f"{post['post_date']:%a %d %b %Y}, {post['hour']:02d}h"),
             ("Type and platform", f"{post['post_type']} on {post['platform']}"),
             ("Promoted", post["product"]),
             ("Engagement", f"{post['engagement']:,} (reach {post['reach']:,})"),
             ("Window revenue", money(post["actual"], currency)),
             ("Baseline", money(post["baseline"], currency)),
             ("Lift", f"{money(post['lift'], currency)} "
                      f"({figures.format_percent(post['lift_pct'], signed=True)})"),
             (f"{service.LEVEL:.0%} interval", f"{money(post['lift_low'], currency)} to "
                                               f"{money(post['lift_high'], currency)}")]
    back = {**context.view.page, "post": NO_POST}
    return Drawn(html.Div([
        dbc.Table(html.Tbody([html.Tr([html.Th(name), html.Td(value)]) for name, value in facts]),
                  size="sm", className="mb-2"),
        html.P(post.get("caption") or "", className="small text-muted"),
        dcc.Link("Close", href=f"{PATH}?{to_query(context.view.filters, back, PARAMS)}",
                 id="marketing-post-close", className="small")]))


# --- the panels ---------------------------------------------------------------------------------
# The posts' services on the business's clock: the time zone is a business setting, whose
# change clears the results cache, so it is read here rather than made a key of its own.

@cached
def post_impact(session: Session, scope: Scope, filters: Filters, period: Period,
                window: str) -> dict[str, Any]:
    """`services.marketing.post_impact` with the hours in the business time zone (cut from
    the view's trained recommendation when it is trained)."""
    return model.view_impact(session, scope, filters, period, window, setting("TIMEZONE"))


@cached
def recommendation(session: Session, scope: Scope, filters: Filters, period: Period,
                   window: str) -> dict[str, Any]:
    """`services.marketing_model.recommendation` with the hours in the business time zone."""
    return model.recommendation(session, scope, filters, period, window, setting("TIMEZONE"))


def recommendation_key(scope: Scope, filters: Filters, period: Period,
                       window: str) -> ModelKey:
    """The stored recommendation model of a view (the background job's `key`)."""
    return model.recommendation_key(scope, filters, period, window, setting("TIMEZONE"))


def train_recommendation(session: Session, scope: Scope, filters: Filters, period: Period,
                         window: str) -> Trained:
    """Train the view's recommendation model (the background job's `train`)."""
    return model.train_recommendation(session, scope, filters, period, window,
                                      setting("TIMEZONE"))


@cached
def post_detail(session: Session, scope: Scope, filters: Filters, period: Period, post: str,
                window: str) -> dict[str, Any]:
    """`services.marketing.post_detail` with the hour in the business time zone."""
    return service.post_detail(session, scope, filters, period, post, window,
                               setting("TIMEZONE"))


IMPACT = Source(post_impact, choices=("window",))
POSTS = on_tab("posts")
METHOD = Panel("marketing-method", "How post lift is measured", IMPACT, draw_method,
               api_key=("method", "window"), applies=POST_FILTERS, kind="html", when=POSTS,
               rows=lambda data, _view: {"method": data["method"], "window": data["window"]})
TIMELINE = Panel("marketing-timeline", "Revenue and posts", IMPACT, draw_timeline,
                 api_key="daily", rows=lambda data, _view: data["daily"],
                 applies=POST_FILTERS, when=POSTS, height=340,
                 subtitle="Daily net revenue with a marker per post, by type")
SCATTER = Panel("marketing-scatter", "Engagement vs sales lift", IMPACT, draw_scatter,
                api_key="posts", rows=posts_of, applies=POST_FILTERS, when=POSTS, height=340,
                table=posts_table, subtitle="One dot per post with a measured lift")
TYPES = Panel("marketing-types", "Lift by media type", IMPACT, draw_types,
              api_key="by_type", rows=lambda data, _view: service.by_type(data),
              applies=POST_FILTERS, when=POSTS, height=320, toolbar=False,
              subtitle="Organic posts that promote a product")
WEEKDAY = Panel("marketing-weekdays", "Lift by posting weekday", IMPACT, draw_weekdays,
                api_key="by_weekday", rows=lambda data, _view: service.by_weekday(data),
                applies=POST_FILTERS, when=POSTS, height=300, toolbar=False, time_axis=True,
                subtitle="Local post date")
HOURS = Panel("marketing-hours", "Lift by posting hour", IMPACT, draw_hours,
              api_key="by_hour_band", rows=lambda data, _view: service.by_hour_band(data),
              applies=POST_FILTERS, when=POSTS, height=300, toolbar=False, time_axis=True,
              subtitle="Hour of the post in the business time zone")
SLOTS = Panel("marketing-slots", "Lift by posting day and hour", IMPACT, draw_slots,
              api_key="by_slot", rows=lambda data, _view: service.by_slot(data),
              applies=POST_FILTERS, when=POSTS, height=300, toolbar=False, time_axis=True,
              subtitle="Weekday × hour of the post, in the business time zone")
ADVICE_KEYS = ("status", "trained_posts", "recommendation", "evaluation", "beats",
               "text", "model", "failed")
ADVICE_LABEL = "posting recommendation model"
ADVICE = Panel("marketing-advice", "When and what to post", Source(
    recommendation, choices=("window",)), draw_recommendation, api_key=ADVICE_KEYS,
    rows=lambda result, _view: {key: result[key] for key in ADVICE_KEYS},
    table=lambda result, _view: result["evaluation"], applies=POST_FILTERS, kind="html",
    when=POSTS, export_title="Posting recommendation: held-out error",
    subtitle="A gradient-boosting model of post lift against the two obvious rules")
TABLE = Panel("marketing-posts", "Posts", IMPACT, draw_table, api_key="posts", rows=posts_of,
              applies=POST_FILTERS, kind="grid", when=POSTS, table=posts_table,
              export_title="Media posts and their lift")
DETAIL = Panel("marketing-post", "Selected post",
               Source(post_detail, choices=("post", "window")), draw_detail,
               api_key="post", rows=lambda detail, _view: detail["post"], applies=POST_FILTERS,
               kind="html", when=post_chosen)
# --- influencers, payouts, attribution ----------------------------------------------------------

def _table(frame: pd.DataFrame, columns: tuple[tuple[str, str, Any], ...],
           flag: Any = None) -> Any:
    """A small numeric table: (column, header, formatter) per column; `flag` tints a row."""
    header = html.Thead(html.Tr([html.Th(name, className="text-end" if i else None)
                                 for i, (_c, name, _f) in enumerate(columns)]))
    rows = [html.Tr([html.Td(fmt(getattr(row, column)), className="text-end" if i else None)
                     for i, (column, _name, fmt) in enumerate(columns)],
                    className="table-warning" if flag and flag(row) else None)
            for row in frame.itertuples()]
    return html.Div(dbc.Table([header, html.Tbody(rows)], size="sm", hover=True,
                              className="mb-0 numeric-table"), className="table-responsive")


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _ratio_text(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1f}:1"


ROI_BARS = 14  # bars a ranked ROI chart holds; past it a phone drew them a few px thick


def _best_and_worst(ranked: pd.DataFrame, bars: int = ROI_BARS) -> tuple[pd.DataFrame, str]:
    """At most `bars` rows of a ranking, the best and the worst half each, and the note's
    words for what was left out ('' when nothing was)."""
    if len(ranked) <= bars:
        return ranked, ""
    best = (bars + 1) // 2
    words = (f"The {best} best and {bars - best} worst of {len(ranked)} are drawn; the "
             "export lists every one. ")
    return pd.concat([ranked.head(best), ranked.tail(bars - best)]), words


def draw_roi(frame: pd.DataFrame, context: Context, label: str = "campaign") -> Drawn:
    """ROI per campaign (or influencer), ranked, with the benchmark line."""
    shown = frame.loc[frame["roi"].notna()].sort_values("roi", ascending=False)
    if shown.empty:
        return Drawn(figures.empty_figure("No influencer campaigns ran in this range."))
    key = "campaign_key" if label == "campaign" else label
    shown = shown.assign(campaign_key=shown["campaign_id"].astype(str)) \
        if label == "campaign" else shown
    drawn, left_out = _best_and_worst(shown)
    figure = figures.ranked_bar_figure(drawn, label, key, context.currency, value="roi",
                                       value_name="ROI", unit="percent",
                                       selected=(context.view.page["campaign"],))
    benchmarks = context.business
    roi = describe("roi_benchmark", benchmarks.roi_benchmark)
    figure = figures.with_target_line(figure, benchmarks.roi_benchmark, f"Benchmark {roi}")
    below = int((shown["roas"] < benchmarks.roas_benchmark).sum())
    return Drawn(figure, f"{left_out}{below} of {len(shown)} below the ROAS benchmark of "
                         f"{describe('roas_benchmark', benchmarks.roas_benchmark)}. "
                         f"{campaigns.COST_RULE}")


def draw_campaign(detail: dict[str, Any], context: Context) -> Drawn:
    """One campaign: its daily attributed revenue next to the promoted product's sales, its
    ROI and ROAS against the benchmarks, and its payouts."""
    row, daily, currency = detail["campaign"], detail["daily"], context.currency
    money = lambda value: figures.format_money(value, currency)  # noqa: E731
    business = context.business
    figure = figures.daily_lines_figure(
        daily, (("product_revenue", f"Net revenue of {detail['product']}", figures.COMPARISON),
                ("attributed", "Attributed to the campaign (tracked)", figures.PRIMARY)),
        currency, (row["start"], row["end"]), "Campaign")
    facts = [("Ran", f"{row['start']:%d %b %Y} to {row['end']:%d %b %Y} on {row['platform']}"),
             ("Influencer", _text(row["influencer"]) or "none"),
             ("Cost", money(row["cost"])),
             ("Attributed", f"{money(row['revenue'])} from {row['orders']:,} orders"),
             ("ROI", f"{figures.format_percent(row['roi'])} (benchmark "
                     f"{describe('roi_benchmark', business.roi_benchmark)})"),
             ("ROAS", f"{_ratio_text(row['roas'])} (benchmark "
                      f"{describe('roas_benchmark', business.roas_benchmark)})"),
             ("Measured lift", _measured_lift(row))]
    paid = detail["payouts"]
    payouts = "; ".join(f"#{p.payout_id} {money(p.amount)} {p.status}"
                        for p in paid.itertuples()) or "none"
    back = {**context.view.page, "campaign": NO_POST}
    body = html.Div([
        html.H3(_text(row["campaign"]), className="h6 mb-2", id="marketing-campaign-name"),
        dbc.Row([dbc.Col(dcc.Graph(figure=figure, config={"displayModeBar": False},
                                   style={"height": "300px"}), lg=8),
                 dbc.Col([dbc.Table(html.Tbody([html.Tr([html.Th(name), html.Td(value)])
                                                for name, value in facts]),
                                    size="sm", className="mb-2"),
                          html.P(f"Payouts: {payouts}.", className="small mb-1"),
                          dcc.Link("Close", href=f"{PATH}?"
                                   f"{to_query(context.view.filters, back, PARAMS)}",
                                   className="small")], lg=4)])])
    outside = int(daily["attributed"].sum() < row["revenue"] - 0.005)
    return Drawn(body, f"Shaded: the days the campaign ran; two weeks either side. "
                       f"Attributed: its tracked orders on the day they were placed"
                       f"{' (some fall outside these days)' if outside else ''}. "
                       f"{campaigns.COST_RULE}")


def _measured_lift(row: dict[str, Any]) -> str:
    """The drill-down's measured lift: the lift % of the product's orders with its interval,
    and the extra orders next to the tracked ones."""
    text = lift_text(pd.Series(row))
    if pd.isna(row["lift_pct"]):
        return f"{text} (no product, or not four weeks of data before it)"
    return (f"{text} in orders of the product ({service.LEVEL:.0%} interval): "
            f"{row['extra_orders']:,.0f} extra orders against {row['orders']:,} tracked")


def draw_influencer_roi(frame: pd.DataFrame, context: Context) -> Drawn:
    """ROI per influencer, ranked, with the benchmark line."""
    return draw_roi(frame, context, "influencer")


def draw_campaign_table(frame: pd.DataFrame, context: Context) -> Drawn:
    """Every campaign's cost, attributed orders and revenue, ROI, ROAS and engagement."""
    money = lambda value: figures.format_money(value, context.currency)  # noqa: E731
    columns = (("campaign", "Campaign", _text), ("influencer", "Influencer", _text),
               ("platform", "Platform", _text), ("cost", "Cost", money),
               ("orders", "Orders", figures.format_number), ("revenue", "Revenue", money),
               ("roi", "ROI", figures.format_percent), ("roas", "ROAS", _ratio_text),
               ("cost_per_order", "Cost / order", money),
               ("engagement_rate", "Eng. rate", figures.format_percent),
               ("lift", "Measured lift (90%)", _text),
               ("extra_orders", "Extra orders", _orders_text))
    if frame.empty:
        return Drawn(html.P("No campaigns ran in this range.", className="text-muted small"))
    benchmark = context.business.roas_benchmark
    shown = frame.assign(lift=[lift_text(row) for row in frame.itertuples()])
    return Drawn(_table(shown, columns, lambda row: row.roas < benchmark),
                 f"Tinted: ROAS below the benchmark {describe('roas_benchmark', benchmark)}. "
                 f"Extra orders: measured from the sales (next to the tracked orders). "
                 f"{campaigns.LIFT_RULE}")


def lift_text(row: Any) -> str:
    """A campaign's measured lift % with its interval, or why there is none."""
    if pd.isna(row.lift_pct):
        return "not measured"
    percent = figures.format_percent
    return (f"{percent(row.lift_pct, 0, signed=True)} ({percent(row.lift_low, 0, signed=True)}"
            f" to {percent(row.lift_high, 0, signed=True)})")


def _orders_text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.0f}"


def draw_payouts(frame: pd.DataFrame, context: Context) -> Drawn:
    """Every payout: basis, rate × units recomputed against the stored amount, status, due."""
    if frame.empty:
        return Drawn(html.P("No payouts for the campaigns of this range.",
                            className="text-muted small"))
    money = lambda value: figures.format_money(value, context.currency)  # noqa: E731
    columns = (("payout_id", "#", _text), ("influencer", "Influencer", _text),
               ("campaign", "Campaign", _text), ("status", "Status", _text),
               ("action", "Change", lambda buttons: buttons),
               ("basis", "Per", _text), ("rate", "Rate", money), ("units", "Units", _text),
               ("amount", "Amount", money), ("computed_units", "Units (data)", _text),
               ("computed_amount", "Amount (data)", money),
               ("mismatch", "Mismatch", lambda flag: "yes" if flag else ""),
               ("due_date", "Due", _text),
               ("overdue", "Overdue", lambda flag: "overdue" if flag else ""))
    totals = campaigns.payout_totals(frame)
    lead = "; ".join(f"{row.status}: {row.payouts} ({money(row.amount)})"
                     for row in totals.itertuples())
    mismatched = int(frame["mismatch"].sum())
    role = current_role()
    table = _table(frame.assign(action=[payout_actions(row.payout_id, row.status, role)
                                        for row in frame.itertuples()]),
                   columns,
                   lambda row: row.mismatch or row.overdue)
    return Drawn(table,
                 f"{mismatched} stored amount(s) differ from rate × units of the data; "
                 f"{int(frame['overdue'].sum())} overdue (not paid by the due date, as of "
                 f"{context.period.asof:%d %b %Y}). Totals — {lead}. {payout_rules.RULE}")


def payout_actions(payout_id: int, status: str, role: str) -> list[Any]:
    """The buttons of the status changes the user's role may make to one payout."""
    return [dbc.Button(payout_rules.ACTIONS[to], size="sm", className="me-1 py-0",
                       color="primary" if to in ("approved", "paid") else "outline-secondary",
                       id={"type": PAYOUT_ACTION, "payout": int(payout_id), "to": to})
            for to in payout_rules.allowed(role, status)]


def draw_attribution(data: dict[str, Any], context: Context) -> Drawn:
    """Attributed vs unattributed gross sales per platform, the total reconciled."""
    platforms = data["by_platform"]
    if platforms.empty:
        return Drawn(figures.empty_figure(context.empty))
    series = (("attributed", "Attributed (tracked)", figures.PRIMARY),
              ("unattributed", "Not attributed", figures.COMPARISON))
    figure = figures.stacked_bar_figure(platforms, "platform", series, context.currency)
    total = data["total"]
    money = figures.format_money
    note = (f"Attributed {money(total['attributed'], context.currency)} of "
            f"{money(total['gross_sales'], context.currency)} gross sales "
            f"({figures.format_percent(total['share'])}); "
            f"{money(total['unattributed'], context.currency)} not attributed. "
            f"{context.data['rule']}")
    if total["capped"]:
        note += f" {total['capped']} platform(s) capped at their sales."
    return Drawn(figure, note)


def draw_attribution_campaigns(frame: pd.DataFrame, context: Context) -> Drawn:
    """Tracked orders and revenue per campaign (organic posts together)."""
    money = lambda value: figures.format_money(value, context.currency)  # noqa: E731
    return Drawn(_table(frame, (("campaign", "Campaign", _text),
                                ("orders", "Orders", figures.format_number),
                                ("revenue", "Revenue", money))))


CAMPAIGN_FILTERS = POST_FILTERS
CAMPAIGN_SOURCE = Source(campaigns.campaign_performance)
INFLUENCERS = on_tab("influencers")
CAMPAIGN_ROI = Panel("marketing-campaign-roi", "ROI by campaign", CAMPAIGN_SOURCE, draw_roi,
                     api_key="campaigns", applies=CAMPAIGN_FILTERS, when=INFLUENCERS,
                     height=420, toolbar=False, xfilter="campaign",
                     subtitle="Dashed line: the ROI benchmark. Click a bar to open the campaign")
CAMPAIGN_DETAIL = Panel("marketing-campaign", "Selected campaign",
                        Source(campaigns.campaign_detail, choices=("campaign",)), draw_campaign,
                        api_key=("campaign", "product", "payouts", "daily"),
                        rows=lambda detail, _view: {key: detail[key] for key in
                                                    ("campaign", "product", "payouts", "daily")},
                        table=lambda detail, _view: detail["daily"],
                        applies=CAMPAIGN_FILTERS, kind="html", when=campaign_chosen,
                        export_title="Campaign: attributed revenue and product sales per day")
INFLUENCER_ROI = Panel("marketing-influencer-roi", "ROI by influencer", CAMPAIGN_SOURCE,
                       draw_influencer_roi, api_key="influencers",
                       rows=lambda frame, _view: campaigns.by_influencer(frame),
                       applies=CAMPAIGN_FILTERS, when=INFLUENCERS, height=420, toolbar=False,
                       subtitle="Their campaigns in the range summed")
CAMPAIGN_TABLE = Panel("marketing-campaigns", "Campaigns", CAMPAIGN_SOURCE, draw_campaign_table,
                       api_key="campaigns", applies=CAMPAIGN_FILTERS, kind="html",
                       when=INFLUENCERS, export_title="Campaign ROI and ROAS")
PAYOUTS = Panel("marketing-payouts", "Payouts", Source(campaigns.payouts), draw_payouts,
                api_key="payouts", applies=CAMPAIGN_FILTERS, kind="html",
                when=on_tab("payouts"),
                subtitle="Per post: units = the influencer's posts of the campaign; per order: "
                         "its tracked orders. Amount = rate × units")
ATTRIBUTION_SOURCE = Source(campaigns.attribution)
ATTRIBUTION = Panel("marketing-attribution", "Attributed sales by platform",
                    ATTRIBUTION_SOURCE, draw_attribution, api_key=("by_platform", "total"),
                    rows=lambda data, _view: {"by_platform": data["by_platform"],
                                              "total": data["total"]},
                    table=lambda data, _view: data["by_platform"],
                    applies=frozenset({"platform"}), when=on_tab("attribution"), height=360,
                    toolbar=False, subtitle="Tracked orders on the day they were placed")
ATTRIBUTION_CAMPAIGNS = Panel(
    "marketing-attribution-campaigns", "Attributed sales by campaign", ATTRIBUTION_SOURCE,
    draw_attribution_campaigns, api_key="by_campaign",
    rows=lambda data, _view: data["by_campaign"], applies=frozenset({"platform"}), kind="html",
    when=on_tab("attribution"))
MODELS = (ModelJob(model.KIND, ADVICE.key, recommendation_key, train_recommendation,
                   ADVICE_LABEL),)
PANELS = (METHOD, TIMELINE, SCATTER, TYPES, WEEKDAY, HOURS, SLOTS, ADVICE, TABLE, DETAIL,
          CAMPAIGN_ROI, CAMPAIGN_DETAIL, INFLUENCER_ROI, CAMPAIGN_TABLE, PAYOUTS, ATTRIBUTION,
          ATTRIBUTION_CAMPAIGNS)


def posts_grid() -> dag.AgGrid:
    """The posts table; numeric columns sort by their number and show their text."""
    columns: list[dict[str, Any]] = [
        {"field": field, "headerName": name, "width": width, "sortable": True,
         "type": None if field in TEXT_COLUMNS else "rightAligned"}
        for field, name, width in TABLE_COLUMNS]
    for column in columns:
        if column["field"] in SHOWN_AS_TEXT:
            column["valueFormatter"] = {"function": f"params.data.{column['field']}_text"}
    columns[0]["cellRenderer"] = "markdown"
    return dag.AgGrid(
        id=TABLE.key, columnDefs=columns, rowData=[],
        defaultColDef={"resizable": True},
        dashGridOptions={"pagination": True, "paginationPageSize": 15,
                         "paginationPageSizeSelector": False, "suppressCellFocus": True},
        style={"height": "520px"})


def _tools(view: View) -> html.Div:
    tabs = button_group(TAB, view.page["tab"], TABS, primary=True)
    window = dcc.Dropdown(id=WINDOW, value=view.page["window"], clearable=False,
                          searchable=False, className="sort-picker",
                          options=[{"label": f"Lift window: days +1..+{days}", "value": days}
                                   for days in service.WINDOWS])
    return html.Div([tabs, window], className="d-flex flex-wrap gap-2 align-items-center mb-3")


def _posts_section(view: View) -> html.Div:
    table = chart_card(TABLE.title, posts_grid(), TABLE.note_id, subtitle=TABLE.subtitle,
                       export_key=TABLE.key)
    return html.Div([
        dbc.Row(dbc.Col(panel_card(METHOD, view)), className="mb-3"),
        dbc.Row(dbc.Col(panel_card(DETAIL, view)), className="mb-3", id=POST_ROW,
                style=None if post_chosen(view) else HIDDEN),
        dbc.Row(dbc.Col(panel_card(TIMELINE, view)), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(TYPES, view), lg=6),
                 dbc.Col(panel_card(SCATTER, view), lg=6)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(WEEKDAY, view), lg=6),
                 dbc.Col(panel_card(HOURS, view), lg=6)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(SLOTS, view), lg=7),
                 dbc.Col(panel_card(ADVICE, view), lg=5)], className="g-3 mb-3"),
        dbc.Row(dbc.Col(table)),
    ], id=SECTIONS["posts"], style=None if view.page["tab"] == "posts" else HIDDEN)



def _section(tab: str, view: View, *rows: Any) -> html.Div:
    return html.Div(list(rows), id=SECTIONS[tab],
                    style=None if view.page["tab"] == tab else HIDDEN)


def layout(view: View) -> html.Div:
    """The Marketing page for a view: the tab, the window and the selected post from the URL."""
    return html.Div([
        html.H1(TITLE, className="visually-hidden"), _tools(view), _posts_section(view),
        _section("influencers", view,
                 dbc.Row(dbc.Col(panel_card(CAMPAIGN_DETAIL, view)), className="mb-3",
                         id=CAMPAIGN_ROW, style=None if campaign_chosen(view) else HIDDEN),
                 dbc.Row([dbc.Col(panel_card(CAMPAIGN_ROI, view), lg=6),
                          dbc.Col(panel_card(INFLUENCER_ROI, view), lg=6)], className="g-3 mb-3"),
                 dbc.Row(dbc.Col(panel_card(CAMPAIGN_TABLE, view)))),
        _section("payouts", view, html.Div(id=PAYOUT_FEEDBACK, className="mb-2"),
                 dbc.Row(dbc.Col(panel_card(PAYOUTS, view)))),
        _section("attribution", view,
                 dbc.Row([dbc.Col(panel_card(ATTRIBUTION, view), lg=7),
                          dbc.Col(panel_card(ATTRIBUTION_CAMPAIGNS, view), lg=5)],
                         className="g-3"))])

