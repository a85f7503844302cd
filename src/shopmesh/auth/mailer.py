"""Mail delivery: SMTP when ``SHOPMESH_SMTP_URL`` is set, else ``.eml`` files (development).

Requests never wait for a mail server: a message is queued and a background
courier delivers it, so an answer takes as long whether or not a mail went out
(``forgot-password`` must not tell which addresses have accounts).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from shopmesh.kit.clock import utcnow

log = logging.getLogger(__name__)

_QUEUE_MAX = 1000


@dataclass(frozen=True, slots=True)
class Mail:
    """One plain-text message."""

    to: str
    subject: str
    text: str


class Transport(Protocol):
    """Where messages go: a mail server, or a folder of files."""

    def deliver(self, message: EmailMessage) -> str:
        """Hand ``message`` over (blocking); returns where it went, for the log."""
        ...


class FileTransport:
    """Each message becomes ``<folder>/<time>-<id>.eml``, readable by any mail program."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deliver(self, message: EmailMessage) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(message.as_bytes())
        partial.replace(path)  # a reader never sees half a message
        return str(path)


class SmtpTransport:
    """``smtp://[user:password@]host[:port]`` (STARTTLS when offered) or ``smtps://`` (TLS)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SHOPMESH_SMTP_URL must look like smtp://user:password@host:port")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def deliver(self, message: EmailMessage) -> str:
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if self.tls:
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with server:
            if not self.tls and server.has_extn("starttls"):
                server.starttls(context=context)
            if self.username is not None:
                server.login(self.username, self.password or "")
            server.send_message(message)
        return f"{self.host}:{self.port}"


def transport_for(smtp_url: str | None, mail_dir: Path) -> Transport:
    """SMTP when a URL is configured, files under ``mail_dir`` otherwise."""
    return SmtpTransport(smtp_url) if smtp_url else FileTransport(mail_dir)


class Mailer:
    """Queues messages and delivers them in the background (``run`` is a service task)."""

    def __init__(self, transport: Transport, *, sender: str) -> None:
        self.transport = transport
        self.sender = sender
        self._queue: asyncio.Queue[Mail] = asyncio.Queue(maxsize=_QUEUE_MAX)

    def send_later(self, mail: Mail) -> None:
        """Queue ``mail``; dropped (and logged) when the queue is full."""
        try:
            self._queue.put_nowait(mail)
        except asyncio.QueueFull:
            log.error("mail queue full; a message was dropped")

    async def run(self) -> None:
        """Deliver queued messages one at a time until cancelled; a failure is logged."""
        while True:
            mail = await self._queue.get()
            try:
                where = await asyncio.to_thread(self.transport.deliver, self.compose(mail))
            except (OSError, smtplib.SMTPException) as exc:
                log.error("mail delivery failed", extra={"error": type(exc).__name__})
            else:
                log.info("mail delivered", extra={"where": where, "subject": mail.subject})

    def compose(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid(domain="shopmesh.local")
        # Plain 7-bit when the text allows: a developer can read the link in the .eml file.
        message.set_content(mail.text, cte="7bit" if mail.text.isascii() else "quoted-printable")
        return message
