"""The gateway's rules for the events: how each one updates the read model and the timeline.
(How the read model is shown: queries.py; notes and tags: notes_and_tags.py.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog

from sportello.contracts import (
    ConversationAssigned,
    ConversationEscalated,
    ConversationPrioritised,
    ConversationQueued,
    ConversationStatusChanged,
    MessageDeliveryUpdated,
    MessageReceived,
    MessageScored,
    ReplyRequested,
    SlaStage,
    StatusReason,
)
from sportello.db import Tx
from sportello_gateway.repository import GatewayRepository
from sportello_gateway.schemas import (
    AgentOut,
    AssignmentChangeOut,
    ConversationCounts,
    FirstResponseSeconds,
    MetricsSummary,
    StatusChangeOut,
    Volume,
)
from sportello_gateway.timeline import TimelineRepository

log = structlog.get_logger(__name__)

# The list's SLA filter in three words. The priority service's stages split the allowed business
# time at 50/75/90/100 %; an agent cares whether to act now: still fine (under 75 %), at risk
# (75 % or more, not yet missed), or breached. No clock running reads as NULL ("none").
_SLA_STATE: dict[str, str] = {"on_track": "ok", "halfway": "ok", "at_risk": "at_risk",
                              "critical": "at_risk", "breached": "breached"}


def sla_state_of(stage: SlaStage | None) -> str | None:
    return _SLA_STATE[stage] if stage is not None else None

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
    await _message_known(tx, repo, event.message_id, event.conversation_id, event.customer_id,
                         event.sent_at)


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
    await _message_known(tx, repo, event.message_id, event.conversation_id, event.customer_id,
                         event.requested_at)


async def _message_known(tx: Tx, repo: GatewayRepository, message_id: uuid.UUID,
                         conversation_id: uuid.UUID, customer_id: uuid.UUID,
                         sent_at: datetime) -> None:
    await repo.ensure_conversation(conversation_id, customer_id)
    await repo.recompute_from_messages(conversation_id)  # locks the row: the next two are safe
    await repo.recompute_search_document(conversation_id)
    # Keyed by the message's id: the same message again (any envelope) adds no second entry.
    await TimelineRepository(tx.session).add(entry_id=message_id, conversation_id=conversation_id,
                                             kind="message", occurred_at=sent_at,
                                             message_id=message_id)


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
    # After raise_priority, which holds the conversation's row lock.
    await repo.recompute_sentiment(event.conversation_id)


async def record_prioritised(tx: Tx, event: ConversationPrioritised) -> None:
    await GatewayRepository(tx.session).apply_priority(
        event.conversation_id, event.customer_id, event.sequence,
        dict(priority=event.priority, priority_band=event.band,
             priority_breakdown=[f.model_dump(mode="json") for f in event.breakdown],
             sla=event.sla.model_dump(mode="json") if event.sla else None,
             sla_deadline=event.sla.deadline if event.sla else None,
             sla_state=sla_state_of(event.sla.stage if event.sla else None),
             sentiment_trajectory=event.trajectory.model_dump(mode="json")
             if event.trajectory else None),
    )


async def record_assigned(tx: Tx, event: ConversationAssigned, event_id: uuid.UUID) -> None:
    agent = event.agent
    await _record_assignment(
        tx, event.conversation_id, event.customer_id, event.sequence,
        dict(assignment_state="assigned", agent_id=agent.id, agent_name=agent.name,
             agent_team=agent.team, team=agent.team, assigned_at=event.assigned_at),
    )
    change = AssignmentChangeOut(
        action="transferred" if event.reason == "transfer" else "assigned",
        agent=AgentOut(id=agent.id, name=agent.name, team=agent.team), agent_id=agent.id,
        team=agent.team, reason=event.reason, previous_agent_id=event.previous_agent_id,
        note=None)
    await _timeline_assignment(tx, event_id, event.conversation_id, event.assigned_at,
                               event.sequence, change)


async def record_queued(tx: Tx, event: ConversationQueued, event_id: uuid.UUID) -> None:
    # Queued for a team (or for nobody in particular): that team's agents see it meanwhile.
    await _record_assignment(
        tx, event.conversation_id, event.customer_id, event.sequence,
        dict(assignment_state="queued", agent_id=None, agent_name=None, agent_team=None,
             team=event.team, assigned_at=None),
    )
    change = AssignmentChangeOut(action="queued", agent=None, agent_id=None, team=event.team,
                                 reason=event.reason, previous_agent_id=event.previous_agent_id,
                                 note=event.note)
    await _timeline_assignment(tx, event_id, event.conversation_id, event.queued_at,
                               event.sequence, change)


async def record_escalated(tx: Tx, event: ConversationEscalated, event_id: uuid.UUID) -> None:
    """Only a timeline entry: who holds the conversation does not change."""
    change = AssignmentChangeOut(action="escalated", agent=None, agent_id=event.agent_id,
                                 team=None, reason=event.stage, previous_agent_id=None, note=None)
    await _timeline_assignment(tx, event_id, event.conversation_id, event.at, event.sequence,
                               change)


async def record_status_changed(tx: Tx, event: ConversationStatusChanged,
                                event_id: uuid.UUID) -> None:
    applied = await GatewayRepository(tx.session).apply_status(
        event.conversation_id, event.customer_id, event.sequence,
        dict(status=event.status, resolved_at=event.at if event.status == "resolved" else None,
             snoozed_until=event.snoozed_until if event.status == "snoozed" else None),
    )
    if not applied:
        log.info("status.stale_ignored", conversation_id=str(event.conversation_id),
                 sequence=event.sequence)
    # The history keeps every change, even one a newer state already superseded.
    change = StatusChangeOut(action=_STATUS_ACTION[event.reason], reason=event.reason,
                             by=_STATUS_BY.get(event.reason), snoozed_until=event.snoozed_until)
    await TimelineRepository(tx.session).add(
        entry_id=event_id, conversation_id=event.conversation_id, kind="status",
        occurred_at=event.at, sequence=event.sequence, detail=change.model_dump(mode="json"))


# The event names no actor; its reason says as much as is known.
_STATUS_BY: dict[str, Any] = {"reopened_by_customer": "customer", "continued_in_private": "customer",
                              "reopened_by_agent": "agent", "snoozed": "agent",
                              "unsnoozed_by_customer": "customer", "unsnoozed_by_agent": "agent"}
_STATUS_ACTION: dict[StatusReason, Any] = {
    "resolved": "resolved", "reopened_by_customer": "reopened", "reopened_by_agent": "reopened",
    "continued_in_private": "reopened", "snoozed": "snoozed", "unsnoozed_by_customer": "unsnoozed",
    "unsnoozed_by_agent": "unsnoozed", "snooze_ended": "unsnoozed"}


async def _record_assignment(tx: Tx, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                             sequence: int, values: dict[str, Any]) -> None:
    applied = await GatewayRepository(tx.session).apply_assignment(
        conversation_id, customer_id, sequence, values
    )
    if not applied:
        log.info("assignment.stale_ignored", conversation_id=str(conversation_id),
                 sequence=sequence)


async def _timeline_assignment(tx: Tx, event_id: uuid.UUID, conversation_id: uuid.UUID,
                               at: datetime, sequence: int, change: AssignmentChangeOut) -> None:
    await TimelineRepository(tx.session).add(
        entry_id=event_id, conversation_id=conversation_id, kind="assignment", occurred_at=at,
        sequence=sequence, detail=change.model_dump(mode="json"))


# -- read model -> API (the conversations themselves: queries.py) -------------------------------


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


