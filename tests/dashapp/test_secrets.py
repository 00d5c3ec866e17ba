"""The secret key rules: which environment may run with the development key, and which keys
production refuses (missing, default, short, repeated, low-entropy)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashapp import cli, config, create_app
from dashapp.config import DEV_SECRET_KEY, ConfigError

ROOT = Path(__file__).resolve().parents[2]
MEMORY = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}


def _environment(**variables: str) -> dict[str, str]:
    """Our environment without the Pulseboard variables, plus `variables`."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"PULSEBOARD_ENV", "SECRET_KEY", "PULSEBOARD_DEBUG"}}
    return {**env, "DATABASE_URL": "sqlite://", **variables}


def _import_wsgi(**variables: str) -> subprocess.CompletedProcess[str]:
    """`import wsgi` (what `gunicorn wsgi:app` does first) in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, text=True,
                          capture_output=True, env=_environment(**variables), timeout=120)


def test_wsgi_without_pulseboard_env_is_production_and_refuses_the_development_key() -> None:
    for variables in ({}, {"SECRET_KEY": DEV_SECRET_KEY}):
        result = _import_wsgi(**variables)
        assert result.returncode != 0
        assert "ConfigError: SECRET_KEY is" in result.stderr
        assert "PULSEBOARD_ENV" in result.stderr  # the message names what to set


def test_wsgi_without_pulseboard_env_starts_with_a_strong_key() -> None:
    result = _import_wsgi(SECRET_KEY=secrets.token_urlsafe(48))
    assert result.returncode == 0, result.stderr[-2000:]


def test_wsgi_with_explicit_development_runs_with_the_development_key() -> None:
    result = _import_wsgi(PULSEBOARD_ENV="development")
    assert result.returncode == 0, result.stderr[-2000:]


def test_pulseboard_run_without_pulseboard_env_is_production(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "unset")  # so that the teardown removes what
    monkeypatch.delenv("PULSEBOARD_ENV")  # the command sets
    monkeypatch.delenv("SECRET_KEY", raising=False)
    seen: dict[str, str | None] = {}

    def fake_run(**options: object) -> None:  # stands in for Flask's server
        seen["env"] = os.environ.get("PULSEBOARD_ENV")
        with pytest.raises(ConfigError, match="SECRET_KEY is missing"):
            create_app(MEMORY)

    monkeypatch.setattr("dashapp.cli.run_command.callback", fake_run)
    result = CliRunner().invoke(cli.run_server_command, ["--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen["env"] == "production"


def test_pulseboard_run_keeps_an_explicit_development_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    apps = []
    monkeypatch.setattr("dashapp.cli.run_command.callback",
                        lambda **options: apps.append(create_app(MEMORY)))
    assert CliRunner().invoke(cli.run_server_command, []).exit_code == 0
    assert apps[0].config["ENV"] == "development"
    assert apps[0].config["SECRET_KEY"] == DEV_SECRET_KEY


def test_make_run_sets_development_explicitly() -> None:
    dry_run = subprocess.run(["make", "-n", "-p", "run"], cwd=ROOT, text=True,
                             capture_output=True, env=_environment(), timeout=60).stdout
    assert "run: export PULSEBOARD_ENV = development" in dry_run or \
        "run: PULSEBOARD_ENV = development" in dry_run


@pytest.mark.parametrize("secret", [
    "a" * 32,
    "Z" * 64,
    "changeme" * 4,
    "changeme" * 8,
    "password1234" * 3,
    "ab" * 24,
    DEV_SECRET_KEY,
    DEV_SECRET_KEY + "-2024",
    "CHANGEME",
    "a" * 40 + "bcdefghijklmnopqrs",  # long, 19 distinct characters, but mostly one letter
    "abcdabcdabcdabcdabcdabcdabcdabcdx",  # nearly periodic, four letters
])
def test_production_refuses_weak_secret_keys(monkeypatch: pytest.MonkeyPatch,
                                             secret: str) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(MEMORY)
    assert config.secret_key_problem(secret) is not None


@pytest.mark.parametrize("make_secret", [lambda: secrets.token_urlsafe(48),
                                         lambda: secrets.token_hex(32),
                                         lambda: secrets.token_hex(16)])
def test_production_accepts_random_keys(monkeypatch: pytest.MonkeyPatch,
                                        make_secret: object) -> None:
    for _ in range(200):
        secret = make_secret()  # type: ignore[operator]
        assert config.secret_key_problem(secret) is None, secret
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secret)
    assert create_app(MEMORY).config["SECRET_KEY"] == secret


def test_explicit_development_and_test_may_use_the_development_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    for env in ("development", "test"):
        monkeypatch.setenv("PULSEBOARD_ENV", env)
        assert create_app(MEMORY).config["SECRET_KEY"] == DEV_SECRET_KEY
