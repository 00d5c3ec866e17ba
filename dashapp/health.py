"""GET /healthz: public liveness and database check for load balancers and admins."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dashapp.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with database ok, or 503 when the database does not answer (or has no schema:
    an empty SQLite file answers SELECT 1 but is not our database)."""
    try:
        db.session.execute(text("SELECT version_num FROM alembic_version"))
        db.session.rollback()
    except SQLAlchemyError:
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.remove()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
