"""What agents add to a conversation here: internal notes and tags. Stored in the gateway, shown in
the timeline, and published after commit (conversation.note_added, conversation.tags_changed) so
webhooks can mirror them. Works inside the endpoint's transaction; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import structlog

from sportello.contracts import ConversationNoteAdded, ConversationTagsChanged
from sportello.db import Tx
from sportello.http.auth import Principal
from sportello.http.problems import Conflict, InvalidRequest
from sportello_gateway.repository import GatewayRepository
from sportello_gateway.schemas import MAX_TAGS, NoteOut, TagsOut, normalise_tag
from sportello_gateway.scope import visible_conversation
from sportello_gateway.timeline import TimelineRepository

log = structlog.get_logger(__name__)

TagChange = Callable[[set[str]], set[str]]

def actor_of(principal: Principal) -> str:
    """Who did it, for the record: the agent, else the token's subject, else which API key."""
    return principal.agent_id or principal.subject or f"api-key:{principal.token_hint}"


async def add_note(tx: Tx, principal: Principal, conversation_id: uuid.UUID,
                   text: str) -> NoteOut:
    conversation = await visible_conversation(GatewayRepository(tx.session), principal,
                                              conversation_id)
    note = NoteOut(id=uuid.uuid4(), conversation_id=conversation_id, author=actor_of(principal),
                   text=text, created_at=datetime.now(UTC))
    await TimelineRepository(tx.session).add(
        entry_id=note.id, conversation_id=conversation_id, kind="note",
        occurred_at=note.created_at, detail={"author": note.author, "text": note.text})
    await tx.outbox.add(
        ConversationNoteAdded(note_id=note.id, conversation_id=conversation_id,
                              customer_id=conversation["customer_id"], author=note.author,
                              text=note.text, at=note.created_at),
        subject=str(conversation_id))
    log.info("note.added", conversation_id=str(conversation_id), note_id=str(note.id),
             author=note.author, length=len(text))
    return note


async def replace_tags(tx: Tx, principal: Principal, conversation_id: uuid.UUID,
                       tags: Iterable[str]) -> TagsOut:
    return await _change_tags(tx, principal, conversation_id, lambda _: set(tags))


async def add_tags(tx: Tx, principal: Principal, conversation_id: uuid.UUID,
                   tags: Iterable[str]) -> TagsOut:
    return await _change_tags(tx, principal, conversation_id, lambda old: old | set(tags))


async def remove_tag(tx: Tx, principal: Principal, conversation_id: uuid.UUID,
                     raw_tag: str) -> TagsOut:
    try:
        tag = normalise_tag(raw_tag)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    return await _change_tags(tx, principal, conversation_id, lambda old: old - {tag})


async def _change_tags(tx: Tx, principal: Principal, conversation_id: uuid.UUID,
                       change: TagChange) -> TagsOut:
    repo = GatewayRepository(tx.session)
    # Locked: two changes at once apply one after the other, neither loses the other's tags.
    conversation = await visible_conversation(repo, principal, conversation_id, lock=True)
    old = set(conversation["tags"])
    new = change(old)
    if len(new) > MAX_TAGS:
        raise Conflict(f"A conversation holds at most {MAX_TAGS} tags; this change would leave "
                       f"{len(new)}.", limit=MAX_TAGS)
    tags = sorted(new)
    if new != old:
        added, removed = sorted(new - old), sorted(old - new)
        at, actor = datetime.now(UTC), actor_of(principal)
        await repo.set_tags(conversation_id, tags)
        detail = {"tags": tags, "added": added, "removed": removed, "actor": actor}
        await TimelineRepository(tx.session).add(entry_id=uuid.uuid4(),
                                                 conversation_id=conversation_id, kind="tags",
                                                 occurred_at=at, detail=detail)
        await tx.outbox.add(
            ConversationTagsChanged(conversation_id=conversation_id,
                                    customer_id=conversation["customer_id"], tags=tuple(tags),
                                    added=tuple(added), removed=tuple(removed), actor=actor,
                                    at=at),
            subject=str(conversation_id))
        log.info("tags.changed", conversation_id=str(conversation_id), added=added,
                 removed=removed, actor=actor)
    return TagsOut(conversation_id=conversation_id, tags=tags)
