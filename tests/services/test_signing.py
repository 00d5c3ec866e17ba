"""Signed payloads: what one purpose signs, another never reads; forged and old ones are
refused."""
from __future__ import annotations

import time

import pytest

from services import signing

SECRET = "test-secret-" + "s" * 32


def test_a_payload_reads_back_under_its_own_salt_only() -> None:
    token = signing.sign(SECRET, "import-ticket", {"job": 7})
    assert signing.read(SECRET, "import-ticket", token, max_age=60) == {"job": 7}
    assert signing.read(SECRET, "pdf-job", token, max_age=60) is None
    assert signing.read("another-" + SECRET, "import-ticket", token, max_age=60) is None


def test_a_changed_token_is_refused() -> None:
    token = signing.sign(SECRET, "unsubscribe", [1, 2, 3], timed=False)
    assert signing.read(SECRET, "unsubscribe", token) == [1, 2, 3]
    payload, _, signature = token.rpartition(".")
    forged = payload.replace(payload[1], "A" if payload[1] != "A" else "B", 1)
    assert signing.read(SECRET, "unsubscribe", f"{forged}.{signature}") is None


def test_a_timed_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = signing.sign(SECRET, "model-ticket", {"kinds": ["forecast"]})
    later = time.time() + 601
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert signing.read(SECRET, "model-ticket", token, max_age=600) is None
    assert signing.read(SECRET, "model-ticket", token, max_age=900) == {"kinds": ["forecast"]}
