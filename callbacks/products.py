"""Products callbacks: the overview panels from one read of every product's metrics, and the
drill-down of one product."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, html
from dash.exceptions import PreventUpdate

from callbacks.common import cached_output, view_of_page
from callbacks.exports import ExportSpec
from callbacks.overview import cost_note, empty_message, selection_note
from dashapp.context import fetch, setting
from dashapp.filters import View, to_query
from layouts import figures, products
from layouts.shell import STORE
from services import overview
from services import product_analysis as service
from services.errors import NotFound
from services.filters import COMPARES, Filters, Period, format_range
from services.sales import totals
from services.sales_analysis import by_country

HIDDEN = {"display": "none"}


def _view(data: dict[str, Any] | None) -> tuple[View, Period]:
    return view_of_page(data, products.PATH, products.PARAMS)


def drilled_sku(view: View) -> str:
    """The product the page is drilled into ('' for the overview)."""
    return view.page.get("sku", products.NO_PRODUCT)


def _list_view(data: dict[str, Any] | None) -> tuple[View, Period]:
    view, period = _view(data)
    if drilled_sku(view):
        raise PreventUpdate  # the overview is hidden while one product is shown
    return view, period


def _drill_view(data: dict[str, Any] | None) -> tuple[View, Period, str]:
    view, period = _view(data)
    sku = drilled_sku(view)
    if not sku:
        raise PreventUpdate
    return view, period, sku


def product_href(view: View, sku: str) -> str:
    """The drill-down link of a product that keeps the filters and page choices."""
    page = {**view.page, "sku": sku}
    return f"{products.PATH}?{to_query(view.filters, page, products.PARAMS)}"


def back_href(view: View) -> str:
    """The overview link from a drill-down, with the filters and other choices kept."""
    page = {**view.page, "sku": products.NO_PRODUCT}
    return f"{products.PATH}?{to_query(view.filters, page, products.PARAMS)}"


def labelled(frame: pd.DataFrame, length: int = 24) -> pd.DataFrame:
    """`frame` with a 'label' column: the name cut to `length`, and the SKU."""
    names = frame["name"].where(frame["name"].str.len() <= length,
                                frame["name"].str.slice(0, length - 1) + "…")
    return frame.assign(label=names + " (" + frame["sku"] + ")")


def table_rows(table: pd.DataFrame, view: View, currency: str) -> list[dict[str, Any]]:
    """Product table rows, formatted for display, each name linking to its drill-down."""
    money, number, percent = figures.format_money, figures.format_number, figures.format_percent
    return [{
        "sku": row.sku,
        "product": f"[{_markdown_text(row.name)}]({product_href(view, row.sku)})",
        "category": row.category, "brand": row.brand or "",
        "status": "active" if row.active else "retired",
        "net_revenue": money(row.net_revenue, currency), "units": number(row.units),
        "orders": number(row.orders), "gross_profit": money(row.gross_profit, currency),
        "margin": percent(row.margin), "returns": money(row.returns, currency),
        "share": percent(row.share), "avg_price": money(row.avg_price, currency),
        "list_price": money(row.list_price, currency),
    } for row in table.itertuples()]


def _markdown_text(text: str) -> str:
    return "".join("\\" + char if char in "\\`*_{}[]()#+-.!<>|" else char for char in text)


def profit_note(coverage: dict[str, Any]) -> str:
    """The share of net revenue the profit figures cover and the products without a cost."""
    note = cost_note(coverage["coverage"])
    missing = coverage["unknown_cost_products"]
    if missing:
        note += (f" {missing} sold product{'s' if missing != 1 else ''} without a known cost "
                 "left out.")
    return note.strip()


def low_note(low: pd.DataFrame) -> str:
    """The window of the low performers and how many did not sell at all."""
    if low.empty:
        return ""
    window = format_range(low["window_start"].iloc[0], low["window_end"].iloc[0])
    unsold = int((low["units"] == 0).sum())
    never = int(low["last_sale"].isna().sum())
    text = f"Window: {window}. {unsold} of these sold nothing in it"
    return text + (f"; {never} never sold up to its end." if never else ".")


def register_callbacks(app: Dash) -> None:
    """Register the Products callbacks on `app`."""

    @app.callback(Output(products.LIST, "style"), Output(products.DRILL, "style"),
                  Output(products.BACK, "href"), Input(STORE, "data"))
    def show_section(data: dict[str, Any] | None) -> tuple[Any, Any, str]:
        view, _period = _view(data)
        if drilled_sku(view):
            return HIDDEN, None, back_href(view)
        return None, HIDDEN, back_href(view)

    @app.callback(
        Output(products.BEST_SELLERS, "figure"), Output(products.PROFITABLE, "figure"),
        Output(products.PROFIT_NOTE, "children"), Output(products.PRODUCT_SHARE, "figure"),
        Output(products.PRICE_MARGIN, "figure"), Output(products.PRICE_MARGIN_NOTE, "children"),
        Output(products.TABLE, "rowData"), Output(products.TABLE_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_overview(data: dict[str, Any] | None) -> tuple[Any, ...]:
        view, period = _list_view(data)
        currency = setting("CURRENCY")
        frame = fetch(service.product_performance, view.filters, period)
        table = service.product_table(frame, view.page.get("q", ""),
                                      view.page.get("sort", "net_revenue"))
        rows, note = table_rows(table, view, currency), table_note(len(table), len(frame))
        if not frame["units"].any() and not frame["net_revenue"].any():
            empty = figures.empty_figure(empty_message(view.filters, period))
            return empty, empty, "", empty, empty, "", rows, note
        best = labelled(service.best_sellers(frame))
        profitable = labelled(service.most_profitable(frame))
        share = service.revenue_share_by_product(frame)
        margins = service.price_vs_margin(frame)
        return (
            figures.ranked_bar_figure(best, "label", "sku", currency, value="units",
                                      value_name="Units sold", unit="number"),
            figures.ranked_bar_figure(profitable, "label", "sku", currency,
                                      value="gross_profit", value_name="Gross profit",
                                      colour=figures.POSITIVE)
            if len(profitable) else figures.empty_figure("No sold product has a known cost."),
            profit_note(service.profit_coverage(frame)),
            figures.ranked_bar_figure(share, "name", "sku", currency, value="share",
                                      value_name="Share of net revenue", unit="percent",
                                      colour=figures.SERIES[2]),
            figures.price_margin_figure(margins, currency) if len(margins)
            else figures.empty_figure("No sold product has a known cost."),
            not_applied_note(view),
            rows, note,
        )

    @app.callback(Output(products.LOW, "figure"), Output(products.LOW_NOTE, "children"),
                  Input(STORE, "data"))
    @cached_output
    def update_low(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _list_view(data)
        low = fetch(service.low_performers, view.filters, period)
        if low.empty:
            return figures.empty_figure("No active products match the filters."), ""
        figure = figures.ranked_bar_figure(labelled(low), "label", "sku", setting("CURRENCY"),
                                           colour=figures.NEGATIVE)
        return figure, low_note(low)

    @app.callback(Output(products.CATEGORY_SHARE, "figure"),
                  Output(products.CATEGORY_NOTE, "children"), Input(STORE, "data"))
    @cached_output
    def update_categories(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _list_view(data)
        frame = fetch(overview.revenue_by_category, view.filters, period)
        if frame.empty:
            return figures.empty_figure(empty_message(view.filters, period)), ""
        figure = figures.share_figure(frame, "category", "category", setting("CURRENCY"),
                                      selected=view.filters.categories)
        return figure, selection_note(view.filters.categories, "category")

    @app.callback(Output(products.HEADER, "children"), Output(products.DRILL_NOTE, "children"),
                  Input(STORE, "data"))
    @cached_output
    def update_header(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period, sku = _drill_view(data)
        try:
            info = fetch(service.product_info, sku)
        except NotFound as error:
            return dbc.Alert(str(error), color="warning"), ""
        kpis = fetch(totals, service.drill_filters(view.filters, sku), period.start, period.end)
        return product_header(info, kpis, setting("CURRENCY")), drill_note(view.filters)

    @app.callback(Output(products.DRILL_TREND, "figure"),
                  Output(products.DRILL_PLATFORMS, "figure"),
                  Output(products.DRILL_COUNTRIES, "figure"), Input(STORE, "data"))
    @cached_output
    def update_drill_charts(data: dict[str, Any] | None) -> tuple[Any, Any, Any]:
        view, period, sku = _drill_view(data)
        currency, filters = setting("CURRENCY"), service.drill_filters(view.filters, sku)
        trend = fetch(overview.revenue_trend, filters, period)
        if trend["net_revenue"].abs().sum() == 0:
            empty = figures.empty_figure(empty_message(filters, period))
            return empty, empty, empty
        compare = COMPARES[filters.compare] if filters.compare != "none" else None
        platforms = fetch(overview.revenue_by_platform, filters, period)
        countries = fetch(by_country, filters, period)
        return (figures.trend_figure(trend, filters.grain, (7,) if filters.grain == "day"
                                     else (), currency, compare),
                figures.ranked_bar_figure(platforms, "platform", "slug", currency,
                                          compare=compare is not None,
                                          selected=filters.platforms),
                figures.ranked_bar_figure(countries.head(12), "country", "country", currency))

    @app.callback(Output(products.DRILL_CUSTOMERS, "children"),
                  Output(products.DRILL_POSTS, "children"), Input(STORE, "data"))
    @cached_output
    def update_drill_tables(data: dict[str, Any] | None) -> tuple[Any, Any]:
        view, period, sku = _drill_view(data)
        currency, filters = setting("CURRENCY"), service.drill_filters(view.filters, sku)
        customers = fetch(service.top_customers, filters, period)
        posts = fetch(service.posts_featuring, filters, period)
        return customers_table(customers, currency), posts_table(posts)


def table_note(shown: int, total: int) -> str:
    """How many products the search left in the table."""
    return "" if shown == total else f"{shown} of {total} products match the search."


def not_applied_note(view: View) -> str:
    """The comparison is not used by the product panels: say so rather than ignore it."""
    if view.filters.compare == "none":
        return ""
    return f"Not applied to these panels: comparison ({COMPARES[view.filters.compare].lower()})."


def drill_note(filters: Filters) -> str:
    """A drill-down shows its product whatever the product and category filters say."""
    if not (filters.products or filters.categories):
        return ""
    return ("The product and category filters do not apply here: this page shows one product. "
            "Date, platform, granularity and comparison do.")


def product_header(info: dict[str, Any], kpis: dict[str, Any], currency: str) -> html.Div:
    """Name, catalogue facts and the product's numbers in the range."""
    money = figures.format_money
    cost = "unknown" if info["unit_cost"] is None else money(info["unit_cost"], currency)
    facts = [info["sku"], info["category"], info["brand"] or "no brand",
             f"list price {money(info['list_price'], currency)}", f"unit cost {cost}",
             "active" if info["active"] else "retired"]
    profit = ("n/a (no known cost)" if kpis["gross_profit"] is None else
              f"{money(kpis['gross_profit'], currency, compact=True)} "
              f"({figures.format_percent(kpis['margin'])} margin)")
    numbers = [("Net revenue", money(kpis["net_revenue"], currency, compact=True)),
               ("Units", figures.format_number(kpis["units"])),
               ("Orders", figures.format_number(kpis["orders"])),
               ("Gross profit", profit),
               ("Returns", money(kpis["returns"], currency, compact=True))]
    return html.Div([
        html.H2(info["name"], className="h4 mb-0", id="product-name"),
        html.Div(" · ".join(facts), className="text-muted small mb-2"),
        html.Div([html.Div([html.Div(label, className="kpi-title"),
                            html.Div(value, className="product-number")],
                           className="product-stat") for label, value in numbers],
                 className="d-flex flex-wrap gap-4"),
    ])


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> Any:
    if not rows:
        return html.P(empty, className="text-muted small mb-0")
    return dbc.Table([html.Thead(html.Tr([html.Th(name) for name in headers])),
                      html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows])],
                     size="sm", hover=True, className="mb-0")


def customers_table(customers: pd.DataFrame, currency: str) -> Any:
    """The product's top customers."""
    rows = [[row.name or row.customer, row.segment or "", row.country or "",
             figures.format_number(row.orders), figures.format_number(row.units),
             figures.format_money(row.net_revenue, currency)]
            for row in customers.itertuples()]
    return _table(["Customer", "Segment", "Country", "Orders", "Units", "Net revenue"], rows,
                  "No known customer bought it in this view.")


def posts_table(posts: pd.DataFrame) -> Any:
    """The media posts that featured the product."""
    number = figures.format_number
    rows = [[format_range(row.post_date, row.post_date), row.platform, row.post_type,
             _caption(row.caption), number(row.impressions), number(row.likes),
             number(row.comments), number(row.shares)]
            for row in posts.itertuples()]
    return _table(["Date", "Platform", "Type", "Caption", "Impressions", "Likes", "Comments",
                   "Shares"], rows, "No media post featured it in this view.")


def _caption(text: str | None, length: int = 80) -> str:
    text = text or ""
    return text if len(text) <= length else text[: length - 1] + "…"


# --- exports -----------------------------------------------------------------------------------

def _performance(derive: Callable[[pd.DataFrame], pd.DataFrame]) -> Any:
    def build(view: View, period: Period) -> pd.DataFrame:
        return derive(fetch(service.product_performance, view.filters, period))
    return build


def _table_export(view: View, period: Period) -> pd.DataFrame:
    frame = fetch(service.product_performance, view.filters, period)
    return service.product_table(frame, view.page.get("q", ""),
                                 view.page.get("sort", "net_revenue"))


def _drilled(service_function: Callable[..., Any]) -> Any:
    def build(view: View, period: Period) -> pd.DataFrame:
        filters = service.drill_filters(view.filters, drilled_sku(view))
        return fetch(service_function, filters, period)
    return build


def _spec(key: str, title: str, build: Callable[[View, Period], pd.DataFrame]) -> ExportSpec:
    return ExportSpec(key, title, products.PATH, products.PARAMS, build)


EXPORTS = (
    _spec(products.BEST_SELLERS["chart"], "Best sellers", _performance(service.best_sellers)),
    _spec(products.PROFITABLE["chart"], "Most profitable products",
          _performance(service.most_profitable)),
    _spec(products.LOW["chart"], "Low performers",
          lambda view, period: fetch(service.low_performers, view.filters, period)),
    _spec(products.PRODUCT_SHARE["chart"], "Revenue share by product",
          _performance(service.revenue_share_by_product)),
    _spec(products.CATEGORY_SHARE["chart"], "Revenue share by category",
          lambda view, period: fetch(overview.revenue_by_category, view.filters, period)),
    _spec(products.PRICE_MARGIN["chart"], "Price vs margin",
          _performance(service.price_vs_margin)),
    _spec(products.TABLE_KEY, "Products", _table_export),
    _spec(products.DRILL_TREND, "Product revenue over time", _drilled(overview.revenue_trend)),
    _spec(products.DRILL_PLATFORMS["chart"], "Product revenue by platform",
          _drilled(overview.revenue_by_platform)),
    _spec(products.DRILL_COUNTRIES, "Product revenue by country", _drilled(by_country)),
    _spec(products.DRILL_CUSTOMERS, "Product top customers", _drilled(service.top_customers)),
    _spec(products.DRILL_POSTS, "Media posts featuring the product",
          _drilled(service.posts_featuring)),
)
