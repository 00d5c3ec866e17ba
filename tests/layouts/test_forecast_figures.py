"""The Forecasts page's figure builders: valid plotly JSON in the house style, bands in the
right order, user-supplied names escaped."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from layouts import figures

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(6)]


def forecast() -> dict:
    history = pd.DataFrame({"bucket": DAYS[:3], "actual": [10.0, np.nan, 12.0]})
    ahead = pd.DataFrame({"bucket": DAYS[3:], "forecast": [11.0, 0.0, 13.0],
                          "lo80": [9.0, 0.0, 10.0], "hi80": [13.0, 0.0, 16.0],
                          "lo95": [8.0, 0.0, 9.0], "hi95": [15.0, 0.0, 18.0]})
    return figures.forecast_figure(history, ahead, "Net revenue", "money", "GBP", "Forecast")


def every_figure() -> dict[str, dict]:
    origins = pd.DataFrame({"test_start": DAYS[:2], "test_end": DAYS[2:4],
                            "model_mape": [0.2, np.nan], "baseline_mape": [0.25, 0.3]})
    index = pd.DataFrame({"name": ["<a href='x'>Monday</a>", "Tuesday"],
                          "index": [1.2, np.nan]})
    return {"forecast": forecast(), "backtest": figures.backtest_figure(origins),
            "index": figures.index_figure(index, "name"), "history": history()}


def history() -> dict:
    runs = pd.DataFrame({"run_id": [3, 7], "label": ["Forecast · <b>Shop</b>", "Forecast"],
                         "trained_at": [dt.datetime(2026, 1, 1, 9), dt.datetime(2026, 1, 1, 9)],
                         "data_revision": [4, 5], "asof": DAYS[:2],
                         "model_mape": [0.2, np.nan], "baseline_mape": [0.25, 0.3],
                         "model_wape": [0.21, 0.22], "baseline_wape": [0.3, 0.31]})
    return figures.model_history_figure(runs)


def test_the_history_has_a_slot_per_run_and_escapes_its_data_label() -> None:
    figure = history()
    assert figure["data"][0]["x"] == ["Run 3<br>1 Jan 2026 09:00", "Run 7<br>1 Jan 2026 09:00"]
    shown = json.dumps(figure)
    assert "<b>Shop" not in shown and "&lt;b&gt;Shop" in shown


@pytest.mark.parametrize("name", list(every_figure()))
def test_valid_plotly_json_in_the_house_style(name: str) -> None:
    figure = every_figure()[name]
    validated = go.Figure(figure)
    assert json.loads(json.dumps(figure, allow_nan=False)) == figure
    assert validated.layout.font.family == figures.FONT


def test_the_bands_are_closed_polygons_around_the_forecast() -> None:
    traces = {trace["name"]: trace for trace in forecast()["data"]}
    band = traces["95% interval"]
    assert band["y"] == [15.0, 0.0, 18.0, 9.0, 0.0, 8.0]  # upper forward, lower back
    assert band["x"] == band["x"][:3] + band["x"][:3][::-1]
    assert traces["Forecast"]["customdata"][0] == [9.0, 13.0]


def test_index_labels_are_escaped() -> None:
    shown = json.dumps(figures.index_figure(
        pd.DataFrame({"name": ["<a href='x'>Monday</a>"], "index": [1.0]}), "name"))
    assert "<a href" not in shown and "&lt;a href" in shown
