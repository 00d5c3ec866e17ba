"""Marketing: media posts, influencers, campaigns, attribution tracking, payouts, funnel."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money

POST_TYPES = ("reel", "story", "image", "video", "short", "live", "carousel", "text")
PAYOUT_BASES = ("post", "order")
PAYOUT_STATUSES = ("pending", "approved", "paid", "cancelled")


class Influencer(Base):
    """A creator paid to promote products."""

    __tablename__ = "influencers"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[Optional[str]] = mapped_column(String(255))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    followers: Mapped[Optional[int]] = mapped_column(Integer)
    niche: Mapped[Optional[str]] = mapped_column(String(80))


class Campaign(Base):
    """A marketing push, optionally run with an influencer and around one product."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    influencer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("influencers.id"))
    product_id: Mapped[Optional[int]] = mapped_column(ForeignKey("products.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    budget: Mapped[Optional[float]] = mapped_column(Money())


class MediaPost(Base):
    """A social post with its engagement counts and (optional) promoted product."""

    __tablename__ = "media_posts"
    __table_args__ = (Index("ix_media_posts_platform_posted", "platform_id", "posted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[Optional[str]] = mapped_column(String(80), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    post_type: Mapped[str] = mapped_column(String(20))
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive
    post_date: Mapped[dt.date] = mapped_column(Date)  # local business date
    caption: Mapped[Optional[str]] = mapped_column(Text)
    product_id: Mapped[Optional[int]] = mapped_column(ForeignKey("products.id"), index=True)
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))
    influencer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("influencers.id"))
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    saves: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[Optional[float]] = mapped_column(Money())


class Tracking(Base):
    """Daily orders and revenue attributed to a campaign (and its influencer or post)."""

    __tablename__ = "tracking"
    __table_args__ = (Index("ix_tracking_campaign_date", "campaign_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))
    influencer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("influencers.id"))
    post_id: Mapped[Optional[int]] = mapped_column(ForeignKey("media_posts.id"))
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[float] = mapped_column(Money(), default=0)


class Payout(Base):
    """Money owed to an influencer, computed per post or per attributed order."""

    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    influencer_id: Mapped[int] = mapped_column(ForeignKey("influencers.id"), index=True)
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))
    basis: Mapped[str] = mapped_column(String(10))  # PAYOUT_BASES
    rate: Mapped[float] = mapped_column(Money())
    units: Mapped[int] = mapped_column(Integer, default=0)  # posts or orders paid for
    amount: Mapped[float] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(12), default="pending")
    due_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    paid_on: Mapped[Optional[dt.date]] = mapped_column(Date)


class FunnelDay(Base):
    """Daily funnel counts for one platform."""

    __tablename__ = "funnel_days"
    __table_args__ = (UniqueConstraint("platform_id", "date", name="uq_funnel_platform_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    sessions: Mapped[int] = mapped_column(Integer)
    product_views: Mapped[int] = mapped_column(Integer)
    add_to_cart: Mapped[int] = mapped_column(Integer)
    checkout: Mapped[int] = mapped_column(Integer)
    purchase: Mapped[int] = mapped_column(Integer)
