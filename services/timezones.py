"""Business-local wall-clock times and the UTC instants stored for them."""
from __future__ import annotations

import zoneinfo

import numpy as np
import pandas as pd


def local_to_utc(local: np.ndarray, zone: zoneinfo.ZoneInfo) -> dict[str, np.ndarray]:
    """Naive UTC `ordered_at` for naive local times, and the local date/hour recomputed from it.

    Times in a DST gap move forward and ambiguous times take the summer offset; recomputing
    the local date and hour from the UTC instant keeps both exactly consistent with it.
    """
    index = pd.DatetimeIndex(local).tz_localize(
        zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward")
    utc = index.tz_convert("UTC").tz_localize(None)
    wall = utc.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return {"ordered_at": utc.values.astype("datetime64[s]"),
            "sale_date": wall.values.astype("datetime64[D]"),
            "sale_hour": np.asarray(wall.hour, dtype=np.int64)}
