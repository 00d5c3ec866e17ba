"""Models a page scores, and what its panels say about them: trained when, or still training.

A page declares each model once (`ModelJob`) next to its panels; the shell then trains the
view's missing models in a background job (`callbacks/model_jobs.py`) and redraws the page
when they are stored. A panel scoring a model draws `trained_line` under its result, or
`pending` while the model is being trained.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import html

from layouts import figures
from services.model_store import ModelKey, Trained

RETRAIN = "model-retrain"  # pattern-matching id type of a panel's Retrain button
# The shell's store of the view, set (in the browser) only on pages that score models: the
# training request runs for those views, not as one more request on every page.
MODEL_VIEW = "model-view"
# The shell's store of the signed request to train the view's missing models.
TRAIN_REQUEST = "model-train-request"
# The shell's store the training job sets when it stored models: the page's panels redraw.
MODEL_TRAINED = "model-trained"
# The training job's declared output, which nothing listens to (see callbacks/model_jobs).
TRAIN_DONE = "model-train-done"


@dataclass(frozen=True)
class ModelJob:
    """A model one of the page's panels scores.

    `panel` is the key of that panel: its source's filters, dates and page choices are the
    model's inputs. `key(scope, filters, period, *choices)` says which stored model the
    view needs; `train(session, scope, filters, period, *choices)` fits, evaluates and
    stores it (`services.model_store.train`).
    """

    kind: str
    panel: str
    key: Callable[..., ModelKey]
    train: Callable[..., Trained]
    label: str = "model"  # in words, e.g. "churn model"


def retrain_button(kind: str) -> dbc.Button:
    """The button that trains the panel's model again (analysts and admins)."""
    return dbc.Button("Retrain", id={"type": RETRAIN, "kind": kind}, size="sm",
                      color="secondary", outline=True, className="ms-2 py-0")


def trained_words(model: Mapping[str, Any], timezone: str = "UTC") -> str:
    """'Trained 1 Dec 2026 18:31 UTC in 2.3 s' for a stored model's description."""
    stamp = dt.datetime.fromisoformat(str(model["trained_at"]).removesuffix("Z"))
    local = stamp.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone))
    return (f"Trained {local.day} {local:%b %Y %H:%M} {local.tzname()} in "
            f"{float(model.get('seconds') or 0):.1f} s on the data as it is now")


def trained_line(model: Mapping[str, Any] | None, kind: str,
                 timezone: str = "UTC") -> html.Div:
    """When the panel's model was trained, with its Retrain button."""
    if not model:
        return html.Div()
    return html.Div([html.Span(trained_words(model, timezone)), retrain_button(kind)],
                    className="small text-muted mt-1 model-trained")


def pending_text(label: str) -> str:
    """What a panel says while its model is being trained."""
    return (f"Training the {label} for this view in the background: this panel fills in "
            "when it is done.")


def failed_text(label: str, error: str) -> str:
    """What a panel says when its model's last training failed."""
    return f"Training the {label} failed ({error}). Retrain to try again."


def pending(label: str, kind: str = "", error: str | None = None) -> html.Div:
    """A panel's body while its model is being trained, or after its training failed (then
    with the Retrain button of `kind`)."""
    if error:
        return html.Div([html.Span(failed_text(label, error)), retrain_button(kind)],
                        className="text-danger small model-failed")
    return html.Div([dbc.Spinner(size="sm", spinner_class_name="me-2"), pending_text(label)],
                    className="text-muted small model-pending")


def pending_figure(label: str, error: str | None = None) -> Any:
    """A chart's figure while its model is being trained, or after its training failed."""
    return figures.empty_figure(failed_text(label, error) if error else pending_text(label))
