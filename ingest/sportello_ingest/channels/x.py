"""X (Twitter): Account Activity API webhooks in, API v2 replies and DMs out.

Documented shapes: the CRC challenge answers ``{"response_token": "sha256=<base64 HMAC-SHA256 of
crc_token keyed by the consumer secret>"}``; each POST carries ``x-twitter-webhooks-signature:
sha256=<base64 HMAC-SHA256 of the body>``; the body holds ``for_user_id`` (the subscribed brand account),
``tweet_create_events`` (v1.1 tweet objects: mentions, replies, the brand's own tweets),
``direct_message_events`` (``message_create``) with a ``users`` map, and
``direct_message_mark_read_events``. Outbound: ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``
and ``POST /2/dm_conversations/with/:participant_id/messages``; a 429 carries ``x-rate-limit-reset``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from sportello.errors import PermanentError
from sportello.http.problems import InvalidRequest
from sportello.http.retry_after import retry_after_of
from sportello_ingest.channels.base import (
    Author,
    ChannelAdapter,
    InboundMessage,
    Parsed,
    RateLimited,
    ReplyContext,
    SendRequest,
    SendResult,
    StatusUpdate,
    platform_format,
    raise_for_platform_status,
    verify_signature,
)

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
MAX_POST_CHARS = 280
MAX_DM_CHARS = 10_000


def sign(secret: str, payload: bytes) -> str:
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def crc_response(secret: str, crc_token: str) -> dict[str, str]:
    return {"response_token": sign(secret, crc_token.encode())}


_URL = re.compile(r"https?://\S+")
_LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")


def weighted_length(text: str) -> int:
    """X's count for a reply: every link counts 23 (t.co), leading @mentions of a reply are free.

    (X also weighs CJK characters double; we do not, so such a post may still be refused by X and then
    fails with X's reason.)
    """
    body = _LEADING_MENTIONS.sub("", text)
    return len(_URL.sub("x" * 23, body))


def account_of(user_id: str) -> str:
    return f"x:{user_id}"


class XAdapter(ChannelAdapter):
    channel = "x"

    def __init__(self, consumer_secret: str, access_token: str, base_url: str) -> None:
        self._secret = consumer_secret
        self._token = access_token
        self._base_url = base_url.rstrip("/")

    def verify(self, signature: str | None, body: bytes) -> None:
        verify_signature(signature, sign(self._secret, body), header=SIGNATURE_HEADER)

    def crc(self, crc_token: str) -> dict[str, str]:
        return crc_response(self._secret, crc_token)

    def parse(self, body: bytes) -> Parsed:
        with platform_format("X Account Activity"):
            return self._parse(body)

    def _parse(self, body: bytes) -> Parsed:
        payload = json.loads(body)
        brand = str(payload["for_user_id"])
        parsed = Parsed()
        for tweet in payload.get("tweet_create_events", ()):
            parsed.messages.append(_tweet(brand, tweet))
        users = payload.get("users", {})
        for event in payload.get("direct_message_events", ()):
            if event.get("type") == "message_create":
                parsed.messages.append(_direct_message(brand, event, users))
        for event in payload.get("direct_message_mark_read_events", ()):
            parsed.statuses.append(StatusUpdate(
                channel=self.channel, status="read", at=_from_millis(event["created_timestamp"]),
                account=account_of(brand), recipient_id=str(event["sender_id"]),
                until=_from_millis(event["created_timestamp"]),
            ))
        return parsed

    def check_reply(self, context: ReplyContext) -> None:
        super().check_reply(context)
        limit = MAX_POST_CHARS if context.visibility == "public" else MAX_DM_CHARS
        if weighted_length(context.text) > limit:
            raise InvalidRequest(f"An X {context.visibility} reply has at most {limit} characters.")
        if context.visibility == "public" and context.last_public_external_id is None:
            raise InvalidRequest("The customer has no public post in this conversation to reply to.")

    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        headers = {"Authorization": f"Bearer {self._token}"}
        if request.visibility == "public":
            response = await client.post(
                f"{self._base_url}/2/tweets", headers=headers,
                json={"text": request.text, "reply": {"in_reply_to_tweet_id": request.in_reply_to}})
            _raise_for_status(response)
            return SendResult(external_id=str(response.json()["data"]["id"]))
        if not request.recipient_id:
            raise PermanentError("no X user id to send the direct message to")
        response = await client.post(
            f"{self._base_url}/2/dm_conversations/with/{request.recipient_id}/messages",
            headers=headers, json={"text": request.text})
        _raise_for_status(response)
        return SendResult(external_id=str(response.json()["data"]["dm_event_id"]))


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code == 429 and "retry-after" not in response.headers:
        reset = response.headers.get("x-rate-limit-reset")
        if reset is not None and reset.isdigit():
            raise RateLimited(max(0.0, int(reset) - time.time()), "X answered 429")
        raise RateLimited(retry_after_of(response, default=900), "X answered 429")
    raise_for_platform_status(response)


def _tweet(brand: str, tweet: dict[str, Any]) -> InboundMessage:
    user = tweet["user"]
    author_id = str(user["id_str"])
    text = (tweet.get("extended_tweet") or {}).get("full_text") or tweet.get("full_text") or tweet["text"]
    if "timestamp_ms" in tweet:
        sent_at = _from_millis(tweet["timestamp_ms"])
    else:
        sent_at = parsedate_to_datetime(tweet["created_at"])
    parent = tweet.get("in_reply_to_status_id_str")
    return InboundMessage(
        channel="x", account=account_of(brand), external_id=str(tweet["id_str"]),
        author=Author(id=author_id, display_name=user.get("name") or user.get("screen_name") or author_id,
                      handle=user.get("screen_name"), followers=user.get("followers_count"),
                      verified=bool(user.get("verified"))),
        text=text, sent_at=sent_at, visibility="public",
        direction="outbound" if author_id == brand else "inbound",
        reply_to=(str(parent),) if parent else (),
        flags=("possibly_sensitive",) if tweet.get("possibly_sensitive") else (),
        recipient_id=tweet.get("in_reply_to_user_id_str"),
    )


def _direct_message(brand: str, event: dict[str, Any], users: dict[str, Any]) -> InboundMessage:
    create = event["message_create"]
    sender = str(create["sender_id"])
    user = users.get(sender, {})
    return InboundMessage(
        channel="x", account=account_of(brand), external_id=str(event["id"]),
        author=Author(id=sender, display_name=user.get("name") or user.get("screen_name") or sender,
                      handle=user.get("screen_name"), followers=user.get("followers_count"),
                      verified=bool(user.get("verified"))),
        text=create["message_data"]["text"], sent_at=_from_millis(event["created_timestamp"]),
        visibility="private", direction="outbound" if sender == brand else "inbound",
        recipient_id=str(create["target"]["recipient_id"]),
    )


def _from_millis(value: str | int) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
