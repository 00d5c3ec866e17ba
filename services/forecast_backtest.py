"""The backtest table of docs/forecasting.md on the UCI Online Retail file:
`python -m services.forecast_backtest [path]` (for a `make backtest` target).

Daily net revenue of the file (Σ quantity × unit price per invoice day, returns included),
trading days = days with net revenue above zero, the as-of date = the file's last day;
once over every row as the file is, once over merchandise only (as Pulseboard counts it
after an import: postage, fees and manual entries left out). The same code as the page.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from services import forecast_model as model
from services.imports.sales import NON_MERCHANDISE_CODES

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"
COMPARED = {"ensemble (the page's model)": model.SPECS,
            **{f"{name} alone": {name: spec} for name, spec in model.SPECS.items()}}


def daily_revenue(path: Path, merchandise_only: bool) -> pd.Series:
    """Net revenue per calendar day of the file, closed days as 0."""
    frame = pd.read_csv(path, usecols=["StockCode", "Quantity", "InvoiceDate", "UnitPrice"],
                        dtype={"StockCode": str})
    if merchandise_only:
        frame = frame.loc[~frame["StockCode"].str.upper().isin(NON_MERCHANDISE_CODES)]
    day = pd.to_datetime(frame["InvoiceDate"]).dt.normalize()
    revenue = (frame["Quantity"] * frame["UnitPrice"]).groupby(day).sum()
    return revenue.asfreq("D", fill_value=0.0)


def table(series: pd.Series) -> pd.DataFrame:
    """Mean MAPE and WAPE over the six origins of each model and of the baseline, with the
    time each backtest took."""
    rows = []
    for name, specs in COMPARED.items():
        started = time.perf_counter()
        result = model.backtest(series, model.holiday_code("United Kingdom"), False, specs)
        seconds = time.perf_counter() - started
        means = model.mean_errors(result.origins)
        rows.append({"model": name, "mean_mape": means["model_mape"],
                     "mean_wape": means["model_wape"], "seconds": seconds})
    rows.append({"model": "seasonal naive (baseline)", "mean_mape": means["baseline_mape"],
                 "mean_wape": means["baseline_wape"], "seconds": None})
    return pd.DataFrame(rows)


def main(argv: list[str]) -> int:
    """Print the tables (every row, then merchandise only) and the per-origin errors."""
    path = Path(argv[0]) if argv else DEFAULT_FILE
    for merchandise_only in (False, True):
        series = daily_revenue(path, merchandise_only)
        print(f"\n{'Merchandise only' if merchandise_only else 'Every row'}: "
              f"{series.index[0]:%d %b %Y} – {series.index[-1]:%d %b %Y}, "
              f"{int((series > 0).sum())} trading days")
        print(table(series).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        origins = model.backtest(series, model.holiday_code("United Kingdom"), False).origins
        print(origins.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
