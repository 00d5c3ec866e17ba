"""The Admin page in a browser: add a platform-limited user, then preview the app as them."""
from __future__ import annotations

import uuid

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.test_overview_browser import base_url, log_in, scroll_to_centre, wait_until
from tests.conftest import TestDatabase, make_app


@pytest.fixture(scope="module")
def admin_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object for dash_duo's server thread."""
    return make_app(sqlite_db.url)


def pick(dash_duo: DashComposite, dropdown_id: str, label: str) -> None:
    """Choose `label` in a Dash 4 dropdown."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    option = wait_until(lambda: [o for o in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-option") if o.text.strip() == label], what=label)[0]
    option.click()
    dash_duo.find_element("#" + dropdown_id).send_keys(Keys.ESCAPE)


def table_text(dash_duo: DashComposite, table_id: str) -> str:
    """All text of an admin table."""
    return dash_duo.find_element(f"#{table_id}").text


def test_admin_adds_a_limited_user_and_previews_the_app_as_them(
        dash_duo: DashComposite, admin_app: Flask) -> None:
    email = f"agency-{uuid.uuid4().hex[:6]}@example.com"
    dash_duo.start_server(admin_app.extensions["dash"], navigate=False)
    log_in(dash_duo, "/admin?tab=users", overview=False)
    wait_until(lambda: dash_duo.find_element("#admin-users-table"), what="users table")

    dash_duo.find_element("#admin-new-email").send_keys(email)
    dash_duo.find_element("#admin-new-password").send_keys("agency-password")
    pick(dash_duo, "admin-new-role", "Analyst")
    pick(dash_duo, "admin-new-platforms", "Instagram")
    dash_duo.find_element("#admin-create").click()
    wait_until(lambda: email in table_text(dash_duo, "admin-users-table"), what="new user row")
    assert f"Added {email}." in dash_duo.find_element("#admin-message").text
    row = next(line for line in table_text(dash_duo, "admin-users-table").splitlines()
               if email in line)
    assert "analyst" in row and "instagram" in row

    pick(dash_duo, "admin-edit-user", email)
    wait_until(lambda: dash_duo.find_element("#admin-edit-role").text == "Analyst",
               what="user loaded into the edit form")
    view_as = dash_duo.find_element("#admin-view-as")
    # The form ends at the window's lower edge: centre the button so the click lands on it.
    scroll_to_centre(dash_duo, view_as)
    view_as.click()
    banner = wait_until(lambda: dash_duo.find_element("#view-as-banner").text, what="banner")
    assert email in banner and "Instagram" in banner
    dash_duo.find_element("#filter-platform").click()
    options = wait_until(lambda: [o.text for o in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-option")], what="platform options")
    assert options == ["Instagram"]
    nav = dash_duo.find_element("#nav-links").text
    assert "Admin" not in nav  # an analyst has no admin page

    dash_duo.find_element("#stop-view-as").click()
    wait_until(lambda: "/admin" in dash_duo.driver.current_url, what="back on the admin page")
    wait_until(lambda: not dash_duo.driver.find_elements(By.ID, "view-as-banner"),
               what="banner gone")
    assert dash_duo.driver.current_url.startswith(base_url(dash_duo))
    assert dash_duo.get_logs() == []
