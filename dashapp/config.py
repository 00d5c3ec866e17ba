"""Configuration from environment variables, with development defaults.

Layering: built-in defaults < environment variables < `overrides` passed to create_app().
Production (PULSEBOARD_ENV=production; `wsgi.py` assumes it when the variable is missing)
refuses to start with a missing, default, short or low-entropy secret (`secret_key_problem`).
"""
from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.cache import DEFAULT_DIRECTORY_BYTES, DEFAULT_MAX_ENTRY_BYTES
from services.imports.budget import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from services.login_guard import LoginLimits
from services.mail import MailSettings
from services.settings import BusinessSettings

DEV_SECRET_KEY = "dev-only-insecure-secret-change-me"
# Secrets that must never reach production: ours, and the ones tutorials copy around.
KNOWN_DEFAULT_SECRETS = frozenset({DEV_SECRET_KEY, "", "changeme", "change-me", "secret",
                                   "dev", "development", "thisisasecret", "secret-key"})
ENVIRONMENTS = ("development", "test", "production")
# A production SECRET_KEY: this long, not a short string repeated, this varied (distinct
# characters) and this unpredictable (Shannon entropy of its characters, bits per character).
# Random keys pass with a wide margin: 32 random hex characters (token_hex(16)) have about
# 14 distinct characters and 3.6 bits (at worst 2.9 in 200,000 draws), token_urlsafe(48)
# about 5.5 bits; "changeme" * 4 has 7 and 2.75, one letter repeated 1 and 0.
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 8
MIN_SECRET_BITS_PER_CHAR = 2.8
SECRET_ADVICE = ("set a long random value, e.g. "
                 "python -c 'import secrets; print(secrets.token_urlsafe(48))'")


class ConfigError(RuntimeError):
    """The configuration is unsafe or invalid; the message says which variable to fix."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_database_url(instance_path: str) -> str:
    """The SQLite file under the instance folder, used when DATABASE_URL is not set."""
    return f"sqlite:///{Path(instance_path) / 'pulseboard.db'}"


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The effective configuration: defaults, then environment, then `overrides`."""
    env = os.environ.get("PULSEBOARD_ENV", "development")
    config: dict[str, Any] = {
        "ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY if env != "production" else ""),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL")
        or default_database_url(instance_path),
        # The defaults of the business settings an admin can change on the Admin page.
        "BUSINESS_NAME": os.environ.get("PULSEBOARD_BUSINESS_NAME", BusinessSettings.name),
        "CURRENCY": os.environ.get("PULSEBOARD_CURRENCY", BusinessSettings.currency),
        "TIMEZONE": os.environ.get("PULSEBOARD_TIMEZONE", BusinessSettings.timezone),
        "DEBUG": _env_bool("PULSEBOARD_DEBUG", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", env == "production"),
        "REMEMBER_COOKIE_DURATION": 0,
        # Write the session cookie only when the session changes. Refreshed on every request,
        # a Dash callback still in flight when "view as" stops (or a logout) would send the
        # old cookie back and undo the change.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "SESSION_IDLE_SECONDS": int(os.environ.get("SESSION_IDLE_SECONDS", 60 * 60)),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "LOGIN_LIMITS": LoginLimits(
            per_account=int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)),
            per_address=int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 30)),
            per_account_all_addresses=int(
                os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES", 100)),
            window=dt.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)),
        # Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the
        # peer address is the client's). The login limits per address need the real one.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # PostgreSQL's JIT compiles a query whose estimated cost is high; on the customer
        # queries (per-customer first purchases, cohorts) compiling took 0.5-0.9 s of 1.4 s,
        # for queries that then ran in a fraction of that. Off unless asked for.
        "POSTGRES_JIT": _env_bool("PULSEBOARD_POSTGRES_JIT", False),
        # Results cache: Redis when REDIS_URL is set (shared by every worker and host), else
        # a directory under instance/ (shared by the workers of one machine), or "none".
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Background work (imports, model training, PDFs): on Celery workers when a broker is
        # set (any host runs and shows the jobs), else in processes of this machine.
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or None,
        "CELERY_RESULT_BACKEND": os.environ.get("CELERY_RESULT_BACKEND") or None,
        # Where uploads wait for their job: storage every web host and worker shares.
        "UPLOAD_FOLDER": os.environ.get("PULSEBOARD_UPLOAD_FOLDER") or None,
        "CACHE_DIR": os.environ.get("PULSEBOARD_CACHE_DIR",
                                    str(Path(instance_path) / "cache")),
        "CACHE": os.environ.get("PULSEBOARD_CACHE", "on"),
        "CACHE_TTL": int(os.environ.get("PULSEBOARD_CACHE_TTL", 600)),
        # A result whose pickle is larger is computed and returned but not cached.
        "CACHE_MAX_ENTRY_BYTES": int(os.environ.get("PULSEBOARD_CACHE_MAX_ENTRY_BYTES",
                                                    DEFAULT_MAX_ENTRY_BYTES)),
        # The cache directory's bound in bytes, besides its 5,000 entries.
        "CACHE_DIR_MAX_BYTES": int(os.environ.get("PULSEBOARD_CACHE_DIR_MAX_MB",
                                                  DEFAULT_DIRECTORY_BYTES // 2**20)) * 2**20,
        # What one background import job may use: wall time, and memory beyond what its
        # process held at the start (0 turns a limit off).
        "IMPORT_MAX_SECONDS": int(os.environ.get("PULSEBOARD_IMPORT_MAX_SECONDS",
                                                 DEFAULT_MAX_SECONDS)),
        "IMPORT_MAX_MEMORY_MB": int(os.environ.get("PULSEBOARD_IMPORT_MAX_MEMORY_MB",
                                                   DEFAULT_MAX_MEMORY_MB)),
        # Seconds a job queued for the Celery workers waits for one before it is cancelled
        # and the browser told (a worker started later must not run it unseen).
        "JOB_QUEUE_SECONDS": int(os.environ.get("PULSEBOARD_JOB_QUEUE_SECONDS", 60)),
        # Outgoing e-mail (digests, alerts, invitations, password resets); no host: none sent.
        "MAIL": mail_settings(),
        # The app's address for people (behind its proxy), for the links in e-mails and PDFs:
        # a job or a cron command has no request to take the host name from.
        "PUBLIC_URL": os.environ.get("PULSEBOARD_PUBLIC_URL", "").rstrip("/"),
    }
    config.update(overrides or {})
    _validate(config)
    return config


def mail_settings() -> MailSettings:
    """The SMTP settings of the environment (`PULSEBOARD_SMTP_*`)."""
    env = os.environ
    return MailSettings(host=env.get("PULSEBOARD_SMTP_HOST", ""),
                        port=int(env.get("PULSEBOARD_SMTP_PORT", 587)),
                        user=env.get("PULSEBOARD_SMTP_USER", ""),
                        password=env.get("PULSEBOARD_SMTP_PASSWORD", ""),
                        starttls=_env_bool("PULSEBOARD_SMTP_STARTTLS", True),
                        sender=env.get("PULSEBOARD_SMTP_FROM", "pulseboard@localhost"))


def business_defaults(config: Mapping[str, Any]) -> BusinessSettings:
    """The business settings of a database that stores none: the deployment's."""
    return BusinessSettings(name=config.get("BUSINESS_NAME", BusinessSettings.name),
                            currency=str(config["CURRENCY"]).upper(),
                            timezone=config["TIMEZONE"])


def _shannon_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _is_repetition(text: str) -> bool:
    """Whether `text` is a shorter string repeated ("changeme" * 4, "ab" * 20)."""
    return any(text == (text[:period] * (len(text) // period + 1))[:len(text)]
               for period in range(1, len(text) // 2 + 1))


def secret_key_problem(secret: str | None) -> str | None:
    """Why `secret` may not sign production sessions, or None when it is strong enough."""
    if not secret:
        return "missing"
    if secret.lower().strip() in KNOWN_DEFAULT_SECRETS or DEV_SECRET_KEY in secret:
        return "a known default"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if _is_repetition(secret):
        return "a short string repeated"
    if len(set(secret)) < MIN_SECRET_DISTINCT:
        return f"made of fewer than {MIN_SECRET_DISTINCT} distinct characters"
    if _shannon_bits_per_char(secret) < MIN_SECRET_BITS_PER_CHAR:
        return "too predictable (low entropy)"
    return None


def _validate(config: dict[str, Any]) -> None:
    if config["ENV"] not in ENVIRONMENTS:
        raise ConfigError(f"PULSEBOARD_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                          f"not “{config['ENV']}”.")
    if config["ENV"] == "production":
        problem = secret_key_problem(config["SECRET_KEY"])
        if problem:
            raise ConfigError(f"SECRET_KEY is {problem}: production refuses it; {SECRET_ADVICE} "
                              "(for local development only, set PULSEBOARD_ENV=development).")
        if config["DEBUG"]:
            raise ConfigError("PULSEBOARD_DEBUG must be off in production.")
    if config["JOB_QUEUE_SECONDS"] < 1:
        raise ConfigError("PULSEBOARD_JOB_QUEUE_SECONDS must be at least 1 (seconds a queued "
                          "background job waits for a worker).")
    try:
        ZoneInfo(config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"PULSEBOARD_TIMEZONE “{config['TIMEZONE']}” is not a known "
                          "IANA time zone (e.g. Europe/London).") from error
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = config["SQLALCHEMY_ENGINE_OPTIONS"]
        # Fail fast when the server is unreachable so /healthz answers quickly.
        options.setdefault("connect_args", {}).setdefault("connect_timeout", 3)
    elif config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # One writer at a time: a background job (an import, a model's training) and the
        # web threads wait for each other's locks instead of failing after pysqlite's 5 s.
        config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {}).setdefault(
            "timeout", 30)
