"""The gateway's rules: how each event updates the read model, and how the read model is shown."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from sportello.contracts import (
    ConversationAssigned,
    ConversationPrioritised,
    ConversationQueued,
    ConversationStatusChanged,
    MessageDeliveryUpdated,
    MessageReceived,
    MessageScored,
    ReplyRequested,
)
from sportello.db import Tx
from sportello.http.problems import NotFound
from sportello_gateway import cursor
from sportello_gateway.repository import Assignee, GatewayRepository
from sportello_gateway.schemas import (
    AgentOut,
    AssignmentOut,
    AuthorOut,
    ConversationCounts,
    ConversationDetail,
    ConversationOut,
    ConversationPage,
    CustomerOut,
    FactorOut,
    FirstResponseSeconds,
    MessageOut,
    MetricsSummary,
    ScoreOut,
    SentimentOut,
    SlaOut,
    TrajectoryOut,
    Volume,
)

log = structlog.get_logger(__name__)

# -- events -> read model -----------------------------------------------------------------------


async def record_received(tx: Tx, event: MessageReceived) -> None:
    repo = GatewayRepository(tx.session)
    await repo.upsert_received_message(
        dict(id=event.message_id, conversation_id=event.conversation_id, channel=event.channel,
             sent_at=event.sent_at, external_id=event.external_id, direction=event.direction,
             author_id=event.author.id, author_display_name=event.author.display_name,
             text=event.text, received_at=event.received_at, account=event.account,
             visibility=event.visibility, flags=list(event.flags))
    )
    await repo.ensure_conversation(event.conversation_id, event.customer_id)
    await repo.recompute_from_messages(event.conversation_id)


async def record_reply_requested(tx: Tx, event: ReplyRequested) -> None:
    repo = GatewayRepository(tx.session)
    # Ingest stores the reply as accepted (received_at) and placed in the conversation (sent_at)
    # when it was requested; when it really went out comes with its delivery updates.
    await repo.upsert_requested_reply(
        dict(id=event.message_id, conversation_id=event.conversation_id, channel=event.channel,
             sent_at=event.requested_at, direction="outbound", text=event.text,
             received_at=event.requested_at, account=event.account, visibility=event.visibility,
             agent_reply=True, agent_id=event.agent_id)
    )
    await repo.ensure_conversation(event.conversation_id, event.customer_id)
    await repo.recompute_from_messages(event.conversation_id)


async def record_delivery(tx: Tx, event: MessageDeliveryUpdated) -> None:
    repo = GatewayRepository(tx.session)
    went_out = event.status in ("sent", "delivered", "read")
    # channel and sent_at only fill a placeholder (the update came before its message); the
    # message's own event overwrites them.
    await repo.upsert_delivery(
        dict(id=event.message_id, conversation_id=event.conversation_id, channel=event.channel,
             sent_at=event.at, external_id=event.external_id, delivery_status=event.status,
             delivery_error=event.error, dispatched_at=event.at if went_out else None)
    )
    # The first response may have changed. The event names no customer, so it cannot create the
    # conversation; if none exists yet, the reply is not known either and its own event
    # recomputes.
    await repo.recompute_from_messages(event.conversation_id)


async def record_scored(tx: Tx, event: MessageScored) -> None:
    repo = GatewayRepository(tx.session)
    await repo.upsert_scored_message(
        dict(id=event.message_id, conversation_id=event.conversation_id, channel=event.channel,
             sent_at=event.sent_at, score=event.score, sentiment_label=event.sentiment.label,
             sentiment_score=event.sentiment.score,
             breakdown=[factor.model_dump(mode="json") for factor in event.breakdown],
             scorer=event.scorer)
    )
    # The priority service defines a conversation's priority as its highest open score, so it
    # only grows while the conversation is open: the maximum seen is the latest, whatever order
    # the scored events arrive in.
    await repo.raise_priority(event.conversation_id, event.customer_id,
                              event.conversation_priority)


async def record_prioritised(tx: Tx, event: ConversationPrioritised) -> None:
    await GatewayRepository(tx.session).apply_priority(
        event.conversation_id, event.customer_id, event.sequence,
        dict(priority=event.priority, priority_band=event.band,
             priority_breakdown=[f.model_dump(mode="json") for f in event.breakdown],
             sla=event.sla.model_dump(mode="json") if event.sla else None,
             sla_deadline=event.sla.deadline if event.sla else None,
             sentiment_trajectory=event.trajectory.model_dump(mode="json")
             if event.trajectory else None),
    )


async def record_assigned(tx: Tx, event: ConversationAssigned) -> None:
    await _record_assignment(
        tx, event.conversation_id, event.customer_id, event.sequence,
        dict(assignment_state="assigned", agent_id=event.agent.id, agent_name=event.agent.name,
             agent_team=event.agent.team, assigned_at=event.assigned_at),
    )


async def record_queued(tx: Tx, event: ConversationQueued) -> None:
    await _record_assignment(
        tx, event.conversation_id, event.customer_id, event.sequence,
        dict(assignment_state="queued", agent_id=None, agent_name=None, agent_team=None,
             assigned_at=None),
    )


async def record_status_changed(tx: Tx, event: ConversationStatusChanged) -> None:
    applied = await GatewayRepository(tx.session).apply_status(
        event.conversation_id, event.customer_id, event.sequence,
        dict(status=event.status, resolved_at=event.at if event.status == "resolved" else None),
    )
    if not applied:
        log.info("status.stale_ignored", conversation_id=str(event.conversation_id),
                 sequence=event.sequence)


async def _record_assignment(tx: Tx, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                             sequence: int, values: dict[str, Any]) -> None:
    applied = await GatewayRepository(tx.session).apply_assignment(
        conversation_id, customer_id, sequence, values
    )
    if not applied:
        log.info("assignment.stale_ignored", conversation_id=str(conversation_id),
                 sequence=sequence)


# -- read model -> API --------------------------------------------------------------------------


async def list_conversations(tx: Tx, *, status: str | None, assignee: Assignee | None,
                             limit: int, cursor_text: str | None) -> ConversationPage:
    after = cursor.decode(cursor_text) if cursor_text is not None else None
    # One row more than asked tells whether another page exists without a count.
    rows = await GatewayRepository(tx.session).list_conversations(
        status=status, assignee=assignee, after=after, limit=limit + 1
    )
    items = [_conversation(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursor.encode(
            cursor.Position(priority=last["priority"], opened_at=last["opened_at"], id=last["id"])
        )
    return ConversationPage(items=items, next_cursor=next_cursor)


async def get_conversation(tx: Tx, conversation_id: uuid.UUID) -> ConversationDetail:
    repo = GatewayRepository(tx.session)
    row = await repo.get_conversation(conversation_id)
    if row is None:
        raise NotFound(f"No conversation {conversation_id}.")
    messages = [_message(message) for message in await repo.conversation_messages(conversation_id)]
    breakdown = row["priority_breakdown"]
    trajectory = row["sentiment_trajectory"]
    return ConversationDetail(
        **_conversation(row).model_dump(), messages=messages,
        priority_breakdown=[FactorOut.model_validate(f) for f in breakdown] if breakdown else None,
        sentiment_trajectory=TrajectoryOut.model_validate(trajectory) if trajectory else None,
    )


async def metrics_summary(tx: Tx, since: datetime) -> MetricsSummary:
    repo = GatewayRepository(tx.session)
    inbound = outbound = 0
    by_channel: dict[str, int] = {}
    for row in await repo.volume_since(since):
        if row["direction"] == "inbound":
            inbound += row["count"]
            by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + row["count"]
        else:
            outbound += row["count"]
    states = await repo.open_counts()
    stats = await repo.first_response_stats(since)
    return MetricsSummary(
        since=since,
        volume=Volume(inbound=inbound, outbound=outbound, by_channel=by_channel),
        conversations=ConversationCounts(
            open=sum(states.values()), unassigned=states.get("unassigned", 0),
            queued=states.get("queued", 0), assigned=states.get("assigned", 0),
        ),
        first_response_seconds=FirstResponseSeconds(
            count=stats["count"], median=stats["median"], p90=stats["p90"], mean=stats["mean"]
        ),
    )


def _conversation(row: RowMapping) -> ConversationOut:
    agent = None
    if row["agent_id"] is not None:
        agent = AgentOut(id=row["agent_id"], name=row["agent_name"], team=row["agent_team"])
    sentiment = None
    if row["sentiment_label"] is not None:
        sentiment = SentimentOut(label=row["sentiment_label"], score=row["sentiment_score"])
    return ConversationOut(
        id=row["id"],
        customer=CustomerOut(id=row["customer_id"], display_name=row["customer_display_name"]),
        channel=row["channel"],
        status=row["status"],
        resolved_at=row["resolved_at"],
        assignment=AssignmentOut(state=row["assignment_state"], agent=agent,
                                 assigned_at=row["assigned_at"]),
        priority=row["priority"],
        priority_band=row["priority_band"],
        sla=SlaOut.model_validate(row["sla"]) if row["sla"] else None,
        sentiment=sentiment,
        opened_at=row["opened_at"],
        last_message_at=row["last_message_at"],
        message_count=row["message_count"],
        first_response_at=row["first_response_at"],
    )


def _message(row: RowMapping) -> MessageOut:
    score = None
    if row["score"] is not None:
        score = ScoreOut(
            value=row["score"],
            sentiment=SentimentOut(label=row["sentiment_label"], score=row["sentiment_score"]),
            breakdown=[FactorOut(**factor) for factor in row["breakdown"]],
            scorer=row["scorer"],
        )
    author = None
    if row["author_id"] is not None:
        author = AuthorOut(id=row["author_id"], display_name=row["author_display_name"])
    return MessageOut(
        id=row["id"], channel=row["channel"], external_id=row["external_id"],
        direction=row["direction"], author=author, agent_id=row["agent_id"],
        account=row["account"], visibility=row["visibility"], flags=row["flags"],
        text=row["text"], sent_at=row["sent_at"], delivery_status=_delivery_status(row),
        delivery_error=row["delivery_error"], score=score,
    )


def _delivery_status(row: RowMapping) -> str | None:
    """The stored status once an update came; before that, what the message's own event says:
    a reply waits to be sent, an outbound message seen on the platform was sent."""
    if row["delivery_status"] is not None:
        return str(row["delivery_status"])
    if row["agent_reply"]:
        return "pending"
    return "sent" if row["direction"] == "outbound" else None
