"""How the read model's rows are shown: conversations, messages and timeline entries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import RowMapping

from sportello_gateway.schemas import (
    AgentOut,
    AssignmentChangeOut,
    AssignmentOut,
    AuthorOut,
    ConversationOut,
    CustomerOut,
    FactorOut,
    MessageOut,
    NoteOut,
    ScoreOut,
    SentimentOut,
    SlaOut,
    StatusChangeOut,
    TagsChangeOut,
    TimelineEntryOut,
)


def conversation(row: RowMapping) -> ConversationOut:
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
        snoozed_until=row["snoozed_until"],
        assignment=AssignmentOut(state=row["assignment_state"], agent=agent,
                                 assigned_at=row["assigned_at"]),
        team=row["team"],
        tags=list(row["tags"]),
        priority=row["priority"],
        priority_band=row["priority_band"],
        sla=SlaOut.model_validate(row["sla"]) if row["sla"] else None,
        sentiment=sentiment,
        opened_at=row["opened_at"],
        last_message_at=row["last_message_at"],
        message_count=row["message_count"],
        first_response_at=row["first_response_at"],
    )


def message(row: RowMapping) -> MessageOut:
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


def timeline_entry(row: RowMapping, messages: Mapping[uuid.UUID, RowMapping]) -> TimelineEntryOut | None:
    """None for a message entry whose message is not shown (cannot happen once written, since
    the entry is added with the message; guarded all the same)."""
    kind, detail = row["kind"], row["detail"]
    entry = TimelineEntryOut(id=row["id"], kind=kind, at=row["occurred_at"])
    if kind == "message":
        stored = messages.get(row["message_id"])
        if stored is None:
            return None
        entry.message = message(stored)
    elif kind == "assignment":
        entry.assignment = AssignmentChangeOut.model_validate(detail)
    elif kind == "status":
        entry.status = StatusChangeOut.model_validate(detail)
    elif kind == "note":
        entry.note = NoteOut(id=row["id"], conversation_id=row["conversation_id"],
                             author=detail["author"], text=detail["text"],
                             created_at=row["occurred_at"])
    elif kind == "tags":
        entry.tags = TagsChangeOut.model_validate(detail)
    return entry
