"""gunicorn entry point: `gunicorn -w 2 wsgi:app` (run `pulseboard db upgrade` first)."""
from dashapp import create_app

app = create_app()
