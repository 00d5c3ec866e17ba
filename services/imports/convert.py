"""From text cells to typed values, column at a time, with every problem recorded per row.

Vectorised (pandas string methods), because a sales file has hundreds of thousands of rows.
A problem names the row (as a spreadsheet numbers it), the column (as the file names it), the
value and what is wrong with it.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from services.imports.kinds import BOOLEAN, CHOICE, DATE, DATETIME, INTEGER, NUMBER, Field

MAX_EXAMPLES = 200  # row-level problems kept with their value; all are counted
DATE_ORDERS = {"auto": "Automatic", "ymd": "Year-month-day (2011-12-31)",
               "dmy": "Day/month/year (31/12/2011)", "mdy": "Month/day/year (12/31/2011)"}
EARLIEST = dt.datetime(1990, 1, 1)
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "active", "enabled", "on", "x"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "inactive", "disabled", "off"})
# "=…" always runs; "+", "-" and "@" run when a call, pipe or reference follows ("@SUM(A1)",
# "-2+3+cmd|' /C calc'!A0"), while "@leafy_life" and "-15% off" are plain text.
_FORMULA = re.compile(r"^(?:=|[+\-@].*[(|!=])")
_CURRENCY = re.compile(r"[£$€¥₹\s\u00a0\u202f']|(?i:gbp|usd|eur)")
_DATE = re.compile(
    r"^(?P<a>\d{1,4})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{1,4})"
    r"(?:[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class Issue:
    """One problem in one cell (or one row when `column` is empty)."""

    row: int
    column: str
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"row": self.row, "column": self.column, "value": self.value,
                "message": self.message}


@dataclass
class Problems:
    """Every row-level problem of a file: counted by (column, problem), the first ones kept."""

    rows: pd.Index  # the row numbers of the file, in order
    # The file's cells as text, by column: a problem quotes the value as the file has it
    # ("1", not the 1.0 it was converted to), whatever series the check looked at.
    raw: pd.DataFrame | None = None
    rejected: np.ndarray = field(init=False)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rejected = np.zeros(len(self.rows), dtype=bool)

    def add(self, mask: Any, column: str, problem: str, values: pd.Series | None = None,
            detail: str = "") -> None:
        """Reject the rows in `mask` because of `problem` in `column`."""
        mask = np.asarray(mask, dtype=bool)
        count = int(mask.sum())
        if not count:
            return
        self.rejected |= mask
        self.counts[(column, problem)] += count
        room = MAX_EXAMPLES - len(self.examples)
        if room <= 0:
            return
        positions = np.flatnonzero(mask)[:room]
        if self.raw is not None and column in self.raw.columns:
            values = self.raw[column].str.strip()
        shown = values.to_numpy()[positions] if values is not None else [""] * len(positions)
        for position, value in zip(positions, shown, strict=True):
            text = "" if value is None else str(value)
            self.examples.append(Issue(int(self.rows[position]), column, text[:80],
                                       f"{problem}{detail}"))

    @property
    def rejected_rows(self) -> int:
        """How many rows have at least one problem."""
        return int(self.rejected.sum())

    def summary(self) -> list[dict[str, Any]]:
        """Per column and problem: how many rows, largest first."""
        return [{"column": column, "problem": problem, "rows": rows}
                for (column, problem), rows in self.counts.most_common()]


class _Recorder:
    """Collects `Problems.add` calls made on a column's distinct values."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, str, str, str]] = []

    def add(self, mask: Any, column: str, problem: str, values: pd.Series | None = None,
            detail: str = "") -> None:
        self.calls.append((np.asarray(mask, dtype=bool), column, problem, detail))


def on_distinct(cells: pd.Series, converter: Any, problems: Problems, *args: Any) -> pd.Series:
    """Run `converter(values, *args[:2], recorder, *args[2:])` once per distinct cell value.

    A sales file repeats its dates, prices, codes and countries thousands of times: converting
    each distinct text once and spreading the result back is many times faster.
    """
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object), sort=False)
    recorder = _Recorder()
    typed = converter(pd.Series(uniques, dtype=str), args[0], args[1], recorder, *args[2:])
    for mask, column, problem, detail in recorder.calls:
        problems.add(mask[codes], column, problem, cells, detail)
    return pd.Series(typed.to_numpy()[codes], index=cells.index, dtype=typed.dtype)


def text(values: pd.Series, field_: Field, column: str, problems: Problems) -> pd.Series:
    """Stripped text, '' when empty; too long or formula-like cells are problems."""
    stripped = values.str.strip()
    _required(stripped, field_, column, problems)
    problems.add(stripped.str.len() > field_.max_length, column,
                 f"is longer than {field_.max_length} characters", stripped)
    problems.add(stripped.str.match(_FORMULA), column,
                 "is a spreadsheet formula (it starts with =, or with +, - or @ and calls "
                 "something): edit the cell so that it is plain text", stripped)
    return stripped


def _required(stripped: pd.Series, field_: Field, column: str, problems: Problems) -> None:
    if field_.required:
        problems.add(stripped == "", column, "is empty, but this column is required",
                     stripped)


def number(values: pd.Series, field_: Field, column: str, problems: Problems) -> pd.Series:
    """Floats (NaN when empty): currency signs, thousands separators and decimal commas are
    understood; '(12.50)' is -12.50; anything else is a problem."""
    stripped = values.str.strip()
    _required(stripped, field_, column, problems)
    cleaned = stripped.str.replace(_CURRENCY, "", regex=True)
    negative = cleaned.str.match(r"^\(.*\)$")
    cleaned = cleaned.str.strip("()")
    if _uses_decimal_comma(cleaned):
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    parsed = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").astype(float)
    parsed = parsed.where(~negative, -parsed)
    bad = (stripped != "") & parsed.isna()
    formula = bad & stripped.str.match(r"^=")
    problems.add(formula, column, "is a spreadsheet formula, not a number", stripped)
    problems.add(bad & ~formula, column, "is not a number", stripped)
    _range(parsed, field_, column, problems, stripped)
    return parsed


def _uses_decimal_comma(cleaned: pd.Series) -> bool:
    """True when the column writes decimals with a comma (4,50 or 1.234,56)."""
    sample = cleaned[cleaned.str.contains(",", regex=False)].head(10_000)
    if sample.empty:
        return False
    last_comma = sample.str.rfind(",")
    last_point = sample.str.rfind(".")
    digits_after = sample.str.len() - last_comma - 1
    return bool(((last_comma > last_point) & (digits_after != 3)).any()
                or ((last_point >= 0) & (last_comma > last_point)).any())


def _range(parsed: pd.Series, field_: Field, column: str, problems: Problems,
           stripped: pd.Series) -> None:
    if field_.minimum is not None:
        hint = (" (a return is a negative quantity, not a negative price)"
                if field_.name == "unit_price" else "")
        problems.add(parsed < field_.minimum, column,
                     "is negative" if field_.minimum == 0 else
                     f"is below {_plain(field_.minimum)}", stripped, hint)
    if field_.maximum is not None:
        problems.add(parsed.abs() > field_.maximum, column,
                     f"is larger than {_plain(field_.maximum)}, which cannot be right", stripped)


def _plain(limit: float) -> str:
    """10,000,000 rather than 1e+07."""
    return f"{limit:,.0f}" if float(limit).is_integer() else f"{limit:,}"


def integer(values: pd.Series, field_: Field, column: str, problems: Problems) -> pd.Series:
    """Whole numbers as floats (NaN when empty): 2.0 is 2, 2.5 is a problem."""
    parsed = number(values, field_, column, problems)
    problems.add(parsed.notna() & (parsed != parsed.round()), column,
                 "is not a whole number", values.str.strip())
    return parsed.round()


def boolean(values: pd.Series, field_: Field, column: str, problems: Problems) -> pd.Series:
    """True/False, or None when empty; yes/no, true/false, 1/0 and the like."""
    lowered = values.str.strip().str.lower()
    _required(lowered, field_, column, problems)
    result = pd.Series(None, index=values.index, dtype=object)
    result[lowered.isin(TRUE_WORDS)] = True
    result[lowered.isin(FALSE_WORDS)] = False
    problems.add((lowered != "") & result.isna(), column, "is not yes or no", values)
    return result


def choice(values: pd.Series, field_: Field, column: str, problems: Problems) -> pd.Series:
    """One of the field's choices, '' when empty: case-insensitive, a plural 's' forgiven,
    other software's words read through the field's aliases (photo is image)."""
    lowered = values.str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    _required(lowered, field_, column, problems)
    aliases = dict(field_.aliases)
    result = lowered.map(lambda value: _chosen(value, field_.choices, aliases))
    problems.add((lowered != "") & (result == ""), column,
                 f"is not one of: {', '.join(field_.choices)}", values)
    return result


def _chosen(value: str, choices: tuple[str, ...], aliases: dict[str, str]) -> str:
    """The choice a (lower-case) word means, '' when none; called once per distinct value."""
    for word in (value, value.removesuffix("s")):
        if word in choices:
            return word
        if word in aliases:
            return aliases[word]
    return ""


def date_order(values: pd.Series, requested: str = "auto") -> tuple[str, str | None]:
    """The order of day, month and year in a date column, and a note when it was a guess."""
    if requested not in DATE_ORDERS:
        raise ValueError(f"unknown date order {requested}")
    if requested != "auto":
        return requested, None
    distinct = pd.Series(values.unique(), dtype=str)
    parts = distinct.str.extract(_DATE)[["a", "b", "c"]].dropna()
    if parts.empty or (parts["a"].str.len() == 4).all():
        return "ymd", None
    first = parts["a"].astype(int)
    second = parts["b"].astype(int)
    if (first > 12).any():
        return "dmy", None
    if (second > 12).any():
        return "mdy", None
    return "dmy", ("The dates could be read as day/month or as month/day; they were read as "
                   "day/month/year. Choose the date order if that is wrong.")


def timestamps(values: pd.Series, field_: Field, column: str, problems: Problems,
               order: str, zone: str, today: dt.date) -> pd.Series:
    """Naive local datetimes (datetime64[ns], NaT when empty or bad).

    A time with a UTC offset is converted to the business time zone; one without is taken to
    be business-local already.
    """
    stripped = values.str.strip()
    _required(stripped, field_, column, problems)
    parts = stripped.str.extract(_DATE)
    a, b, c = (parts[name] for name in ("a", "b", "c"))
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    year = pd.to_numeric(year, errors="coerce")
    year = year.where(year >= 100, year + 2000)  # 11 -> 2011
    hour = pd.to_numeric(parts["hour"], errors="coerce").fillna(0)
    pm = parts["ampm"].fillna("").str.lower().str.startswith("p")
    am = parts["ampm"].fillna("").str.lower().str.startswith("a")
    hour = hour.where(~(pm & (hour < 12)), hour + 12).where(~(am & (hour == 12)), 0)
    stamp = pd.to_datetime(pd.DataFrame({
        "year": year, "month": pd.to_numeric(month, errors="coerce"),
        "day": pd.to_numeric(day, errors="coerce"), "hour": hour,
        "minute": pd.to_numeric(parts["minute"], errors="coerce").fillna(0),
        "second": pd.to_numeric(parts["second"], errors="coerce").fillna(0)}),
        errors="coerce")
    stamp = _apply_offsets(stamp, parts["tz"], zone)
    bad = (stripped != "") & stamp.isna()
    problems.add(bad, column, f"is not a date in the form {DATE_ORDERS[order].split('(')[1][:-1]}"
                 if order != "ymd" else "is not a date (expected e.g. 2011-12-31 14:05)",
                 stripped)
    problems.add(stamp < EARLIEST, column, "is before 1990", stripped)
    tomorrow = pd.Timestamp(today + dt.timedelta(days=2))
    problems.add(stamp >= tomorrow, column, "is in the future", stripped)
    return stamp


def _apply_offsets(stamp: pd.Series, offsets: pd.Series, zone: str) -> pd.Series:
    given = offsets.notna()
    if not given.any():
        return stamp
    text_ = offsets[given].str.replace("Z", "+00:00").str.replace(":", "")
    minutes = (text_.str[1:3].astype(int) * 60 + text_.str[3:5].astype(int)) * \
        np.where(text_.str[0] == "-", -1, 1)
    utc = stamp[given] - pd.to_timedelta(minutes, unit="min")
    local = utc.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
    result = stamp.copy()
    result[given] = local
    return result


def dates(values: pd.Series, field_: Field, column: str, problems: Problems, order: str,
          zone: str, today: dt.date) -> pd.Series:
    """Calendar dates (as datetime64 at midnight, NaT when empty or bad)."""
    return timestamps(values, field_, column, problems, order, zone, today).dt.normalize()


CONVERTERS = {NUMBER: number, INTEGER: integer, BOOLEAN: boolean, CHOICE: choice}
TIME_TYPES = (DATETIME, DATE)
