"""Declarative base shared by every Pulseboard model (plain SQLAlchemy, no Flask)."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import MetaData, Numeric, Table
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def Money() -> Numeric:  # noqa: N802 - reads like a column type
    """Exact decimal storage for money, returned to Python as float for analytics."""
    return Numeric(14, 4, asdecimal=False)


class Base(DeclarativeBase):
    """Base class of all models; its metadata is what migrations compare against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model names a __tablename__, so its __table__ is a Table; SQLAlchemy types it
        # as any FromClause (a model may also map a join or a select), which is no INSERT or
        # UPDATE target. Declared for the type checker only, like SQLAlchemy's own.
        __table__: ClassVar[Table]
