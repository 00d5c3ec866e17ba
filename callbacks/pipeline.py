"""Pipeline callbacks beyond its panels (declared in `layouts.pipeline`): the stage, rep and
team options of the open-opportunities filters."""
from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from callbacks.common import view_of_page
from dashapp.context import fetch
from layouts import pipeline
from layouts.shell import STORE
from services.pipeline import rep_options, stage_order


def register_callbacks(app: Dash) -> None:
    """Register the Pipeline callbacks on `app`."""

    @app.callback(Output(pipeline.REP, "options"), Output(pipeline.TEAM, "options"),
                  Output(pipeline.STAGE, "options"), Input(STORE, "data"))
    def fill_rep_options(data: dict[str, Any] | None) -> tuple[list[dict[str, str]], ...]:
        view, _period = view_of_page(data, pipeline.PATH, pipeline.PARAMS)
        known = fetch(rep_options)
        stages = list(fetch(stage_order).open)
        return (pipeline.chosen_options("All reps", known["reps"], view.page["rep"]),
                pipeline.chosen_options("All teams", known["teams"], view.page["team"]),
                pipeline.stage_options(stages, view.page["stage"]))
