"""Mail to requesters, over real SMTP (``MAMORI_SMTP_URL``).

``smtp://host:port`` sends in the clear (a local relay), ``smtp+starttls://``
upgrades the connection, ``smtps://`` connects over TLS; ``user:password@`` in
the address signs in. Nothing about a message is logged: addresses and bodies
are personal. A mail server that cannot be reached raises ``Unavailable``, and
the caller's transaction rolls back, so the step can simply be tried again.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from mamori.errors import ConfigError, Unavailable
from mamori.runtime import Runtime

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str  # "application/json", "text/html"
    data: bytes


def send(
    rt: Runtime,
    *,
    to: str,
    subject: str,
    body: str,
    attachments: tuple[Attachment, ...] = (),
) -> None:
    """Send one message now; ``Unavailable`` when the mail server does not take it."""
    url = rt.settings.smtp_url
    if not url:
        raise ConfigError(
            "no mail server is configured: set MAMORI_SMTP_URL (e.g. smtp://127.0.0.1:25)",
            code="mail_not_configured",
        )
    message = EmailMessage()
    message["From"] = rt.settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=rt.settings.mail_from.rpartition("@")[2] or None)
    message.set_content(body)
    for item in attachments:
        main, _, sub = item.mime.partition("/")
        message.add_attachment(item.data, maintype=main, subtype=sub, filename=item.filename)
    _deliver(url, message)


def _deliver(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
        raise ConfigError(
            "MAMORI_SMTP_URL must look like smtp://host:port, smtp+starttls://host:port "
            "or smtps://host:port",
            code="mail_url_invalid",
        )
    host = parts.hostname
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_S)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        raise Unavailable(
            f"the mail server at {host} did not take the message ({type(exc).__name__}); "
            "nothing was sent, try again when it is back",
            code="mail_unavailable",
        ) from None
