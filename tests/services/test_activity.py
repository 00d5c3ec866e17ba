"""The latest activity and data freshness (issue 13 item 9), on SQLite and PostgreSQL, checked
against pandas over the orders and lines read straight from the tables, and the platform limit."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import ImportJob, Platform
from services.activity import data_status, latest_activity
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope

EVERYTHING = Scope()
RAW_SQL = sa.text("""
    SELECT o.id, o.order_number, o.ordered_at, o.sale_date, o.platform_id,
           f.slug, f.name AS platform, l.quantity, l.unit_price, p.is_merchandise
    FROM orders AS o
    JOIN platforms AS f ON f.id = o.platform_id
    LEFT JOIN order_lines AS l ON l.order_id = o.id
    LEFT JOIN products AS p ON p.id = l.product_id
""")


@pytest.fixture
def raw(session: Session) -> pd.DataFrame:
    """Every order with its lines (an order without lines once, with NaN lines)."""
    frame = pd.read_sql(RAW_SQL, session.connection())
    frame["day"] = pd.to_datetime(frame["sale_date"].astype(str).str[:10])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    frame["is_merchandise"] = frame["is_merchandise"].astype("boolean")
    return frame


def expected_orders(raw: pd.DataFrame, period: Period, platform_ids: set[int] | None,
                    limit: int) -> pd.DataFrame:
    """The newest `limit` order headers of the range, then their merchandise lines summed."""
    mask = raw["day"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))
    if platform_ids is not None:
        mask &= raw["platform_id"].isin(platform_ids)
    headers = raw.loc[mask].drop_duplicates("id").sort_values(
        ["day", "ordered_at", "id"], ascending=False).head(limit)
    lines = raw.loc[raw["id"].isin(headers["id"]) & raw["is_merchandise"].fillna(False)]
    value = lines["quantity"] * pd.to_numeric(lines["unit_price"])
    sold = (lines["quantity"] > 0) & (pd.to_numeric(lines["unit_price"]) > 0)
    sums = pd.DataFrame({"id": lines["id"], "lines": 1, "net_revenue": value,
                         "units": lines["quantity"].where(sold, 0)}).groupby("id").sum()
    merged = headers.merge(sums, left_on="id", right_index=True)  # orders with none drop
    return merged[["order_number", "slug", "lines", "units", "net_revenue"]].reset_index(
        drop=True)


def platform_id(session: Session, slug: str) -> int:
    """The id of the platform `slug`."""
    return int(session.scalar(sa.select(Platform.id).where(Platform.slug == slug)))


def check(session: Session, raw: pd.DataFrame, filters: Filters, scope: Scope,
          limit: int = 8) -> pd.DataFrame:
    """`latest_activity`'s orders equal pandas' for the filters and scope."""
    period = resolve(session, scope, filters)
    got = latest_activity(session, scope, filters, period, orders=limit)["latest_orders"]
    ids = None if scope.platform_ids is None else set(scope.platform_ids)
    if filters.platforms:
        chosen = {platform_id(session, slug) for slug in filters.platforms}
        ids = chosen if ids is None else ids & chosen
    expected = expected_orders(raw, period, ids, limit)
    assert len(got) == len(expected) > 0
    pd.testing.assert_frame_equal(
        got[["order_number", "slug", "lines", "units"]].reset_index(drop=True),
        expected[["order_number", "slug", "lines", "units"]], check_dtype=False)
    assert got["net_revenue"].tolist() == pytest.approx(expected["net_revenue"].tolist(),
                                                        abs=0.005)
    # Newest first, within the range.
    assert got["sale_date"].map(str).is_monotonic_decreasing
    assert all(period.start <= pd.Timestamp(day).date() <= period.end for day in got["sale_date"])
    return got


@pytest.mark.parametrize("range_", ["30d", "lastmonth", "all"])
def test_latest_orders_match_pandas(session: Session, raw: pd.DataFrame, range_: str) -> None:
    check(session, raw, Filters(range=range_), EVERYTHING)


def test_latest_orders_obey_the_platform_filter_and_the_platform_limit(
        session: Session, raw: pd.DataFrame) -> None:
    instagram = platform_id(session, "instagram")
    limited = Scope(platform_ids=frozenset({instagram}))
    got = check(session, raw, Filters(range="90d"), limited, limit=12)
    assert set(got["slug"]) == {"instagram"}
    chosen = check(session, raw, Filters(range="90d", platforms=("amazon", "instagram")),
                   EVERYTHING)
    assert set(chosen["slug"]) <= {"amazon", "instagram"}
    # A limited user naming a platform outside their limit sees nothing of it.
    period = resolve(session, limited, Filters(platforms=("amazon",)))
    nothing = latest_activity(session, limited, Filters(platforms=("amazon",)), period)
    assert nothing["latest_orders"].empty


def test_a_range_with_no_orders_gives_an_empty_list(session: Session) -> None:
    filters = Filters(range="custom", start=dt.date(2001, 1, 1), end=dt.date(2001, 1, 31))
    period = resolve(session, EVERYTHING, filters)
    assert latest_activity(session, EVERYTHING, filters, period)["latest_orders"].empty


def _job(session: Session, name: str, status: str, finished: dt.datetime,
         platform_ids: list[int] | None) -> None:
    session.add(ImportJob(kind="sales", filename=name, status=status, rows_loaded=10,
                          started_at=finished - dt.timedelta(minutes=1), finished_at=finished,
                          report=json.dumps({"platform_ids": platform_ids})))
    session.flush()


def test_latest_imports_are_the_loaded_ones_the_user_may_see(session: Session) -> None:
    instagram, amazon = platform_id(session, "instagram"), platform_id(session, "amazon")
    base = dt.datetime(2030, 1, 1, 9, 0)
    _job(session, "instagram.csv", "succeeded", base, [instagram])
    _job(session, "amazon.csv", "succeeded", base + dt.timedelta(hours=1), [amazon])
    _job(session, "broken.csv", "rejected", base + dt.timedelta(hours=2), [instagram])
    period = resolve(session, EVERYTHING, Filters())
    everyone = latest_activity(session, EVERYTHING, Filters(), period)["latest_imports"]
    assert everyone["filename"].tolist()[:2] == ["amazon.csv", "instagram.csv"]
    assert "broken.csv" not in everyone["filename"].tolist()  # nothing was loaded
    limited = Scope(platform_ids=frozenset({instagram}))
    theirs = latest_activity(session, limited, Filters(), period)["latest_imports"]
    assert theirs["filename"].tolist()[:1] == ["instagram.csv"]
    assert "amazon.csv" not in theirs["filename"].tolist()
    assert data_status(session, EVERYTHING)["last_import"] == base + dt.timedelta(hours=1)
    assert data_status(session, limited)["last_import"] == base


def test_data_status_names_the_last_day_the_user_may_see(session: Session,
                                                         raw: pd.DataFrame) -> None:
    assert data_status(session, EVERYTHING)["last_day"] == raw["day"].max().date()
    instagram = platform_id(session, "instagram")
    limited = Scope(platform_ids=frozenset({instagram}))
    expected = raw.loc[raw["platform_id"] == instagram, "day"].max().date()
    assert data_status(session, limited)["last_day"] == expected
