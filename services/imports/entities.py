"""Catalogue and marketing files: products, customers, influencers, posts, tracking, payouts,
funnel counts, pipeline opportunities and the sales team.

Each kind has a key (see `kinds.py`). A key repeated within the file is a problem; a key
already in the database is updated (or, for tracking and payouts, which have no stored key,
the old row is replaced), so importing the same file again changes nothing.
"""
from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.orm import Session

from models import (
    Account,
    Campaign,
    Customer,
    FunnelDay,
    Influencer,
    MediaPost,
    Opportunity,
    Payout,
    Platform,
    Product,
    SalesRep,
    Tracking,
)
from models.pipeline import PipelineStage
from services import rollups
from services.errors import InvalidInput
from services.imports import bulk, changes
from services.imports.convert import Problems
from services.imports.kinds import KINDS
from services.imports.sales import platform_ids
from services.platforms import slugify
from services.scope import Scope
from services.timezones import local_to_utc


@dataclass
class Prepared:
    """Rows of one kind ready to load, and the report's figures."""

    kind: str
    frame: pd.DataFrame
    totals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    first_date: Any = None
    last_date: Any = None
    new_stages: list[dict[str, Any]] = field(default_factory=list)  # pipeline: to add


def _lookup(session: Session, model: Any, key: Any, values: pd.Series) -> dict[Any, int]:
    wanted = [v for v in values.unique() if v]
    return dict(bulk.rows_in(session, [key, model.id], key, wanted))


def _missing(problems: Problems, values: pd.Series, known: dict[Any, int], column: str,
             what: str) -> None:
    problems.add((values != "") & ~values.isin(list(known)), column,
                 f"is not a known {what}", values)


# ---------------------------------------------------------------------------------------------
# One function per kind: (session, converted values, problems, context) -> Prepared
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What preparing a file needs besides the file."""

    zone: str
    scope: Scope
    columns: dict[str, str]  # field -> the file's column (for messages)


def _frame(values: dict[str, pd.Series], problems: Problems) -> pd.DataFrame:
    frame = pd.DataFrame({name: series.to_numpy() for name, series in values.items()})
    frame.insert(0, "row", problems.rows)
    return frame


def _keyed(kind: str, values: dict[str, pd.Series], problems: Problems,
           context: Context) -> pd.DataFrame:
    frame = _frame(values, problems)
    key = list(KINDS[kind].key)
    present = [name for name in key if name in frame.columns]
    for name in key:
        if name not in frame.columns:
            frame[name] = ""
    ok = ~problems.rejected
    repeated = np.zeros(len(frame), dtype=bool)
    repeated[np.flatnonzero(ok)] = frame[ok].duplicated(key, keep="first").to_numpy()
    column = context.columns.get(present[0], present[0]) if present else ""
    problems.add(repeated, column, "repeats the key of an earlier row of the file",
                 frame[present[0]] if present else None)
    return frame


def prepare_products(session: Session, values: dict[str, pd.Series], problems: Problems,
                     context: Context) -> Prepared:
    """Products keyed by SKU."""
    frame = _keyed("products", values, problems, context)
    existing = _lookup(session, Product, Product.sku, frame["sku"])
    return Prepared("products", frame, _split(frame["sku"], existing, problems))


def _split(keys: pd.Series, existing: dict[Any, int] | set[Any],
           problems: Problems) -> dict[str, int]:
    valid = keys[~problems.rejected]
    updated = int(valid.isin(list(existing)).sum())
    return {"inserted": len(valid) - updated, "updated": updated}


def prepare_customers(session: Session, values: dict[str, pd.Series], problems: Problems,
                      context: Context) -> Prepared:
    """Customers keyed by their external id."""
    frame = _keyed("customers", values, problems, context)
    frame["customer_id"] = frame["customer_id"].str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    existing = _lookup(session, Customer, Customer.external_id, frame["customer_id"])
    return Prepared("customers", frame, _split(frame["customer_id"], existing, problems))


def prepare_influencers(session: Session, values: dict[str, pd.Series], problems: Problems,
                        context: Context) -> Prepared:
    """Influencers keyed by handle."""
    frame = _keyed("influencers", values, problems, context)
    existing = _lookup(session, Influencer, Influencer.handle, frame["handle"])
    return Prepared("influencers", frame, _split(frame["handle"], existing, problems))


def prepare_posts(session: Session, values: dict[str, pd.Series], problems: Problems,
                  context: Context) -> Prepared:
    """Posts keyed by post id; a post may not move to another platform."""
    frame = _keyed("posts", values, problems, context)
    index = frame.index
    for name in ("sku", "influencer", "campaign"):
        frame[name] = frame.get(name, pd.Series("", index=index))
    products = _lookup(session, Product, Product.sku, frame["sku"])
    _missing(problems, frame["sku"], products, context.columns.get("sku", "sku"), "product SKU")
    influencers = _lookup(session, Influencer, Influencer.handle, frame["influencer"])
    _missing(problems, frame["influencer"], influencers,
             context.columns.get("influencer", "influencer"), "influencer handle")
    stored = dict(bulk.rows_in(session, [MediaPost.external_id, MediaPost.platform_id],
                               MediaPost.external_id, frame["post_id"]))
    slugs = dict(session.execute(select(Platform.id, Platform.slug)).all())
    stored_slug = frame["post_id"].map(stored).map(slugs)
    moved = stored_slug.notna() & (stored_slug != frame["platform"].map(_slug))
    problems.add(moved.to_numpy(), context.columns["post_id"],
                 "already exists on another platform; a post cannot move to another "
                 "platform", frame["post_id"])
    prepared = Prepared("posts", frame, _split(frame["post_id"], stored, problems))
    _date_range(prepared, frame["posted_at"], problems)
    return prepared


def _slug(name: str) -> str:
    try:
        return slugify(name)
    except InvalidInput:
        return ""


def _date_range(prepared: Prepared, stamps: pd.Series, problems: Problems) -> None:
    valid = stamps[~problems.rejected].dropna()
    if len(valid):
        prepared.first_date = valid.min().date()
        prepared.last_date = valid.max().date()


def prepare_tracking(session: Session, values: dict[str, pd.Series], problems: Problems,
                     context: Context) -> Prepared:
    """Daily attribution rows, replacing rows with the same day, platform, campaign,
    influencer and post."""
    frame = _keyed("tracking", values, problems, context)
    influencers = _lookup(session, Influencer, Influencer.handle, frame["influencer"])
    _missing(problems, frame["influencer"], influencers,
             context.columns.get("influencer", "influencer"), "influencer handle")
    posts = _lookup(session, MediaPost, MediaPost.external_id, frame["post_id"])
    _missing(problems, frame["post_id"], posts, context.columns.get("post_id", "post"),
             "post id")
    prepared = Prepared("tracking", frame, {"rows": int((~problems.rejected).sum())})
    _date_range(prepared, frame["date"], problems)
    return prepared


def prepare_payouts(session: Session, values: dict[str, pd.Series], problems: Problems,
                    context: Context) -> Prepared:
    """Payouts, replacing the one with the same influencer, campaign, basis and due date."""
    frame = _keyed("payouts", values, problems, context)
    influencers = _lookup(session, Influencer, Influencer.handle, frame["influencer"])
    _missing(problems, frame["influencer"], influencers,
             context.columns["influencer"], "influencer handle")
    campaigns = _lookup(session, Campaign, Campaign.name, frame["campaign"])
    _missing(problems, frame["campaign"], campaigns, context.columns.get("campaign", "campaign"),
             "campaign (import its tracking or posts first)")
    units = frame.get("units", pd.Series(0.0, index=frame.index)).fillna(0)
    amount = frame.get("amount", pd.Series(np.nan, index=frame.index))
    frame["units"] = units
    frame["amount"] = amount.where(amount.notna(), (frame["rate"] * units).round(4))
    return Prepared("payouts", frame, {"rows": int((~problems.rejected).sum())})


def prepare_funnel(session: Session, values: dict[str, pd.Series], problems: Problems,
                   context: Context) -> Prepared:
    """Funnel counts, one row per platform and day."""
    frame = _keyed("funnel", values, problems, context)
    stages = ["sessions", "product_views", "add_to_cart", "checkout", "purchase"]
    ok = frame[~problems.rejected]
    shrinking = (ok[stages].diff(axis=1).iloc[:, 2:] > 0).any(axis=1).sum()
    prepared = Prepared("funnel", frame, {"rows": len(ok)})
    if shrinking:
        prepared.notes.append(f"{shrinking:,} rows have a later stage larger than an earlier "
                              "one (e.g. more checkouts than carts); they were loaded as given.")
    _date_range(prepared, frame["date"], problems)
    return prepared


# Stage names that close a deal, compared lower-case with punctuation as spaces.
WON_STAGES = frozenset({"won", "closed won"})
LOST_STAGES = frozenset({"lost", "closed lost"})
LEGACY_CLOSED = "closed"  # the old shared stage of won and lost deals, with an outcome column


def stage_key(name: str) -> str:
    """A stage name as compared: 'Closed-Won ' and 'closed won' are the same stage."""
    return " ".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def stage_outcome(name: str) -> str:
    """The outcome a new stage means by its name: won, lost or open."""
    key = stage_key(name)
    return "won" if key in WON_STAGES else ("lost" if key in LOST_STAGES else "open")


def _known_stages(session: Session) -> dict[str, tuple[str, str]]:
    """Stored stages by key: (name as stored, outcome)."""
    rows = session.execute(select(PipelineStage.name, PipelineStage.outcome)).all()
    return {stage_key(name): (name, outcome) for name, outcome in rows}


def _resolve_stages(frame: pd.DataFrame, known: dict[str, tuple[str, str]],
                    given: pd.Series) -> list[dict[str, Any]]:
    """Write each row's stage as stored (or as first spelled in the file) and its stage's
    outcome into `stage_outcome`; return the stages the file adds, in file order."""
    stages = dict(known)
    added: list[dict[str, Any]] = []
    legacy = frame["stage"].map(stage_key).eq(LEGACY_CLOSED) & given.isin(["won", "lost"])
    if legacy.any():  # the old format: "closed" with a won/lost outcome
        closing = {outcome: name for name, outcome in stages.values() if outcome != "open"}
        frame.loc[legacy, "stage"] = given[legacy].map(
            lambda outcome: closing.get(outcome, outcome.capitalize()))
    for name in frame.loc[frame["stage"] != "", "stage"].drop_duplicates():
        key = stage_key(name)
        if key not in stages:
            stages[key] = (name, stage_outcome(name))
            added.append({"name": name, "outcome": stages[key][1]})
    keys = frame["stage"].map(stage_key)
    frame["stage"] = keys.map(lambda key: stages[key][0] if key in stages else "")
    frame["stage_outcome"] = keys.map(lambda key: stages[key][1] if key in stages else "open")
    return added


def prepare_pipeline(session: Session, values: dict[str, pd.Series], problems: Problems,
                     context: Context) -> Prepared:
    """Opportunities keyed by id; accounts, reps and stages are created by name as needed.

    A won or lost stage decides the outcome; an open stage takes the outcome column's (a deal
    lost while in "Proposal"). A closed deal needs an amount, an account, a created date and
    a close date (its expected close when the file has no closed-on column); an open one may
    lack the first three.
    """
    frame = _keyed("pipeline", values, problems, context)
    index = frame.index
    for name in ("account", "product", "closed_on", "expected_close", "created_on", "amount"):
        if name not in frame:
            frame[name] = pd.Series(np.nan if name == "amount" else (
                "" if name in ("account", "product") else pd.NaT), index=index)
    given = frame.get("outcome", pd.Series("", index=index))
    added = _resolve_stages(frame, _known_stages(session), given)
    by_stage = frame["stage_outcome"]
    outcome = by_stage.where(by_stage != "open", given.replace("", "open"))
    problems.add(((by_stage != "open") & (given != "") & (given != by_stage)).to_numpy(),
                 context.columns.get("outcome", "outcome"),
                 "contradicts the stage (a Won stage is won, a Lost stage lost)", given)
    frame["outcome"] = outcome
    frame = frame.drop(columns="stage_outcome")
    frame["closed_on"] = frame["closed_on"].where(
        frame["closed_on"].notna() | (outcome == "open"), frame["expected_close"])
    closed = (outcome != "open").to_numpy()
    columns = {"closed_on": context.columns.get("expected_close", "closed_on"),
               **context.columns}  # a closed deal's close date may be the "close date"
    for name, missing, what in (
            ("amount", frame["amount"].isna(), "an amount"),
            ("account", frame["account"] == "", "an account"),
            ("created_on", frame["created_on"].isna(), "a created date"),
            ("closed_on", frame["closed_on"].isna(), "a close date")):
        problems.add(closed & missing.to_numpy(), columns.get(name, name),
                     f"is empty, but a won or lost deal needs {what}", frame.get(name))
    if "probability" in frame:
        frame["probability"] = frame["probability"].where(frame["probability"] <= 1,
                                                          frame["probability"] / 100)
    existing = _lookup(session, Opportunity, Opportunity.external_id, frame["opportunity_id"])
    prepared = Prepared("pipeline", frame, _split(frame["opportunity_id"], existing, problems))
    _open_gaps(prepared, frame[~problems.rejected])
    prepared.new_stages = _learned(added, frame[~problems.rejected])
    if added:
        prepared.notes.append(
            "New stages, added after the existing ones in the order the file first names "
            "them: " + ", ".join(f"{stage['name']} ({stage['outcome']})" for stage in added)
            + ". An admin can reorder them and set their probability on the Admin page.")
    _date_range(prepared, frame["created_on"], problems)
    return prepared


def _open_gaps(prepared: Prepared, valid: pd.DataFrame) -> None:
    """Count the open deals loaded without an amount, an account or a created date."""
    still_open = valid[valid["outcome"] == "open"]
    for label, missing in (("open deals without an amount (shown as “no amount”)",
                            still_open["amount"].isna()),
                           ("open deals without an account (shown as “unknown account”)",
                            still_open["account"] == ""),
                           ("open deals without a created date", still_open["created_on"].isna())):
        if missing.any():
            prepared.totals[label] = int(missing.sum())


def _learned(added: list[dict[str, Any]], valid: pd.DataFrame) -> list[dict[str, Any]]:
    """New stages with a default probability: the file's mean probability of its open deals
    in the stage (None without a probability column)."""
    out = []
    for stage in added:
        probability = None
        if stage["outcome"] != "open":
            probability = 1.0 if stage["outcome"] == "won" else 0.0
        elif "probability" in valid:
            mean = valid.loc[(valid["stage"] == stage["name"])
                             & (valid["outcome"] == "open"), "probability"].mean()
            probability = None if pd.isna(mean) else round(float(mean), 4)
        out.append({**stage, "probability": probability})
    return out


def prepare_sales_team(session: Session, values: dict[str, pd.Series], problems: Problems,
                       context: Context) -> Prepared:
    """Sales reps keyed by name: their manager, team (the manager's by default) and region."""
    frame = _keyed("sales_team", values, problems, context)
    if "team" not in frame and "manager" in frame:
        frame["team"] = frame["manager"]
    existing = _lookup(session, SalesRep, SalesRep.name, frame["rep"])
    return Prepared("sales_team", frame, _split(frame["rep"], existing, problems))


PREPARERS: dict[str, Callable[..., Prepared]] = {
    "products": prepare_products, "customers": prepare_customers,
    "influencers": prepare_influencers, "posts": prepare_posts, "tracking": prepare_tracking,
    "payouts": prepare_payouts, "funnel": prepare_funnel, "pipeline": prepare_pipeline,
    "sales_team": prepare_sales_team,
}


# ---------------------------------------------------------------------------------------------
# Loading (inside the caller's transaction)
# ---------------------------------------------------------------------------------------------
def load(session: Session, prepared: Prepared, scope: Scope, zone: str,
         job_id: int | None = None) -> None:
    """Write prepared rows of any kind but sales; with `job_id`, keep what the writes change
    under that import so it can be undone (`services.imports.changes`)."""
    if prepared.frame.empty:
        return
    if prepared.kind == "pipeline":  # with the stages the file adds
        load_pipeline(session, prepared.frame, scope, zone, prepared.new_stages, job_id)
    else:
        LOADERS[prepared.kind](session, prepared.frame, scope, zone, job_id)


def _rows(frame: pd.DataFrame, columns: dict[str, str]) -> list[dict[str, Any]]:
    """Records with the table's column names, for the columns the file has."""
    present = {target: source for target, source in columns.items() if source in frame}
    renamed = frame[list(present.values())].rename(
        columns={source: target for target, source in present.items()})
    return [{key: _python(value) for key, value in record.items()}
            for record in renamed.to_dict(orient="records")]


def _python(value: Any) -> Any:
    if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _upsert(session: Session, table: Table, frame: pd.DataFrame, columns: dict[str, str],
            key: str, job_id: int | None) -> None:
    rows = _rows(frame, columns)
    with changes.kept(session, job_id, table, [key], rows):
        bulk.upsert(session, table, rows, [key], [name for name in rows[0] if name != key])


def _dates_only(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        if name in frame:
            frame[name] = frame[name].dt.date.astype(object).where(frame[name].notna(), None)
    return frame


def load_products(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                  job_id: int | None = None) -> None:
    """Upsert products by SKU (only the columns the file has are changed)."""
    frame = frame.copy()
    for name in ("active", "is_merchandise"):
        if name in frame:
            frame[name] = frame[name].where(frame[name].notna(), True)
    non_merchandise = rollups.non_merchandise_ids(session)
    _upsert(session, Product.__table__, frame, {
        "sku": "sku", "name": "name", "category": "category", "subcategory": "subcategory",
        "brand": "brand", "unit_cost": "unit_cost", "list_price": "list_price",
        "active": "active", "is_merchandise": "is_merchandise"}, "sku", job_id)
    if rollups.non_merchandise_ids(session) != non_merchandise:
        rollups.refresh(session)  # products moved in or out of every sales figure


def load_customers(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                   job_id: int | None = None) -> None:
    """Upsert customers by external id."""
    frame = _dates_only(frame.copy(), "first_seen")
    if "platform" in frame:
        names = sorted(n for n in frame["platform"].unique() if n)
        ids = platform_ids(session, scope, names)
        frame["acquisition_platform_id"] = frame["platform"].map(ids).astype(object)
    _upsert(session, Customer.__table__, frame, {
        "external_id": "customer_id", "name": "name", "segment": "segment", "country": "country",
        "region": "region", "first_seen": "first_seen",
        "acquisition_platform_id": "acquisition_platform_id"}, "external_id", job_id)


def _with_platform_ids(session: Session, frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    ids = platform_ids(session, scope, sorted(frame["platform"].unique()))
    frame = frame.copy()
    frame["platform_id"] = frame["platform"].map(ids)
    return frame


def load_influencers(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                     job_id: int | None = None) -> None:
    """Upsert influencers by handle."""
    frame = _with_platform_ids(session, frame, scope)
    _upsert(session, Influencer.__table__, frame, {
        "handle": "handle", "name": "name", "platform_id": "platform_id",
        "followers": "followers", "niche": "niche"}, "handle", job_id)


def _campaign_ids(session: Session, frame: pd.DataFrame, date_column: str,
                  job_id: int | None) -> pd.Series:
    """Campaign id per row; a campaign named for the first time is created over the dates of
    its rows in the file, on the platform of its first row."""
    named = frame[frame["campaign"] != ""]
    existing = _lookup(session, Campaign, Campaign.name, named["campaign"])
    new = sorted(name for name in named["campaign"].unique() if name not in existing)
    with changes.kept(session, job_id, Campaign.__table__, ["name"],
                      [{"name": name} for name in new]):
        for name, rows in named[named["campaign"].isin(new)].groupby("campaign", sort=True):
            days = rows[date_column].dt.date
            campaign = Campaign(name=name, platform_id=int(rows["platform_id"].iloc[0]),
                                start_date=days.min(), end_date=days.max())
            session.add(campaign)
            session.flush()
            existing[name] = campaign.id
    return frame["campaign"].map(existing).astype(object)


def load_posts(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
               job_id: int | None = None) -> None:
    """Upsert posts by id, with their local post date and UTC time."""
    frame = _with_platform_ids(session, frame, scope)
    for name in ("sku", "influencer", "campaign"):
        frame[name] = frame.get(name, "")
    placed = local_to_utc(frame["posted_at"].to_numpy(), zoneinfo.ZoneInfo(zone))
    frame["posted_at"] = pd.to_datetime(placed["ordered_at"])
    frame["post_date"] = pd.to_datetime(placed["sale_date"])
    frame["product_id"] = frame["sku"].map(_lookup(session, Product, Product.sku, frame["sku"]))
    frame["influencer_id"] = frame["influencer"].map(
        _lookup(session, Influencer, Influencer.handle, frame["influencer"]))
    frame["campaign_id"] = _campaign_ids(session, frame, "post_date", job_id)
    frame = _dates_only(frame, "post_date")
    counts = ["impressions", "reach", "likes", "comments", "shares", "saves"]
    for name in counts:
        if name in frame:
            frame[name] = frame[name].fillna(0)
    _upsert(session, MediaPost.__table__, frame, {
        "external_id": "post_id", "platform_id": "platform_id", "post_type": "post_type",
        "posted_at": "posted_at", "post_date": "post_date", "caption": "caption",
        "product_id": "product_id", "campaign_id": "campaign_id",
        "influencer_id": "influencer_id", **{name: name for name in counts},
        "cost": "cost"}, "external_id", job_id)


def _replace(session: Session, table: Table, frame: pd.DataFrame, key: list[str],
             columns: dict[str, str], job_id: int | None) -> None:
    """Delete the rows whose key the file has, then insert the file's rows.

    Key parts may be NULL (no campaign, no due date); NULL never equals NULL in SQL, so both
    sides are compared through COALESCE with a value no real row has.
    """
    rows = _rows(frame, columns)
    sentinels = [changes.sentinel(table.c[name]) for name in key]
    target = tuple_(*(func.coalesce(table.c[name], sentinel)
                      for name, sentinel in zip(key, sentinels, strict=True)))
    keys = list({tuple(sentinel if row[name] is None else row[name]
                       for name, sentinel in zip(key, sentinels, strict=True)) for row in rows})
    with changes.kept(session, job_id, table, key, rows):
        for start in range(0, len(keys), 500):
            session.execute(delete(table).where(target.in_(keys[start:start + 500])))
        session.execute(table.insert(), rows)


def load_tracking(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                  job_id: int | None = None) -> None:
    """Replace tracking rows by day, platform, campaign, influencer and post."""
    frame = _with_platform_ids(session, frame, scope)
    frame["campaign_id"] = _campaign_ids(session, frame, "date", job_id)
    frame["influencer_id"] = frame["influencer"].map(
        _lookup(session, Influencer, Influencer.handle, frame["influencer"])).astype(object)
    frame["post_ref"] = frame["post_id"].map(
        _lookup(session, MediaPost, MediaPost.external_id, frame["post_id"])).astype(object)
    frame = _dates_only(frame, "date")
    for name in ("clicks", "orders", "revenue"):
        frame[name] = frame[name].fillna(0) if name in frame else 0
    _replace(session, Tracking.__table__, frame,
             ["date", "platform_id", "campaign_id", "influencer_id", "post_id"], {
                 "date": "date", "platform_id": "platform_id", "campaign_id": "campaign_id",
                 "influencer_id": "influencer_id", "post_id": "post_ref", "clicks": "clicks",
                 "orders": "orders", "revenue": "revenue"}, job_id)


def load_payouts(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                 job_id: int | None = None) -> None:
    """Replace payouts by influencer, campaign, basis and due date."""
    frame = frame.copy()
    frame["influencer_id"] = frame["influencer"].map(
        _lookup(session, Influencer, Influencer.handle, frame["influencer"]))
    frame["campaign_id"] = frame["campaign"].map(
        _lookup(session, Campaign, Campaign.name, frame["campaign"])).astype(object)
    frame["status"] = frame.get("status", pd.Series("", index=frame.index)).replace(
        "", "pending")
    frame = _dates_only(frame, "due_date", "paid_on")
    for name in ("due_date", "paid_on"):
        if name not in frame:
            frame[name] = None
    _replace(session, Payout.__table__, frame,
             ["influencer_id", "campaign_id", "basis", "due_date"], {
                 "influencer_id": "influencer_id", "campaign_id": "campaign_id",
                 "basis": "basis", "rate": "rate", "units": "units", "amount": "amount",
                 "status": "status", "due_date": "due_date", "paid_on": "paid_on"}, job_id)


def load_funnel(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                job_id: int | None = None) -> None:
    """Upsert funnel counts by platform and day."""
    frame = _dates_only(_with_platform_ids(session, frame, scope), "date")
    rows = _rows(frame, {name: name for name in (
        "date", "platform_id", "sessions", "product_views", "add_to_cart", "checkout",
        "purchase")})
    with changes.kept(session, job_id, FunnelDay.__table__, ["platform_id", "date"], rows):
        bulk.upsert(session, FunnelDay.__table__, rows, ["platform_id", "date"],
                    ["sessions", "product_views", "add_to_cart", "checkout", "purchase"])


def _named_ids(session: Session, model: Any, names: pd.Series,
               extra: Callable[[str], dict[str, Any]], job_id: int | None) -> dict[str, int]:
    """Id per name, creating the rows that do not exist yet."""
    ids = _lookup(session, model, model.name, names)
    new = sorted(n for n in names.unique() if n and n not in ids)
    with changes.kept(session, job_id, model.__table__, ["name"],
                      [{"name": name} for name in new]):
        for name in new:
            row = model(name=name, **extra(name))
            session.add(row)
            session.flush()
            ids[name] = row.id
    return ids


def _add_stages(session: Session, stages: list[dict[str, Any]], job_id: int | None) -> None:
    """Append the file's new stages after the stored ones, in file order."""
    last = session.scalar(select(func.max(PipelineStage.position))) or 0
    with changes.kept(session, job_id, PipelineStage.__table__, ["name"],
                      [{"name": stage["name"]} for stage in stages]):
        for position, stage in enumerate(stages, last + 1):
            session.add(PipelineStage(position=position, **stage))
        session.flush()


def load_pipeline(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                  stages: list[dict[str, Any]] | None = None,
                  job_id: int | None = None) -> None:
    """Upsert opportunities by id, creating stages, accounts and sales reps by name."""
    _add_stages(session, stages or [], job_id)
    frame = _dates_only(frame.copy(), "created_on", "expected_close", "closed_on")
    accounts = _named_ids(session, Account, frame["account"], lambda name: {}, job_id)
    frame["account_id"] = frame["account"].map(accounts).astype(object)
    if "rep" in frame:
        first = frame[frame["rep"] != ""].drop_duplicates("rep").set_index("rep")
        reps = _named_ids(session, SalesRep, frame["rep"], lambda name: {
            key: (first.at[name, key] or None) if key in first else None
            for key in ("team", "region")}, job_id)
        frame["rep_id"] = frame["rep"].map(reps).astype(object)
    if "platform" in frame:
        named = frame["platform"] != ""
        ids = platform_ids(session, scope, sorted(frame.loc[named, "platform"].unique()))
        frame["platform_id"] = frame["platform"].map(ids).astype(object)
    _upsert(session, Opportunity.__table__, frame, {
        "external_id": "opportunity_id", "account_id": "account_id", "rep_id": "rep_id",
        "platform_id": "platform_id", "stage": "stage", "outcome": "outcome",
        "amount": "amount", "probability": "probability", "product": "product",
        "created_on": "created_on", "expected_close": "expected_close",
        "closed_on": "closed_on"}, "external_id", job_id)


def load_sales_team(session: Session, frame: pd.DataFrame, scope: Scope, zone: str,
                    job_id: int | None = None) -> None:
    """Upsert sales reps by name (only the columns the file has are changed)."""
    _upsert(session, SalesRep.__table__, frame, {
        "name": "rep", "manager": "manager", "team": "team", "region": "region",
        "quarterly_quota": "quarterly_quota"}, "name", job_id)


# (session, frame, scope, zone, job_id); the pipeline's also takes the stages the file adds
LOADERS: dict[str, Callable[..., None]] = {
    "products": load_products, "customers": load_customers, "influencers": load_influencers,
    "posts": load_posts, "tracking": load_tracking, "payouts": load_payouts,
    "funnel": load_funnel, "pipeline": load_pipeline, "sales_team": load_sales_team,
}

