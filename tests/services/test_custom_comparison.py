"""A custom comparison range (cfrom/cto, issue 13 item 4) on SQLite and PostgreSQL: the KPI
compares with exactly its days, and the trend's comparison buckets line up by the stated rule
(day d of the range meets the day as far from cfrom; the last bucket with comparison days runs
on to cto; buckets past cto have none) and add up to the comparison KPI. Expected numbers come
from pandas over the raw lines (`tests.services.test_overview`)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from services import overview
from services.filters import CUSTOM, Filters
from services.periods import bucket_end, bucket_starts
from services.sales import resolve
from tests.services import test_overview
from tests.services.test_overview import EVERYTHING, expected_totals, span, view_lines

raw = test_overview.raw  # the raw sale lines: the Overview tests' fixture, read once


def expected_buckets(raw: pd.DataFrame, filters: Filters, start: dt.date, end: dt.date,
                     cfrom: dt.date, cto: dt.date) -> list[float]:
    """Each bucket's comparison revenue by the rule in words, computed day by day."""
    offset = cfrom - start
    starts = bucket_starts(start, end, filters.grain)
    values = []
    for index, bucket in enumerate(starts):
        low = max(bucket, start) + offset
        high = min(bucket_end(bucket, filters.grain), end) + offset
        if low > cto:
            values.append(np.nan)  # no comparison days left: a gap
            continue
        following = [max(b, start) + offset for b in starts[index + 1:]]
        if not following or following[0] > cto:
            high = cto  # the last bucket with comparison days runs on to cto
        lines = view_lines(raw, filters, low, min(high, cto))
        values.append(expected_totals(lines)["net_revenue"])
    return values


@pytest.mark.parametrize("grain, range_days, compare_days", [
    ("day", 30, 30), ("week", 45, 45), ("week", 45, 60), ("month", 100, 70), ("day", 20, 12)])
def test_custom_comparison_buckets_add_up_to_the_comparison_kpi(
        session: Session, raw: pd.DataFrame, grain: str, range_days: int,
        compare_days: int) -> None:
    first, last = span(raw)
    end = last - dt.timedelta(days=10)
    start = end - dt.timedelta(days=range_days - 1)
    cfrom = first + dt.timedelta(days=40)
    cto = cfrom + dt.timedelta(days=compare_days - 1)
    filters = Filters(range="custom", start=start, end=end, grain=grain, compare=CUSTOM,
                      compare_from=cfrom, compare_to=cto)
    period = resolve(session, EVERYTHING, filters)
    assert period.comparison == (cfrom, cto)
    kpi = overview.kpis(session, EVERYTHING, filters, period)["net_revenue"]["comparison"]
    assert kpi == pytest.approx(expected_totals(view_lines(raw, filters, cfrom, cto))[
        "net_revenue"], abs=0.01)
    trend = overview.revenue_trend(session, EVERYTHING, filters, period)
    wanted = expected_buckets(raw, filters, start, end, cfrom, cto)
    got = trend["compare_net_revenue"].astype(float).tolist()
    assert np.isnan(got).tolist() == np.isnan(wanted).tolist()
    assert np.nan_to_num(got) == pytest.approx(np.nan_to_num(wanted), abs=0.01)
    assert float(trend["compare_net_revenue"].sum()) == pytest.approx(kpi, abs=0.01)
    assert trend["compare_bucket"].iloc[0] == cfrom
    if compare_days != range_days:
        assert f"the comparison has {compare_days} days" in (period.compare_note or "")
