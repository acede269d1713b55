"""E-mail over SMTP, for alerts and scheduled reports. Settings from the app's config (CEVAL_SMTP_*)."""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "counter-eval@localhost"
    starttls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> SmtpSettings | None:
        """SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_STARTTLS; None without a host."""
        host = config.get("SMTP_HOST")
        if not host:
            return None
        return cls(host=str(host), port=int(config.get("SMTP_PORT", 25)), user=config.get("SMTP_USER") or None,
                   password=config.get("SMTP_PASSWORD") or None,
                   sender=str(config.get("SMTP_FROM") or cls.sender),
                   starttls=str(config.get("SMTP_STARTTLS", "")).lower() in ("1", "true", "yes"))


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def send_mail(settings: SmtpSettings, to: Sequence[str], subject: str, body: str,
              attachments: Sequence[Attachment] = ()) -> None:
    """Send one message; raises OSError or smtplib.SMTPException when it cannot (the caller retries)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    for a in attachments:
        maintype, _, subtype = a.mimetype.partition("/")
        message.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(message)
    log.info("mail %r sent to %s", subject, ", ".join(to))
