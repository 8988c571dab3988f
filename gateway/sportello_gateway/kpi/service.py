"""The KPI rules: how each event moves a conversation's facts and its share of the buckets, how a
report is read from the buckets, CSAT answers, and the set-based rebuild."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import structlog
from sqlalchemy import RowMapping

from sportello.contracts import (
    AgentPresenceChanged,
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
from sportello.http.problems import InvalidRequest, NotFound
from sportello_gateway.kpi import histogram, metrics
from sportello_gateway.kpi.repository import GroupBy, KpiRepository, Slice
from sportello_gateway.kpi.schemas import (
    AgentKpis,
    Backlog,
    ConversationKpis,
    CsatIn,
    CsatKpis,
    CsatOut,
    Durations,
    Group,
    KpiReport,
    KpiSet,
    MessageKpis,
    Rate,
    SentimentKpis,
    SlaKpis,
    Transition,
    VolumePoint,
)
from sportello_gateway.kpi.sql import LABELS

log = structlog.get_logger(__name__)

MAX_PERIOD = timedelta(days=366)
Change = Callable[[KpiRepository], Awaitable[None]]

# -- events -> facts -> buckets -----------------------------------------------------------------


async def _change(tx: Tx, conversation_id: uuid.UUID, customer_id: uuid.UUID | None,
                  change: Change) -> None:
    """Take the conversation's contribution out of the buckets, record the input, recompute its
    facts, put the new contribution back: all in the handler's transaction, under the row lock,
    so the buckets always equal the sum of the facts."""
    repo = KpiRepository(tx.session)
    ids = [conversation_id]
    await repo.lock_conversation(conversation_id, customer_id)
    await repo.add_contributions(ids, -1)
    await change(repo)
    await repo.recompute_facts(ids)
    await repo.add_contributions(ids, +1)


async def record_received(tx: Tx, event: MessageReceived) -> None:
    async def change(repo: KpiRepository) -> None:
        await repo.upsert_message(dict(
            id=event.message_id, conversation_id=event.conversation_id, channel=event.channel,
            direction=event.direction, sent_at=event.sent_at, agent_reply=False))

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_reply_requested(tx: Tx, event: ReplyRequested) -> None:
    async def change(repo: KpiRepository) -> None:
        # The reply takes its place in the conversation when requested; it answers the customer
        # only once it went out (its delivery updates).
        await repo.upsert_message(dict(
            id=event.message_id, conversation_id=event.conversation_id, channel=event.channel,
            direction="outbound", sent_at=event.requested_at, agent_reply=True))

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_delivery(tx: Tx, event: MessageDeliveryUpdated) -> None:
    went_out = event.status in ("sent", "delivered", "read")

    async def change(repo: KpiRepository) -> None:
        await repo.upsert_delivery(event.message_id, event.conversation_id,
                                   event.at if went_out else None, event.status == "failed")

    await _change(tx, event.conversation_id, None, change)


async def record_scored(tx: Tx, event: MessageScored) -> None:
    async def change(repo: KpiRepository) -> None:
        await repo.upsert_sentiment(event.message_id, event.conversation_id,
                                    event.sentiment.label)

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_prioritised(tx: Tx, event: ConversationPrioritised) -> None:
    sla = event.sla
    if sla is None or sla.kind == "next_response":
        return  # next-response clocks are not reported as an SLA rate (yet); nothing changes
    kind, deadline = sla.kind, sla.deadline
    # Priority re-sends the running clock with every score and checkpoint: most of these events
    # repeat the stored deadline, and then only the sequence moves (no fact can change), which
    # spares the bucket move. Decided under the conversation's lock, so no change can slip
    # between the read and the write.
    repo = KpiRepository(tx.session)
    await repo.lock_conversation(event.conversation_id, event.customer_id)
    stored_deadline, stored_sequence = await repo.sla_state(event.conversation_id, kind)
    if stored_sequence is not None and stored_sequence >= event.sequence:
        return  # stale
    if stored_deadline == deadline:
        await repo.apply_sla(event.conversation_id, kind, event.sequence, deadline)
        return

    async def change(repo: KpiRepository) -> None:
        await repo.apply_sla(event.conversation_id, kind, event.sequence, deadline)

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_assigned(tx: Tx, event: ConversationAssigned) -> None:
    async def change(repo: KpiRepository) -> None:
        await repo.add_assignment(dict(
            conversation_id=event.conversation_id, sequence=event.sequence, kind="assigned",
            agent_id=event.agent.id, team=event.agent.team, at=event.assigned_at))

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_queued(tx: Tx, event: ConversationQueued) -> None:
    async def change(repo: KpiRepository) -> None:
        await repo.add_assignment(dict(
            conversation_id=event.conversation_id, sequence=event.sequence, kind="queued",
            agent_id=None, team=event.team, at=event.queued_at))

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_status_changed(tx: Tx, event: ConversationStatusChanged) -> None:
    async def change(repo: KpiRepository) -> None:
        await repo.add_status_change(dict(
            conversation_id=event.conversation_id, sequence=event.sequence, status=event.status,
            at=event.at))

    await _change(tx, event.conversation_id, event.customer_id, change)


async def record_presence(tx: Tx, event: AgentPresenceChanged) -> None:
    """Store the change and move the buckets: the change splits the interval of the agent's
    previous one (by sequence), so that interval's contribution leaves and the two new ones come
    in, under the agent's lock. A late, older change lands in its place the same way; a repeat
    changes nothing."""
    repo = KpiRepository(tx.session)
    values = dict(agent_id=event.agent_id, sequence=event.sequence, presence=event.presence,
                  capacity=event.capacity, team=event.team, at=event.at)
    await repo.lock_agent(values)
    if await repo.presence_known(event.agent_id, event.sequence):
        return
    previous = await repo.presence_before(event.agent_id, event.sequence)
    low = event.sequence if previous is None else previous
    await repo.add_presence_contributions(event.agent_id, low, event.sequence, -1)
    await repo.add_presence(values)
    await repo.add_presence_contributions(event.agent_id, low, event.sequence, +1)
    log.info("kpi.presence_recorded", agent_id=str(event.agent_id), sequence=event.sequence,
             presence=event.presence, capacity=event.capacity)


async def record_csat(tx: Tx, conversation_id: uuid.UUID, answer: CsatIn,
                      at: datetime) -> CsatOut:
    """One answer per conversation: a second one replaces the first, in the buckets too."""
    repo = KpiRepository(tx.session)
    if not await repo.conversation_known(conversation_id):
        raise NotFound(f"No conversation {conversation_id}.")

    async def change(repo: KpiRepository) -> None:
        await repo.set_csat(conversation_id, answer.score, answer.comment, at)

    await _change(tx, conversation_id, None, change)
    metrics.CSAT_ANSWERS.labels(score=str(answer.score)).inc()
    log.info("kpi.csat_recorded", conversation_id=str(conversation_id), score=answer.score)
    return CsatOut(conversation_id=str(conversation_id), score=answer.score,
                   comment=answer.comment, answered_at=at)


# -- rebuild ------------------------------------------------------------------------------------


async def rebuild(tx: Tx, since: datetime | None = None) -> int:
    """Recompute facts and buckets from the gateway's read model (plus the history the KPI
    inputs already hold, and the agents' stored presence changes), set-based: for a backfill, a
    repair after a schema change, or a data set loaded straight into the read model. ``since``:
    only the conversations with activity since then (presence buckets are left as they are).
    Returns how many conversations were recomputed (-1 for all)."""
    started = time.perf_counter()
    repo = KpiRepository(tx.session)
    await repo.use_memory_for_bulk_work()
    if since is None:
        await repo.merge_read_model(None)
        await repo.clear_buckets()
        await repo.recompute_facts(None)
        await repo.add_contributions(None, +1)
        await repo.refresh_latest_presence()
        await repo.add_presence_contributions(None, 0, 0, +1)
        count = -1
    else:
        # Contributions are computed from the stored inputs, so the old ones leave the buckets
        # before the read model's copy changes those inputs. Presence buckets stay: the read
        # model holds no presence, so nothing merged here can change them.
        ids = await repo.conversations_touched_since(since)
        await repo.add_contributions(ids, -1)
        await repo.merge_read_model(since)
        await repo.recompute_facts(ids)
        await repo.add_contributions(ids, +1)
        await repo.drop_empty_buckets()
        count = len(ids)
    seconds = time.perf_counter() - started
    metrics.REBUILD_SECONDS.set(seconds)
    log.info("kpi.rebuilt", since=since.isoformat() if since else None, conversations=count,
             seconds=round(seconds, 3))
    return count


# -- buckets -> report --------------------------------------------------------------------------


def check_period(start: datetime, end: datetime) -> None:
    if start >= end:
        raise InvalidRequest("'from' must be before 'to'.")
    if end - start > MAX_PERIOD:
        raise InvalidRequest("The period may span at most 366 days.")


class AtStart(NamedTuple):
    """The running figures when a period (or group) starts."""

    unresolved: int = 0
    snoozed: int = 0

    @classmethod
    def of(cls, before: Mapping[str, float]) -> AtStart:
        return cls(round(before.get("backlog_delta", 0)), round(before.get("snoozed_delta", 0)))


async def report(tx: Tx, where: Slice, group_by: GroupBy | None,
                 now: datetime | None = None) -> KpiReport:
    """``now`` (default: the clock) ends the agents' online intervals still running."""
    check_period(where.start, where.end)
    now = now or datetime.now(UTC)
    repo = KpiRepository(tx.session)
    period_seconds = (where.end - where.start).total_seconds()
    totals_rows = [*await repo.sums(where, None), *await repo.running_presence(where, None, now)]
    prior = await repo.running_before(where, None)
    totals = _kpis(_by_measure(totals_rows), period_seconds, AtStart.of(prior.get("", {})))

    groups: list[Group] = []
    if group_by is not None:
        per_group: dict[str, list[RowMapping]] = defaultdict(list)
        for row in [*await repo.sums(where, group_by),
                    *await repo.running_presence(where, group_by, now)]:
            per_group[row["key"]].append(row)
        if group_by in ("hour", "day"):
            # Time groups carry the running figures on: each starts where the previous one ended.
            at_start = AtStart.of(prior.get("", {}))
            group_seconds = 3600.0 if group_by == "hour" else 86400.0
            for key in sorted(per_group):
                kpis = _kpis(_by_measure(per_group[key]), group_seconds, at_start)
                at_start = AtStart(kpis.backlog.at_end, kpis.backlog.snoozed_at_end)
                groups.append(Group(key=key, kpis=kpis))
        else:
            group_prior = await repo.running_before(where, group_by)
            for key in sorted(per_group.keys() | group_prior.keys()):
                kpis = _kpis(_by_measure(per_group.get(key, [])), period_seconds,
                             AtStart.of(group_prior.get(key, {})))
                groups.append(Group(key=key, kpis=kpis))

    return KpiReport(
        start=where.start, end=where.end, totals=totals, group_by=group_by, groups=groups,
        volume_by_channel=_volume(await repo.volume(where, "channel"), str),
        volume_by_hour_of_day=_volume(await repo.volume(where, "hour_of_day"),
                                      lambda hour: f"{hour:02d}"),
    )


Measures = Mapping[str, Mapping[int, float]]


def _by_measure(rows: Sequence[RowMapping]) -> Measures:
    """Summed per measure and bin (the running presence rows add to the buckets' own)."""
    measures: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        measures[row["measure"]][row["bin"]] += float(row["value"])
    return measures


def _kpis(m: Measures, period_seconds: float, at_start: AtStart) -> KpiSet:
    def total(measure: str) -> float:
        return sum(m.get(measure, {}).values())

    def count(measure: str) -> int:
        return round(total(measure))

    resolved = count("resolved")
    in_channel = count("resolved_in_channel")
    concurrency = total("concurrency_seconds")
    online = total("online_seconds")
    capacity = total("capacity_seconds")
    transitions = [
        Transition(from_label=LABELS[index // 3], to_label=LABELS[index % 3], count=round(value))
        for index, value in sorted(m.get("sentiment_transition", {}).items()) if round(value)
    ]
    csat = m.get("csat", {})
    csat_count = count("csat")
    csat_sum = sum((index + 1) * value for index, value in csat.items())
    return KpiSet(
        conversations=ConversationKpis(
            opened=count("opened"), resolved=resolved, resolved_in_channel=in_channel,
            in_channel_resolution_rate=_ratio(in_channel, resolved),
            resolved_after_reopen=count("resolved_reopened"), reopens=count("reopens"),
        ),
        messages=MessageKpis(inbound=count("inbound"), outbound=count("outbound")),
        first_response=_durations(m, "first_response"),
        next_response=_durations(m, "next_response"),
        resolution=_durations(m, "resolution"),
        handle_time=_durations(m, "handle"),
        sla=SlaKpis(first_response=_rate(m, "sla_first_response"),
                    resolution=_rate(m, "sla_resolution")),
        backlog=Backlog(at_start=at_start.unresolved,
                        at_end=at_start.unresolved + count("backlog_delta"),
                        snoozed_at_start=at_start.snoozed,
                        snoozed_at_end=at_start.snoozed + count("snoozed_delta")),
        sentiment=SentimentKpis(
            distribution={label: round(m.get("sentiment", {}).get(index, 0))
                          for index, label in enumerate(LABELS)},
            transitions=transitions,
        ),
        agents=AgentKpis(concurrency_seconds=concurrency,
                         average_concurrency=_ratio(concurrency, period_seconds),
                         online_seconds=online,
                         average_online_agents=_ratio(online, period_seconds),
                         capacity_seconds=capacity,
                         utilisation=_ratio(concurrency, capacity)),
        csat=CsatKpis(
            count=csat_count, average=_ratio(csat_sum, csat_count),
            distribution={str(score): round(csat.get(score - 1, 0)) for score in range(1, 6)},
        ),
    )


def _durations(m: Measures, name: str) -> Durations:
    counts = m.get(name, {})
    n = round(sum(counts.values()))
    return Durations(
        count=n, mean=_ratio(sum(m.get(f"{name}_sum", {}).values()), n),
        p50=histogram.percentile(counts, 0.5), p90=histogram.percentile(counts, 0.9),
    )


def _rate(m: Measures, name: str) -> Rate:
    hit = round(sum(m.get(f"{name}_hit", {}).values()))
    miss = round(sum(m.get(f"{name}_miss", {}).values()))
    return Rate(hit=hit, miss=miss, rate=_ratio(hit, hit + miss))


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _volume(rows: Sequence[RowMapping], key: Callable[[Any], str]) -> list[VolumePoint]:
    points: dict[str, dict[str, int]] = {}
    for row in rows:
        points.setdefault(key(row["key"]), {})[row["measure"]] = round(row["value"])
    return [VolumePoint(key=name, opened=v.get("opened", 0), inbound=v.get("inbound", 0),
                        outbound=v.get("outbound", 0)) for name, v in points.items()]
