"""The generic API channel: any integration pushes messages as JSON and, optionally, receives replies.

Inbound is ``POST /v1/channels/api/messages`` (bearer token, role integration). Outbound, when
``SPORTELLO_API_CALLBACK_URL`` is set, each agent reply is POSTed there as JSON signed per Standard
Webhooks with ``SPORTELLO_API_CALLBACK_SECRET``; the integration answers 2xx with
``{"external_id": "..."}`` (its own id for the message), 429 with Retry-After to slow us down.
"""

from __future__ import annotations

import json

import httpx
from pydantic import ValidationError

from sportello.errors import PermanentError
from sportello.http import signatures
from sportello_ingest.channels.base import (
    Author,
    ChannelAdapter,
    InboundMessage,
    Parsed,
    SendRequest,
    SendResult,
    raise_for_platform_status,
)
from sportello_ingest.schemas import ApiMessageIn


def to_inbound(message: ApiMessageIn) -> InboundMessage:
    author = message.author
    return InboundMessage(
        channel=message.channel, account=message.account or message.channel,
        external_id=message.external_id,
        author=Author(id=author.id, display_name=author.display_name, handle=author.handle,
                      followers=author.followers, verified=author.verified),
        text=message.text, sent_at=message.sent_at, visibility=message.visibility,
        direction=message.direction, reply_to=(message.reply_to,) if message.reply_to else (),
        flags=tuple(message.flags), recipient_id=message.recipient_id,
    )


class ApiChannel(ChannelAdapter):
    channel = "api"

    def __init__(self, callback_url: str, callback_secret: str) -> None:
        self._url = callback_url
        self._secret = callback_secret
        # Without a callback there is nowhere to deliver a reply: refuse it up front.
        self.supports = ("public", "private") if callback_url else ()

    def parse(self, body: bytes) -> Parsed:
        try:
            return Parsed(messages=[to_inbound(ApiMessageIn.model_validate_json(body))])
        except ValidationError as exc:
            raise PermanentError(f"not an API channel message: {exc.error_count()} invalid field(s)") from exc

    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        body = json.dumps({
            "message_id": str(request.message_id), "channel": request.channel, "account": request.account,
            "visibility": request.visibility, "text": request.text, "recipient_id": request.recipient_id,
            "in_reply_to": request.in_reply_to,
        }).encode()
        headers = {"content-type": "application/json",
                   **signatures.sign([self._secret], str(request.message_id), body)}
        response = await client.post(self._url, content=body, headers=headers)
        raise_for_platform_status(response)
        try:
            return SendResult(external_id=str(response.json()["external_id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError("the callback did not answer with {\"external_id\": ...}") from exc
