"""The role rules of `dashapp.permissions`, each role × each action, written out as data (not
read from the code): who opens which page, imports, exports and administers, and the rule
that previewing the app as someone else ("view as") is read-only."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask_login import login_user

from dashapp import permissions
from dashapp.auth import SessionUser
from layouts import admin, data
from models import ROLES

OTHER_PAGE = None  # Overview, Sales, Products: every logged-in user
# role -> what it may do in person (pages by their roles; actions)
MAY = {
    "viewer": {"other page": True, "data page": False, "admin page": False, "import": False,
               "export": False, "administer": False},
    "analyst": {"other page": True, "data page": True, "admin page": False, "import": True,
                "export": True, "administer": False},
    "admin": {"other page": True, "data page": True, "admin page": True, "import": True,
              "export": True, "administer": True},
}
ACTIONS = ("import", "export", "administer")
CAN = {"import": permissions.can_import, "export": permissions.can_export,
       "administer": permissions.can_administer}
MAY_DO = {"import": permissions.may_import, "export": permissions.may_export,
          "administer": permissions.may_administer}
PAGES = {"other page": OTHER_PAGE, "data page": data.ROLES, "admin page": admin.ROLES}


@contextmanager
def logged_in(app: Flask, role: str, viewed_by: int | None = None) -> Iterator[None]:
    """A request by a user with `role`, in person or previewed by the admin `viewed_by`."""
    with app.test_request_context("/_dash-update-component", method="POST"):
        login_user(SessionUser(9_001, f"{role}@example.com", None, role, None, viewed_by))
        yield


def test_every_role_is_in_the_matrix() -> None:
    assert set(MAY) == set(ROLES)


@pytest.mark.parametrize("role", sorted(MAY))
@pytest.mark.parametrize("page", sorted(PAGES))
def test_who_may_open_which_page(role: str, page: str) -> None:
    assert permissions.may_open(role, PAGES[page]) is MAY[role][page]


@pytest.mark.parametrize("role", sorted(MAY))
@pytest.mark.parametrize("action", ACTIONS)
def test_what_each_role_may_do(role: str, action: str) -> None:
    assert MAY_DO[action](role) is MAY[role][action]


@pytest.mark.parametrize("role", sorted(MAY))
@pytest.mark.parametrize("action", ACTIONS)
def test_the_logged_in_user_can_what_the_role_may(app: Flask, role: str, action: str) -> None:
    with logged_in(app, role):
        assert CAN[action]() is MAY[role][action]


@pytest.mark.parametrize("role", sorted(MAY))
@pytest.mark.parametrize("action", ACTIONS)
def test_a_preview_as_someone_else_can_do_nothing(app: Flask, role: str, action: str) -> None:
    # Even a preview of an admin: nothing happens under the previewed user's name.
    with logged_in(app, role, viewed_by=9_000):
        assert CAN[action]() is False


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_requests_can_do_nothing(app: Flask, action: str) -> None:
    with app.test_request_context("/_dash-update-component", method="POST"):
        assert CAN[action]() is False
