"""Meta connector: Page comments, Messenger, Instagram, WhatsApp webhooks in, Graph API out, against a real
fake Graph API server. Payloads follow Meta's documented webhook shapes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sportello.bus.codec import decode
from sportello.contracts import MessageReceived
from sportello.errors import PermanentError, TransientError
from sportello.topics import MESSAGES_RECEIVED
from sportello_deploy.fakes.meta import FakeMeta
from sportello_ingest.channels.base import RateLimited, SendRequest
from sportello_ingest.channels.meta import Messenger, WhatsApp, parse_webhook
from sportello_ingest.component import COMPONENT
from tests.ingest.support import counts, stored
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "meta-verify-token-for-tests"
TOKEN = "meta-page-access-token"
VERSION = "v21.0"
PAGE = "104593382251339"
IG = "17841405822304914"
PHONE = "106540352242922"
HOOK = "/v1/channels/meta/webhook"
_ids = itertools.count(int(time.time() * 1000) * 1000)

Case = Callable[[], tuple[bytes, str, str, str, str]]  # body, channel, external id, account, visibility


def uid() -> str:
    return str(next(_ids))


@pytest.fixture(scope="module")
async def fake_meta() -> AsyncIterator[FakeMeta]:
    async with FakeMeta(TOKEN) as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
async def ingest(database_url: str, fake_meta: FakeMeta) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, meta_app_secret=SecretStr(SECRET),
                           meta_verify_token=SecretStr(VERIFY_TOKEN), meta_access_token=SecretStr(TOKEN),
                           meta_graph_base_url=fake_meta.url, meta_graph_version=VERSION,
                           send_poll_seconds=0.05, send_backoff_seconds=0.05) as running:
        yield running


# -- documented payloads --------------------------------------------------------------------------------


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    # Computed here from the documented scheme, not with the code under test.
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "content-type": "application/json"}


def _millis(at: datetime | None = None) -> int:
    return int((at or datetime.now(UTC)).timestamp() * 1000)


def page_body(*, changes: list[dict[str, Any]] | None = None, messaging: list[dict[str, Any]] | None = None,
              page: str = PAGE) -> bytes:
    entry: dict[str, Any] = {"id": page, "time": int(time.time())}
    if changes:
        entry["changes"] = changes
    if messaging:
        entry["messaging"] = messaging
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def comment(author: str, text: str, *, name: str = "Ann Smith", comment_id: str | None = None,
            post_id: str | None = None, parent_id: str | None = None, verb: str = "add") -> dict[str, Any]:
    post = post_id or f"{PAGE}_{uid()}"
    return {"field": "feed", "value": {
        "item": "comment", "verb": verb, "post_id": post, "parent_id": parent_id or post,
        "comment_id": comment_id or f"{post.split('_')[1]}_{uid()}", "from": {"id": author, "name": name},
        "message": text, "created_time": int(time.time()),
    }}


def dm(sender: str, text: str, *, recipient: str = PAGE, mid: str | None = None, echo: bool = False,
       at: datetime | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid or f"m_{uid()}", "text": text}
    if echo:
        message.update(is_echo=True, app_id=1517776481860111)
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": _millis(at),
            "message": message}


def receipt(sender: str, kind: str, detail: dict[str, Any], *, recipient: str = PAGE) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": _millis(), kind: detail}


def ig_body(*, changes: list[dict[str, Any]] | None = None,
            messaging: list[dict[str, Any]] | None = None) -> bytes:
    entry: dict[str, Any] = {"id": IG, "time": int(time.time())}
    if changes:
        entry["changes"] = changes
    if messaging:
        entry["messaging"] = messaging
    return json.dumps({"object": "instagram", "entry": [entry]}).encode()


def ig_comment(author: str, text: str, *, username: str = "ann.smith") -> dict[str, Any]:
    return {"field": "comments", "value": {
        "id": uid(), "text": text, "from": {"id": author, "username": username},
        "media": {"id": uid(), "media_product_type": "FEED"},
    }}


def _whatsapp(value: dict[str, Any]) -> bytes:
    metadata = {"display_phone_number": "15550783881", "phone_number_id": PHONE}
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}]}]}).encode()


def wa_message(wa_id: str, text: str, *, at: datetime | None = None) -> dict[str, Any]:
    moment = at or datetime.now(UTC)
    return {"from": wa_id, "id": f"wamid.{uid()}", "timestamp": str(int(moment.timestamp())), "type": "text",
            "text": {"body": text}}


def wa_inbound(wa_id: str, message: dict[str, Any], name: str = "Marco Rossi") -> bytes:
    return _whatsapp({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]})


def wa_status(wamid: str, status: str, recipient: str, **extra: Any) -> bytes:
    return _whatsapp({"statuses": [{"id": wamid, "status": status, "timestamp": str(int(time.time())),
                                    "recipient_id": recipient, **extra}]})


def wa_id() -> str:
    return "39" + uid()[-10:]


# -- helpers --------------------------------------------------------------------------------------------


async def deliver(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    response = await client.post(HOOK, content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    return response


async def reply(client: httpx.AsyncClient, conversation: str, text: str, visibility: str = "private",
                **extra: Any) -> httpx.Response:
    return await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                             json={"text": text, "visibility": visibility, **extra})


async def reaches(client: httpx.AsyncClient, message_id: str, status: str = "sent",
                  timeout: float = 5.0) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = (await client.get(f"/v1/messages/{message_id}", headers=auth("agent"))).json()
        assert found["delivery_status"] != "failed" or status == "failed", found
        return found if found["delivery_status"] == status else None

    return await eventually(check, timeout)  # type: ignore[no-any-return]


async def status_of(client: httpx.AsyncClient, message_id: str) -> str:
    return (await client.get(f"/v1/messages/{message_id}", headers=auth("agent"))).json()["delivery_status"]  # type: ignore[no-any-return]


def received(app: FastAPI) -> list[MessageReceived]:
    return [decode(r, MESSAGES_RECEIVED).data  # type: ignore[misc]
            for r in app.state.runtime.bus.records(MESSAGES_RECEIVED.name)]


# -- inbound --------------------------------------------------------------------------------------------


def _facebook_comment() -> tuple[bytes, str, str, str, str]:
    change = comment(uid(), "My order never arrived")
    return page_body(changes=[change]), "facebook", change["value"]["comment_id"], f"facebook:{PAGE}", "public"


def _messenger() -> tuple[bytes, str, str, str, str]:
    event = dm(uid(), "Hello, I need help with a refund")
    return page_body(messaging=[event]), "messenger", event["message"]["mid"], f"facebook:{PAGE}", "private"


def _instagram_comment() -> tuple[bytes, str, str, str, str]:
    change = ig_comment(uid(), "Is this available in blue?")
    return ig_body(changes=[change]), "instagram", change["value"]["id"], f"instagram:{IG}", "public"


def _instagram_dm() -> tuple[bytes, str, str, str, str]:
    event = dm(uid(), "Hi! Do you ship to Spain?", recipient=IG)
    return ig_body(messaging=[event]), "instagram", event["message"]["mid"], f"instagram:{IG}", "private"


def _whatsapp_message() -> tuple[bytes, str, str, str, str]:
    message = wa_message(wa_id(), "Ciao, dov'è il mio ordine?")
    return wa_inbound(message["from"], message), "whatsapp", message["id"], f"whatsapp:{PHONE}", "private"


INBOUND: dict[str, Case] = {"facebook comment": _facebook_comment, "messenger": _messenger,
                            "instagram comment": _instagram_comment, "instagram dm": _instagram_dm,
                            "whatsapp": _whatsapp_message}


@pytest.mark.parametrize("case", INBOUND.values(), ids=INBOUND.keys())
async def test_signed_event_is_stored_and_emitted(ingest: tuple[FastAPI, httpx.AsyncClient], case: Case) -> None:
    app, client = ingest
    body, channel, external_id, account, visibility = case()
    assert (await deliver(client, body)).json() == {"accepted": 1}
    message = await stored(client, channel, external_id)
    assert (message["channel"], message["account"], message["visibility"], message["direction"]) == (
        channel, account, visibility, "inbound")
    emitted = await eventually(lambda: [e for e in received(app) if e.external_id == external_id] or None)
    assert emitted[0].channel == channel and emitted[0].account == account


@pytest.mark.parametrize("case", INBOUND.values(), ids=INBOUND.keys())
@pytest.mark.parametrize(("sign", "status"), [
    (lambda body: {"content-type": "application/json"}, 401),  # no signature
    (lambda body: signed(b"another body"), 403),  # signed, but not this body
    (lambda body: signed(body, secret="not-the-app-secret"), 403),  # this body, the wrong key
], ids=["missing", "other-body", "wrong-secret"])
async def test_bad_or_missing_signature_stores_nothing(
    ingest: tuple[FastAPI, httpx.AsyncClient], case: Case, sign: Any, status: int,
) -> None:
    app, client = ingest
    body = case()[0]
    before = await counts(app)
    response = await client.post(HOOK, content=body, headers=sign(body))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert await counts(app) == before


@pytest.mark.parametrize("case", INBOUND.values(), ids=INBOUND.keys())
async def test_a_redelivered_event_creates_one_message(ingest: tuple[FastAPI, httpx.AsyncClient],
                                                       case: Case) -> None:
    app, client = ingest
    body = case()[0]
    before = await counts(app)
    answers = [(await deliver(client, body)).json() for _ in range(2)]
    assert answers == [{"accepted": 1}, {"duplicate": 1}]
    archived, kept = await counts(app)
    assert (archived - before[0], kept - before[1]) == (2, 1)  # both deliveries archived, one message


async def test_edits_and_removals_are_not_messages(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    edited = comment(uid(), "edited text", verb="edited")
    assert (await deliver(client, page_body(changes=[edited]))).json() == {}
    missing = await client.get(f"/v1/channels/facebook/messages/{edited['value']['comment_id']}",
                               headers=auth("agent"))
    assert missing.status_code == 404


async def test_an_unknown_object_is_archived_and_refused(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    body = json.dumps({"object": "permissions", "entry": [{"id": "1", "time": 1}]}).encode()
    before = await counts(app)
    response = await client.post(HOOK, content=body, headers=signed(body))
    assert response.status_code == 400 and "permissions" in response.json()["detail"]
    archived, kept = await counts(app)
    assert (archived - before[0], kept - before[1]) == (1, 0)  # kept for replay after a fix


def test_parse_keeps_what_carries_no_text_as_a_marker() -> None:
    event = dm("123", "")
    event["message"].pop("text")
    event["message"]["attachments"] = [{"type": "image", "payload": {"url": "https://example.com/a.jpg"}}]
    echo = dm(PAGE, "Thanks for writing!", recipient="123", echo=True)
    read = receipt("123", "read", {"watermark": _millis()})
    page = parse_webhook(page_body(messaging=[event, echo, read]))
    assert [m.text for m in page.messages] == ["[attachment: image]", "Thanks for writing!"]
    assert (page.messages[1].direction, page.messages[1].recipient_id) == ("outbound", "123")
    assert page.statuses[0].status == "read" and page.statuses[0].recipient_id == "123"
    photo = wa_message("3912345", "")
    photo.update(type="image", image={"id": "1", "mime_type": "image/jpeg", "caption": "the broken box"})
    photo.pop("text")
    assert parse_webhook(wa_inbound("3912345", photo)).messages[0].text == "[image] the broken box"


async def test_handshake_echoes_the_challenge_to_our_verify_token_only(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await client.get(HOOK, params=params)
    assert response.status_code == 200 and response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    wrong = await client.get(HOOK, params={**params, "hub.verify_token": "guess"})
    assert wrong.status_code == 403


async def test_without_an_app_secret_the_webhook_does_not_exist(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        body = _facebook_comment()[0]
        response = await client.post(HOOK, content=body, headers=signed(body))
        assert response.status_code == 404 and "SPORTELLO_META_APP_SECRET" in response.json()["detail"]


# -- the comment → private reply → Messenger flow --------------------------------------------------------


async def test_private_reply_to_a_comment_then_messenger_continues_the_conversation(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    psid = uid()
    change = comment(uid(), "Charged twice for order 5521!", name="Ann Smith")
    comment_id = change["value"]["comment_id"]
    fake_meta.commenters[comment_id] = psid  # who Meta will say wrote it
    await deliver(client, page_body(changes=[change]))
    public = await stored(client, "facebook", comment_id)
    conversation = public["conversation_id"]

    first = await reply(client, conversation, "So sorry! We have sent you a message.")
    assert first.status_code == 202 and first.json()["channel"] == "messenger"
    sent = await reaches(client, first.json()["id"])
    assert fake_meta.messages[sent["external_id"]] == {
        "node": PAGE, "recipient": {"comment_id": comment_id},
        "message": {"text": "So sorry! We have sent you a message."}}

    # One private reply per comment until the customer answers.
    second = await reply(client, conversation, "Hello again?")
    assert second.status_code == 409 and second.json()["type"].endswith("/conflict")

    # Meta echoes our message to the webhook: it is the reply we have, not a second message.
    echo = dm(PAGE, "So sorry! We have sent you a message.", recipient=psid, mid=sent["external_id"], echo=True)
    assert (await deliver(client, page_body(messaging=[echo]))).json() == {"duplicate": 1}

    answer = dm(psid, "Thanks. The order is 5521, card ending 4242.")
    await deliver(client, page_body(messaging=[answer]))
    private = await stored(client, "messenger", answer["message"]["mid"])
    assert private["conversation_id"] == conversation and private["customer_id"] == public["customer_id"]
    customer = (await client.get(f"/v1/customers/{public['customer_id']}", headers=auth("agent"))).json()
    assert customer["display_name"] == "Ann Smith"  # Messenger names nobody: the comment's name stays
    assert {(i["platform"], i["external_id"], i["source"]) for i in customer["identities"]} >= {
        ("messenger", psid, "private_reply")}

    # Now the customer has written in private: a private reply is a Messenger message to their PSID.
    follow_up = await reply(client, conversation, "Refund issued, 3-5 days.")
    assert follow_up.status_code == 202
    sent = await reaches(client, follow_up.json()["id"])
    assert fake_meta.messages[sent["external_id"]] == {
        "node": PAGE, "recipient": {"id": psid}, "messaging_type": "RESPONSE",
        "message": {"text": "Refund issued, 3-5 days."}}


# -- outbound round trips -------------------------------------------------------------------------------


async def test_facebook_public_reply(ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta) -> None:
    _, client = ingest
    change = comment(uid(), "Do you ship to Norway?")
    comment_id, post_id = change["value"]["comment_id"], change["value"]["post_id"]
    await deliver(client, page_body(changes=[change]))
    conversation = (await stored(client, "facebook", comment_id))["conversation_id"]
    answer = await reply(client, conversation, "Yes, in 3 days!", "public")
    assert answer.status_code == 202 and answer.json()["channel"] == "facebook"
    sent = await reaches(client, answer.json()["id"])
    assert fake_meta.comment_replies[sent["external_id"]] == {
        "parent": comment_id, "edge": "comments", "message": "Yes, in 3 days!"}
    assert fake_meta.calls_to(f"/{VERSION}/{comment_id}/comments")
    # The feed webhook then shows the Page's own comment: the reply we have.
    own = comment(PAGE, "Yes, in 3 days!", comment_id=sent["external_id"], post_id=post_id, parent_id=comment_id)
    assert (await deliver(client, page_body(changes=[own]))).json() == {"duplicate": 1}


async def test_messenger_reply_then_delivery_and_read_receipts(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    psid = uid()
    incoming = dm(psid, "Can I change my delivery address?")
    await deliver(client, page_body(messaging=[incoming]))
    conversation = (await stored(client, "messenger", incoming["message"]["mid"]))["conversation_id"]
    public = await reply(client, conversation, "Sure", "public")
    assert public.status_code == 400  # no comment of theirs to answer in public

    answer = await reply(client, conversation, "Sure, send us the new one.")
    sent = await reaches(client, answer.json()["id"])
    assert fake_meta.messages[sent["external_id"]] == {
        "node": PAGE, "recipient": {"id": psid}, "messaging_type": "RESPONSE",
        "message": {"text": "Sure, send us the new one."}}
    delivered = receipt(psid, "delivery", {"mids": [sent["external_id"]], "watermark": _millis()})
    assert (await deliver(client, page_body(messaging=[delivered]))).json() == {"receipts": 1}
    assert await status_of(client, sent["id"]) == "delivered"
    read = receipt(psid, "read", {"watermark": _millis() + 1000})
    assert (await deliver(client, page_body(messaging=[read]))).json() == {"receipts": 1}
    assert await status_of(client, sent["id"]) == "read"


async def test_messenger_window_human_agent_tag_then_closed(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    two_days = dm(uid(), "Anyone there?", at=datetime.now(UTC) - timedelta(days=2))
    await deliver(client, page_body(messaging=[two_days]))
    conversation = (await stored(client, "messenger", two_days["message"]["mid"]))["conversation_id"]
    sent = await reaches(client, (await reply(client, conversation, "Sorry for the wait!")).json()["id"])
    assert fake_meta.messages[sent["external_id"]]["messaging_type"] == "MESSAGE_TAG"
    assert fake_meta.messages[sent["external_id"]]["tag"] == "HUMAN_AGENT"

    eight_days = dm(uid(), "Hello?", at=datetime.now(UTC) - timedelta(days=8))
    await deliver(client, page_body(messaging=[eight_days]))
    conversation = (await stored(client, "messenger", eight_days["message"]["mid"]))["conversation_id"]
    refused = await reply(client, conversation, "Sorry for the wait!")
    assert refused.status_code == 400 and "7 days" in refused.json()["detail"]


async def test_instagram_public_reply_private_reply_then_dm(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    igsid = uid()
    change = ig_comment(igsid, "Is this in stock in blue?")
    comment_id = change["value"]["id"]
    fake_meta.commenters[comment_id] = igsid
    await deliver(client, ig_body(changes=[change]))
    conversation = (await stored(client, "instagram", comment_id))["conversation_id"]

    public = await reaches(client, (await reply(client, conversation, "It is!", "public")).json()["id"])
    assert fake_meta.comment_replies[public["external_id"]] == {
        "parent": comment_id, "edge": "replies", "message": "It is!"}

    # They never wrote to us in private: the one private reply to their comment, by comment id.
    private = await reaches(client, (await reply(client, conversation, "Want a discount code?")).json()["id"])
    assert private["channel"] == "instagram"
    assert fake_meta.messages[private["external_id"]] == {
        "node": IG, "recipient": {"comment_id": comment_id}, "message": {"text": "Want a discount code?"}}
    assert (await reply(client, conversation, "Still there?")).status_code == 409

    answer = dm(igsid, "Yes please!", recipient=IG)
    await deliver(client, ig_body(messaging=[answer]))
    assert (await stored(client, "instagram", answer["message"]["mid"]))["conversation_id"] == conversation
    direct = await reaches(client, (await reply(client, conversation, "Code: BLUE10")).json()["id"])
    assert fake_meta.messages[direct["external_id"]] == {
        "node": IG, "recipient": {"id": igsid}, "messaging_type": "RESPONSE", "message": {"text": "Code: BLUE10"}}
    seen = receipt(igsid, "read", {"mid": direct["external_id"]}, recipient=IG)
    assert (await deliver(client, ig_body(messaging=[seen]))).json() == {"receipts": 1}
    assert await status_of(client, direct["id"]) == "read"


async def test_whatsapp_reply_and_statuses_only_move_forward(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    customer = wa_id()
    message = wa_message(customer, "Il pacco è arrivato rotto")
    await deliver(client, wa_inbound(customer, message, name="Marco Rossi"))
    incoming = await stored(client, "whatsapp", message["id"])
    conversation = incoming["conversation_id"]
    assert (await reply(client, conversation, "Ciao", "public")).status_code == 400

    sent = await reaches(client, (await reply(client, conversation, "Ci scusi! Ne spediamo un altro.")).json()["id"])
    assert fake_meta.messages[sent["external_id"]] == {
        "node": PHONE, "messaging_product": "whatsapp", "recipient_type": "individual", "to": customer,
        "type": "text", "text": {"body": "Ci scusi! Ne spediamo un altro."}}
    wamid = sent["external_id"]
    for status, expected in (("delivered", "delivered"), ("read", "read"), ("delivered", "read")):
        await deliver(client, wa_status(wamid, status, customer))
        assert await status_of(client, sent["id"]) == expected  # a late "delivered" does not undo "read"

    other = await reaches(client, (await reply(client, conversation, "Tutto bene?")).json()["id"])
    failure = {"errors": [{"code": 131026, "title": "Message undeliverable"}]}
    await deliver(client, wa_status(other["external_id"], "failed", customer, **failure))
    failed = await reaches(client, other["id"], "failed")
    assert "Message undeliverable" in failed["delivery_error"]


async def test_whatsapp_outside_24_hours_needs_a_template(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    customer = wa_id()
    message = wa_message(customer, "Quando riaprite?", at=datetime.now(UTC) - timedelta(hours=25))
    await deliver(client, wa_inbound(customer, message))
    conversation = (await stored(client, "whatsapp", message["id"]))["conversation_id"]
    refused = await reply(client, conversation, "Lunedì!")
    assert refused.status_code == 400 and "template" in refused.json()["detail"]

    template = {"name": "opening_hours", "language": {"code": "it"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "lunedì"}]}]}
    accepted = await reply(client, conversation, "Riapriamo lunedì", template=template)
    assert accepted.status_code == 202
    sent = await reaches(client, accepted.json()["id"])
    assert fake_meta.messages[sent["external_id"]] == {
        "node": PHONE, "messaging_product": "whatsapp", "recipient_type": "individual", "to": customer,
        "type": "template", "template": template}


# -- failures -------------------------------------------------------------------------------------------


async def test_rate_limit_waits_for_retry_after_then_sends(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_meta: FakeMeta,
) -> None:
    _, client = ingest
    page = uid()  # its own Page: the pause holds this account only
    psid = uid()
    incoming = dm(psid, "hello?", recipient=page)
    await deliver(client, page_body(messaging=[incoming], page=page))
    conversation = (await stored(client, "messenger", incoming["message"]["mid"]))["conversation_id"]
    fake_meta.fail_next("POST", 429, headers={"Retry-After": "1"},
                        body={"error": {"message": "(#32) Page request limit reached", "code": 32}})
    answer = await reply(client, conversation, "Hi! How can we help?")
    await reaches(client, answer.json()["id"], timeout=10)
    attempts = fake_meta.calls_to(f"/{page}/messages")
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= timedelta(seconds=0.9)


def _request(channel: str, account: str, recipient: str) -> SendRequest:
    return SendRequest(message_id=uuid.uuid4(), channel=channel, account=account, visibility="private",
                       text="hello", recipient_id=recipient, in_reply_to=None)


@pytest.mark.parametrize(("status", "error", "expected"), [
    (400, {"code": 613, "message": "Calls to this api have exceeded the rate limit."}, RateLimited),
    (400, {"code": 4, "message": "Application request limit reached"}, RateLimited),
    (400, {"code": 130429, "message": "Rate limit hit"}, RateLimited),
    (400, {"code": 10, "error_subcode": 2018278, "message": "This message is sent outside of allowed window."},
     PermanentError),
    (500, {"code": 2, "message": "Service temporarily unavailable"}, TransientError),
])
async def test_graph_errors_follow_the_retry_policy(
    fake_meta: FakeMeta, status: int, error: dict[str, Any], expected: type[Exception],
) -> None:
    adapter = WhatsApp(TOKEN, f"{fake_meta.url}/{VERSION}")
    fake_meta.fail_next("POST", status, body={"error": {"type": "OAuthException", **error}})
    async with httpx.AsyncClient() as http:
        with pytest.raises(expected) as caught:
            await adapter.send(http, _request("whatsapp", f"whatsapp:{PHONE}", wa_id()))
    assert caught.type is expected
    if expected is RateLimited:
        assert caught.value.retry_after_seconds == 60  # type: ignore[attr-defined]
    if expected is PermanentError:
        assert "outside of allowed window" in str(caught.value)


async def test_a_wrong_token_fails_the_reply_with_graphs_reason(fake_meta: FakeMeta) -> None:
    adapter = Messenger("not-the-token", f"{fake_meta.url}/{VERSION}")
    async with httpx.AsyncClient() as http:
        with pytest.raises(PermanentError, match="Invalid OAuth access token"):
            await adapter.send(http, _request("messenger", f"facebook:{PAGE}", uid()))
