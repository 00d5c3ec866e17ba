"""Who may import what (issue 11, items 1 and 7), on SQLite and PostgreSQL: a user limited to
some platforms writes only rows of those platforms, never shared reference data, learns
nothing about other platforms' rows from a dry run, and sees only their platforms' imports in
the history. Every refusal changes nothing."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import ImportJob
from services.errors import AccessDenied
from services.filters import Filters
from services.imports.jobs import import_history
from services.imports.mapping import ColumnMapping, detect, save_mapping, saved_mappings
from services.imports.reader import Limits
from services.imports.report import ImportReport
from services.imports.runner import CHECK, IMPORT, JobRequest, run_import_job
from services.imports.uploads import save_upload
from services.sales import totals
from services.scope import Scope
from services.users import create_user, scope_for
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    TIMEZONE,
    Fresh,
    fresh_fixture,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
)

START, END = dt.date(2000, 1, 1), dt.date(2030, 12, 31)
ALL_TIME = Filters(range="custom", start=START, end=END)
ROLES = ("viewer", "limited", "analyst", "admin")
REFERENCE = ("products", "customers", "influencers", "pipeline")

SALES_HEAD = ("Order number,Order date,Product SKU,Product name,Quantity,Unit price,"
              "Customer ID,Customer name,Platform")
POSTS_HEAD = ("Post ID,Platform,Post type,Posted at,Caption,Product SKU,Campaign,"
              "Influencer handle,Impressions")
PIPELINE_HEAD = ("Opportunity ID,Account,Sales rep,Platform,Stage,Outcome,Amount,Probability,"
                 "Created,Expected close")
SETUP = {  # what unrestricted users imported before: Amazon's and Instagram's data
    "sales": SALES_HEAD + """
A-1,2024-03-01 10:00,AMZ-ONLY,Amazon gadget,2,10.00,C-AMZ,Amy Amazon,Amazon
A-2,2024-03-02 10:00,MUG-01,Mug,1,8.00,C-AMZ,Amy Amazon,Amazon
I-1,2024-03-01 11:00,TEA-001,Green tea,3,4.50,C-IG,Ian Insta,Instagram
""",
    "influencers": """Handle,Name,Platform,Followers,Niche
@leafy_life,Lea,Instagram,48000,wellness
@amz_guy,Amir,Amazon,1000,gadgets
""",
    "posts": POSTS_HEAD + """
ig-1,Instagram,reel,2024-03-01 18:30,Tea,TEA-001,Spring tea,@leafy_life,100
amz-1,Amazon,reel,2024-03-01 18:30,Gadget,AMZ-ONLY,Amazon deals,@amz_guy,100
""",
    "tracking": """Date,Platform,Campaign,Influencer handle,Post ID,Clicks,Orders,Revenue
2024-03-01,Instagram,Spring tea,@leafy_life,ig-1,10,1,4.5
2024-03-01,Amazon,Amazon deals,@amz_guy,amz-1,10,1,20
""",
    "payouts": """Influencer handle,Campaign,Basis,Rate,Units,Amount,Status,Due date,Paid on
@leafy_life,Spring tea,post,150,1,150,pending,2024-04-01,
@amz_guy,Amazon deals,post,100,1,100,pending,2024-04-01,
""",
    "funnel": """Date,Platform,Sessions,Product views,Add to cart,Checkout,Purchase
2024-03-01,Instagram,100,50,20,10,5
2024-03-01,Amazon,100,50,20,10,5
""",
}

OWN = {  # files of every kind that touch Instagram's data only
    "sales": SALES_HEAD + """
I-2,2024-03-05 11:00,TEA-001,Green tea,1,4.50,C-IG,Ian Insta,Instagram
""",
    "posts": POSTS_HEAD + """
ig-2,Instagram,reel,2024-03-03 10:00,More tea,TEA-001,Spring tea,@leafy_life,50
""",
    "tracking": """Date,Platform,Campaign,Influencer handle,Post ID,Clicks,Orders,Revenue
2024-03-02,Instagram,Spring tea,@leafy_life,ig-1,5,0,0
""",
    "payouts": """Influencer handle,Campaign,Basis,Rate,Units,Amount,Status,Due date,Paid on
@leafy_life,Spring tea,post,150,1,150,pending,2024-05-01,
""",
    "funnel": """Date,Platform,Sessions,Product views,Add to cart,Checkout,Purchase
2024-03-02,Instagram,80,40,10,5,2
""",
    "products": """SKU,Name,Category,Unit cost,Merchandise
TEA-001,Green tea 200 g,Tea,2.50,yes
""",
    "customers": """Customer ID,Name,Segment,Country,Acquisition platform
C-IG,Ian I.,Consumer,Germany,Instagram
""",
    "influencers": """Handle,Name,Platform,Followers,Niche
@leafy_life,Lea F.,Instagram,50000,wellness
""",
    "pipeline": PIPELINE_HEAD + """
OPP-1,Acme Ltd,Sam Carter,Instagram,proposal,open,12000,0.4,2024-01-10,2024-04-30
""",
}

CROSS = {  # files of the platform kinds with rows of (or onto) Amazon's data
    "sales": SALES_HEAD + """
I-3,2024-03-06 11:00,TEA-001,Green tea,1,4.50,C-IG,Ian Insta,Instagram
A-1,2024-03-01 10:00,AMZ-ONLY,Amazon gadget,9,10.00,C-AMZ,Amy Amazon,Amazon
""",
    "posts": POSTS_HEAD + """
amz-1,Amazon,reel,2024-03-01 18:30,Taken over,AMZ-ONLY,Amazon deals,@amz_guy,1
ig-3,Instagram,reel,2024-03-04 18:30,Hijack,TEA-001,Amazon deals,@leafy_life,1
""",
    "tracking": """Date,Platform,Campaign,Influencer handle,Post ID,Clicks,Orders,Revenue
2024-03-01,Amazon,Amazon deals,@amz_guy,amz-1,999,99,9999
2024-03-05,Instagram,Amazon deals,@leafy_life,,1,0,0
""",
    "payouts": """Influencer handle,Campaign,Basis,Rate,Units,Amount,Status,Due date,Paid on
@amz_guy,Amazon deals,post,100,1,1,paid,2024-04-01,2024-04-02
""",
    "funnel": """Date,Platform,Sessions,Product views,Add to cart,Checkout,Purchase
2024-03-01,Amazon,1,1,1,1,1
""",
}
CROSS_REFUSED = {  # how many rows, and why
    "sales": "1 row for a platform you may not import data for (“Amazon”)",
    "posts": "1 row for a platform you may not import data for (“Amazon”); 2 rows naming a "
             "campaign of a platform you may not import data for",
    "tracking": "1 row for a platform you may not import data for (“Amazon”); 2 rows naming "
                "a campaign of a platform you may not import data for",
    "payouts": "1 row naming no campaign of your platforms",
    "funnel": "1 row for a platform you may not import data for (“Amazon”)"}


class Bench:
    """A database with both platforms' data and four users: a viewer, an Instagram-only
    analyst, an unrestricted analyst and an admin; jobs run as the wizard runs them."""

    def __init__(self, fresh: Fresh, folder: Path) -> None:
        self.fresh, self.folder = fresh, folder
        for kind, text in SETUP.items():
            report = fresh.run(text.encode(), f"setup-{kind}.csv", kind=kind)
            assert report.status == "succeeded", report.to_text()
        with fresh.session() as session:
            users = {
                "viewer": create_user(session, "viewer@example.com", "a-long-password",
                                      "viewer"),
                "limited": create_user(session, "insta@example.com", "a-long-password",
                                       "analyst", platform_slugs=["instagram"]),
                "analyst": create_user(session, "analyst@example.com", "a-long-password",
                                       "analyst"),
                "admin": create_user(session, "admin@example.com", "a-long-password",
                                     "admin")}
            session.commit()
            self.ids = {role: user.id for role, user in users.items()}
            self.limited = scope_for(users["limited"])

    def run(self, role: str, kind: str, text: str, action: str = IMPORT) -> ImportReport:
        """Check or import `text` as a file of `kind` by the user with `role`."""
        columns = text.splitlines()[0].split(",")
        mapping = detect(columns, (), kind).mapping
        assert mapping.kind == kind
        upload = save_upload(self.folder, text.encode(), f"{kind}.csv", self.ids[role])
        job = JobRequest(action=action, user_id=self.ids[role], upload=upload,
                         mapping=mapping.as_dict(), platform="Online Store",
                         skip_invalid=False)
        with self.fresh.session() as session:
            return run_import_job(session, job, folder=self.folder, timezone=TIMEZONE,
                                  limits=Limits(), roles={"admin", "analyst"},
                                  progress=lambda *_: None)

    def data(self) -> str:
        """Every data row (content, not surrogate ids)."""
        return self.fresh.checksum(with_ids=False)

    def counts(self) -> dict[str, int]:
        """Rows per data table."""
        tables = ("orders", "order_lines", "products", "customers", "influencers",
                  "media_posts", "campaigns", "tracking", "payouts", "funnel_days",
                  "opportunities", "accounts", "sales_reps", "platforms", "import_mappings")
        return {name: self.fresh.scalar(f"SELECT COUNT(*) FROM {name}") for name in tables}

    def amazon(self) -> Scope:
        """Amazon's scope, for its figures."""
        return Scope(platform_ids=frozenset(
            {self.fresh.scalar("SELECT id FROM platforms WHERE slug = 'amazon'")}))


@pytest.fixture(name="bench")
def bench_fixture(fresh: Fresh, tmp_path: Path) -> Bench:
    return Bench(fresh, tmp_path / "uploads")


def assert_refused_unchanged(bench: Bench, role: str, kind: str, text: str,
                             why: str) -> ImportReport:
    before, counts = bench.data(), bench.counts()
    for action in (CHECK, IMPORT):
        report = bench.run(role, kind, text, action)
        assert report.status == "rejected", report.to_text()
        assert any(why in error for error in report.errors), report.errors
        assert report.totals == {} and report.rows_loaded == 0
    assert bench.data() == before and bench.counts() == counts
    return report


@pytest.mark.parametrize("kind", list(OWN))
def test_every_kind_for_every_role(bench: Bench, kind: str) -> None:
    """Viewer: refused. Limited analyst: their platforms' rows of the platform kinds only,
    reference kinds refused. Unrestricted analyst and admin: everything, as before."""
    assert_refused_unchanged(bench, "viewer", kind, OWN[kind], "may not import files")
    if kind in REFERENCE:
        assert_refused_unchanged(bench, "limited", kind, OWN[kind],
                                 "only a user without a platform limit")
    else:
        checked = bench.run("limited", kind, OWN[kind], CHECK)
        assert checked.status == "checked" and not checked.errors, checked.to_text()
        loaded = bench.run("limited", kind, OWN[kind])
        assert loaded.status == "succeeded", loaded.to_text()
        report = assert_refused_unchanged(bench, "limited", kind, CROSS[kind],
                                          "You may import only your platforms' data")
        assert CROSS_REFUSED[kind] in report.errors[-1]
    for role in ("analyst", "admin"):
        report = bench.run(role, kind, OWN[kind])
        assert report.status == "succeeded", report.to_text()


def test_an_instagram_analyst_cannot_rename_or_reprice_an_amazon_product(bench: Bench) -> None:
    """The observed case: a catalogue file renamed and repriced a product sold only on
    Amazon and flagged another as non-merchandise, so Amazon's net revenue fell."""
    with bench.fresh.session() as session:
        revenue = totals(session, bench.amazon(), ALL_TIME, START, END)["net_revenue"]
    catalogue = ("SKU,Name,Unit cost,Merchandise\nAMZ-ONLY,Renamed by Instagram,0.01,yes\n"
                 "MUG-01,Mug,3.00,no\n")
    for dry_run in (True, False):
        report = bench.fresh.run(catalogue.encode(), "catalogue.csv", dry_run=dry_run,
                                 scope=bench.limited, kind="products")
        assert report.status == "rejected" and report.totals == {}
        assert "Product catalogue are shared by every platform" in report.errors[0]
    assert bench.fresh.scalar("SELECT name FROM products WHERE sku = 'AMZ-ONLY'") == \
        "Amazon gadget"
    assert bench.fresh.scalar("SELECT unit_cost FROM products WHERE sku = 'AMZ-ONLY'") is None
    assert bench.fresh.scalar(
        "SELECT COUNT(*) FROM products WHERE sku = 'MUG-01' AND is_merchandise") == 1
    with bench.fresh.session() as session:
        after = totals(session, bench.amazon(), ALL_TIME, START, END)["net_revenue"]
    assert after == revenue == 28.0
    customers = "Customer ID,Name\nC-AMZ,Renamed by Instagram\n"
    report = bench.fresh.run(customers.encode(), "customers.csv", scope=bench.limited,
                             kind="customers")
    assert report.status == "rejected"
    assert bench.fresh.scalar("SELECT name FROM customers WHERE external_id = 'C-AMZ'") == \
        "Amy Amazon"
    # The same files by an unrestricted user (the CLI's scope) still work.
    assert bench.fresh.run(catalogue.encode(), "catalogue.csv", kind="products").status == \
        "succeeded"
    assert bench.fresh.scalar("SELECT name FROM products WHERE sku = 'AMZ-ONLY'") == \
        "Renamed by Instagram"


def test_a_dry_run_reveals_nothing_about_other_platforms_rows(bench: Bench) -> None:
    """Whether a customer id exists anywhere must not show in a limited user's reports."""
    reports = {}
    for customer in ("C-AMZ", "C-NOBODY"):
        text = f"Customer ID,Name\n{customer},Probe\n"
        reports[customer] = bench.fresh.run(text.encode(), "probe.csv", dry_run=True,
                                            scope=bench.limited, kind="customers")
    assert reports["C-AMZ"].errors == reports["C-NOBODY"].errors != []
    assert reports["C-AMZ"].totals == reports["C-NOBODY"].totals == {}
    # A sales file of their own platform: the figures do not depend on other rows either,
    # and an existing (Amazon) customer's first order date is not changed by it.
    first_seen = bench.fresh.scalar("SELECT first_seen FROM customers WHERE external_id = 'C-AMZ'")
    seen = {}
    for number, customer in (("P-1", "C-AMZ"), ("P-2", "C-NOBODY")):
        text = ("Order number,Order date,Product SKU,Product name,Quantity,Unit price,"
                f"Customer ID,Platform\n{number},2024-01-01 09:00,NEW-{number},Probe,1,1.00,"
                f"{customer},Instagram\n")
        for dry_run in (True, False):
            report = bench.fresh.run(text.encode(), f"{number}.csv", dry_run=dry_run,
                                     scope=bench.limited)
            assert report.ok, report.to_text()
            seen[number, dry_run] = report.totals
    for dry_run in (True, False):
        assert seen["P-1", dry_run] == seen["P-2", dry_run]
        assert "customers_new" not in seen["P-1", dry_run]
    assert bench.fresh.scalar(
        "SELECT first_seen FROM customers WHERE external_id = 'C-AMZ'") == first_seen


def test_a_limited_analyst_may_not_save_a_shared_mapping(bench: Bench) -> None:
    mapping = ColumnMapping("products", {"sku": "SKU", "name": "Name"})
    with bench.fresh.session() as session:
        with pytest.raises(AccessDenied):
            save_mapping(session, "mine", mapping, bench.ids["limited"])
        session.rollback()
        save_mapping(session, "theirs", mapping, bench.ids["analyst"])
        session.commit()
        assert [m.name for m in saved_mappings(session)] == ["theirs"]


def test_the_history_shows_a_limited_user_only_their_platforms_imports(bench: Bench) -> None:
    assert bench.run("admin", "funnel", OWN["funnel"]).status == "succeeded"
    assert bench.run("limited", "sales", OWN["sales"]).status == "succeeded"
    assert bench.run("limited", "products", OWN["products"]).status == "rejected"
    assert bench.run("limited", "funnel", CROSS["funnel"]).status == "rejected"
    assert bench.run("admin", "products", OWN["products"]).status == "succeeded"
    with bench.fresh.session() as session:
        session.add(ImportJob(kind="sales", filename="legacy.csv", status="succeeded"))
        session.commit()
        everything = import_history(session, Scope.everything())
        limited = import_history(session, bench.limited)
        assert import_history(session) == everything
    assert len(everything) == len(SETUP) + 6
    assert [(row["filename"], row["user"]) for row in limited] == [
        ("sales.csv", "insta@example.com"), ("funnel.csv", "admin@example.com")]
    with bench.fresh.session() as session:
        jobs = session.scalars(sa.select(ImportJob).order_by(ImportJob.id)).all()
        assert all(job.kind for job in jobs)


def test_the_data_page_history_callback_is_scoped(fresh_sqlite: Fresh, tmp_path: Path) -> None:
    from flask_login import login_user

    from callbacks.data import history_for
    from dashapp.auth import SessionUser
    from dashapp.extensions import db
    from layouts import data as ids
    from models import User
    from tests.conftest import make_app

    bench = Bench(fresh_sqlite, tmp_path / "uploads")
    assert bench.run("limited", "funnel", OWN["funnel"]).status == "succeeded"
    app = make_app(fresh_sqlite.url, UPLOAD_FOLDER=str(tmp_path / "uploads"),
                   BACKGROUND_CACHE_DIR=str(tmp_path / "jobs"))
    shown = {}
    for role in ("limited", "analyst"):
        with app.test_request_context("/data"):
            login_user(SessionUser.of(db.session.get(User, bench.ids[role])))
            shown[role] = str(history_for({"path": ids.PATH}))
    assert "funnel.csv" in shown["limited"] and "setup-sales.csv" not in shown["limited"]
    assert "funnel.csv" in shown["analyst"] and "setup-sales.csv" in shown["analyst"]


def test_a_limited_uci_file_may_not_remark_a_shared_product_as_a_fee(bench: Bench) -> None:
    """UCI postage codes become non-merchandise, which would change every platform's
    figures when the catalogue already sells the code as merchandise."""
    bench.fresh.run(b"SKU,Name,Merchandise\nPOST,Postage stamps,yes\n", "p.csv", kind="products")
    uci = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
           "536365,TEA-001,Green tea,1,12/1/2010 8:26,4.50,17850,United Kingdom\n"
           "536365,POST,POSTAGE,1,12/1/2010 8:26,18.00,17850,United Kingdom\n")
    before = bench.data()
    report = bench.fresh.run(uci.encode(), "uci.csv", scope=bench.limited,
                             platform="Instagram")
    assert report.source_format == "uci" and report.status == "rejected"
    assert "1 row using codes the shared catalogue lists as merchandise (POST)" in \
        report.errors[-1]
    assert bench.data() == before
    assert bench.fresh.run(uci.encode(), "uci.csv", platform="Instagram").status == "succeeded"
    assert bench.fresh.scalar("SELECT is_merchandise FROM products WHERE sku = 'POST'") in (
        False, 0)
