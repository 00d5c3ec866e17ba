"""Signed payloads: background-job tickets, the PDF renderer's one-time sign-in, unsubscribe
links. One place signs and reads them, each kind under a salt of its own, so a payload signed
for one purpose is never accepted for another.
"""
from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer


def sign(secret: str, salt: str, payload: Any, *, timed: bool = True) -> str:
    """`payload` (JSON-able) signed with `secret` for `salt`; `timed` adds the signing time,
    so that `read` can refuse it once it is too old."""
    serializer = _timed(secret, salt) if timed else URLSafeSerializer(secret, salt=salt)
    return str(serializer.dumps(payload))


def read(secret: str, salt: str, token: str, max_age: int | None = None) -> Any:
    """The payload of a token signed by `sign` for `salt`; None for a forged or foreign one,
    or, with `max_age` (seconds; the token must then be timed), one signed longer ago."""
    try:
        if max_age is None:
            return URLSafeSerializer(secret, salt=salt).loads(token)
        return _timed(secret, salt).loads(token, max_age=max_age)
    except BadSignature:  # also SignatureExpired
        return None


def _timed(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)
