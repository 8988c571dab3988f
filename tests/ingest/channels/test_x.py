"""X (Twitter) connector: Account Activity webhooks in, API v2 out, against a real fake X API server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sportello.contracts import MessageDeliveryUpdated, MessageReceived
from sportello.topics import CONVERSATIONS_ACTIVITY, MESSAGES_RECEIVED
from sportello_deploy.fakes.x import FakeX, webhook_headers
from sportello_ingest.component import COMPONENT
from tests.ingest import support
from tests.ingest.support import counts, events
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

SECRET = "x-consumer-secret-for-tests"
TOKEN = "x-user-access-token"
BRAND = "2244994945"
HOOK = "/v1/channels/x/webhook"
_ids = itertools.count(int(time.time() * 1000) * 1000)


@pytest.fixture(scope="module")
async def fake_x() -> AsyncIterator[FakeX]:
    async with FakeX(TOKEN) as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
async def ingest(database_url: str, fake_x: FakeX) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url, x_consumer_secret=SecretStr(SECRET),
                           x_access_token=SecretStr(TOKEN), x_api_base_url=fake_x.url,
                           send_poll_seconds=0.05, send_backoff_seconds=0.05) as running:
        yield running


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    # Signed the way X does (the platform side's code, not the code under test).
    return webhook_headers(secret, body)


def tweet(author: str, text: str, *, reply_to: str | None = None, at: datetime | None = None,
          followers: int = 10, reply_to_user: str | None = None) -> dict[str, Any]:
    moment = at or datetime.now(UTC)
    return {
        "created_at": moment.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        "id_str": str(next(_ids)), "text": text, "timestamp_ms": str(int(moment.timestamp() * 1000)),
        "in_reply_to_status_id_str": reply_to, "in_reply_to_user_id_str": reply_to_user,
        "user": {"id_str": author, "name": f"User {author}", "screen_name": f"user{author}",
                 "followers_count": followers, "verified": False},
    }


def direct_message(sender: str, text: str, *, recipient: str = BRAND) -> dict[str, Any]:
    return {"type": "message_create", "id": str(next(_ids)),
            "created_timestamp": str(int(time.time() * 1000)),
            "message_create": {"target": {"recipient_id": recipient}, "sender_id": sender,
                               "message_data": {"text": text}}}


def activity(*, tweets: tuple[dict[str, Any], ...] = (), dms: tuple[dict[str, Any], ...] = ()) -> bytes:
    users = {dm["message_create"]["sender_id"]: {"id": dm["message_create"]["sender_id"], "name": "DM sender",
                                                  "screen_name": "dmsender", "followers_count": 3}
             for dm in dms}
    payload: dict[str, Any] = {"for_user_id": BRAND}
    if tweets:
        payload["tweet_create_events"] = list(tweets)
    if dms:
        payload["direct_message_events"] = list(dms)
        payload["users"] = users
    return json.dumps(payload).encode()


async def deliver(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(HOOK, content=body, headers=signed(body))


async def stored(client: httpx.AsyncClient, external_id: str) -> dict[str, Any]:
    return await support.stored(client, "x", external_id)






async def test_crc_challenge_answers_the_documented_token(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    response = await client.get(HOOK, params={"crc_token": "challenge-123"})
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"challenge-123", hashlib.sha256).digest()).decode()
    assert response.status_code == 200
    assert response.json() == {"response_token": f"sha256={expected}"}


async def test_signed_mention_is_stored_and_emitted(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    mention = tweet("1001", "@brand my parcel never arrived", followers=52_000)
    response = await deliver(client, activity(tweets=(mention,)))
    assert response.status_code == 200 and response.json() == {"accepted": 1}
    message = await stored(client, mention["id_str"])
    assert (message["account"], message["visibility"], message["direction"]) == (f"x:{BRAND}", "public",
                                                                                   "inbound")
    emitted = await eventually(lambda: [e for e in events(app, MESSAGES_RECEIVED, MessageReceived)
                                        if e.external_id == mention["id_str"]] or None)
    assert emitted[0].author.followers == 52_000 and emitted[0].author.handle == "user1001"


@pytest.mark.parametrize(("sign", "status"), [
    (lambda body: {"content-type": "application/json"}, 401),  # no signature
    (lambda body: signed(b"another body"), 403),  # signed, but not this body
    (lambda body: signed(body, secret="not-the-secret"), 403),  # this body, the wrong key
])
async def test_bad_or_missing_signature_stores_nothing(
    ingest: tuple[FastAPI, httpx.AsyncClient], sign: Any, status: int,
) -> None:
    app, client = ingest
    body = activity(tweets=(tweet("1002", "hello"),))
    before = await counts(app)
    response = await client.post(HOOK, content=body, headers=sign(body))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert await counts(app) == before


async def test_a_redelivered_event_creates_one_message(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    body = activity(tweets=(tweet("1003", "where is my refund"),))
    before = await counts(app)
    answers = [(await deliver(client, body)).json() for _ in range(3)]
    assert answers == [{"accepted": 1}, {"duplicate": 1}, {"duplicate": 1}]
    archived, kept = await counts(app)
    assert (archived - before[0], kept - before[1]) == (3, 1)  # every delivery archived, one message


async def test_dm_after_a_mention_continues_the_conversation_and_links_them(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    mention = tweet("1004", "@brand I was charged twice")
    await deliver(client, activity(tweets=(mention,)))
    public = await stored(client, mention["id_str"])
    resolved = await client.post(f"/v1/conversations/{public['conversation_id']}/resolve", headers=auth("agent"))
    assert resolved.json()["changed"] is True
    dm = direct_message("1004", "here is my order number 5521")
    await deliver(client, activity(dms=(dm,)))
    private = await stored(client, dm["id"])
    # Resolved meanwhile, yet within the continuation window: the same case, reopened, messages linked.
    assert private["conversation_id"] == public["conversation_id"]
    assert private["visibility"] == "private" and private["linked_message_id"] == public["id"]


async def test_public_and_private_replies_reach_x_and_become_sent(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_x: FakeX,
) -> None:
    app, client = ingest
    mention = tweet("1005", "@brand app crashes on login")
    await deliver(client, activity(tweets=(mention,)))
    conversation = (await stored(client, mention["id_str"]))["conversation_id"]

    public = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                               json={"text": "Sorry! Which version?", "visibility": "public", "agent_id": "ann"})
    private = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                                json={"text": "DM us your e-mail please", "visibility": "private"})
    assert public.status_code == private.status_code == 202
    assert public.json()["delivery_status"] == "pending"

    async def sent(message_id: str) -> dict[str, Any] | None:
        found = (await client.get(f"/v1/messages/{message_id}", headers=auth("agent"))).json()
        return found if found["delivery_status"] == "sent" else None

    public_sent = await eventually(lambda: sent(public.json()["id"]))
    private_sent = await eventually(lambda: sent(private.json()["id"]))
    assert fake_x.posts[public_sent["external_id"]] == {
        "text": "Sorry! Which version?", "reply": {"in_reply_to_tweet_id": mention["id_str"]}}
    assert fake_x.direct_messages[private_sent["external_id"]] == {
        "text": "DM us your e-mail please", "participant_id": "1005"}
    updates = await eventually(lambda: [e for e in events(app, CONVERSATIONS_ACTIVITY, MessageDeliveryUpdated)
                                        if str(e.message_id) == public.json()["id"]] or None)
    assert updates[0].status == "sent" and updates[0].external_id == public_sent["external_id"]


async def test_the_echo_of_our_own_reply_is_not_a_second_message(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_x: FakeX,
) -> None:
    _, client = ingest
    mention = tweet("1006", "@brand is the store open on sunday?")
    await deliver(client, activity(tweets=(mention,)))
    conversation = (await stored(client, mention["id_str"]))["conversation_id"]
    reply = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                              json={"text": "Yes, 10 to 18!", "visibility": "public"})

    async def sent() -> dict[str, Any] | None:
        found = (await client.get(f"/v1/messages/{reply.json()['id']}", headers=auth("agent"))).json()
        return found if found["external_id"] else None

    external_id = (await eventually(sent))["external_id"]
    echo = tweet(BRAND, "Yes, 10 to 18!", reply_to=mention["id_str"], reply_to_user="1006")
    echo["id_str"] = external_id  # X sends our own post back to the webhook
    assert (await deliver(client, activity(tweets=(echo,)))).json() == {"duplicate": 1}


async def test_a_reply_the_brand_made_natively_joins_the_conversation(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    mention = tweet("1007", "@brand wrong size delivered")
    await deliver(client, activity(tweets=(mention,)))
    native = tweet(BRAND, "We'll swap it, check your DMs", reply_to=mention["id_str"], reply_to_user="1007")
    assert (await deliver(client, activity(tweets=(native,)))).json() == {"accepted": 1}
    brand_message = await stored(client, native["id_str"])
    customer_message = await stored(client, mention["id_str"])
    assert brand_message["conversation_id"] == customer_message["conversation_id"]
    assert brand_message["direction"] == "outbound"
    # The customer's answer to the brand's post follows it into the same conversation.
    answer = tweet("1007", "thanks!", reply_to=native["id_str"])
    await deliver(client, activity(tweets=(answer,)))
    assert (await stored(client, answer["id_str"]))["conversation_id"] == customer_message["conversation_id"]


async def test_rate_limit_waits_for_retry_after_then_sends(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_x: FakeX,
) -> None:
    _, client = ingest
    mention = tweet("1008", "@brand hello?")
    await deliver(client, activity(tweets=(mention,)))
    conversation = (await stored(client, mention["id_str"]))["conversation_id"]
    fake_x.fail_next("POST", 429, headers={"Retry-After": "1"},
                     body={"title": "Too Many Requests", "status": 429})
    reply = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                              json={"text": "Hi! How can we help?", "visibility": "public"})

    async def sent() -> dict[str, Any] | None:
        found = (await client.get(f"/v1/messages/{reply.json()['id']}", headers=auth("agent"))).json()
        return found if found["delivery_status"] == "sent" else None

    await eventually(sent, timeout=10)
    attempts = [r for r in fake_x.requests_to("POST", "/2/tweets") if r.json["text"] == "Hi! How can we help?"]
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= timedelta(seconds=0.9)


async def test_public_reply_over_280_characters_is_refused_up_front(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    mention = tweet("1009", "@brand question")
    await deliver(client, activity(tweets=(mention,)))
    conversation = (await stored(client, mention["id_str"]))["conversation_id"]
    response = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                                 json={"text": "x" * 281, "visibility": "public"})
    assert response.status_code == 400 and "280" in response.json()["detail"]
    # The agent's sign-off counts: 277 characters fit alone, with " ^GR" they make 281.
    signed = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                               json={"text": "x" * 277, "visibility": "public", "signature": "GR"})
    assert signed.status_code == 400 and "280" in signed.json()["detail"]
    missing = await client.post(f"/v1/conversations/{uuid.uuid4()}/replies", headers=auth("agent"),
                                json={"text": "hi"})
    assert missing.status_code == 404


async def test_a_platform_outage_is_retried_and_a_refusal_fails_with_the_reason(
    ingest: tuple[FastAPI, httpx.AsyncClient], fake_x: FakeX,
) -> None:
    app, client = ingest
    mention = tweet("1010", "@brand my card was declined")
    await deliver(client, activity(tweets=(mention,)))
    conversation = (await stored(client, mention["id_str"]))["conversation_id"]

    async def settled(message_id: str) -> dict[str, Any] | None:
        found = (await client.get(f"/v1/messages/{message_id}", headers=auth("agent"))).json()
        return found if found["delivery_status"] != "pending" else None

    fake_x.fail_next("POST", 503, times=2)
    retried = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                                json={"text": "Checking now", "visibility": "public"})
    assert (await eventually(lambda: settled(retried.json()["id"]), timeout=10))["delivery_status"] == "sent"

    fake_x.fail_next("POST", 403, body={"title": "Forbidden", "detail": "You are not allowed to reply"})
    refused = await client.post(f"/v1/conversations/{conversation}/replies", headers=auth("agent"),
                                json={"text": "Second try", "visibility": "public"})
    failed = await eventually(lambda: settled(refused.json()["id"]), timeout=10)
    assert failed["delivery_status"] == "failed" and "not allowed to reply" in failed["delivery_error"]
    updates = await eventually(lambda: [e for e in events(app, CONVERSATIONS_ACTIVITY, MessageDeliveryUpdated)
                                        if str(e.message_id) == refused.json()["id"]] or None)
    assert updates[-1].status == "failed"
