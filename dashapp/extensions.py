"""Flask extensions, created unbound and initialised inside create_app()."""
from typing import cast

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session

from models import Base

db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()


def db_session() -> Session:
    """`db.session`, typed as the `Session` that the services take.

    `db.session` is a `scoped_session`: no `Session` subclass, but a proxy that hands every
    `Session` method the services call to the session of the current app context. This is
    that proxy itself (not `db.session()`), so each use still finds the session of the
    context it runs in.
    """
    return cast(Session, db.session)
