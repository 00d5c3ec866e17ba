"""PDFs of views (issue 17 item 1 and the PDF part of item 7): a page of each kind printed
through GET /api/v1/<page>.pdf with the header's filters and dates in its text, every page's
header, a KPI equal to the API's, and a platform-limited user's PDF showing only their
platform.

Each PDF starts one Chromium (seconds), so every PDF is made once, in module fixtures, and
the tests read them.
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from flask import Flask

from dashapp.extensions import db
from dashapp.pdf import read_token, render_view_pdf, sign_token, view_header
from layouts.figures import format_number
from layouts.pages import PAGES, Page
from models import User
from tests.conftest import ADMIN, LIMITED, LIMITED_PLATFORM, TestDatabase, make_app, skip_or_fail

API_PAGES = [page for page in PAGES if page.api_name]
START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
QUERY = f"from={START}&to={END}&platform=online-store&grain=week&compare=prev"
# A PDF takes seconds; on a machine shared by parallel runs a page can take minutes to draw.
SLOW_MACHINE_TIMEOUT = 300


def needs_tools() -> None:
    """PDFs need Chromium and its driver; reading them needs poppler's pdftotext."""
    for tool in ("chromium", "chromedriver", "pdftotext"):
        if shutil.which(tool) is None:
            skip_or_fail(f"PDF tests need {tool} (apt-get install chromium chromium-driver "
                         "poppler-utils)")


def pdf_text(document: bytes, folder: Path, name: str) -> str:
    """The PDF's text (pdftotext), with every run of white space as one space."""
    path = folder / f"{name}.pdf"
    path.write_bytes(document)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pdf_app(sqlite_db: TestDatabase) -> Flask:
    """An app of its own: the renderer serves it to Chromium from a thread."""
    return make_app(sqlite_db.url, PUBLIC_URL="https://pulse.example.com",
                    PDF_TIMEOUT_SECONDS=SLOW_MACHINE_TIMEOUT)


# Printed in Chromium (about 20 s each on two loaded cores): a page of each kind — the
# Overview (KPIs, and a health score that scores a trained forecast model) and one whose
# dates are its own data's. Every page's header (filters, dates, link) is checked without
# Chromium below.
PRINTED = [page for page in API_PAGES if page.path in {"/", "/pipeline"}]


@pytest.fixture(scope="module")
def page_pdfs(pdf_app: Flask, sqlite_db: TestDatabase,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, str]]:
    """The printed pages as PDFs from their API route (admin token): bytes and text."""
    needs_tools()
    folder = tmp_path_factory.mktemp("pdfs")
    client = pdf_app.test_client()
    found = {}
    for page in PRINTED:
        response = client.get(f"/api/v1/{page.api_name}.pdf?{QUERY}",
                              headers={"Authorization": f"Bearer {sqlite_db.admin_token}"})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.mimetype == "application/pdf"
        found[page.path] = (response.data, pdf_text(response.data, folder, page.api_name))
    return found


def _api_period(pdf_app: Flask, sqlite_db: TestDatabase, page: Page) -> str:
    body = pdf_app.test_client().get(
        f"/api/v1/{page.api_name}?{QUERY}",
        headers={"Authorization": f"Bearer {sqlite_db.admin_token}"}).get_json()
    return " ".join(body["period"]["label"].split())


@pytest.mark.parametrize("page", PRINTED, ids=[page.api_name for page in PRINTED])
def test_a_printed_page_is_a_pdf_with_its_filters_and_dates(
        page_pdfs: dict[str, tuple[bytes, str]], pdf_app: Flask,
        sqlite_db: TestDatabase, page: Page) -> None:
    document, text = page_pdfs[page.path]
    assert document.startswith(b"%PDF")
    assert page.title in text
    assert "Platforms: Online Store" in text and "Granularity: Week" in text
    assert "Compared with: previous period" in text
    assert _api_period(pdf_app, sqlite_db, page) in text  # the resolved dates
    assert "https://pulse.example.com/" in text  # the view's link


@pytest.mark.parametrize("page", API_PAGES, ids=[page.api_name for page in API_PAGES])
def test_every_pages_pdf_header_names_its_filters_dates_and_link(
        pdf_app: Flask, sqlite_db: TestDatabase, page: Page) -> None:
    with pdf_app.app_context():
        admin_id = db.session.scalar(sa.select(User.id).where(User.email == ADMIN))
    header = view_header(pdf_app, admin_id, f"{page.path}?{QUERY}")
    assert header.page == page.title
    assert {"Platforms: Online Store", "Granularity: Week"} <= set(header.filters)
    assert any(line.startswith("Compared with: previous period (") for line in header.filters)
    assert " ".join(header.dates.split()) == _api_period(pdf_app, sqlite_db, page)
    assert header.url == f"https://pulse.example.com{page.path}?{QUERY}"


def test_the_overview_pdf_shows_the_apis_kpi(page_pdfs: dict[str, tuple[bytes, str]],
                                             pdf_app: Flask, sqlite_db: TestDatabase) -> None:
    body = pdf_app.test_client().get(
        f"/api/v1/overview?{QUERY}",
        headers={"Authorization": f"Bearer {sqlite_db.admin_token}"}).get_json()
    orders = body["kpis"]["orders"]["current"]
    assert orders > 0
    assert format_number(orders) in page_pdfs["/"][1]


def test_the_api_route_needs_a_login(pdf_app: Flask) -> None:
    response = pdf_app.test_client().get(f"/api/v1/sales.pdf?{QUERY}")
    assert response.status_code == 401 and response.mimetype == "application/json"
    bad = pdf_app.test_client().get("/api/v1/sales.pdf?range=90d",
                                    headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_a_sign_in_token_works_once_and_in_this_process_only(pdf_app: Flask) -> None:
    token = sign_token(pdf_app, 1, "/sales")
    assert read_token(pdf_app, token) == (1, "/sales")
    assert read_token(pdf_app, token) is None  # used
    assert read_token(pdf_app, token[:-2] + "xx") is None  # forged
    client = pdf_app.test_client()
    assert client.get(f"/api/v1/pdf-sign-in?token={token}").status_code == 401


# --- A platform-limited user's PDF (item 7) ------------------------------------------------

LIMITED_QUERY = f"/?from={START}&to={END}&compare=none"


@pytest.fixture(scope="module")
def limited_pdf(database: TestDatabase,
                tmp_path_factory: pytest.TempPathFactory) -> tuple[str, TestDatabase]:
    """The Instagram-only analyst's PDF of the Overview, on each database."""
    needs_tools()
    app = make_app(database.url, PDF_TIMEOUT_SECONDS=SLOW_MACHINE_TIMEOUT)
    with database.session() as session:
        user_id = session.scalar(sa.select(User.id).where(User.email == LIMITED))
    assert user_id is not None
    document = render_view_pdf(app, user_id, LIMITED_QUERY, "Letter")
    assert document.startswith(b"%PDF")
    return pdf_text(document, tmp_path_factory.mktemp("limited"), database.name), database


def test_a_limited_users_pdf_shows_only_their_platform(
        limited_pdf: tuple[str, TestDatabase]) -> None:
    text, database = limited_pdf
    lines = pd.read_sql(
        sa.text("SELECT l.order_id, l.quantity, l.unit_price, l.sale_date, f.slug, "
                "f.name FROM order_lines l JOIN platforms f ON f.id = l.platform_id"),
        database.engine)
    lines["day"] = pd.to_datetime(lines["sale_date"].astype(str).str[:10]).dt.date
    mine = lines[(lines["slug"] == LIMITED_PLATFORM) & (lines["day"] >= START)
                 & (lines["day"] <= END)]
    # Orders count the orders with a line sold at a price (SPEC §3).
    sold = mine[(mine["quantity"] > 0) & (pd.to_numeric(mine["unit_price"]) > 0)]
    assert format_number(sold["order_id"].nunique()) in text
    assert "Instagram" in text
    for name in set(lines["name"]) - {"Instagram"}:
        assert name not in text, f"{name} is in the Instagram-only user's PDF"
