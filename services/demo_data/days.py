"""The calendar of the history: its days and the relative order rate of each one."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from services.demo_data.plan import MONTHS, PLANTED, WEEKDAYS


@dataclass(frozen=True)
class Calendar:
    """The days of the history (index = day number) and their rates."""

    days: np.ndarray  # datetime64[D], one per day of the history
    weekday: np.ndarray  # 0 = Monday
    level: np.ndarray  # month factor × trend × weekday: the expected level lifts refer to
    rate: np.ndarray  # level × special days × noise: relative expected orders
    outage_day: int

    @classmethod
    def build(cls, end: dt.date, rng: np.random.Generator) -> Calendar:
        """Days from `end` - 729 to `end` with the planted weekly/yearly pattern and trend."""
        n_days = PLANTED["history_days"]
        start = end - dt.timedelta(days=n_days - 1)
        days = np.datetime64(start, "D") + np.arange(n_days)
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        month = days.astype("datetime64[M]").astype(np.int64) % 12
        month_factor = np.array([PLANTED["month_factors"][m] for m in MONTHS])[month]
        trend = (1 + PLANTED["annual_growth"]) ** (np.arange(n_days) / 365.25)
        weekday_factor = np.array([PLANTED["weekday_weights"][d] for d in WEEKDAYS])[weekday]
        level = month_factor * trend * weekday_factor
        sigma = PLANTED["daily_noise_sigma"]
        noise = np.exp(rng.normal(-sigma**2 / 2, sigma, n_days))
        rate = level * _special_day_factors(start, days) * noise
        return cls(days, weekday, level, rate,
                   n_days - 1 - PLANTED["outage"]["days_before_end"])

    @property
    def size(self) -> int:
        """Number of days in the history."""
        return len(self.days)


def _black_fridays(first_year: int, last_year: int) -> list[dt.date]:
    """The day after the fourth Thursday of November, for each year."""
    fridays = []
    for year in range(first_year, last_year + 1):
        november_first = dt.date(year, 11, 1)
        first_thursday = november_first + dt.timedelta(days=(3 - november_first.weekday()) % 7)
        fridays.append(first_thursday + dt.timedelta(days=22))
    return fridays


def _special_day_factors(start: dt.date, days: np.ndarray) -> np.ndarray:
    factors = np.ones(len(days))
    special = PLANTED["special_days"]
    for friday in _black_fridays(start.year, start.year + 3):
        for date, factor in ((friday, special["Black Friday"]),
                             (friday + dt.timedelta(days=3), special["Cyber Monday"])):
            index = (date - start).days
            if 0 <= index < len(days):
                factors[index] *= factor
    return factors
