"""Values the filter controls offer: platforms, categories and products, within a scope."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Order, Product
from services.cache import cached
from services.filters import Filters
from services.platforms import visible_platforms
from services.scope import Scope

PRODUCT_OPTION_LIMIT = 50


@cached
def platform_options(session: Session, scope: Scope) -> list[dict[str, str]]:
    """Platforms the scope may filter by: slug, name and kind, by name."""
    return [{"slug": p.slug, "name": p.name, "kind": p.kind}
            for p in visible_platforms(session, scope)]


@cached
def category_options(session: Session, scope: Scope) -> list[str]:
    """Every product category, alphabetically."""
    stmt = select(Product.category).where(Product.category.is_not(None)).distinct()
    return sorted(session.scalars(stmt))


@cached
def product_options(session: Session, scope: Scope, search: str = "",
                    selected: Sequence[str] = (),
                    limit: int = PRODUCT_OPTION_LIMIT) -> list[dict[str, str]]:
    """Products whose SKU or name contains `search`, plus the selected ones (sku, name)."""
    needle = search.strip()
    # Only merchandise: filtering by a postage or fee code would always show nothing.
    stmt = select(Product.sku, Product.name).where(Product.is_merchandise.is_(True))
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Product.sku.ilike(pattern, escape="\\"),
                              Product.name.ilike(pattern, escape="\\")))
    found = session.execute(stmt.order_by(Product.name, Product.sku).limit(limit)).all()
    chosen = session.execute(select(Product.sku, Product.name)
                             .where(Product.sku.in_(list(selected)))).all() if selected else []
    rows = dict([*chosen, *found])
    return [{"sku": sku, "name": name} for sku, name in rows.items()]


@cached
def known_values(session: Session, scope: Scope,
                 filters: Filters) -> tuple[set[str], set[str], set[str], set[str]]:
    """Which of the filter's platforms (visible to the scope), SKUs, categories and order
    country exist (the country among the scope's orders)."""
    platforms = {option["slug"] for option in platform_options(session, scope)}
    skus: set[str] = set()
    if filters.products:
        skus = set(session.scalars(select(Product.sku)
                                   .where(Product.sku.in_(filters.products))))
    categories: set[str] = set()
    if filters.categories:
        categories = set(session.scalars(select(Product.category).distinct()
                                         .where(Product.category.in_(filters.categories))))
    countries: set[str] = set()
    if filters.country:
        stmt = select(Order.country).where(Order.country == filters.country).limit(1)
        if scope.platform_ids is not None:
            stmt = stmt.where(Order.platform_id.in_(sorted(scope.platform_ids)))
        countries = set(session.scalars(stmt))
    return platforms, skus, categories, countries
