"""Service layer: queries and analytics over SQLAlchemy. No Flask or Dash imports here."""
