"""E-mail: signed raw MIME in, threading by Message-ID headers, replies out through a real SMTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sportello.bus.codec import decode
from sportello.contracts import MessageReceived
from sportello.topics import MESSAGES_RECEIVED
from sportello_ingest.channels.email import EmailAdapter, SmtpServer
from sportello_ingest.component import COMPONENT
from tests.ingest import support
from tests.ingest.support import counts, settled
from tests.support.app import auth, running_app
from tests.support.fake_smtp import FakeSmtp
from tests.support.waiting import eventually

SECRET = "whsec_" + base64.b64encode(b"e-mail webhook key for tests").decode()
MAILBOX = "support@acme.test"
HOOK = "/v1/channels/email/inbound"


@pytest.fixture(scope="module")
async def smtp() -> AsyncIterator[FakeSmtp]:
    async with FakeSmtp() as server:
        yield server


@pytest.fixture(scope="module")
async def ingest(database_url: str, smtp: FakeSmtp) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, email_webhook_secret=SecretStr(SECRET),
                           smtp_host="127.0.0.1", smtp_port=smtp.port, send_poll_seconds=0.05,
                           send_backoff_seconds=0.05) as running:
        yield running


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    # Standard Webhooks, computed here from the specification rather than with the code under test.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    webhook_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time() if at is None else at))
    digest = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": webhook_id, "webhook-timestamp": stamp, "content-type": "message/rfc822",
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


def customer() -> str:
    return f"ann.{uuid.uuid4().hex[:12]}@example.com"


def mail(sender: str, text: str | None, *, html: str | None = None, subject: str = "Order 5521 is late",
         **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Ann Example <{sender}>"
    message["To"] = f"ACME Support <{MAILBOX}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message


def id_of(message: EmailMessage) -> str:
    return str(message["Message-ID"]).strip("<>")


async def deliver(client: httpx.AsyncClient, message: EmailMessage) -> httpx.Response:
    body = message.as_bytes()
    return await client.post(HOOK, content=body, headers=signed(body))


async def stored(client: httpx.AsyncClient, external_id: str) -> dict[str, Any]:
    return await support.stored(client, "email", external_id)




async def reply(client: httpx.AsyncClient, conversation_id: str, text: str) -> str:
    response = await client.post(f"/v1/conversations/{conversation_id}/replies", headers=auth("agent"),
                                 json={"text": text})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])




QUOTED = """Hello,
the parcel for order 5521 never arrived.

On Mon, 23 Nov 2026 at 09:12, ACME Support <support@acme.test> wrote:
> Thanks for your order!
> It ships tomorrow.
"""


async def test_a_signed_multipart_mail_is_stored_without_the_quote_and_emitted(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    sender = customer()
    message = mail(sender.upper(), QUOTED, html="<p>Hello,<br>the parcel for order 5521 never arrived.</p>")
    message.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf")
    response = await deliver(client, message)
    assert response.status_code == 200 and response.json() == {"accepted": 1}
    found = await stored(client, id_of(message))
    assert (found["author_id"], found["account"], found["visibility"]) == (sender, f"email:{MAILBOX}", "private")
    assert found["subject"] == "Order 5521 is late"
    assert found["text"] == "Hello,\nthe parcel for order 5521 never arrived."
    emitted = await eventually(lambda: [e for e in (decode(r, MESSAGES_RECEIVED).data for r in
                                                    app.state.runtime.bus.records(MESSAGES_RECEIVED.name))
                                        if isinstance(e, MessageReceived) and e.external_id == id_of(message)]
                               or None)
    assert emitted[0].author.display_name == "Ann Example" and emitted[0].channel == "email"


@pytest.mark.parametrize(("sign", "status"), [
    (lambda body: {"content-type": "message/rfc822"}, 401),  # no signature
    (lambda body: signed(b"another message"), 403),  # signed, but not this body
    (lambda body: signed(body, secret="whsec_" + base64.b64encode(b"not the key").decode()), 403),
    (lambda body: signed(body, at=time.time() - 3600), 403),  # an hour old: a replayed capture
])
async def test_unsigned_or_badly_signed_mail_is_refused_and_not_stored(
    ingest: tuple[FastAPI, httpx.AsyncClient], sign: Any, status: int,
) -> None:
    app, client = ingest
    body = mail(customer(), "hello").as_bytes()
    before = await counts(app)
    response = await client.post(HOOK, content=body, headers=sign(body))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert await counts(app) == before


async def test_the_same_mail_twice_is_one_message(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    message = mail(customer(), "is anyone there?")
    assert [(await deliver(client, message)).json() for _ in range(2)] == [{"accepted": 1}, {"duplicate": 1}]


async def test_replies_join_the_conversation_by_in_reply_to_or_references(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    sender = customer()
    first = mail(sender, "my parcel is late")
    await deliver(client, first)
    conversation = (await stored(client, id_of(first)))["conversation_id"]

    answer = mail(sender, "any news?", subject="Re: Order 5521 is late", In_Reply_To=f"<{id_of(first)}>")
    await deliver(client, answer)
    # A colleague in copy answers the thread: only References names it (newest last).
    colleague = mail(customer(), "I am her manager, please hurry", subject="Re: Order 5521 is late",
                     References=f"<{id_of(first)}> <{id_of(answer)}>")
    await deliver(client, colleague)
    joined = [await stored(client, id_of(m)) for m in (answer, colleague)]
    assert [m["conversation_id"] for m in joined] == [conversation, conversation]
    assert [m["reply_to"] for m in joined] == [id_of(first), id_of(answer)]


async def test_an_html_only_mail_gives_readable_text(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    message = mail(customer(), None, html=(
        "<html><head><style>p { color: red }</style></head><body><p>Hi &amp; hello,</p>"
        "<p>order <b>5521</b><br>is late.</p><div>On Mon, ACME wrote:</div>"
        "<blockquote><p>It ships tomorrow.</p></blockquote></body></html>"))
    await deliver(client, message)
    assert (await stored(client, id_of(message)))["text"] == "Hi & hello,\norder 5521\nis late."


async def test_spam_is_flagged(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    message = mail(customer(), "cheap watches", X_Spam_Flag="YES")
    await deliver(client, message)
    assert "spam" in (await stored(client, id_of(message)))["flags"]


async def test_an_agent_reply_is_mailed_threaded_and_its_answer_comes_back(
    ingest: tuple[FastAPI, httpx.AsyncClient], smtp: FakeSmtp,
) -> None:
    _, client = ingest
    sender = customer()
    first = mail(sender, "where is my parcel?")
    await deliver(client, first)
    conversation = (await stored(client, id_of(first)))["conversation_id"]

    sent = await settled(client, await reply(client, conversation, "It left our warehouse today."))
    assert sent["delivery_status"] == "sent"
    received = next(m for m in smtp.received if sender in m.rcpt_tos)
    assert (received.mail_from, received.rcpt_tos) == (MAILBOX, [sender])
    mailed = received.message
    assert (mailed["From"], mailed["To"], mailed["Subject"]) == (MAILBOX, sender, "Re: Order 5521 is late")
    assert (mailed["In-Reply-To"], mailed["References"]) == (f"<{id_of(first)}>", f"<{id_of(first)}>")
    assert mailed["Message-ID"] == f"<{sent['external_id']}>"
    assert mailed.get_content().strip() == "It left our warehouse today."

    # The customer answers our e-mail: it threads back by our Message-ID.
    answer = mail(sender, "thanks!", In_Reply_To=mailed["Message-ID"])
    await deliver(client, answer)
    assert (await stored(client, id_of(answer)))["conversation_id"] == conversation


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
async def test_a_transient_smtp_refusal_is_retried(
    ingest: tuple[FastAPI, httpx.AsyncClient], smtp: FakeSmtp, stage: str,
) -> None:
    _, client = ingest
    sender = customer()
    first = mail(sender, "hello?")
    await deliver(client, first)
    conversation = (await stored(client, id_of(first)))["conversation_id"]
    refused_before = len(smtp.refused)
    smtp.fail_next(stage)  # type: ignore[arg-type]
    sent = await settled(client, await reply(client, conversation, "Hello! How can we help?"))
    assert sent["delivery_status"] == "sent"
    assert len(smtp.refused) == refused_before + 1
    assert len([m for m in smtp.received if sender in m.rcpt_tos]) == 1


async def test_a_permanent_smtp_refusal_fails_the_reply_with_the_reason(
    ingest: tuple[FastAPI, httpx.AsyncClient], smtp: FakeSmtp,
) -> None:
    _, client = ingest
    first = mail(customer(), "hello?")
    await deliver(client, first)
    conversation = (await stored(client, id_of(first)))["conversation_id"]
    smtp.fail_next("RCPT", "550 5.1.1 No such user")
    failed = await settled(client, await reply(client, conversation, "Hello!"))
    assert failed["delivery_status"] == "failed" and "550" in failed["delivery_error"]


async def test_email_replies_are_private(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    first = mail(customer(), "hi")
    await deliver(client, first)
    conversation = (await stored(client, id_of(first)))["conversation_id"]
    public = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                               json={"text": "hello", "visibility": "public"})
    assert public.status_code == 400


async def test_the_webhook_is_off_without_a_secret(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        body = mail(customer(), "hello").as_bytes()
        response = await client.post(HOOK, content=body, headers=signed(body))
    assert response.status_code == 404 and "EMAIL_WEBHOOK_SECRET" in response.json()["detail"]


# -- parsing alone -----------------------------------------------------------------------------------

ADAPTER = EmailAdapter(SECRET, SmtpServer("127.0.0.1", 25))


def parsed(message: EmailMessage) -> Any:
    return ADAPTER.parse(message.as_bytes()).messages[0]


def test_auto_replies_are_flagged() -> None:
    assert parsed(mail(customer(), "I am out of office", Auto_Submitted="auto-replied")).flags == ("auto_reply",)
    assert parsed(mail(customer(), "newsletter", Precedence="bulk")).flags == ("auto_reply",)
    assert parsed(mail(customer(), "a person", Auto_Submitted="no")).flags == ()


def test_a_copy_of_the_brands_own_mail_is_outbound_to_the_customer() -> None:
    sender = customer()
    message = mail(sender, "sent from our mail client")
    del message["From"], message["To"]
    message["From"], message["To"], message["Delivered-To"] = MAILBOX, sender, MAILBOX
    brand = parsed(message)
    assert (brand.direction, brand.account, brand.recipient_id) == ("outbound", f"email:{MAILBOX}", sender)


def test_reply_to_is_in_reply_to_then_references_newest_first() -> None:
    message = mail(customer(), "x", In_Reply_To="<c@x>", References="<a@x> <b@x> <c@x>")
    assert parsed(message).reply_to == ("c@x", "b@x", "a@x")


def test_outlook_history_is_cut_and_an_all_quoted_text_is_kept() -> None:
    outlook = "Please cancel it.\n\n-----Original Message-----\nFrom: ACME\nYour order shipped."
    assert parsed(mail(customer(), outlook)).text == "Please cancel it."
    assert parsed(mail(customer(), "> only a quote\n> nothing new")).text == "> only a quote\n> nothing new"


def test_without_message_id_the_same_bytes_get_the_same_id() -> None:
    message = mail(customer(), "no id")
    del message["Message-ID"]
    assert parsed(message).external_id == parsed(message).external_id
    assert parsed(message).external_id.endswith("@sha256.invalid")
