"""Outgoing e-mail through SMTP (the standard library's smtplib): a message with plain-text
and HTML alternatives and attachments, sent with the deployment's settings."""
from __future__ import annotations

import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from services.errors import ServiceError

SMTP_TIMEOUT_SECONDS = 30


class MailError(ServiceError):
    """The message could not be handed to the SMTP server (the reason is in the message)."""


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send: the SMTP server, its login, STARTTLS, and the From address."""

    host: str = ""
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    sender: str = "pulseboard@localhost"

    @property
    def configured(self) -> bool:
        """Whether a server is set (without one, nothing can be sent)."""
        return bool(self.host)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def build_message(sender: str, to: str, subject: str, text: str, html: str | None = None,
                  attachments: Sequence[Attachment] = (),
                  headers: Mapping[str, str] | None = None) -> EmailMessage:
    """A message with a plain-text body, an HTML alternative and attachments."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


def send(settings: MailSettings, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server; MailError with the reason when that fails."""
    if not settings.configured:
        raise MailError("No SMTP server is configured (PULSEBOARD_SMTP_HOST).")
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"The SMTP server {settings.host}:{settings.port} refused the message: "
                        f"{error}") from error
