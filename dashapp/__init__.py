"""Pulseboard: a Flask-hosted Plotly Dash analytics app.

`create_app` is imported lazily so that `dashapp.filters` (the filter model, used by the
service layer) can be imported without loading Flask or Dash.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app with Dash mounted on it (see `dashapp.factory`)."""
    from dashapp.factory import build_app

    return build_app(overrides)
