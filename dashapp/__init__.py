"""Pulseboard: a Flask-hosted Plotly Dash analytics app (`create_app` is the factory)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dashapp.factory import create_app

__all__ = ["__version__", "create_app"]


def __getattr__(name: str) -> Any:
    """`create_app` on first use: importing any `dashapp` module (the CLI answering --help)
    must not load Dash, pandas and every page."""
    if name == "create_app":
        from dashapp.factory import create_app

        return create_app
    raise AttributeError(f"module 'dashapp' has no attribute {name!r}")
