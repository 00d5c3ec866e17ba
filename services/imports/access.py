"""Who may import what: a user limited to some platforms writes only rows of those platforms,
never the shared reference data, and learns nothing about other platforms' rows.

- Reference kinds (`REFERENCE_KINDS`: the catalogue, customers, influencers, the pipeline with
  its stages, accounts and reps, the sales team) and saved column mappings are shared by
  every platform: only an unrestricted user (no platform limit: the CLI, admins,
  unrestricted analysts) writes them.
  A limited user is refused before the file is read into the database.
- Platform kinds (sales, posts, tracking, payouts, funnel): every row must belong wholly to
  the user's platforms. A row naming another platform, or that would update (or link to) a
  row of another platform, refuses the whole file (`refusals`), whatever `skip_invalid` says.
- Import jobs are attributed to the platforms of their rows (`platforms_of`, kept in the
  job's report as `platform_ids`); the history shows a limited user only jobs of platform
  kinds whose platforms are all theirs (`visible_to`).
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Campaign, ImportJob, MediaPost, Platform, Product
from services.errors import AccessDenied
from services.imports import bulk
from services.imports.kinds import KINDS
from services.platforms import slugify
from services.scope import Scope

REFERENCE_KINDS = frozenset({"products", "customers", "influencers", "pipeline",
                             "sales_team"})
PLATFORM_KINDS = frozenset({"sales", "posts", "tracking", "payouts", "funnel"})


def check_kind(scope: Scope, kind: str) -> None:
    """Refuse a limited user a kind of shared reference data."""
    if scope.is_limited and kind not in PLATFORM_KINDS:
        label = KINDS[kind].label if kind in KINDS else kind
        raise AccessDenied(
            f"{label} are shared by every platform: only a user without a platform limit may "
            "import them. Nothing was loaded.")


def _platform_ids(session: Session, names: Any) -> dict[str, int]:
    """Id per platform name that exists (names of platforms not yet created are absent)."""
    slugs: dict[str, str] = {}
    # The distinct values first (in C): a file names a few platforms on half a million rows.
    for name in {n for n in pd.unique(pd.Series(names, dtype=object))
                 if isinstance(n, str) and n}:
        try:
            slugs[name] = slugify(name)
        except Exception:  # noqa: BLE001 - a name that makes no slug names no platform
            continue
    by_slug = dict(session.execute(select(Platform.slug, Platform.id)
                                   .where(Platform.slug.in_(sorted(set(slugs.values()))))).all())
    return {name: by_slug[slug] for name, slug in slugs.items() if slug in by_slug}


def _rows(prepared: Any) -> pd.DataFrame:
    return prepared.lines if hasattr(prepared, "lines") else prepared.frame


def _stored(session: Session, key: Any, column: Any, values: pd.Series) -> dict[Any, int]:
    wanted = [v for v in values.unique() if isinstance(v, str) and v]
    return dict(bulk.rows_in(session, [key, column], key, wanted))


def _campaign_platforms(session: Session, names: pd.Series) -> pd.Series:
    return names.map(_stored(session, Campaign.name, Campaign.platform_id, names))


def row_platforms(session: Session, kind: str, prepared: Any) -> pd.Series:
    """Platform id per row of a platform kind (NaN: a platform that does not exist yet, or
    none named)."""
    frame = _rows(prepared)
    if kind == "payouts":
        return _campaign_platforms(session, frame.get("campaign", pd.Series("", index=frame.index)))
    return frame["platform"].map(_platform_ids(session, frame["platform"]))


def platforms_of(session: Session, kind: str, prepared: Any) -> list[int] | None:
    """The platforms an import's rows belong to; None when some row's platform is not known
    (or the kind is shared reference data)."""
    if kind not in PLATFORM_KINDS or prepared is None:
        return None
    ids = row_platforms(session, kind, prepared)
    if ids.isna().any():
        return None
    return sorted(int(i) for i in ids.unique())


def refusals(session: Session, scope: Scope, kind: str, prepared: Any) -> list[str]:
    """Why a limited user may not load these rows: one message per reason, with its rows."""
    if not scope.is_limited or prepared is None:
        return []
    allowed = scope.platform_ids or frozenset()
    frame = _rows(prepared)
    if frame.empty:
        return []
    rows = frame["row"] if "row" in frame else pd.Series(range(len(frame)), index=frame.index)
    out: list[str] = []

    def refuse(mask: pd.Series, why: str) -> None:
        count = int(rows[mask.fillna(False).astype(bool)].nunique())
        if count:
            out.append(f"{count:,} row{'' if count == 1 else 's'} {why}")  # e.g. "2 rows for …"

    platform = row_platforms(session, kind, prepared)
    outside = ~platform.isin(list(allowed))
    if kind == "payouts":
        refuse(outside, "naming no campaign of your platforms (a payout belongs to the "
                        "platform of its campaign)")
    else:
        names = sorted(set(frame.loc[outside, "platform"]))
        refuse(outside, "for a platform you may not import data for ("
                        + ", ".join(f"“{n}”" for n in names[:5])
                        + (", …" if len(names) > 5 else "") + ")")
    if kind in ("posts", "tracking") and "campaign" in frame:
        campaign = _campaign_platforms(session, frame["campaign"])
        refuse(campaign.notna() & ~campaign.isin(list(allowed)),
               "naming a campaign of a platform you may not import data for")
    if kind in ("posts", "tracking") and "post_id" in frame:
        post = frame["post_id"].map(_stored(session, MediaPost.external_id,
                                            MediaPost.platform_id, frame["post_id"]))
        refuse(post.notna() & ~post.isin(list(allowed)),
               "with a post id already used on a platform you may not import data for")
    if kind == "sales":
        out += _catalogue_changes(session, prepared, rows)
    return out


def _catalogue_changes(session: Session, prepared: Any, rows: pd.Series) -> list[str]:
    """UCI fee codes the shared catalogue lists as merchandise: marking them would change
    every platform's figures."""
    products = prepared.products
    codes = products.loc[products["uci_code"], "sku"]
    if codes.empty:
        return []
    merchandise = set(session.scalars(select(Product.sku).where(
        Product.sku.in_(codes.tolist()), Product.is_merchandise.is_(True))))
    mask = prepared.lines["sku"].isin(merchandise)
    count = int(rows[mask].nunique())
    if not count:
        return []
    return [f"{count:,} row{'' if count == 1 else 's'} using codes the shared catalogue lists "
            f"as merchandise ({', '.join(sorted(merchandise)[:5])}); only a user without a "
            "platform limit may mark them as fees"]


def refusal_message(reasons: list[str]) -> str:
    """The one error of an import refused for its rows' platforms."""
    return ("You may import only your platforms' data, so nothing was loaded: "
            + "; ".join(reasons) + ".")


def job_platforms(job: ImportJob) -> list[int] | None:
    """The platforms a job's rows belong to, as its report recorded them (None: unknown)."""
    try:
        value = json.loads(job.report or "{}").get("platform_ids")
    except (ValueError, AttributeError):
        return None
    if not isinstance(value, list) or not all(isinstance(i, int) for i in value):
        return None
    return value


def visible_to(scope: Scope, job: ImportJob) -> bool:
    """Whether a job belongs in the history a user sees."""
    if not scope.is_limited:
        return True
    if job.kind not in PLATFORM_KINDS:
        return False
    platforms = job_platforms(job)
    if platforms is None:
        return False
    if not platforms:  # wrote nothing and named no platform: only its own user sees it
        return job.user_id is not None and job.user_id == scope.user_id
    return set(platforms) <= set(scope.platform_ids or ())
