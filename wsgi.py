"""gunicorn entry point: `gunicorn -w 2 wsgi:app` (run `pulseboard db upgrade` first).

This is the production entry point: without PULSEBOARD_ENV the app runs in production, so it
refuses to start without a strong SECRET_KEY rather than sign sessions with the public
development key. Reverse proxies in front are trusted as TRUSTED_PROXIES says (see
`dashapp.factory.trust_proxies`).
"""
import os

from dashapp import create_app

os.environ.setdefault("PULSEBOARD_ENV", "production")
app = create_app()
