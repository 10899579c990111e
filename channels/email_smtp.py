"""Email over SMTP (aiosmtplib): STARTTLS, AUTH, multipart/alternative text + HTML.

The Message-ID is derived from the idempotency key, so a retried send carries the same id:
receiving systems can drop the duplicate and bounces can be traced back to the send.
Marketing mail carries ``List-Unsubscribe`` (the https link from
``data["unsubscribe_url"]`` and the configured mailto, whichever exist) and, with an https
link, RFC 8058 one-click ``List-Unsubscribe-Post``, which the big mailbox providers require
of bulk senders; transactional mail carries neither, so a receipt cannot be
"unsubscribed".

SMTP replies are classified by the stage that refused: a 5xx on RCPT is about the
address (hard bounce, suppress it), on DATA about the content, on MAIL FROM / EHLO about
our own set-up. Any 4xx is temporary by definition.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from channels.base import ErrorKind, OutboundMessage, SendResult

__all__ = ["SmtpChannel", "SmtpConfig", "build_email", "message_id"]

AUTH_CODES = frozenset({530, 534, 535, 538})


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    sender: str
    """The From header, e.g. ``Brand <news@example.com>``; its address is the envelope sender."""
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    start_tls: bool = True
    use_tls: bool = False
    """Implicit TLS (port 465) instead of STARTTLS."""
    timeout: float = 30.0
    ca_file: str | None = None
    """A private CA bundle to trust instead of the system's (tests, internal relays)."""
    unsubscribe_mailto: str | None = None

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


def message_id(idempotency_key: str, domain: str) -> str:
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


def _unsubscribe_headers(message: OutboundMessage, mailto: str | None) -> dict[str, str]:
    url = message.data.get("unsubscribe_url")
    targets = [f"<{url}>"] if url else []
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    headers = {"List-Unsubscribe": ", ".join(targets)} if targets else {}
    if url and url.startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def build_email(message: OutboundMessage, config: SmtpConfig) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config.sender
    email["To"] = message.to
    email["Subject"] = message.subject or ""
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(
        message.idempotency_key, config.sender_address.rpartition("@")[2] or config.host
    )
    if message.purpose == "marketing":
        for name, value in _unsubscribe_headers(message, config.unsubscribe_mailto).items():
            email[name] = value
    email.set_content(message.body)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


def _reply_kind(code: int, stage: str) -> ErrorKind:
    if code < 500:
        return ErrorKind.TRANSIENT
    if code in AUTH_CODES or stage == "session":
        return ErrorKind.BAD_CONFIG
    return ErrorKind.PERMANENT if stage == "rcpt" else ErrorKind.BAD_CONTENT


def classify_smtp_error(exc: aiosmtplib.SMTPException | OSError) -> SendResult:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
            stage = "rcpt"
        elif isinstance(exc, aiosmtplib.SMTPDataError):
            stage = "data"
        else:  # EHLO, AUTH, MAIL FROM: our side of the conversation
            stage = "session"
        return SendResult.failed(
            _reply_kind(exc.code, stage), f"{exc.code} {exc.message}", provider_code=str(exc.code)
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ssl.SSLCertVerificationError):
        return SendResult.failed(ErrorKind.BAD_CONFIG, str(exc))
    return SendResult.failed(ErrorKind.TRANSIENT, f"{type(exc).__name__}: {exc}")


class SmtpChannel:
    """One SMTP connection per send: simple and robust; pool if volume demands it."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._tls = ssl.create_default_context(cafile=config.ca_file) if config.ca_file else None

    async def aclose(self) -> None:
        """Nothing to release: connections do not outlive a send."""

    async def send(self, message: OutboundMessage) -> SendResult:
        email = build_email(message, self.config)
        try:
            await aiosmtplib.send(
                email,
                sender=self.config.sender_address,
                recipients=[message.to],
                hostname=self.config.host,
                port=self.config.port,
                username=self.config.username,
                password=self.config.password,
                start_tls=self.config.start_tls and not self.config.use_tls,
                use_tls=self.config.use_tls,
                tls_context=self._tls,
                timeout=self.config.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            return classify_smtp_error(exc)
        return SendResult.ok(email["Message-ID"].strip("<>"))
