"""Agent replies: checked against the channel's rules, stored as pending, queued for the sender.

The checks a platform would make later (visibility, length, WhatsApp's 24-hour window, the one private reply
per comment) are made here, so the agent gets a clear 4xx now instead of a failed message minutes later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sportello.contracts import ReplyRequested
from sportello.db import Tx
from sportello.http.problems import Conflict, InvalidRequest, NotFound
from sportello_ingest.channels.base import ChannelAdapter, ReplyContext, SendRequest
from sportello_ingest.channels.registry import Channels
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import ReplyIn

PRIVATE_REPLY_FLAG = "private_reply"


async def queue_reply(tx: Tx, channels: Channels, conversation_id: uuid.UUID, reply: ReplyIn,
                      now: datetime) -> uuid.UUID:
    repo = IngestRepository(tx.session)
    conversation = await repo.conversation(conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    adapter = channels.for_channel(conversation.channel)
    text = signed(reply.text, reply.signature, conversation.channel)
    last_public = await repo.last_inbound(conversation_id, "public")
    last_private = await repo.last_inbound(conversation_id, "private")
    recipient = await repo.identity_of(conversation.customer_id,
                                       adapter.recipient_platform(conversation.channel))
    context = ReplyContext(
        visibility=reply.visibility, text=text, has_template=reply.template is not None,
        last_public_external_id=last_public["external_id"] if last_public else None,
        last_private_at=last_private["sent_at"] if last_private else None,
        private_recipient_id=recipient, now=now)
    adapter.check_reply(context)
    channel = adapter.reply_channel(conversation.channel, reply.visibility)

    target = await _target(repo, reply, conversation_id, last_public, last_private)
    message_id = uuid.uuid4()
    flags: list[str] = []
    if reply.visibility == "private" and adapter.needs_private_reply(context) and target is not None:
        # No private thread with the customer yet: the platform's one private reply to their comment.
        if not await repo.claim_private_reply(conversation.channel, target, message_id):
            raise Conflict("This comment already had its one private reply; wait for the customer to "
                           "answer in private.")
        flags.append(PRIVATE_REPLY_FLAG)
    subject = _reply_subject(last_private["subject"] if last_private else None)
    await repo.insert_message(dict(
        id=message_id, conversation_id=conversation_id, customer_id=conversation.customer_id,
        channel=channel, account=conversation.account, external_id=None,
        direction="outbound", visibility=reply.visibility, author_id=f"agent:{reply.agent_id or 'unknown'}",
        text=text, sent_at=now, received_at=now, reply_to=target, flags=flags, subject=subject,
        delivery_status="pending", agent_id=reply.agent_id, template=reply.template))
    await repo.enqueue(message_id, conversation.account, now)
    await tx.outbox.add(ReplyRequested(
        message_id=message_id, conversation_id=conversation_id, customer_id=conversation.customer_id,
        channel=channel, account=conversation.account, visibility=reply.visibility,
        text=text, agent_id=reply.agent_id, requested_at=now), subject=str(conversation_id))
    return message_id


def signed(text: str, signature: str | None, channel: str) -> str:
    """The reply as the customer reads it: with the agent's sign-off in the channel's custom, so a
    customer talking to a team still knows who owns their case."""
    if signature is None:
        return text
    if channel == "x":  # care teams on X sign with a caret and initials: "... ^GR"
        return f"{text} {signature if signature.startswith('^') else '^' + signature}"
    if channel == "email":
        return f"{text}\n\n{signature}"
    return f"{text}\n— {signature}"


async def send_request(repo: IngestRepository, adapter: ChannelAdapter,
                       message: dict[str, Any]) -> SendRequest:
    """What the platform call needs, from the stored reply (the sender builds it just before sending)."""
    conversation_id, channel = message["conversation_id"], message["channel"]
    private_reply = PRIVATE_REPLY_FLAG in (message["flags"] or [])
    recipient = (None if private_reply
                 else await repo.identity_of(message["customer_id"], adapter.recipient_platform(channel)))
    last_private = await repo.last_inbound(conversation_id, "private")
    return SendRequest(
        message_id=message["id"], channel=channel, account=message["account"],
        visibility=message["visibility"], text=message["text"], recipient_id=recipient,
        in_reply_to=message["reply_to"], private_reply_to_comment=private_reply,
        references=tuple(await repo.external_ids_of(conversation_id)),
        subject=message["subject"], template=message["template"],
        last_private_at=last_private["sent_at"] if last_private else None,
    )


async def _target(repo: IngestRepository, reply: ReplyIn, conversation_id: uuid.UUID,
                  last_public: dict[str, object] | None, last_private: dict[str, object] | None) -> str | None:
    if reply.in_reply_to_message_id is not None:
        answered = await repo.message(reply.in_reply_to_message_id)
        if answered is None or answered["conversation_id"] != conversation_id:
            raise InvalidRequest("in_reply_to_message_id is not a message of this conversation.")
        if answered["external_id"] is None:
            raise InvalidRequest("That message has not reached its platform yet; it cannot be answered.")
        return str(answered["external_id"])
    latest = last_public if reply.visibility == "public" else (last_private or last_public)
    return str(latest["external_id"]) if latest and latest["external_id"] else None


def _reply_subject(subject: str | None) -> str | None:
    if subject is None:
        return None
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"
