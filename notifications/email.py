"""E-mail over SMTP (aiosmtplib): plain text and HTML, the bill PDF attached.

Every mail carries ``Message-ID: <KEY@HOST>`` from the outbox row's stable key, so the
same notification sent twice (after a crash between sending and recording it) has the
same Message-ID and a receiver, or the customer's mail client, can drop the repeat.
Reminders carry an unsubscribe link in the body and ``List-Unsubscribe`` /
``List-Unsubscribe-Post`` headers (RFC 2369, RFC 8058 one-click).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from gridbill.settings import Settings
from notifications.channel import Delivery, Outgoing

TIMEOUT_S = 20.0


def message_id(key: str, sender: str) -> str:
    return f"<{key}@{sender.rpartition('@')[2] or 'gridbill.invalid'}>"


def build(settings: Settings, message: Outgoing) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"{settings.utility_name} <{settings.mail_from}>"
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(message.key, settings.mail_from)
    mail["X-Gridbill-Event"] = message.event
    if message.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = message.text
    if message.unsubscribe_url:
        text += f"\n\nUnsubscribe from reminders: {message.unsubscribe_url}"
    mail.set_content(text)
    mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, subtype = attachment.mime_type.split("/", 1)
        mail.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    mail["Content-Language"] = message.language  # last: set_content drops Content-* headers
    return mail


class EmailChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: Outgoing) -> Delivery:
        s = self.settings
        try:
            errors, answer = await aiosmtplib.send(
                build(s, message),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=TIMEOUT_S,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Delivery.failed(f"recipient refused: {exc}", permanent=True)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Delivery.failed(f"{type(exc).__name__}: {exc}")
        if errors:
            return Delivery.failed(f"refused: {errors}", permanent=True)
        return Delivery.sent(f"smtp {s.smtp_host}:{s.smtp_port}: {answer}")
