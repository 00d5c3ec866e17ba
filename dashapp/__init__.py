"""Pulseboard: a Flask-hosted Plotly Dash analytics app (`create_app` is the factory)."""
from __future__ import annotations

__version__ = "0.1.0"

from dashapp.factory import create_app  # noqa: E402 - after the version other modules read

__all__ = ["__version__", "create_app"]
