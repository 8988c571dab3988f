"""E-mail: raw MIME in through a signed webhook, replies out through SMTP; the standard library only.

The mail provider's inbound hook (or a small forwarder) POSTs each received message as it is
(``message/rfc822``), signed per Standard Webhooks with ``SPORTELLO_EMAIL_WEBHOOK_SECRET``. The brand
account is the mailbox it was delivered to (``email:<address>``: Delivered-To, else the first To); a message
From that mailbox is the brand's own, e.g. a copy of a reply written in a mail client. The customer's
identity is their address, lowercased. Threading uses the mail's own headers: a message's external id is its
Message-ID, and it answers In-Reply-To, then References newest first.

Replies leave through smtplib in a worker thread, From the account's address, with In-Reply-To and
References so the customer's mail client threads them. Their Message-ID is derived from our message id, so
a retry after an ambiguous failure sends the same one (mail clients drop the duplicate); it becomes the
reply's external id, and the customer's answer to it threads back into the conversation.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses
from html.parser import HTMLParser

import httpx

from sportello.errors import PermanentError, TransientError
from sportello.http import signatures
from sportello.http.problems import InvalidRequest
from sportello_ingest.channels.base import (
    Author,
    ChannelAdapter,
    InboundMessage,
    Parsed,
    ReplyContext,
    SendRequest,
    SendResult,
)

DEFAULT_SUBJECT = "Re: your message"
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_WROTE = re.compile(r"^\s*On\s.*\bwrote:\s*$")
_ORIGINAL = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)
_AUTO_PRECEDENCE = {"bulk", "auto_reply", "list"}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


def account_of(address: str) -> str:
    return f"email:{address.lower()}"


class EmailAdapter(ChannelAdapter):
    channel = "email"
    supports = ("private",)

    def __init__(self, webhook_secret: str, smtp: SmtpServer) -> None:
        self._secret = webhook_secret
        self._smtp = smtp

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Standard Webhooks: 401 without the headers, 403 when wrong or stale."""
        signatures.verify([self._secret], headers, body)

    # -- inbound -----------------------------------------------------------------------------------

    def parse(self, body: bytes) -> Parsed:
        try:
            mail = BytesParser(policy=policy.default).parsebytes(body)
            return Parsed(messages=[self._message(mail, body)])
        except (LookupError, TypeError, ValueError) as exc:
            raise PermanentError(f"not a readable e-mail: {exc}") from exc

    def _message(self, mail: EmailMessage, body: bytes) -> InboundMessage:
        senders = _addresses(mail, "From")
        if not senders:
            raise PermanentError("the e-mail has no From address")
        name, sender = senders[0]
        recipients = _addresses(mail, "To") + _addresses(mail, "Cc")
        mailbox = (_addresses(mail, "Delivered-To") or recipients or [("", "")])[0][1]
        if not mailbox:
            raise PermanentError("the e-mail has no Delivered-To or To address")
        ours = sender == mailbox
        subject = " ".join(str(mail.get("Subject", "")).split()) or None
        text = strip_quoted(_body_text(mail))
        return InboundMessage(
            channel=self.channel, account=account_of(mailbox), external_id=_own_id(mail, body),
            author=Author(id=sender, display_name=name or sender),
            text=text or subject or "", sent_at=_sent_at(mail), visibility="private",
            direction="outbound" if ours else "inbound", reply_to=_answered(mail), flags=_flags(mail),
            subject=subject,
            # The brand's own mail addresses the first recipient that is not the mailbox itself.
            recipient_id=next((a for _, a in recipients if a != mailbox), None) if ours else None,
        )

    # -- outbound ----------------------------------------------------------------------------------

    def check_reply(self, context: ReplyContext) -> None:
        super().check_reply(context)
        if context.private_recipient_id is None:
            raise InvalidRequest("The customer has no e-mail address to reply to.")


    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        mail, message_id = compose(request)
        await asyncio.to_thread(self._deliver, mail)
        return SendResult(external_id=message_id)

    def _deliver(self, mail: EmailMessage) -> None:
        smtp = self._smtp
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as session:
                if smtp.starttls:
                    session.starttls(context=ssl.create_default_context())
                if smtp.username:
                    session.login(smtp.username, smtp.password)
                session.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = max(exc.recipients.values())
            raise _by_code(code, reason) from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS: a configuration error
            raise PermanentError(f"SMTP server: {exc}") from exc
        except OSError as exc:  # refused, timed out, disconnected (SMTPServerDisconnected is one)
            raise TransientError(f"SMTP connection failed: {exc}") from exc


def compose(request: SendRequest) -> tuple[EmailMessage, str]:
    """The reply as an e-mail, and its Message-ID (without <>), which becomes its external id."""
    if not request.recipient_id:
        raise PermanentError("the customer has no e-mail address")
    sender = request.account.removeprefix("email:")
    message_id = f"{request.message_id}@{sender.rpartition('@')[2] or 'localhost'}"
    mail = EmailMessage()
    try:
        mail["From"] = Address(addr_spec=sender)
        mail["To"] = Address(addr_spec=request.recipient_id)
        # Stored subjects come from customers' headers: keep them on one line.
        mail["Subject"] = " ".join((request.subject or DEFAULT_SUBJECT).split())
    except ValueError as exc:
        raise PermanentError(f"cannot address the e-mail: {exc}") from exc
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = f"<{message_id}>"
    if request.in_reply_to:
        mail["In-Reply-To"] = f"<{request.in_reply_to}>"
    # RFC 5322: the parent's references, then the parent itself last.
    references = [r for r in request.references if r != request.in_reply_to]
    references += [request.in_reply_to] if request.in_reply_to else []
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    mail.set_content(request.text)
    return mail, message_id


def _by_code(code: int, reason: bytes | str) -> Exception:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
    if 400 <= code < 500:
        return TransientError(f"SMTP {code}: {text}")
    return PermanentError(f"SMTP server refused the message ({code}): {text}")


# -- reading a message -----------------------------------------------------------------------------


def _addresses(mail: EmailMessage, header: str) -> list[tuple[str, str]]:
    """(display name, lowercased address) pairs; Delivered-To is no address header, hence getaddresses."""
    values = [str(value) for value in mail.get_all(header, [])]
    return [(name, address.lower()) for name, address in getaddresses(values) if "@" in address]


def _own_id(mail: EmailMessage, body: bytes) -> str:
    value = str(mail.get("Message-ID", "")).strip()
    found = _MESSAGE_ID.findall(value)
    if found:
        return str(found[0])
    if value:
        return value.strip("<>")
    # No Message-ID: the same bytes delivered twice are still one message.
    return f"{hashlib.sha256(body).hexdigest()}@sha256.invalid"


def _answered(mail: EmailMessage) -> tuple[str, ...]:
    """In-Reply-To first, then References newest first, without repeats."""
    parents = _MESSAGE_ID.findall(str(mail.get("In-Reply-To", "")))
    parents += reversed(_MESSAGE_ID.findall(str(mail.get("References", ""))))
    return tuple(dict.fromkeys(parents))


def _sent_at(mail: EmailMessage) -> datetime:
    now = datetime.now(UTC)
    header = mail.get("Date")
    moment = getattr(header, "datetime", None)
    if not isinstance(moment, datetime):
        return now
    if moment.tzinfo is None:  # "-0000": the sender's zone is unknown, the time is UTC
        moment = moment.replace(tzinfo=UTC)
    # A sender's clock ahead of ours must not sort the message after ones that arrive later.
    return min(moment, now)


def _flags(mail: EmailMessage) -> tuple[str, ...]:
    flags = []
    spam_flag = str(mail.get("X-Spam-Flag", "")).strip().lower()
    spam_status = str(mail.get("X-Spam-Status", "")).strip().lower()
    if spam_flag == "yes" or spam_status.startswith("yes"):
        flags.append("spam")
    auto = str(mail.get("Auto-Submitted", "")).split(";")[0].strip().lower()
    precedence = str(mail.get("Precedence", "")).strip().lower()
    if (auto and auto != "no") or precedence in _AUTO_PRECEDENCE:
        flags.append("auto_reply")  # out-of-office, bounces, lists: no customer is waiting for an answer
    return tuple(flags)


def _body_text(mail: EmailMessage) -> str:
    plain = mail.get_body(preferencelist=("plain",))
    if plain is not None:
        return _content(plain)
    html = mail.get_body(preferencelist=("html",))
    return html_to_text(_content(html)) if html is not None else ""


def _content(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except LookupError:  # an unknown charset: keep what is readable
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def strip_quoted(text: str) -> str:
    """The new part of a reply: without "> " lines, nor the "On ... wrote:" / "Original Message" and below.

    If that leaves nothing (a forward, a top-quoted message), the whole text is kept.
    """
    lines = text.splitlines()
    kept = []
    for index, line in enumerate(lines):
        # Mail clients wrap a long attribution line: "On Tue, ... Ann <" / "ann@example.com> wrote:".
        wrapped = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if _ORIGINAL.match(line) or _WROTE.match(line) or (line.lstrip().startswith("On ")
                                                           and _WROTE.match(wrapped)):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip() or text.strip()


_BLOCKS = {"address", "article", "blockquote", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
           "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr",
           "ul"}
_SKIPPED = {"head", "script", "style", "title"}


class _HtmlText(HTMLParser):
    """HTML to readable lines; quoted blocks come out as "> " lines, so strip_quoted treats them alike."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [""]
        self._skipped = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipped += 1
        elif tag == "br":
            self.lines.append("")
        elif tag in _BLOCKS:
            self._break()
        if tag == "blockquote":
            self._quoted += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipped = max(0, self._skipped - 1)
        elif tag in _BLOCKS:
            self._break()
        if tag == "blockquote":
            self._quoted = max(0, self._quoted - 1)

    def _break(self) -> None:
        # A block starts on its own line; empty blocks and nested ones make no empty lines.
        if self.lines[-1]:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if self._skipped:
            return
        text = re.sub(r"\s+", " ", data)
        if not self.lines[-1]:
            text = text.lstrip()
            if text and self._quoted:
                text = "> " * self._quoted + text
        self.lines[-1] += text


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    text = "\n".join(line.strip() for line in parser.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
