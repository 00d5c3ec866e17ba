"""Small form controls shared by the frame and the pages."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc


def button_group(component_id: Any, value: Any, choices: Mapping[str, str],
                 primary: bool = False, class_name: str = "") -> dbc.RadioItems:
    """Radio items drawn as a group of small buttons (tabs, granularity, toggles); `choices`
    maps each value to its label."""
    tone = "primary" if primary else "secondary"
    return dbc.RadioItems(
        id=component_id, value=value, inline=True,
        className=" ".join(("btn-group", class_name)).strip(),
        inputClassName="btn-check", labelClassName=f"btn btn-outline-{tone} btn-sm",
        labelCheckedClassName="active",
        options=[{"label": label, "value": key} for key, label in choices.items()])
