"""Demo data: deterministic, complete, internally consistent, and its planted effects show.

Every planted effect is re-detected here by an independent pandas computation over the rows
as stored (read back with `pd.read_sql`), never by calling the generator's internals.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

import models
from services.demo_data import (
    DEFAULT_END,
    DEFAULT_LINES,
    PLANTED,
    generate_demo_data,
    has_sales,
    planted_effects_markdown,
)
from services.errors import InvalidInput

LINES = 20_000
SEED = 42
DOC = Path(__file__).resolve().parents[2] / "docs" / "demo-data.md"


def empty_engine() -> sa.Engine:
    """A fresh in-memory SQLite database with every table."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    models.Base.metadata.create_all(engine)
    return engine


def generated(lines: int = LINES, seed: int = SEED, timezone: str = "UTC") -> sa.Engine:
    """An in-memory database holding committed demo data."""
    engine = empty_engine()
    with Session(engine) as session:
        generate_demo_data(session, lines=lines, seed=seed, timezone=timezone)
        session.commit()
    return engine


def read(engine: sa.Engine, sql: str, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows of a query, with the named columns parsed as dates/timestamps."""
    frame = pd.read_sql(sa.text(sql), engine)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def checksum(engine: sa.Engine) -> str:
    """SHA-256 over every table that has an id, rows ordered by id."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in models.Base.metadata.sorted_tables:
            if "id" in table.c:
                rows = connection.execute(sa.select(table).order_by(table.c.id)).all()
                digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo() -> Iterator[sa.Engine]:
    """The reference data set (20k lines, seed 42, UTC), shared by the read-only tests."""
    engine = generated()
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def lines(demo: sa.Engine) -> pd.DataFrame:
    """All order lines with net revenue per line."""
    frame = read(demo, "SELECT * FROM order_lines", dates=("sale_date",))
    frame["revenue"] = frame["quantity"] * frame["unit_price"]
    return frame


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_gives_identical_data(demo: sa.Engine) -> None:
    again = generated()
    assert checksum(again) == checksum(demo)


def test_another_seed_gives_other_data(demo: sa.Engine) -> None:
    assert checksum(generated(seed=SEED + 1)) != checksum(demo)


# --- counts and ranges ------------------------------------------------------------------------

def test_summary_counts_match_the_tables() -> None:
    engine = empty_engine()
    with Session(engine) as session:
        summary = generate_demo_data(session, lines=LINES, seed=SEED)
        for table in ("products", "customers", "orders", "order_lines", "media_posts",
                      "influencers", "campaigns", "tracking", "payouts", "funnel_days",
                      "accounts", "sales_reps", "opportunities", "stage_changes", "platforms"):
            count = session.scalar(sa.text(f"SELECT COUNT(*) FROM {table}"))
            assert getattr(summary, table) == count, table
    assert summary.first_sale == DEFAULT_END - dt.timedelta(days=729)
    assert summary.last_sale == DEFAULT_END
    assert "order lines" in str(summary)


def test_two_years_of_sales_ending_at_end(lines: pd.DataFrame) -> None:
    assert lines["sale_date"].min() == pd.Timestamp(DEFAULT_END - dt.timedelta(days=729))
    assert lines["sale_date"].max() == pd.Timestamp(DEFAULT_END)
    assert lines["sale_date"].dt.normalize().nunique() == 730


def test_custom_end_date_moves_the_window() -> None:
    engine = empty_engine()
    with Session(engine) as session:
        summary = generate_demo_data(session, lines=LINES, end=dt.date(2025, 3, 31))
    assert (summary.first_sale, summary.last_sale) == (dt.date(2023, 4, 2), dt.date(2025, 3, 31))


def test_line_count_is_within_ten_percent(lines: pd.DataFrame) -> None:
    assert 0.9 * LINES <= len(lines) <= 1.1 * LINES


def test_default_size_smoke() -> None:
    engine = generated(lines=DEFAULT_LINES)
    with engine.connect() as connection:
        count = connection.scalar(sa.text("SELECT COUNT(*) FROM order_lines"))
    assert 0.9 * DEFAULT_LINES <= count <= 1.1 * DEFAULT_LINES


def test_catalogue(demo: sa.Engine, lines: pd.DataFrame) -> None:
    products = read(demo, "SELECT * FROM products")
    assert 150 <= len(products) <= 300
    assert products["category"].nunique() >= 8
    assert products["brand"].nunique() >= 5
    assert 0.03 <= products["unit_cost"].isna().mean() <= 0.05
    assert (~products["active"].astype(bool)).sum() == PLANTED["catalog"]["inactive"]
    assert products["sku"].is_unique
    never_sold = products[products["active"].astype(bool)
                          & ~products["id"].isin(lines["product_id"])]
    assert len(never_sold) == PLANTED["catalog"]["never_sold"]
    priced = products.dropna(subset=["unit_cost"])
    assert (priced["unit_cost"] < priced["list_price"]).all()


def test_unknown_costs_stay_unknown_on_lines(demo: sa.Engine, lines: pd.DataFrame) -> None:
    products = read(demo, "SELECT id, unit_cost FROM products").set_index("id")["unit_cost"]
    expected = products.reindex(lines["product_id"]).to_numpy()
    pd.testing.assert_series_equal(lines["unit_cost"].isna(), pd.Series(pd.isna(expected)),
                                   check_names=False)


def test_every_platform_kind_sells(demo: sa.Engine, lines: pd.DataFrame) -> None:
    platforms = read(demo, "SELECT * FROM platforms")
    assert set(PLANTED["platform_shares"]) <= set(platforms["name"])
    selling = platforms[platforms["id"].isin(lines["platform_id"])]
    assert set(selling["kind"]) == {"web", "social", "marketplace", "offline"}


def test_money_has_cents_and_quantities_are_integers(lines: pd.DataFrame) -> None:
    assert (lines["unit_price"] * 100).round(6).mod(1).eq(0).all()
    assert lines["quantity"].dtype.kind == "i"
    assert (lines["quantity"] != 0).all()


# --- integrity --------------------------------------------------------------------------------

def test_lines_copy_their_order(demo: sa.Engine) -> None:
    joined = read(demo, """
        SELECT l.sale_date AS line_date, o.sale_date AS order_date,
               l.sale_hour AS line_hour, o.sale_hour AS order_hour,
               l.platform_id AS line_platform, o.platform_id AS order_platform,
               COALESCE(l.customer_id, -1) AS line_customer,
               COALESCE(o.customer_id, -1) AS order_customer
        FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id""")
    for field in ("date", "hour", "platform", "customer"):
        assert (joined[f"line_{field}"] == joined[f"order_{field}"]).all(), field


def test_sale_date_is_the_local_date_of_the_order() -> None:
    zone = ZoneInfo("America/New_York")
    engine = generated(lines=5_000, timezone="America/New_York")
    orders = read(engine, "SELECT ordered_at, sale_date, sale_hour FROM orders")
    local = [dt.datetime.fromisoformat(str(at)).replace(tzinfo=dt.UTC).astimezone(zone)
             for at in orders["ordered_at"]]
    assert [t.date().isoformat() for t in local] == orders["sale_date"].astype(str).tolist()
    assert [t.hour for t in local] == orders["sale_hour"].tolist()
    shifted = sum(t.date() != t.astimezone(dt.UTC).date() for t in local)
    assert shifted > 0  # the time zone really moved some sales to another day


def test_order_numbers_are_unique_per_platform(demo: sa.Engine) -> None:
    orders = read(demo, "SELECT platform_id, order_number FROM orders")
    assert not orders.duplicated().any()


def test_customers(demo: sa.Engine) -> None:
    customers = read(demo, "SELECT * FROM customers", dates=("first_seen",))
    orders = read(demo, "SELECT * FROM orders", dates=("sale_date",))
    known = orders.dropna(subset=["customer_id"]).astype({"customer_id": "int64"})
    assert set(customers["segment"]) == {"consumer", "SMB", "mid-market", "enterprise"}
    assert customers["country"].nunique() >= 8 and customers["region"].notna().all()
    assert 0.05 < orders["customer_id"].isna().mean() < 0.2  # guests
    per_customer = known.groupby("customer_id")
    assert (per_customer.size() > 1).mean() > 0.3  # repeat buyers
    first = per_customer["sale_date"].min()
    seen = customers.set_index("id")["first_seen"]
    pd.testing.assert_series_equal(seen.loc[first.index], first, check_names=False)


def test_returns_and_cancellations(demo: sa.Engine, lines: pd.DataFrame) -> None:
    per_order = lines.groupby("order_id")["quantity"].agg(["min", "max"])
    only_returns = per_order[per_order["max"] < 0]
    assert len(only_returns) > 50  # orders that do not count in "orders"
    assert ((per_order["min"] < 0) & (per_order["max"] > 0)).sum() > 20  # cancellations
    products = read(demo, "SELECT id, category FROM products").set_index("id")["category"]
    with_category = lines.assign(category=products.reindex(lines["product_id"]).to_numpy())
    returned = with_category[with_category["order_id"].isin(only_returns.index)]
    sold = with_category[with_category["quantity"] > 0]
    rate = (-returned.groupby("category")["quantity"].sum()
            / sold.groupby("category")["quantity"].sum())
    top = max(PLANTED["return_rates"], key=PLANTED["return_rates"].get)
    assert rate.idxmax() == top


# --- planted effects --------------------------------------------------------------------------

def test_planted_best_weekday_has_the_highest_revenue(lines: pd.DataFrame) -> None:
    by_weekday = lines.groupby(lines["sale_date"].dt.day_name().str[:3])["revenue"].sum()
    weights = PLANTED["weekday_weights"]
    assert by_weekday.idxmax() == max(weights, key=weights.get)


def test_holiday_months_are_above_the_monthly_mean(lines: pd.DataFrame) -> None:
    monthly = lines.groupby(lines["sale_date"].dt.to_period("M"))["revenue"].sum()
    holidays = monthly[monthly.index.month.isin([11, 12])]
    assert holidays.mean() > 1.2 * monthly.mean()


def test_revenue_grows_year_over_year(lines: pd.DataFrame) -> None:
    cut = pd.Timestamp(DEFAULT_END - dt.timedelta(days=364))
    growth = (lines.loc[lines["sale_date"] >= cut, "revenue"].sum()
              / lines.loc[lines["sale_date"] < cut, "revenue"].sum())
    assert 1.1 < growth < 1.45


def test_evening_is_the_busiest_online_time(demo: sa.Engine) -> None:
    orders = read(demo, """SELECT o.sale_hour FROM orders AS o
                           JOIN platforms AS p ON p.id = o.platform_id WHERE p.kind != 'offline'""")
    by_hour = orders.groupby("sale_hour").size()
    profile = PLANTED["hour_profile_online"]
    assert abs(by_hour.idxmax() - profile.index(max(profile))) <= 1
    assert by_hour.idxmin() == profile.index(min(profile))


def post_lift(demo: sa.Engine, lines: pd.DataFrame) -> pd.DataFrame:
    """Per organic product post: revenue of its product on days +1..+3 and the expectation.

    The expectation is the product's usual share of total revenue (measured on days outside
    every post window of that product) times the total revenue of those three days, so
    seasonality, trend and weekday cancel out.
    """
    posts = read(demo, """SELECT post_type, post_date, product_id FROM media_posts
                          WHERE product_id IS NOT NULL AND campaign_id IS NULL""",
                 dates=("post_date",))
    sold = lines[lines["quantity"] > 0]
    days = pd.date_range(sold["sale_date"].min(), sold["sale_date"].max())
    daily = (sold.pivot_table(index="sale_date", columns="product_id", values="revenue",
                              aggfunc="sum").reindex(days).fillna(0.0))
    total = daily.sum(axis=1)
    window = pd.DataFrame(False, index=days, columns=daily.columns)
    rows = []
    for post in posts.itertuples():
        after = [post.post_date + pd.Timedelta(days=k) for k in (1, 2, 3)]
        if after[-1] > days[-1] or post.product_id not in daily.columns:
            continue
        window.loc[after, post.product_id] = True
        rows.append((post.post_type, post.product_id, after))
    outside = ~window
    share = daily.where(outside, 0.0).sum() / outside.mul(total, axis=0).sum()
    return pd.DataFrame(
        [(kind, daily.loc[after, product].sum(), share[product] * total.loc[after].sum())
         for kind, product, after in rows],
        columns=["post_type", "revenue", "expected"])


def test_posts_lift_their_product_in_the_next_three_days(demo: sa.Engine,
                                                         lines: pd.DataFrame) -> None:
    lift = post_lift(demo, lines)
    assert lift["revenue"].sum() > 1.2 * lift["expected"].sum()


def test_reels_lift_more_than_stories(demo: sa.Engine, lines: pd.DataFrame) -> None:
    totals = post_lift(demo, lines).groupby("post_type")[["revenue", "expected"]].sum()
    ratio = totals["revenue"] / totals["expected"]
    assert ratio["reel"] > ratio["story"] + 0.2


def test_campaign_tracking_is_made_of_real_orders(demo: sa.Engine) -> None:
    tracked = read(demo, """
        SELECT t.date, t.platform_id, c.product_id, SUM(t.orders) AS orders
        FROM tracking AS t JOIN campaigns AS c ON c.id = t.campaign_id
        GROUP BY t.date, t.platform_id, c.product_id""")
    sold = read(demo, """
        SELECT sale_date AS date, platform_id, product_id, COUNT(DISTINCT order_id) AS orders
        FROM order_lines WHERE quantity > 0 GROUP BY sale_date, platform_id, product_id""")
    both = tracked.merge(sold, on=["date", "platform_id", "product_id"], how="left",
                         suffixes=("_tracked", "_sold")).fillna({"orders_sold": 0})
    assert tracked["orders"].sum() > 0
    assert (both["orders_tracked"] <= both["orders_sold"]).all()


def test_payouts(demo: sa.Engine) -> None:
    payouts = read(demo, "SELECT * FROM payouts")
    assert set(payouts["basis"]) == {"post", "order"}
    assert set(payouts["status"]) <= {"pending", "approved", "paid"}
    assert "paid" in set(payouts["status"]) and len(set(payouts["status"])) >= 2
    assert (payouts["amount"] - payouts["rate"] * payouts["units"]).abs().max() < 0.006
    assert payouts.loc[payouts["status"] == "paid", "paid_on"].notna().all()


def test_media_posts(demo: sa.Engine) -> None:
    posts = read(demo, "SELECT * FROM media_posts")
    assert 600 <= len(posts) <= 1200
    assert posts["product_id"].notna().mean() > 0.8
    assert {"reel", "story", "image", "video", "short", "carousel"} <= set(posts["post_type"])
    counts = posts[["impressions", "reach", "likes", "comments", "shares", "saves"]]
    assert (counts >= 0).all().all() and (posts["reach"] <= posts["impressions"]).all()


def test_funnel_narrows_and_ends_in_that_days_orders(demo: sa.Engine) -> None:
    funnel = read(demo, "SELECT * FROM funnel_days")
    stages = ["sessions", "product_views", "add_to_cart", "checkout", "purchase"]
    for wider, narrower in zip(stages, stages[1:], strict=False):
        assert (funnel[wider] >= funnel[narrower]).all(), (wider, narrower)
    orders = read(demo, """
        SELECT sale_date AS date, platform_id, COUNT(DISTINCT order_id) AS orders
        FROM order_lines WHERE quantity > 0 GROUP BY sale_date, platform_id""")
    merged = funnel.merge(orders, on=["date", "platform_id"], how="left").fillna({"orders": 0})
    assert (merged["purchase"] == merged["orders"]).all()
    kinds = read(demo, "SELECT kind FROM platforms WHERE id IN (SELECT platform_id FROM "
                       "funnel_days)")["kind"]
    assert set(kinds) == {"web", "marketplace", "social"}


def test_pipeline(demo: sa.Engine) -> None:
    opportunities = read(demo, "SELECT * FROM opportunities")
    changes = read(demo, "SELECT * FROM stage_changes")
    reps = read(demo, "SELECT * FROM sales_reps")
    assert 20 <= read(demo, "SELECT COUNT(*) AS n FROM accounts")["n"][0] <= 40
    assert 8 <= len(reps) <= 12 and 200 <= len(opportunities) <= 400
    assert set(opportunities["outcome"]) == {"open", "won", "lost"}
    assert set(opportunities["rep_id"]) == set(reps["id"])
    closed = opportunities["outcome"] != "open"
    assert opportunities.loc[closed, "closed_on"].notna().all()
    assert opportunities.loc[~closed, "closed_on"].isna().all()
    leads = changes[changes["stage"] == "lead"].set_index("opportunity_id")["entered_on"]
    assert (leads.loc[opportunities["id"]].to_numpy() == opportunities["created_on"]).all()


# --- behaviour --------------------------------------------------------------------------------

def test_refuses_a_database_with_sales(demo: sa.Engine) -> None:
    with Session(demo) as session:
        assert has_sales(session)
        with pytest.raises(InvalidInput, match="already has sales"):
            generate_demo_data(session, lines=LINES)


def test_refuses_explicit_ids_over_existing_rows() -> None:
    engine = empty_engine()
    with Session(engine) as session:
        session.add(models.Product(sku="MINE-1", name="Mine", active=True))
        session.flush()
        assert not has_sales(session)
        with pytest.raises(InvalidInput, match="products"):
            generate_demo_data(session, lines=LINES)


def test_flushes_but_never_commits() -> None:
    engine = empty_engine()
    with Session(engine) as session:
        generate_demo_data(session, lines=2_000)
        session.rollback()
        assert not has_sales(session)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"timezone": "Mars/Olympus"}, "time zone"),
    ({"lines": 10}, "at least"),
])
def test_rejects_bad_arguments(arguments: dict, message: str) -> None:
    with Session(empty_engine()) as session, pytest.raises(InvalidInput, match=message):
        generate_demo_data(session, **arguments)


def test_the_document_shows_the_planted_numbers() -> None:
    text = DOC.read_text(encoding="utf-8")
    begin, end = "<!-- planted:begin -->\n", "<!-- planted:end -->"
    embedded = text[text.index(begin) + len(begin):text.index(end)]
    assert embedded.strip() == planted_effects_markdown().strip()
