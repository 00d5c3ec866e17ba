"""Deterministic demo data: two years of sales, marketing and B2B pipeline with planted effects.

Every effect an analytics page is expected to find (best weekday, hour profile, seasonality,
trend, returns, post and campaign lifts, churn, ...) is a number in `PLANTED`. The document
docs/demo-data.md contains the tables rendered by `planted_effects_markdown()` (a test keeps
them identical), so analytics can be checked against a known truth.

Speed matters (the default size loads in a few seconds): rows are generated as numpy arrays
and written with the importer's bulk writer (COPY on PostgreSQL, executemany on SQLite).

The modules, in the order a run uses them: `plan` (the business and its planted effects);
the simulation (`days`, `catalog`, `marketing`, `sales`, `customers`, then the rows of each
table in `rows`, `tracking`, `funnel` and `pipeline`); `writer` (into the database);
`generate` (runs them all); `markdown` (the documentation's tables).
"""
from services.demo_data.generate import DemoSummary, generate_demo_data
from services.demo_data.markdown import planted_effects_markdown
from services.demo_data.plan import DEFAULT_END, DEFAULT_LINES, MIN_LINES, PLANTED
from services.demo_data.writer import has_sales

__all__ = [
    "DEFAULT_END",
    "DEFAULT_LINES",
    "MIN_LINES",
    "PLANTED",
    "DemoSummary",
    "generate_demo_data",
    "has_sales",
    "planted_effects_markdown",
]
