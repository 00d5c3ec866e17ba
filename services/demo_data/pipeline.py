"""The B2B pipeline: its stages, accounts, sales reps, opportunities and their stage changes."""
from __future__ import annotations

from typing import Any

import numpy as np

from models import STAGES
from services.demo_data.days import Calendar
from services.demo_data.plan import (
    BUSINESS_COUNTRIES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    PLANTED,
    STAGE_ORDER,
)
from services.demo_data.rows import Columns, nullable, row_ids


def pipeline_rows(rng: np.random.Generator, calendar: Calendar,
                  wholesale_id: int) -> dict[str, Columns]:
    """Rows of pipeline_stages, accounts, sales_reps, opportunities and stage_changes."""
    settings = PLANTED["pipeline"]
    reps = settings["reps"]
    accounts = _accounts(rng, settings)
    opportunities, stage_changes = _opportunities(rng, calendar, accounts, settings)
    return {
        "pipeline_stages": _stages(),
        "accounts": {"id": row_ids(len(accounts["name"])), "name": accounts["name"].tolist(),
                     "segment": accounts["segment"].tolist(),
                     "country": accounts["country"].tolist()},
        "sales_reps": {"id": row_ids(len(reps)), "name": [r[0] for r in reps],
                       "team": [r[1] for r in reps], "region": [r[2] for r in reps],
                       "quarterly_quota": [float(r[3]) for r in reps]},
        "opportunities": {**opportunities,
                          "platform_id": [wholesale_id] * len(opportunities["id"])},
        "stage_changes": stage_changes,
    }


def _stages() -> Columns:
    """The demo's stages in order, without a default probability (every deal stores one)."""
    outcomes = {"won": "won", "lost": "lost"}
    return {"id": row_ids(len(STAGES)), "name": list(STAGES),
            "position": list(range(1, len(STAGES) + 1)), "probability": [None] * len(STAGES),
            "outcome": [outcomes.get(name, "open") for name in STAGES]}


def _accounts(rng: np.random.Generator, settings: dict[str, Any]) -> dict[str, np.ndarray]:
    """Accounts with exact segment counts, each owned by a rep of the matching team."""
    count = settings["accounts"]
    combos = rng.choice(len(COMPANY_WORDS) * len(COMPANY_SUFFIXES), count, replace=False)
    names = [f"{COMPANY_WORDS[c // len(COMPANY_SUFFIXES)]} "
             f"{COMPANY_SUFFIXES[c % len(COMPANY_SUFFIXES)]}" for c in combos.tolist()]
    shares = settings["account_segments"]
    sizes = [round(share * count) for share in shares.values()]
    sizes[0] += count - sum(sizes)
    segment = rng.permutation(np.repeat(np.array(list(shares)), sizes))
    return {"name": np.array(names), "segment": segment,
            "country": rng.choice(np.array(list(BUSINESS_COUNTRIES)), count),
            "owner": _account_owners(segment, settings["reps"])}


def _account_owners(segment: np.ndarray, reps: tuple[tuple[Any, ...], ...]) -> np.ndarray:
    """Round-robin over the reps of the team serving each segment, so every rep has accounts."""
    team_of_segment = {"SMB": "SMB", "mid-market": "Mid-market", "enterprise": "Enterprise"}
    owner = np.empty(len(segment), dtype=np.int64)
    for name, team in team_of_segment.items():
        members = [k for k, rep in enumerate(reps) if rep[1] == team]
        accounts = np.flatnonzero(segment == name)
        owner[accounts] = np.array(members)[np.arange(len(accounts)) % len(members)]
    return owner


def _opportunities(rng: np.random.Generator, calendar: Calendar, accounts: dict[str, np.ndarray],
                   settings: dict[str, Any]) -> tuple[Columns, Columns]:
    """Deals walking lead → qualified → proposal → negotiation → won, or lost on the way."""
    count = settings["opportunities"]
    growth = (1 + PLANTED["annual_growth"]) ** (np.arange(calendar.size) / 365.25)
    created = np.sort(rng.choice(calendar.size, count, p=growth / growth.sum()))
    account = rng.integers(0, len(accounts["name"]), count)
    segment = accounts["segment"][account]
    rep = accounts["owner"][account]
    skill = np.array([r[4] for r in settings["reps"]])[rep]
    median = np.array([settings["amount_median"][s] for s in segment])
    amount = np.round(median * np.exp(rng.normal(0, 0.5, count)), -2)
    entered = created.copy()
    stage = np.full(count, "lead", dtype=object)
    outcome = np.full(count, "open", dtype=object)
    closed = np.full(count, -1)
    changes: list[tuple[int, str, int]] = []
    moving = np.ones(count, dtype=bool)
    for name in STAGE_ORDER:
        stage[moving] = name
        changes += [(i, name, entered[i]) for i in np.flatnonzero(moving).tolist()]
        leaves = entered + 1 + np.floor(rng.exponential(settings["stage_days_mean"][name], count))
        # The rep's skill shows where it matters most: closing the negotiation.
        closing_skill = skill if name == STAGE_ORDER[-1] else 1.0
        advance = rng.random(count) < np.minimum(
            settings["advance_probability"][name] * closing_skill, 0.97)
        decided = moving & (leaves < calendar.size)  # the rest is still open at this stage
        final = decided & (~advance | (name == STAGE_ORDER[-1]))
        outcome[final] = np.where(advance[final], "won", "lost")
        closed[final] = leaves[final]
        stage[final] = outcome[final]  # the stage of a closed deal is its outcome
        changes += [(i, str(outcome[i]), int(leaves[i])) for i in np.flatnonzero(final).tolist()]
        moving = decided & ~final
        entered = np.where(moving, leaves, entered).astype(np.int64)
    probability = np.array([settings["open_probability"].get(s, 0.0) for s in stage])
    probability = np.where(outcome == "won", 1.0, np.where(outcome == "lost", 0.0, probability))
    expected_days = sum(settings["stage_days_mean"].values())
    expected_close = created + expected_days + rng.integers(-10, 21, count)
    changes.sort(key=lambda change: (change[0], change[2]))
    opportunities = {
        "id": row_ids(count),
        "external_id": [f"OPP-{i:05d}" for i in range(1, count + 1)],
        "account_id": (account + 1).tolist(), "rep_id": (rep + 1).tolist(),
        "stage": stage.tolist(), "outcome": outcome.tolist(), "amount": amount.tolist(),
        "probability": probability.tolist(), "created_on": calendar.days[created].tolist(),
        "expected_close": (calendar.days[created] + (expected_close - created)).tolist(),
        "closed_on": nullable(calendar.days[np.maximum(closed, 0)], closed < 0),
    }
    stage_changes = {"id": row_ids(len(changes)),
                     "opportunity_id": [i + 1 for i, _s, _d in changes],
                     "stage": [s for _i, s, _d in changes],
                     "entered_on": calendar.days[[d for _i, _s, d in changes]].tolist()}
    return opportunities, stage_changes
