"""The themes' colours: every text colour of assets/dark.css against its backgrounds meets
WCAG AA (4.5:1) in light and in dark, and the charts' dark template uses the same colours."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from layouts.figures import DARK_COLOURS, DARK_GRID, DARK_SURFACE, DARK_TEMPLATE, DARK_TEXT

CSS = (Path(__file__).resolve().parents[2] / "assets" / "dark.css").read_text()
# Which text sits on which background: labels (filter and KPI titles) only inside cards.
PAIRS = [(text, background) for text in ("--pb-text", "--pb-text-muted", "--pb-link")
         for background in ("--pb-page", "--pb-surface")] + [("--pb-label", "--pb-surface")]
AA = 4.5


def variables(selector: str) -> dict[str, str]:
    """The --pb-* colours (hex) declared in the first block of `selector`."""
    block = re.search(re.escape(selector) + r"\s*\{(.*?)\}", CSS, re.S)
    assert block, selector
    return dict(re.findall(r"(--pb-[a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", block.group(1)))


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of '#rrggbb'."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                        for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


THEMES = {"light": variables(":root"), "dark": variables('[data-bs-theme="dark"]')}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("text, background", PAIRS)
def test_text_meets_wcag_aa(theme: str, text: str, background: str) -> None:
    colours = THEMES[theme]
    ratio = contrast(colours[text], colours[background])
    assert ratio >= AA, f"{theme}: {text} on {background} is {ratio:.2f}:1"


def test_the_known_ratio_of_black_on_white() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_the_charts_dark_template_uses_the_pages_dark_colours() -> None:
    dark = THEMES["dark"]
    layout = DARK_TEMPLATE["layout"]
    assert DARK_SURFACE == dark["--pb-surface"] == layout["paper_bgcolor"]
    assert layout["plot_bgcolor"] == DARK_SURFACE
    assert DARK_TEXT == dark["--pb-text"] == layout["font"]["color"]
    assert DARK_GRID == dark["--pb-border"] == layout["xaxis"]["gridcolor"]
    assert contrast(DARK_TEXT, DARK_SURFACE) >= AA
    # The chart text colours (axis labels, notes) stay readable once swapped.
    for light in ("#1e293b", "#334155", "#64748b"):
        assert contrast(DARK_COLOURS[light], DARK_SURFACE) >= AA, light
