"""Configuration from environment variables, with development defaults.

Layering: built-in defaults < environment variables < `overrides` passed to create_app().
Production (PULSEBOARD_ENV=production) refuses to start with a missing or default secret.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.login_guard import LoginLimits

DEV_SECRET_KEY = "dev-only-insecure-secret-change-me"
# Secrets that must never reach production: ours, and the ones tutorials copy around.
KNOWN_DEFAULT_SECRETS = frozenset({DEV_SECRET_KEY, "", "changeme", "change-me", "secret",
                                   "dev", "development", "thisisasecret", "secret-key"})
ENVIRONMENTS = ("development", "test", "production")


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
        "CURRENCY": os.environ.get("PULSEBOARD_CURRENCY", "USD"),
        "TIMEZONE": os.environ.get("PULSEBOARD_TIMEZONE", "UTC"),
        "DEBUG": _env_bool("PULSEBOARD_DEBUG", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", env == "production"),
        "REMEMBER_COOKIE_DURATION": 0,
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "SESSION_IDLE_SECONDS": int(os.environ.get("SESSION_IDLE_SECONDS", 60 * 60)),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "LOGIN_LIMITS": LoginLimits(
            per_account=int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)),
            per_address=int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 30)),
            window=dt.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Results cache: Redis when REDIS_URL is set (shared by every worker and host), else
        # a directory under instance/ (shared by the workers of one machine), or "none".
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "CACHE_DIR": os.environ.get("PULSEBOARD_CACHE_DIR",
                                    str(Path(instance_path) / "cache")),
        "CACHE": os.environ.get("PULSEBOARD_CACHE", "on"),
        "CACHE_TTL": int(os.environ.get("PULSEBOARD_CACHE_TTL", 600)),
    }
    config.update(overrides or {})
    _validate(config)
    return config


def _validate(config: dict[str, Any]) -> None:
    if config["ENV"] not in ENVIRONMENTS:
        raise ConfigError(f"PULSEBOARD_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                          f"not “{config['ENV']}”.")
    if config["ENV"] == "production":
        if config["SECRET_KEY"] in KNOWN_DEFAULT_SECRETS or len(config["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY is missing, a known default or shorter than 32 "
                              "characters; set a long random value, e.g. "
                              "python -c 'import secrets; print(secrets.token_hex(32))'.")
        if config["DEBUG"]:
            raise ConfigError("PULSEBOARD_DEBUG must be off in production.")
    try:
        ZoneInfo(config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"PULSEBOARD_TIMEZONE “{config['TIMEZONE']}” is not a known "
                          "IANA time zone (e.g. Europe/London).") from error
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = config["SQLALCHEMY_ENGINE_OPTIONS"]
        # Fail fast when the server is unreachable so /healthz answers quickly.
        options.setdefault("connect_args", {}).setdefault("connect_timeout", 3)
