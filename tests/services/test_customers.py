"""Every Customers service, on SQLite and PostgreSQL, checked against pandas over the raw lines.

Expected values come from the rows of `order_lines` (with their order's country, product and
platform; see `tests/services/test_sales_analysis.py`) and the customers table, with the
page's definitions applied in pandas here; nothing below calls the service's helpers to
compute an expected value.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import customers as service
from services.filters import Filters, Period
from services.rollups import pass_over_earlier_days
from services.sales import resolve
from services.scope import Scope
from tests.conftest import TestDatabase
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
)
from tests.services.test_overview import (
    EVERYTHING,
    SCALE,
    busiest_categories,
    platform_id,
    platform_slugs,
    ts,
)
from tests.services.test_sales_analysis import (
    busiest_countries,
    lines_of,
    read_lines,
    sales_lines,
)

CUSTOMERS_SQL = sa.text("SELECT id, external_id, segment, country FROM customers")


@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of the parametrised database."""
    return lines_of(database)


def customer_table(session: Session) -> pd.DataFrame:
    """The customers table as stored, by id."""
    frame = pd.read_sql(CUSTOMERS_SQL, session.connection()).set_index("id")
    frame["segment"] = frame["segment"].fillna("Not set")
    frame["country"] = frame["country"].fillna("Unknown")
    return frame


def first_purchases(raw: pd.DataFrame, filters: Filters, end: dt.date,
                    scope: Scope = EVERYTHING) -> pd.Series:
    """Each known customer's first day with a sale line, under the filters, up to `end`."""
    lines = sales_lines(raw, filters, dt.date(1900, 1, 1), end, filters.country, scope)
    sold = lines.loc[(lines["quantity"] > 0) & lines["customer_id"].notna()]
    return sold.groupby(sold["customer_id"].astype(int))["day"].min()


def expected_base(session: Session, raw: pd.DataFrame, filters: Filters, start: dt.date,
                  end: dt.date, scope: Scope = EVERYTHING) -> pd.DataFrame:
    """Per known customer with an order in start..end: orders, net revenue, gross sales,
    first and last sale day in the range and their first purchase ever."""
    lines = sales_lines(raw, filters, start, end, filters.country, scope)
    lines = lines.loc[lines["customer_id"].notna()].assign(
        customer_id=lambda f: f["customer_id"].astype(int))
    value = lines["quantity"] * lines["price_units"]
    sale = lines["quantity"] > 0
    parts = pd.DataFrame({"customer_id": lines["customer_id"], "net": value,
                          "gross": value.where(sale, 0),
                          "order": lines["order_id"].where(sale),
                          "sale_day": lines["day"].where(sale)})
    grouped = parts.groupby("customer_id")
    frame = pd.DataFrame({"orders": grouped["order"].nunique(),
                          "net_revenue": grouped["net"].sum() / SCALE,
                          "gross_sales": grouped["gross"].sum() / SCALE,
                          "first_order": grouped["sale_day"].min(),
                          "last_order": grouped["sale_day"].max()})
    frame = frame.loc[frame["orders"] > 0]
    frame["first_purchase"] = first_purchases(raw, filters, end, scope).reindex(frame.index)
    return frame.join(customer_table(session))


def as_days(values: pd.Series) -> list[dt.date]:
    """Timestamps or dates as dates."""
    return [pd.Timestamp(value).date() for value in values]


def check_base(session: Session, raw: pd.DataFrame, filters: Filters,
               scope: Scope = EVERYTHING) -> tuple[pd.DataFrame, pd.DataFrame, Period]:
    """`customer_base` has exactly pandas' customers with their numbers."""
    period = resolve(session, scope, filters)
    base = service.customer_base(session, scope, filters, period.start, period.end)
    expected = expected_base(session, raw, filters, period.start, period.end, scope)
    assert sorted(base["customer_id"]) == sorted(expected.index)
    expected = expected.loc[base["customer_id"]]
    assert base["orders"].tolist() == expected["orders"].tolist()
    for column in ("net_revenue", "gross_sales"):
        assert base[column].tolist() == pytest.approx(expected[column].tolist(), abs=1e-6)
    for column in ("first_order", "last_order", "first_purchase"):
        assert base[column].tolist() == as_days(expected[column]), column
    assert base["customer"].tolist() == expected["external_id"].tolist()
    assert base["segment"].tolist() == expected["segment"].tolist()
    assert base["new"].tolist() == [day >= ts(period.start) for day in expected["first_purchase"]]
    return base, expected, period


BASE_CASES = {
    "all": lambda raw: {},
    "platforms": lambda raw: {"platforms": tuple(platform_slugs(raw)[:2])},
    "category_and_country": lambda raw: {"categories": tuple(busiest_categories(raw)[:1]),
                                         "country": busiest_countries(raw)[0]},
    "country": lambda raw: {"country": busiest_countries(raw)[0]},  # on the rollup
}


@pytest.mark.parametrize("case", list(BASE_CASES))
def test_customer_base_matches_pandas(session: Session, raw: pd.DataFrame, case: str) -> None:
    base, _expected, _period = check_base(session, raw,
                                          Filters(range="90d", **BASE_CASES[case](raw)))
    assert len(base) > 20 and base["new"].any() and not base["new"].all()


def expected_kpis(base: pd.DataFrame, start: dt.date) -> dict[str, float | int | None]:
    """The KPI cards from pandas' per-customer rows."""
    count = len(base)
    new = int((base["first_purchase"] >= ts(start)).sum())
    repeat = base.loc[base["orders"] > 1]
    gaps = ((repeat["last_order"] - repeat["first_order"]).dt.days / (repeat["orders"] - 1))
    return {"customers": count, "new_customers": new, "returning_customers": count - new,
            "repeat_rate": len(repeat) / count if count else None,
            "revenue_per_customer": base["net_revenue"].sum() / count if count else None,
            "median_days_between_orders": float(gaps.median()) if len(gaps) else None}


@pytest.mark.parametrize("compare", ["prev", "yoy"])
def test_kpis_match_pandas_with_the_comparison(session: Session, raw: pd.DataFrame,
                                               compare: str) -> None:
    filters = Filters(range="90d", compare=compare, platforms=tuple(platform_slugs(raw)[:3]))
    period = resolve(session, EVERYTHING, filters)
    assert period.compare_start and period.compare_end
    kpis = service.kpis(session, EVERYTHING, filters, period)
    current = expected_kpis(expected_base(session, raw, filters, period.start, period.end),
                            period.start)
    previous = expected_kpis(expected_base(session, raw, filters, period.compare_start,
                                           period.compare_end), period.compare_start)
    for key in service.KPI_KEYS:
        assert kpis[key]["current"] == pytest.approx(current[key]), key
        assert kpis[key]["comparison"] == pytest.approx(previous[key]), key
        if key == "repeat_rate":
            assert kpis[key]["change"] == pytest.approx(current[key] - previous[key])
        else:
            assert kpis[key]["change"] == pytest.approx(
                (current[key] - previous[key]) / abs(previous[key])), key


def test_kpis_of_all_time_match_pandas(session: Session, raw: pd.DataFrame) -> None:
    """A range from the first sale looks up no earlier purchase: every customer is new."""
    filters = Filters(range="all", country=busiest_countries(raw)[0])
    period = resolve(session, EVERYTHING, filters)
    assert period.first_data == period.start
    kpis = service.kpis(session, EVERYTHING, filters, period)
    expected = expected_kpis(expected_base(session, raw, filters, period.start, period.end),
                             period.start)
    assert expected["customers"] > 20 and expected["new_customers"] == expected["customers"]
    for key in service.KPI_KEYS:
        assert kpis[key]["current"] == pytest.approx(expected[key]), key


# --- RFM --------------------------------------------------------------------------------------

def expected_scores(values: pd.Series) -> pd.Series:
    """1 + ⌊5 × (customers with a strictly lower value) / customers⌋."""
    ordered = np.sort(values.to_numpy())
    below = np.searchsorted(ordered, values.to_numpy(), side="left")
    return pd.Series(1 + (5 * below) // len(values), index=values.index)


def expected_segment(r: int, f: int, m: int) -> str:
    """The segment rules as docs/customers.md words them (FM = (F + M) / 2, rounded up)."""
    fm = -(-(f + m) // 2)
    if r == 5:
        return "Champions" if fm >= 4 else ("New" if fm == 1 else "Potential loyalists")
    if r == 4:
        return "Loyal" if fm >= 4 else ("Promising" if fm == 1 else "Potential loyalists")
    if r == 3:
        return "Loyal" if fm >= 4 else "Need attention"
    if fm == 5:
        return "Can't lose them"
    if fm >= 3:
        return "At risk"
    return "Hibernating" if r == 2 else "Lost"


def test_rfm_scores_and_segments_match_pandas(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="12m")
    _base, expected, period = check_base(session, raw, filters)
    table = service.rfm(session, EVERYTHING, filters, period).set_index("customer_id")
    recency = (ts(period.end) - expected["last_order"]).dt.days
    scores = pd.DataFrame({"r": expected_scores(-recency), "f": expected_scores(expected["orders"]),
                           "m": expected_scores(expected["net_revenue"].round(4))})
    table = table.loc[scores.index]
    assert table["recency_days"].tolist() == recency.tolist()
    assert table["r_score"].tolist() == scores["r"].tolist()
    assert table["f_score"].tolist() == scores["f"].tolist()
    assert table["m_score"].tolist() == scores["m"].tolist()
    segments = [expected_segment(r, f, m) for r, f, m in scores.itertuples(index=False)]
    assert table["rfm_segment"].tolist() == segments
    # The summary: every segment in order, with its customers and revenue.
    summary = service.segment_summary(table.reset_index()).set_index("segment")
    assert summary.index.tolist() == list(service.SEGMENTS)
    counts = pd.Series(segments).value_counts()
    revenue = expected["net_revenue"].groupby(pd.Series(segments, index=expected.index)).sum()
    for name in service.SEGMENTS:
        assert summary.at[name, "customers"] == counts.get(name, 0), name
        assert summary.at[name, "net_revenue"] == pytest.approx(revenue.get(name, 0.0), abs=1e-6)
    assert summary["customers"].sum() == len(expected)
    assert (summary["customers"] > 0).sum() >= 8  # the demo data fill most segments


def test_a_segment_lists_exactly_its_customers(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="90d")
    period = resolve(session, EVERYTHING, filters)
    table = service.rfm(session, EVERYTHING, filters, period)
    for segment in ("Champions", "At risk"):
        members = service.segment_members(table, segment)
        wanted = table.loc[table["rfm_segment"] == segment]
        assert sorted(members["customer"]) == sorted(wanted["customer"])
        assert members["net_revenue"].is_monotonic_decreasing
    assert service.segment_members(table, "").empty


def test_quintiles_give_ties_one_score() -> None:
    scores = service.quintile_scores(pd.Series([1, 1, 1, 1, 2, 3, 3, 9, 10, 10]))
    assert scores.tolist() == [1, 1, 1, 1, 3, 3, 3, 4, 5, 5]


def test_the_segment_grid_names_every_cell_once() -> None:
    named = {service.segment_of(r, f, m) for r in range(1, 6) for f in range(1, 6)
             for m in range(1, 6)}
    assert named == set(service.SEGMENTS)
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                assert service.segment_of(r, f, m) == expected_segment(r, f, m)


# --- segments of the data, countries, lifetime value -------------------------------------------

def test_data_segments_and_countries_match_pandas(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="12m", platforms=tuple(platform_slugs(raw)[:3]))
    _base, expected, period = check_base(session, raw, filters)
    table = service.rfm(session, EVERYTHING, filters, period)  # the panels' one source
    frame = service.data_segments(table).set_index("segment")
    grouped = expected.groupby("segment")
    assert sorted(frame.index) == sorted(grouped.groups)
    for name, rows in grouped:
        assert frame.at[name, "customers"] == len(rows)
        assert frame.at[name, "net_revenue"] == pytest.approx(rows["net_revenue"].sum(), abs=1e-6)
        assert frame.at[name, "aov"] == pytest.approx(rows["gross_sales"].sum()
                                                      / rows["orders"].sum())
    countries = service.countries(table).set_index("country")
    per_country = expected.groupby("country")["net_revenue"].agg(["size", "sum"])
    assert countries["customers"].to_dict() == per_country["size"].to_dict()
    assert countries["net_revenue"].tolist() == pytest.approx(
        per_country.loc[countries.index, "sum"].tolist(), abs=1e-6)


def test_lifetime_value_distribution_and_top_share(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="all")
    _base, expected, period = check_base(session, raw, filters)
    data = service.revenue_distribution(service.rfm(session, EVERYTHING, filters, period))
    assert data["histogram"]["customers"].sum() == len(expected)
    values = expected["net_revenue"].sort_values(ascending=False)
    top = int(np.ceil(len(values) / 100))
    assert data["top_customers"] == top
    assert data["top_revenue_share"] == pytest.approx(values.head(top).sum() / values.sum())
    assert data["median"] == pytest.approx(values.median())


# --- cohorts and new vs returning ---------------------------------------------------------------

def months_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Whole calendar months from `earlier` to `later`."""
    return (later.dt.year - earlier.dt.year) * 12 + later.dt.month - earlier.dt.month


def test_cohort_matrix_matches_pandas_cell_by_cell(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="12m", compare="none")
    period = resolve(session, EVERYTHING, filters)
    cells = service.cohorts(session, EVERYTHING, filters, period)
    first = first_purchases(raw, filters, period.end)
    first = first.loc[first >= ts(period.start)]
    lines = sales_lines(raw, filters, period.start.replace(day=1), period.end)
    lines = lines.loc[lines["customer_id"].notna()]
    lines = lines.assign(customer_id=lines["customer_id"].astype(int),
                         month=lines["day"].dt.to_period("M").dt.to_timestamp())
    month_orders = lines.loc[lines["quantity"] > 0].groupby(["customer_id", "month"]).size()
    revenue = (lines["quantity"] * lines["price_units"]).groupby(
        [lines["customer_id"], lines["month"]]).sum() / SCALE
    active = month_orders.reset_index()[["customer_id", "month"]]
    active = active.loc[active["customer_id"].isin(first.index)]
    active["cohort"] = active["customer_id"].map(first).dt.to_period("M").dt.to_timestamp()
    active["age"] = months_between(active["month"], active["cohort"])
    active = active.loc[active["age"] <= 12]
    active["revenue"] = [revenue[(c, m)] for c, m in zip(active["customer_id"], active["month"],
                                                         strict=True)]
    sizes = first.dt.to_period("M").dt.to_timestamp().value_counts()
    expected = active.groupby(["cohort", "age"]).agg(active=("customer_id", "size"),
                                                     revenue=("revenue", "sum"))
    assert len(cells) == sum(min(12, int(months_between(pd.Series([ts(period.end)]),
                                                        pd.Series([cohort])).iloc[0])) + 1
                             for cohort in sizes.index)
    for cell in cells.itertuples():
        key = (ts(cell.cohort), cell.age)
        wanted = expected.loc[key] if key in expected.index else None
        assert cell.cohort_size == sizes[ts(cell.cohort)]
        assert cell.active == (0 if wanted is None else wanted["active"]), key
        assert cell.retention == pytest.approx(cell.active / cell.cohort_size)
        assert cell.net_revenue == pytest.approx(0 if wanted is None else wanted["revenue"],
                                                 abs=1e-6)
        assert cell.small == (cell.cohort_size < service.MIN_COHORT)
    assert (cells.loc[cells["age"] == 0, "retention"] == 1).all()


NEW_VS_RETURNING_CASES = {  # the first on the customer-day rollup, the second on the lines
    "platforms": lambda raw: {"platforms": tuple(platform_slugs(raw)[:2])},
    "category": lambda raw: {"categories": tuple(busiest_categories(raw)[:1])},
}


# 90 days: each customer's earlier purchase looked up; 12 months: found in one pass over the
# days before the range (`pass_over_earlier_days`).
@pytest.mark.parametrize("range_", ["90d", "12m"])
@pytest.mark.parametrize("case", list(NEW_VS_RETURNING_CASES))
def test_new_vs_returning_matches_pandas(session: Session, raw: pd.DataFrame,
                                         case: str, range_: str) -> None:
    filters = Filters(range=range_, grain="week", **NEW_VS_RETURNING_CASES[case](raw))
    period = resolve(session, EVERYTHING, filters)
    assert pass_over_earlier_days(period.first_data or dt.date.min, period.start, period.end,
                                  service.ROW_LOOK_UP_COST) == (range_ == "12m")  # both ways
    frame = service.new_vs_returning(session, EVERYTHING, filters, period).set_index("bucket")
    lines = sales_lines(raw, filters, period.start, period.end)
    lines = lines.loc[lines["customer_id"].notna()]
    week = lines["day"] - pd.to_timedelta(lines["day"].dt.day_of_week, unit="D")
    lines = lines.assign(customer_id=lines["customer_id"].astype(int), week=week,
                         value=lines["quantity"] * lines["price_units"] / SCALE)
    bought = lines.loc[lines["quantity"] > 0].groupby(["customer_id", "week"]).size().index
    revenue = lines.groupby(["customer_id", "week"])["value"].sum().loc[bought]
    first = first_purchases(raw, filters, period.end)
    first_week = first - pd.to_timedelta(first.dt.day_of_week, unit="D")
    new = np.array([first_week[c] == w for c, w in bought])
    totals = pd.DataFrame({"new": new, "revenue": revenue.to_numpy(),
                           "week": bought.get_level_values(1)})
    for week_start, rows in totals.groupby("week"):
        row = frame.loc[week_start.date()]
        assert row["new_customers"] == rows["new"].sum()
        assert row["returning_customers"] == (~rows["new"]).sum()
        assert row["new_revenue"] == pytest.approx(rows.loc[rows["new"], "revenue"].sum(),
                                                   abs=1e-6)
        assert row["returning_revenue"] == pytest.approx(
            rows.loc[~rows["new"], "revenue"].sum(), abs=1e-6)
    assert frame["new_customers"].sum() + frame["returning_customers"].sum() == len(bought)


# --- top customers ------------------------------------------------------------------------------

def test_top_customers_are_sorted_searched_and_paged(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="12m")
    _base, expected, period = check_base(session, raw, filters)
    table = service.rfm(session, EVERYTHING, filters, period)
    first = service.customer_table(table, "", "net_revenue", 1)
    ranked = expected.reset_index().sort_values(["net_revenue", "external_id"],
                                                ascending=[False, True])
    assert first["rows"]["customer"].tolist() == ranked["external_id"].head(25).tolist()
    assert first["matches"] == len(expected)
    assert first["pages"] == -(-len(expected) // 25)
    second = service.customer_table(table, "", "orders", 2)
    by_orders = expected.reset_index().sort_values(["orders", "external_id"],
                                                   ascending=[False, True])
    assert second["rows"]["customer"].tolist() == by_orders["external_id"].iloc[25:50].tolist()
    with_aov = expected.reset_index().assign(
        aov=lambda frame: frame["gross_sales"] / frame["orders"])
    for sort, ascending, page in (("aov", False, 3), ("first_order", True, 2)):
        wanted = with_aov.sort_values([sort, "external_id"], ascending=[ascending, True])
        shown = service.customer_table(table, "", sort, page)["rows"]["customer"].tolist()
        assert shown == wanted["external_id"].iloc[(page - 1) * 25: page * 25].tolist(), sort
    country = expected["country"].iloc[0]
    searched = service.customer_table(table, country.upper(), "net_revenue", 999)
    assert searched["matches"] >= (expected["country"] == country).sum()
    assert searched["page"] == searched["pages"]  # a page past the end shows the last one


# --- scope ----------------------------------------------------------------------------------------

def test_a_limited_scope_counts_only_the_activity_on_its_platforms(
        session: Session, raw: pd.DataFrame) -> None:
    inside = platform_slugs(raw)[1]
    scope = Scope(user_id=None, platform_ids=frozenset({platform_id(raw, inside)}))
    base, _expected, period = check_base(session, raw, Filters(range="90d"), scope)
    alone = service.customer_base(session, EVERYTHING, Filters(
        range="custom", start=period.start, end=period.end, platforms=(inside,)),
        period.start, period.end)
    pd.testing.assert_frame_equal(base, alone)
    everywhere = service.customer_base(session, EVERYTHING, Filters(range="90d"),
                                       period.start, period.end).set_index("customer_id")
    # Customers who also bought elsewhere have only the allowed part counted.
    assert (base.set_index("customer_id")["orders"]
            < everywhere.loc[base["customer_id"], "orders"]).any()


def test_a_range_without_sales_gives_empty_panels(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="custom", start=dt.date(1990, 1, 1), end=dt.date(1990, 3, 1))
    period = resolve(session, EVERYTHING, filters)
    assert service.kpis(session, EVERYTHING, filters, period)["customers"]["current"] == 0
    assert service.segment_summary(service.rfm(session, EVERYTHING, filters, period))[
        "customers"].sum() == 0
    assert service.cohorts(session, EVERYTHING, filters, period).empty
    assert service.revenue_distribution(service.rfm(session, EVERYTHING, filters, period))[
        "customers"] == 0
    assert service.customer_table(service.rfm(session, EVERYTHING, filters, period))[
        "matches"] == 0
    assert service.new_vs_returning(session, EVERYTHING, filters, period)[
        "new_customers"].sum() == 0
    assert replace(filters).range == "custom"


# --- the UCI Online Retail slice -----------------------------------------------------------------

def merchandise_lines(connection: sa.Connection) -> pd.DataFrame:
    """The raw lines of merchandise products (UCI postage, fees and adjustments left out)."""
    lines = read_lines(connection)
    kept = pd.read_sql(sa.text("SELECT sku FROM products WHERE is_merchandise"), connection)
    return lines.loc[lines["sku"].isin(kept["sku"])].reset_index(drop=True)


def test_the_uci_slice_gives_pandas_customers_segments_and_cohorts(fresh: Fresh) -> None:
    report = fresh.run(uci_bytes(), "online_retail.csv")
    assert report.rows_loaded > 0
    with fresh.session() as session:
        raw = merchandise_lines(session.connection())
        assert len(raw) < report.rows_loaded  # postage and fees were left out
        filters = Filters(range="all")
        _base, expected, period = check_base(session, raw, filters)
        assert len(expected) > 20
        table = service.rfm(session, EVERYTHING, filters, period).set_index("customer_id")
        scores = expected_scores(-(ts(period.end) - expected["last_order"]).dt.days)
        assert table.loc[scores.index, "r_score"].tolist() == scores.tolist()
        cells = service.cohorts(session, EVERYTHING, filters, period)
        first = first_purchases(raw, filters, period.end)
        months = first.dt.to_period("M").dt.to_timestamp().value_counts()
        sizes = cells.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
        assert {ts(day): size for day, size in sizes.items()} == months.to_dict()
        # Too few customers for the models: they say why and predict nothing.
        models, metrics = service.fit_clv(session, EVERYTHING, filters, period)
        assert models is None and metrics["refused"] and metrics["holdout"] is None
