"""Products page: best sellers, most profitable, low performers, revenue shares, price vs margin,
the product table, and a product drill-down (`/products?sku=<SKU>`)."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.filters import View
from layouts.components import chart_card, graph
from layouts.shell import PAGE_PARAM, XFILTER
from services.filters import ParamSpec
from services.product_analysis import SORTS

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
BEST_SELLERS = {"type": XFILTER, "dim": "sku", "chart": "products-best-sellers"}
PROFITABLE = {"type": XFILTER, "dim": "sku", "chart": "products-most-profitable"}
PROFIT_NOTE = "products-profit-note"
LOW = {"type": XFILTER, "dim": "sku", "chart": "products-low-performers"}
LOW_NOTE = "products-low-note"
PRODUCT_SHARE = {"type": XFILTER, "dim": "sku", "chart": "products-share"}
CATEGORY_SHARE = {"type": XFILTER, "dim": "category", "chart": "products-category-share"}
CATEGORY_NOTE = "products-category-note"
PRICE_MARGIN = {"type": XFILTER, "dim": "sku", "chart": "products-price-margin"}
PRICE_MARGIN_NOTE = "products-price-margin-note"
TABLE = "products-table"
TABLE_KEY = "products-table"
TABLE_NOTE = "products-table-note"

BACK = "product-back"
HEADER = "product-header"
DRILL_NOTE = "product-drill-note"
DRILL_TREND = "product-trend"
DRILL_PLATFORMS = {"type": XFILTER, "dim": "platform", "chart": "product-platforms"}
DRILL_COUNTRIES = "product-countries"
DRILL_CUSTOMERS = "product-customers"
DRILL_POSTS = "product-posts"
CLICK_TO_DRILL = "Click a product to open it"

TABLE_COLUMNS = (
    ("sku", "SKU", 110), ("product", "Product", 240), ("category", "Category", 140),
    ("brand", "Brand", 120), ("status", "Status", 90), ("net_revenue", "Net revenue", 120),
    ("units", "Units", 80), ("orders", "Orders", 80), ("gross_profit", "Gross profit", 120),
    ("margin", "Margin", 80), ("returns", "Returns", 100), ("share", "Share", 80),
    ("avg_price", "Avg price", 100), ("list_price", "List price", 100),
)


def _ranked(title: str, graph_id: dict[str, str], subtitle: str, note: str | None = None,
            height: int = 380) -> dbc.Card:
    return chart_card(title, graph(graph_id, height, toolbar=False), note, subtitle=subtitle,
                      export_key=graph_id["chart"])


def product_grid() -> dag.AgGrid:
    """The product table; rows come sorted and searched from the URL's sort and q choices."""
    columns = [{"field": field, "headerName": name, "width": width,
                "type": "rightAligned" if field not in ("sku", "product", "category", "brand",
                                                        "status") else None}
               for field, name, width in TABLE_COLUMNS]
    columns[1]["cellRenderer"] = "markdown"  # the name links to the product's drill-down
    return dag.AgGrid(id=TABLE, columnDefs=columns, rowData=[],
                      defaultColDef={"sortable": False, "resizable": True},
                      dashGridOptions={"pagination": True, "paginationPageSize": 20,
                                       "paginationPageSizeSelector": False,
                                       "suppressCellFocus": True},
                      style={"height": "620px"})


def _table_card(view: View) -> dbc.Card:
    tools = html.Div([
        dcc.Input(id=SEARCH, type="search", value=view.page.get("q", ""), debounce=True,
                  placeholder="Search SKU, name, category, brand", className="form-control "
                  "form-control-sm product-search"),
        dcc.Dropdown(id=SORT, value=view.page.get("sort", "net_revenue"), clearable=False,
                     searchable=False, className="sort-picker",
                     options=[{"label": f"Sort: {label}", "value": key}
                              for key, label in TABLE_SORTS.items()]),
    ], className="d-flex gap-2 align-items-center")
    return chart_card("All products", dcc.Loading(product_grid(), type="dot", delay_show=250),
                      TABLE_NOTE, tools=tools, export_key=TABLE_KEY,
                      subtitle="Metrics in the range; products without sales included")


def _list_section(view: View) -> html.Div:
    drilled = bool(view.page.get("sku"))
    return html.Div(id=LIST, style={"display": "none"} if drilled else None, children=[
        dbc.Row([
            dbc.Col(_ranked("Best sellers", BEST_SELLERS, f"By units sold. {CLICK_TO_DRILL}."),
                    lg=4),
            dbc.Col(_ranked("Most profitable", PROFITABLE,
                            "Gross profit = (price − cost) × quantity where the cost is known",
                            PROFIT_NOTE), lg=4),
            dbc.Col(_ranked("Low performers", LOW, "Lowest net revenue in the last 30 days of "
                            "the range, products with no sales included", LOW_NOTE), lg=4),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(_ranked("Revenue share by product", PRODUCT_SHARE,
                            f"Top 10 and the rest. {CLICK_TO_DRILL}.", height=340), lg=4),
            dbc.Col(_ranked("Revenue share by category", CATEGORY_SHARE,
                            "Click a slice to filter by it", CATEGORY_NOTE, height=340), lg=4),
            dbc.Col(_ranked("Price vs margin", PRICE_MARGIN, "Average selling price against "
                            "margin; bubble size is net revenue", PRICE_MARGIN_NOTE,
                            height=340), lg=4),
        ], className="g-3 mb-3"),
        dbc.Row(dbc.Col(_table_card(view))),
    ])


def _drill_section(view: View) -> html.Div:
    drilled = bool(view.page.get("sku"))
    return html.Div(id=DRILL, style=None if drilled else {"display": "none"}, children=[
        html.Div([dcc.Link("← All products", id=BACK, href=PATH, className="small")],
                 className="mb-2"),
        html.Div(id=HEADER, className="mb-2"),
        html.Div(id=DRILL_NOTE, className="small text-muted mb-3"),
        dbc.Row([
            dbc.Col(chart_card("Net revenue over time", graph(DRILL_TREND, 320),
                               export_key=DRILL_TREND), lg=8),
            dbc.Col(chart_card("By platform", graph(DRILL_PLATFORMS, 320, toolbar=False),
                               export_key=DRILL_PLATFORMS["chart"],
                               subtitle="Click a bar to filter by it"), lg=4),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(chart_card("By country", graph(DRILL_COUNTRIES, 340, toolbar=False),
                               export_key=DRILL_COUNTRIES), lg=4),
            dbc.Col(chart_card("Top customers", html.Div(id=DRILL_CUSTOMERS,
                                                         className="table-responsive"),
                               export_key=DRILL_CUSTOMERS,
                               subtitle="Known customers by net revenue (guests excluded)"),
                    lg=8),
        ], className="g-3 mb-3"),
        dbc.Row(dbc.Col(chart_card("Media posts featuring it",
                                   html.Div(id=DRILL_POSTS, className="table-responsive"),
                                   export_key=DRILL_POSTS,
                                   subtitle="Posts in the range on the filtered platforms"))),
    ])


def layout(view: View) -> html.Div:
    """The Products page for a view: the overview, or one product when `sku` is chosen."""
    return html.Div([html.H1(TITLE, className="visually-hidden"), _list_section(view),
                     _drill_section(view)])
