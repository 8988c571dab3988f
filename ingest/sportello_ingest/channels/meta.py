"""Meta: Facebook Page comments, Messenger, Instagram comments and DMs, WhatsApp Cloud API.

One app, one webhook. Documented shapes:

- Subscription handshake: ``GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``, answered
  with the challenge as plain text when the token is ours.
- Every POST is signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed by the app
  secret>``; the body is ``{"object": "page" | "instagram" | "whatsapp_business_account", "entry": [...]}``.
- ``page``: ``entry[].changes[]`` with ``field: "feed"`` (we take ``item: "comment"``, ``verb: "add"``:
  ``comment_id, post_id, parent_id, from {id, name}, message, created_time``), and ``entry[].messaging[]``
  Messenger events (``sender, recipient, timestamp`` in ms, then ``message {mid, text, attachments,
  is_echo}``, ``delivery {mids, watermark}`` or ``read {watermark}``).
- ``instagram``: ``changes[]`` with ``field: "comments"`` (``id, text, from {id, username}, media {id},
  parent_id``; no time: the entry's is used), and ``messaging[]`` as Messenger (``read`` names a ``mid``).
- ``whatsapp_business_account``: ``changes[]`` with ``field: "messages"``: ``metadata.phone_number_id``,
  ``contacts[] {profile.name, wa_id}``, ``messages[] {from, id, timestamp, type, text.body, context.id}``,
  ``statuses[] {id, status, timestamp, recipient_id, errors[] {code, title}}``.

Channels and brand accounts: a Page's comments are ``facebook`` and its Messenger DMs ``messenger``, both on
``facebook:<page id>``, so once the private reply to a comment has named the commenter's PSID their
Messenger answer continues the same conversation; ``instagram`` (comments and DMs) is
``instagram:<account id>``; ``whatsapp`` is ``whatsapp:<phone number id>``. A message without text is
kept as a marker rather than dropped: ``[attachment: image]`` (Messenger, Instagram, Facebook photo
comments) and ``[image]`` plus any caption (WhatsApp); a Messenger event with neither is skipped.

Outbound through the Graph API (``{base}/{version}``, ``Authorization: Bearer <token>``):
``POST /{comment}/comments`` (Facebook) and ``POST /{comment}/replies`` (Instagram) answer ``{"id"}``;
``POST /{page or IG account}/messages`` (Send API) takes ``recipient.id`` for a DM or
``recipient.comment_id`` for the one private reply to a comment and answers ``{recipient_id, message_id}``;
``POST /{phone number id}/messages`` (WhatsApp) answers ``{"messages": [{"id": "wamid..."}]}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sportello.errors import PermanentError, TransientError
from sportello.http.problems import Forbidden, InvalidRequest
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
    Visibility,
    platform_format,
    raise_for_platform_status,
    verify_signature,
)

SIGNATURE_HEADER = "x-hub-signature-256"
# Graph error codes meaning "slow down": app, user, Page, custom and Instagram limits, WhatsApp throughput.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007, 130429})
RATE_LIMIT_PAUSE_SECONDS = 60.0
# Messenger and Instagram answer as RESPONSE within 24 h of the customer's last message, with the
# HUMAN_AGENT tag up to 7 days after it, not at all later. WhatsApp: 24 h, then only templates.
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
WHATSAPP_STATUSES = ("sent", "delivered", "read", "failed")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def adapters(*, app_secret: str, verify_token: str, access_token: str,
             graph_url: str) -> dict[str, ChannelAdapter]:
    """The webhook (archived as channel "meta") and the four channels' senders."""
    senders = [cls(access_token, graph_url) for cls in (FacebookComments, Messenger, Instagram, WhatsApp)]
    return {"meta": MetaWebhook(app_secret, verify_token), **{s.channel: s for s in senders}}


# -- inbound ------------------------------------------------------------------------------------------


class MetaWebhook(ChannelAdapter):
    """Meta's one webhook: verified here, parsed into messages of all four channels."""

    channel = "meta"
    supports = ()

    def __init__(self, app_secret: str, verify_token: str) -> None:
        self._secret = app_secret
        self._verify_token = verify_token

    def verify(self, signature: str | None, body: bytes) -> None:
        verify_signature(signature, sign(self._secret, body), header=SIGNATURE_HEADER)

    def handshake(self, mode: str, token: str, challenge: str) -> str:
        """The subscription check: echo the challenge only to whoever knows our verify token."""
        ours = self._verify_token.encode()
        if mode != "subscribe" or not ours or not hmac.compare_digest(token.encode(), ours):
            raise Forbidden("hub.verify_token does not match this app's verify token.")
        return challenge

    def parse(self, body: bytes) -> Parsed:
        return parse_webhook(body)

    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        raise PermanentError("the Meta webhook sends nothing; replies go through their channel's adapter")


def parse_webhook(body: bytes) -> Parsed:
    parsed = Parsed()
    with platform_format("Meta webhook"):
        payload = json.loads(body)
        read = _OBJECTS.get(payload["object"])
        if read is None:
            raise PermanentError(f"unknown webhook object {payload['object']!r}")
        for entry in payload["entry"]:
            read(entry, parsed)
    return parsed


def _page(entry: dict[str, Any], parsed: Parsed) -> None:
    page = str(entry["id"])
    for change in entry.get("changes") or ():
        value = change["value"]
        # Edits, removals, likes and visitor posts are not messages to answer.
        if change.get("field") == "feed" and value.get("item") == "comment" and value.get("verb") == "add":
            parsed.messages.append(_facebook_comment(page, value))
    for event in entry.get("messaging") or ():
        _messaging("messenger", f"facebook:{page}", event, parsed)


def _facebook_comment(page: str, value: dict[str, Any]) -> InboundMessage:
    author = value["from"]
    author_id = str(author["id"])
    # A top-level comment's parent is the post itself; a reply's is the comment it answers.
    parent = str(value.get("parent_id") or value["post_id"])
    text = value.get("message") or ("[attachment: photo]" if value.get("photo") else "[attachment]")
    return InboundMessage(
        channel="facebook", account=f"facebook:{page}", external_id=str(value["comment_id"]),
        author=Author(id=author_id, display_name=author.get("name") or author_id),
        text=text, sent_at=_moment(value["created_time"]), visibility="public",
        direction="outbound" if author_id == page else "inbound", reply_to=(parent,),
    )


def _instagram(entry: dict[str, Any], parsed: Parsed) -> None:
    owner = str(entry["id"])
    at = _moment(entry["time"]) if entry.get("time") else datetime.now(UTC)
    for change in entry.get("changes") or ():
        if change.get("field") in ("comments", "live_comments"):
            parsed.messages.append(_instagram_comment(owner, change["value"], at))
    for event in entry.get("messaging") or ():
        _messaging("instagram", f"instagram:{owner}", event, parsed)


def _instagram_comment(owner: str, value: dict[str, Any], at: datetime) -> InboundMessage:
    author = value["from"]
    author_id = str(author["id"])
    username = author.get("username")
    parent = value.get("parent_id") or (value.get("media") or {}).get("id")
    return InboundMessage(
        channel="instagram", account=f"instagram:{owner}", external_id=str(value["id"]),
        author=Author(id=author_id, display_name=username or author_id, handle=username),
        text=value.get("text") or "[attachment]", sent_at=at, visibility="public",
        direction="outbound" if author_id == owner else "inbound",
        reply_to=(str(parent),) if parent else (),
    )


def _messaging(channel: str, account: str, event: dict[str, Any], parsed: Parsed) -> None:
    """A Messenger or Instagram messaging event: a message (or our echo), a delivery or a read receipt."""
    sender, recipient = str(event["sender"]["id"]), str(event["recipient"]["id"])
    at = _moment(event["timestamp"])
    if "message" in event:
        message = _direct_message(channel, account, sender, recipient, at, event["message"])
        if message is not None:
            parsed.messages.append(message)
    elif "delivery" in event or "read" in event:
        status = "delivered" if "delivery" in event else "read"
        receipt = event["delivery"] if status == "delivered" else event["read"]
        mids = receipt.get("mids") or ([receipt["mid"]] if receipt.get("mid") else [])
        for mid in mids:
            parsed.statuses.append(StatusUpdate(channel=channel, status=status, at=at, external_id=str(mid)))
        if not mids and receipt.get("watermark"):
            # Everything sent to this customer up to the watermark.
            until = _moment(receipt["watermark"])
            parsed.statuses.append(StatusUpdate(channel=channel, status=status, at=until, account=account,
                                                recipient_id=sender, until=until))


def _direct_message(channel: str, account: str, sender: str, recipient: str, at: datetime,
                    message: dict[str, Any]) -> InboundMessage | None:
    if message.get("is_deleted"):
        return None  # Instagram: the customer unsent it
    kinds = [str(a.get("type") or "file") for a in message.get("attachments") or ()]
    text = message.get("text") or " ".join(f"[attachment: {kind}]" for kind in kinds)
    if not text:
        return None
    echo = bool(message.get("is_echo"))  # sent by the Page / account: ours, or made in Meta's inbox
    quoted = (message.get("reply_to") or {}).get("mid")
    return InboundMessage(
        channel=channel, account=account, external_id=str(message["mid"]),
        # Messaging events name nobody: the id stands in and never overwrites a name known from a comment.
        author=Author(id=sender, display_name=sender),
        text=text, sent_at=at, visibility="private", direction="outbound" if echo else "inbound",
        reply_to=(str(quoted),) if quoted else (), recipient_id=recipient if echo else None,
    )


def _whatsapp(entry: dict[str, Any], parsed: Parsed) -> None:
    for change in entry.get("changes") or ():
        if change.get("field") != "messages":
            continue
        value = change["value"]
        account = f"whatsapp:{value['metadata']['phone_number_id']}"
        names = {str(c["wa_id"]): (c.get("profile") or {}).get("name") for c in value.get("contacts") or ()}
        for message in value.get("messages") or ():
            sender = str(message["from"])
            context = message.get("context") or {}
            parsed.messages.append(InboundMessage(
                channel="whatsapp", account=account, external_id=str(message["id"]),
                author=Author(id=sender, display_name=names.get(sender) or sender, handle=f"+{sender}"),
                text=_whatsapp_text(message), sent_at=_moment(message["timestamp"]), visibility="private",
                reply_to=(str(context["id"]),) if context.get("id") else (),
            ))
        for status in value.get("statuses") or ():
            if status.get("status") in WHATSAPP_STATUSES:
                parsed.statuses.append(StatusUpdate(
                    channel="whatsapp", status=status["status"], at=_moment(status["timestamp"]),
                    external_id=str(status["id"]),
                    error=_whatsapp_error(status) if status["status"] == "failed" else None,
                ))


def _whatsapp_text(message: dict[str, Any]) -> str:
    kind = str(message.get("type") or "unknown")
    found = message.get(kind)
    content: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "text":
        return str(content["body"])
    if kind == "button" and content.get("text"):
        return str(content["text"])  # a quick-reply button of one of our templates
    if kind == "interactive":
        chosen = content.get("button_reply") or content.get("list_reply") or {}
        if chosen.get("title"):
            return str(chosen["title"])
    caption = content.get("caption")
    return f"[{kind}] {caption}" if caption else f"[{kind}]"


def _whatsapp_error(status: dict[str, Any]) -> str:
    errors = status.get("errors") or [{}]
    first = errors[0]
    title = first.get("title") or first.get("message") or "failed"
    return f"{title} (code {first['code']})" if first.get("code") is not None else str(title)


_OBJECTS: dict[str, Callable[[dict[str, Any], Parsed], None]] = {
    "page": _page, "instagram": _instagram, "whatsapp_business_account": _whatsapp,
}


def _moment(value: Any) -> datetime:
    """Meta's times: unix seconds (feed, WhatsApp, as strings there) or milliseconds (messaging)."""
    number = float(value)
    if number > 1e11:  # milliseconds: 1e11 seconds is the year 5138
        number /= 1000
    return datetime.fromtimestamp(number, tz=UTC)


# -- outbound -----------------------------------------------------------------------------------------


class _GraphChannel(ChannelAdapter):
    """What the senders share: the Graph API call, its errors, and the webhook parse (one body for all)."""

    def __init__(self, access_token: str, graph_url: str) -> None:
        self._token = access_token
        self._graph = graph_url.rstrip("/")

    def parse(self, body: bytes) -> Parsed:
        """What of a Meta webhook body is in this channel."""
        parsed = parse_webhook(body)
        return Parsed(messages=[m for m in parsed.messages if m.channel == self.channel],
                      statuses=[s for s in parsed.statuses if s.channel == self.channel])

    async def _post(self, client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> Any:
        response = await client.post(f"{self._graph}/{path}", json=payload,
                                     headers={"Authorization": f"Bearer {self._token}"})
        _raise_for_graph(response)
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"Meta accepted the message but answered no JSON: {response.text[:200]}") from exc


class FacebookComments(_GraphChannel):
    """A Page's comments in public; in private, Messenger: the private reply to a comment, then DMs."""

    channel = "facebook"
    comment_edge = "comments"  # POST /{comment id}/comments
    product = "Messenger"

    def recipient_platform(self, channel: str) -> str:
        return "messenger"

    def reply_channel(self, channel: str, visibility: Visibility) -> str:
        return "messenger" if visibility == "private" else "facebook"

    def needs_private_reply(self, context: ReplyContext) -> bool:
        # Until the customer writes in private, Meta allows one private reply to their comment, nothing else.
        return context.private_recipient_id is None or context.last_private_at is None

    def check_reply(self, context: ReplyContext) -> None:
        super().check_reply(context)
        if context.visibility == "public" or self.needs_private_reply(context):
            if context.last_public_external_id is None:
                raise InvalidRequest("The customer has no comment in this conversation to reply to.")
        elif context.last_private_at is not None and context.now - context.last_private_at > HUMAN_AGENT_WINDOW:
            raise InvalidRequest(f"The customer last wrote on {self.product} more than 7 days ago; Meta "
                                 "allows no message until they write again.")

    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        if request.visibility == "public":
            if not request.in_reply_to:
                raise PermanentError("no comment to reply to")
            answer = await self._post(client, f"{request.in_reply_to}/{self.comment_edge}",
                                      {"message": request.text})
            return SendResult(external_id=_id_of(answer, "id"))
        if request.private_reply_to_comment:
            if not request.in_reply_to:
                raise PermanentError("no comment to reply to in private")
            payload: dict[str, Any] = {"recipient": {"comment_id": request.in_reply_to}}
        elif request.recipient_id:
            payload = {"recipient": {"id": request.recipient_id}, **_messaging_type(request.last_private_at)}
        else:
            raise PermanentError(f"no {self.product} id for the customer")
        payload["message"] = {"text": request.text}
        answer = await self._post(client, f"{_owner(request.account)}/messages", payload)
        # A private reply's answer names the customer's PSID / IGSID: the sender links it to them.
        recipient = answer.get("recipient_id") if isinstance(answer, dict) else None
        return SendResult(external_id=_id_of(answer, "message_id"),
                          recipient_id=str(recipient) if recipient else None)


class Messenger(FacebookComments):
    """Messenger DMs of a Page: the same Page and rules (a Messenger conversation can still answer a later
    comment in public)."""

    channel = "messenger"


class Instagram(FacebookComments):
    """Instagram comments and DMs: one channel, one id (IGSID) for both; the rest as a Facebook Page."""

    channel = "instagram"
    comment_edge = "replies"  # POST /{ig comment id}/replies
    product = "Instagram"

    def recipient_platform(self, channel: str) -> str:
        return "instagram"

    def reply_channel(self, channel: str, visibility: Visibility) -> str:
        return "instagram"


class WhatsApp(_GraphChannel):
    channel = "whatsapp"
    supports = ("private",)

    def check_reply(self, context: ReplyContext) -> None:
        super().check_reply(context)
        last = context.last_private_at
        if not context.has_template and (last is None or context.now - last > STANDARD_WINDOW):
            raise InvalidRequest("The customer has not written on WhatsApp in the last 24 hours: outside the "
                                 "customer service window WhatsApp only allows a message template "
                                 "(send one in `template`).")

    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        if not request.recipient_id:
            raise PermanentError("no WhatsApp id for the customer")
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                   "to": request.recipient_id}
        if request.template is not None:
            payload.update(type="template", template=dict(request.template))
        else:
            payload.update(type="text", text={"body": request.text})
        answer = await self._post(client, f"{_owner(request.account)}/messages", payload)
        return SendResult(external_id=_id_of(answer, "messages", 0, "id"))


def _messaging_type(last_private_at: datetime | None) -> dict[str, str]:
    """Decided at send time: a reply queued inside the 24 h window may leave after it closed."""
    if last_private_at is not None and datetime.now(UTC) - last_private_at > STANDARD_WINDOW:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    return {"messaging_type": "RESPONSE"}


def _owner(account: str) -> str:
    """The Graph node of a brand account: "facebook:<page id>" → the Page id."""
    return account.split(":", 1)[1]


def _id_of(answer: Any, *path: str | int) -> str:
    try:
        for key in path:
            answer = answer[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise PermanentError(f"Meta answered without {'.'.join(map(str, path))}") from exc
    return str(answer)


def _raise_for_graph(response: httpx.Response) -> None:
    """Graph errors: ``{"error": {"message", "type", "code", "error_subcode", "is_transient"}}``."""
    if response.is_success:
        return
    if response.status_code == 429 or response.status_code >= 500:
        raise_for_platform_status(response)  # Retry-After (else 60 s) / retried with backoff
    error = _graph_error(response)
    code = error.get("code")
    if code in RATE_LIMIT_CODES:
        raise RateLimited(RATE_LIMIT_PAUSE_SECONDS, f"Meta rate limit (code {code})")
    if error.get("is_transient"):
        raise TransientError(f"Meta error {code}: {error.get('message')}")
    raise PermanentError(f"Meta refused the message ({response.status_code}, code {code}): "
                         f"{error.get('message') or response.text[:300]}")


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}
