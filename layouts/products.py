"""Products page: best sellers, most profitable, low performers, revenue shares, price vs margin,
the product table, and a product drill-down (`/products?sku=<SKU>`)."""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.filters import View, to_query
from layouts import figures
from layouts.components import chart_card
from layouts.overview import (
    cost_note,
    ranked,
    selection_note,
    short_labels,
)
from layouts.panels import (
    NO_COMPARE,
    TIMELESS,
    Context,
    Drawn,
    Panel,
    Source,
    panel_body,
    panel_card,
)
from layouts.shell import PAGE_PARAM
from services import overview
from services import product_analysis as service
from services.filters import Filters, ParamSpec, comparison_name, format_range
from services.product_analysis import SORTS
from services.sales_analysis import by_country

PATH = "/products"
TITLE = "Products"
SORT_LABELS = {"net_revenue": "Net revenue", "units": "Units", "gross_profit": "Gross profit",
               "margin": "Margin", "orders": "Orders", "returns": "Returns", "name": "Name"}
TABLE_SORTS = {key: SORT_LABELS[key] for key in SORTS}
NO_PRODUCT = ""
PARAMS = (
    ParamSpec("sku", default=NO_PRODUCT),
    ParamSpec("sort", default="net_revenue", choices=tuple(TABLE_SORTS)),
    ParamSpec("q", default=""),
)

SORT = {"type": PAGE_PARAM, "name": "sort"}
SEARCH = {"type": PAGE_PARAM, "name": "q"}
LIST = "products-list"
DRILL = "products-drill"

BACK = "product-back"
CLICK_TO_DRILL = "Click a product to open it"

TABLE_COLUMNS = (
    ("sku", "SKU", 110), ("product", "Product", 240), ("category", "Category", 140),
    ("brand", "Brand", 120), ("status", "Status", 90), ("net_revenue", "Net revenue", 120),
    ("units", "Units", 80), ("orders", "Orders", 80), ("gross_profit", "Gross profit", 120),
    ("margin", "Margin", 80), ("returns", "Returns", 100), ("share", "Share", 80),
    ("avg_price", "Avg price", 100), ("list_price", "List price", 100),
)


def product_href(view: View, sku: str) -> str:
    """The drill-down link of a product that keeps the filters and page choices."""
    page = {**view.page, "sku": sku}
    return f"{PATH}?{to_query(view.filters, page, PARAMS)}"


def back_href(view: View) -> str:
    """The overview link from a drill-down, with the filters and other choices kept."""
    page = {**view.page, "sku": NO_PRODUCT}
    return f"{PATH}?{to_query(view.filters, page, PARAMS)}"


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


def table_note(shown: int, total: int) -> str:
    """How many products the search left in the table."""
    return "" if shown == total else f"{shown} of {total} products match the search."


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
        *also_sold_as(info.get("also_sold_as", [])),
        html.Div([html.Div([html.Div(label, className="kpi-title"),
                            html.Div(value, className="product-number")],
                           className="product-stat") for label, value in numbers],
                 className="d-flex flex-wrap gap-4"),
    ])


def also_sold_as(names: list[dict[str, Any]]) -> list[html.Div]:
    """The other names the SKU was sold under, with the days each was seen (none: nothing)."""
    if not names:
        return []
    listed = "; ".join(f"“{entry['name']}” "
                       f"({format_range(entry['first_seen'], entry['last_seen'])})"
                       for entry in names)
    return [html.Div(f"Also sold as {listed}.", className="small mb-2", id="product-also-sold-as")]


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


# --- drawing the panels -------------------------------------------------------------------------

def drilled(view: View) -> bool:
    """Whether the view shows one product rather than the overview."""
    return bool(view.page["sku"])


def listed(view: View) -> bool:
    """Whether the view shows the product overview."""
    return not drilled(view)


def drill_source(filters: Filters, page: Any) -> Filters:
    """A drill-down reads the lines of its product, whatever the product filters say."""
    return service.drill_filters(filters, page["sku"])


def _performance(derive: Any) -> Any:
    return lambda frame, _view: derive(frame)


def _no_sales(frame: Any) -> bool:
    return not frame["units"].any() and not frame["net_revenue"].any()


def draw_best_sellers(best: Any, context: Context) -> Drawn:
    """Best sellers by units; a click opens the product."""
    if _no_sales(context.data):
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.ranked_bar_figure(short_labels(best), "label", "sku", context.currency,
                                           value="units", value_name="Units sold",
                                           unit="number"))


def draw_profitable(profitable: Any, context: Context) -> Drawn:
    """Gross profit where the cost is known, with the coverage stated."""
    if _no_sales(context.data):
        return Drawn(figures.empty_figure(context.empty))
    note = profit_note(service.profit_coverage(context.data))
    if not len(profitable):
        return Drawn(figures.empty_figure("No sold product has a known cost."), note)
    return Drawn(figures.ranked_bar_figure(short_labels(profitable), "label", "sku",
                                           context.currency, value="gross_profit",
                                           value_name="Gross profit", colour=figures.POSITIVE),
                 note)


def draw_low(low: Any, context: Context) -> Drawn:
    """The lowest net revenue in the last 30 days of the range."""
    if low.empty:
        return Drawn(figures.empty_figure("No active products match the filters."))
    return Drawn(figures.ranked_bar_figure(short_labels(low), "label", "sku", context.currency,
                                           colour=figures.NEGATIVE), low_note(low))


def draw_product_share(share: Any, context: Context) -> Drawn:
    """The top products' share of net revenue and the rest."""
    if _no_sales(context.data):
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.ranked_bar_figure(share, "name", "sku", context.currency,
                                           value="share", value_name="Share of net revenue",
                                           unit="percent", colour=figures.SERIES[2]))


def draw_category_share(frame: Any, context: Context) -> Drawn:
    """Each category's share of net revenue; a click filters by it."""
    if frame.empty:
        return Drawn(figures.empty_figure(context.empty))
    chosen = context.view.filters.categories
    return Drawn(figures.share_figure(frame, "category", "category", context.currency,
                                      selected=chosen), selection_note(chosen, "category"))


def draw_price_margin(margins: Any, context: Context) -> Drawn:
    """Average selling price against margin."""
    if _no_sales(context.data):
        return Drawn(figures.empty_figure(context.empty))
    if not len(margins):
        return Drawn(figures.empty_figure("No sold product has a known cost."))
    return Drawn(figures.price_margin_figure(margins, context.currency))


def product_table_rows(frame: Any, view: View) -> Any:
    """The product table in the URL's search and order."""
    return service.product_table(frame, view.page["q"], view.page["sort"])


def draw_table(table: Any, context: Context) -> Drawn:
    """The product table, each name linking to its drill-down."""
    return Drawn(table_rows(table, context.view, context.currency),
                 table_note(len(table), len(context.data)))


def draw_header(summary: dict[str, Any], context: Context) -> Drawn:
    """The product's name, catalogue facts and numbers in the range."""
    return Drawn(product_header(summary["product"], summary["kpis"], context.currency),
                 drill_note(context.view.filters))


def draw_drill_trend(trend: Any, context: Context) -> Drawn:
    """The product's net revenue over time."""
    if trend["net_revenue"].abs().sum() == 0:
        return Drawn(figures.empty_figure(context.empty))
    grain = context.filters.grain
    return Drawn(figures.trend_figure(trend, grain, (7,) if grain == "day" else (),
                                      context.currency,
                                      comparison_name(context.filters)))


def draw_drill_countries(countries: Any, context: Context) -> Drawn:
    """The product's largest countries."""
    if countries.empty:
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.ranked_bar_figure(countries.head(12), "country", "country",
                                           context.currency))


def draw_customers(customers: Any, context: Context) -> Drawn:
    """The product's top customers."""
    return Drawn(customers_table(customers, context.currency))


def draw_posts(posts: Any, _context: Context) -> Drawn:
    """The media posts that featured the product."""
    return Drawn(posts_table(posts))


# --- the panels ---------------------------------------------------------------------------------

PERFORMANCE = Source(service.product_performance)
BEST_SELLERS = Panel("products-best-sellers", "Best sellers", PERFORMANCE, draw_best_sellers,
                     rows=_performance(service.best_sellers), api_key="best_sellers",
                     applies=NO_COMPARE, xfilter="sku", when=listed, toolbar=False,
                     height=380, subtitle=f"By units sold. {CLICK_TO_DRILL}.")
PROFITABLE = Panel("products-most-profitable", "Most profitable", PERFORMANCE,
                   draw_profitable, rows=_performance(service.most_profitable),
                   api_key="most_profitable",
                   api_extra=(("profit_coverage", service.profit_coverage),),
                   applies=NO_COMPARE, xfilter="sku", when=listed, toolbar=False, height=380,
                   export_title="Most profitable products",
                   subtitle="Gross profit = (price − cost) × quantity where the cost is known")
LOW = Panel("products-low-performers", "Low performers", Source(service.low_performers),
            draw_low, api_key="low_performers", applies=NO_COMPARE, xfilter="sku",
            when=listed, toolbar=False, height=380,
            subtitle="Lowest net revenue in the last 30 days of the range, products with no "
                     "sales included")
PRODUCT_SHARE = Panel("products-share", "Revenue share by product", PERFORMANCE,
                      draw_product_share, rows=_performance(service.revenue_share_by_product),
                      api_key="share_by_product", applies=NO_COMPARE, xfilter="sku",
                      when=listed, toolbar=False, height=340,
                      subtitle=f"Top 10 and the rest. {CLICK_TO_DRILL}.")
CATEGORY_SHARE = Panel("products-category-share", "Revenue share by category",
                       Source(overview.revenue_by_category), draw_category_share,
                       api_key="share_by_category", applies=NO_COMPARE, xfilter="category",
                       when=listed, toolbar=False, height=340,
                       subtitle="Click a slice to filter by it")
PRICE_MARGIN = Panel("products-price-margin", "Price vs margin", PERFORMANCE,
                     draw_price_margin, rows=_performance(service.price_vs_margin),
                     api_key="price_vs_margin", applies=NO_COMPARE, xfilter="sku",
                     when=listed, toolbar=False, height=340,
                     subtitle="Average selling price against margin; bubble size is net "
                              "revenue")
TABLE = Panel("products-table", "All products", PERFORMANCE, draw_table,
              rows=product_table_rows, api_key="products", applies=NO_COMPARE, kind="grid",
              when=listed, export_title="Products",
              subtitle="Metrics in the range; products without sales included")

HEADER = Panel("product-header", "Product", Source(service.product_summary, ("sku",),
                                                   narrow=drill_source),
               draw_header, api_key=("product", "kpis"), applies=NO_COMPARE, kind="html",
               when=drilled, table=lambda summary, _view: pd.DataFrame(
                   [{**summary["product"], **summary["kpis"]}]))
DRILL_TREND = Panel("product-trend", "Net revenue over time",
                    Source(overview.revenue_trend, narrow=drill_source), draw_drill_trend,
                    api_key="trend", applies=TIMELESS | {"grain"}, when=drilled, height=320,
                    export_title="Product revenue over time")
DRILL_PLATFORMS = Panel("product-platforms", "By platform",
                        Source(overview.revenue_by_platform, narrow=drill_source),
                        ranked("platform", "slug", "platform", "platforms", compare=True),
                        api_key="by_platform", applies=TIMELESS, xfilter="platform",
                        when=drilled, height=320, toolbar=False,
                        export_title="Product revenue by platform",
                        subtitle="Click a bar to filter by it")
DRILL_COUNTRIES = Panel("product-countries", "By country",
                        Source(by_country, narrow=drill_source), draw_drill_countries,
                        api_key="by_country", applies=NO_COMPARE, when=drilled, height=340,
                        toolbar=False, export_title="Product revenue by country")
DRILL_CUSTOMERS = Panel("product-customers", "Top customers",
                        Source(service.top_customers, narrow=drill_source), draw_customers,
                        api_key="top_customers", applies=NO_COMPARE, kind="html",
                        when=drilled, export_title="Product top customers",
                        subtitle="Known customers by net revenue (guests excluded)")
DRILL_POSTS = Panel("product-posts", "Media posts featuring it",
                    Source(service.posts_featuring, narrow=drill_source), draw_posts,
                    api_key="posts", applies=NO_COMPARE, kind="html", when=drilled,
                    export_title="Media posts featuring the product",
                    subtitle="Posts in the range on the filtered platforms")
PANELS = (BEST_SELLERS, PROFITABLE, LOW, PRODUCT_SHARE, CATEGORY_SHARE, PRICE_MARGIN, TABLE,
          HEADER, DRILL_TREND, DRILL_PLATFORMS, DRILL_COUNTRIES, DRILL_CUSTOMERS, DRILL_POSTS)


def product_grid() -> dag.AgGrid:
    """The product table; rows come sorted and searched from the URL's sort and q choices."""
    columns = [{"field": field, "headerName": name, "width": width,
                "type": "rightAligned" if field not in ("sku", "product", "category", "brand",
                                                        "status") else None}
               for field, name, width in TABLE_COLUMNS]
    columns[1]["cellRenderer"] = "markdown"  # the name links to the product's drill-down
    return dag.AgGrid(id=TABLE.key, columnDefs=columns, rowData=[],
                      defaultColDef={"sortable": False, "resizable": True},
                      dashGridOptions={"pagination": True, "paginationPageSize": 20,
                                       "paginationPageSizeSelector": False,
                                       "suppressCellFocus": True},
                      style={"height": "620px"})


def _table_tools(view: View) -> html.Div:
    return html.Div([
        dcc.Input(id=SEARCH, type="search", value=view.page["q"], debounce=True,
                  placeholder="Search SKU, name, category, brand", className="form-control "
                  "form-control-sm product-search"),
        dcc.Dropdown(id=SORT, value=view.page["sort"], clearable=False,
                     searchable=False, className="sort-picker",
                     options=[{"label": f"Sort: {label}", "value": key}
                              for key, label in TABLE_SORTS.items()]),
    ], className="d-flex flex-wrap gap-2 align-items-center")


def _list_section(view: View) -> html.Div:
    def row(panels: tuple[Panel, ...]) -> dbc.Row:
        return dbc.Row([dbc.Col(panel_card(panel, view), lg=4) for panel in panels],
                       className="g-3 mb-3")

    table = chart_card(TABLE.title, product_grid(), TABLE.note_id, tools=_table_tools(view),
                       subtitle=TABLE.subtitle, export_key=TABLE.key)
    return html.Div(id=LIST, style={"display": "none"} if drilled(view) else None, children=[
        row((BEST_SELLERS, PROFITABLE, LOW)),
        row((PRODUCT_SHARE, CATEGORY_SHARE, PRICE_MARGIN)),
        dbc.Row(dbc.Col(table)),
    ])


def _drill_section(view: View) -> html.Div:
    return html.Div(id=DRILL, style=None if drilled(view) else {"display": "none"}, children=[
        html.Div([dcc.Link("← All products", id=BACK, href=PATH, className="small")],
                 className="mb-2"),
        html.Div(id=HEADER.key, className="mb-2"),
        html.Div(id=HEADER.note_id, className="small text-muted mb-3"),
        dbc.Row([dbc.Col(panel_card(DRILL_TREND, view), lg=8),
                 dbc.Col(panel_card(DRILL_PLATFORMS, view), lg=4)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(DRILL_COUNTRIES, view), lg=4),
                 dbc.Col(panel_card(DRILL_CUSTOMERS, view, html.Div(
                     panel_body(DRILL_CUSTOMERS), className="table-responsive")), lg=8)],
                className="g-3 mb-3"),
        dbc.Row(dbc.Col(panel_card(DRILL_POSTS, view, html.Div(
            panel_body(DRILL_POSTS), className="table-responsive")))),
    ])


def layout(view: View) -> html.Div:
    """The Products page for a view: the overview, or one product when `sku` is chosen."""
    return html.Div([html.H1(TITLE, className="visually-hidden"), _list_section(view),
                     _drill_section(view)])
