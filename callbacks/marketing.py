"""Marketing callbacks beyond its panels (declared in `layouts.marketing`): which tab's section
is shown, and the selected post's card."""
from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from callbacks.common import view_of_page
from layouts import marketing
from layouts.shell import STORE


def register_callbacks(app: Dash) -> None:
    """Register the Marketing callbacks on `app`."""
    sections = list(marketing.SECTIONS.items())

    @app.callback(*[Output(section, "style") for _tab, section in sections],
                  Output(marketing.POST_ROW, "style"), Input(STORE, "data"))
    def show_tab(data: dict[str, Any] | None) -> tuple[Any, ...]:
        view, _period = view_of_page(data, marketing.PATH, marketing.PARAMS)
        tab = view.page["tab"]
        return (*[None if key == tab else marketing.HIDDEN for key, _section in sections],
                None if marketing.post_chosen(view) else marketing.HIDDEN)
