"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps what it receives."""
from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from services.mail import MailSettings
from tests.fixtures.servers import free_port

SENDER = "pulseboard@example.com"


@dataclass
class Inbox:
    """The messages the server accepted, as (envelope recipients, parsed message)."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd's hook: keep the message."""
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def take(self) -> list[tuple[list[str], EmailMessage]]:
        """The messages received so far (and forget them)."""
        with self.lock:
            found, self.received[:] = list(self.received), []
        return found


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, MailSettings]]:
    """A running SMTP server and the mail settings that reach it (no TLS, no login)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, MailSettings(host="127.0.0.1", port=port, starttls=False, sender=SENDER)
    finally:
        controller.stop()


def body(message: EmailMessage, subtype: str = "plain") -> str:
    """The plain-text (or HTML) part of a message."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())  # type: ignore[attr-defined]
