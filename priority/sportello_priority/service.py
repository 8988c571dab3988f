"""Priority's rules: score each inbound message, keep each conversation's priority and SLA clock,
and say so (message.scored, conversation.prioritised) whenever either changes.

A conversation's priority = base + weighted factors: the strongest text factors (sentiment,
urgency, intent) among the messages waiting for a response, the customer's influence, and the SLA
pressure of the running clock. Every handler works inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from typing import Any

import structlog
from sqlalchemy import RowMapping

from sportello.contracts import (
    ConversationAssigned,
    ConversationPrioritised,
    ConversationStatusChanged,
    CrmContactUpdated,
    Intent,
    MessageDeliveryUpdated,
    MessageReceived,
    MessageScored,
    Sentiment,
    SentimentPoint,
)
from sportello.db import Tx
from sportello_priority import clock as clocks
from sportello_priority import metrics
from sportello_priority.analysis import TextAnalyser, TextAnalysis
from sportello_priority.composition import (
    TEXT_FACTORS,
    FactorValue,
    Override,
    compose,
    intrinsic,
    overridden,
    strongest,
    text_factors,
)
from sportello_priority.config import ConfigCache, PriorityConfig
from sportello_priority.influence import CustomerFacts, influence_of
from sportello_priority.repository import OVERRIDE_EXPIRY, RECOMPUTE, ScoreRepository
from sportello_priority.sla import band_of
from sportello_priority.trajectory import trajectory_of

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Scoring:
    """What scoring needs besides the transaction: the text models and the configuration."""

    analyser: TextAnalyser
    config: PriorityConfig


async def score_message(tx: Tx, message: MessageReceived, scoring: Scoring,
                        now: datetime | None = None) -> MessageScored | None:
    if message.direction != "inbound":
        # The brand answered on the platform itself: a response, as one sent through Sportello.
        await record_response(tx, message.conversation_id, message.sent_at, scoring.config, now)
        return None
    now = now or datetime.now(UTC)
    repo = ScoreRepository(tx.session)
    analysis = scoring.analyser.analyse(message.text)
    customer = await repo.upsert_author(message.customer_id, message.author.handle,
                                        message.author.followers, message.author.verified,
                                        message.conversation_id)
    conversation = await _conversation(repo, message, analysis, now)
    factors = text_factors(analysis)
    influence = _influence_of(customer, scoring.config)
    profile, weights = scoring.config.weights_for(conversation["team"], conversation["account"])
    spam = analysis.intent.name == "spam"
    score, breakdown = compose({**factors, "influence": influence, "sla": clocks.no_clock()},
                               weights, spam=spam)
    sentiment = analysis.sentiment
    saved = await repo.save_score(dict(
        message_id=message.message_id, conversation_id=message.conversation_id,
        customer_id=message.customer_id, score=score, sentiment_label=sentiment.label,
        sentiment_score=sentiment.score, breakdown=[f.model_dump() for f in breakdown],
        scorer=scoring.analyser.name, text=message.text, sent_at=message.sent_at,
        p_negative=sentiment.negative, p_neutral=sentiment.neutral, p_positive=sentiment.positive,
        intent=analysis.intent.name, urgency=analysis.urgency.value,
    ))
    if not saved:
        return None

    current = _clock_of(conversation, scoring.config)
    changes: dict[str, Any] = {}
    if not _settled(conversation, message.sent_at):
        pending = strongest(_factors(conversation["text_factors"]), factors) if current else factors
        held = spam and (conversation["spam"] or current is None)
        changes = {"status": "open", "text_factors": _stored(pending), "spam": held}
        # The clock starts with the first message waiting for a response (not in the future: a
        # platform's clock may run ahead of ours); a later one may only tighten it.
        candidate = _start_clock(
            scoring.config, conversation, pending, influence, spam=held,
            kind=current.kind if current else
            "next_response" if conversation["answered"] else "first_response",
            started_at=current.started_at if current else min(message.sent_at, now))
        running = clocks.tighter(current, candidate)
        if running != current:
            changes.update(_clock_columns(running))
            # No clock ran before: no stage checkpoints to clear first.
            await repo.replace_checkpoints(message.conversation_id, _coming(running, now),
                                           clear=current is not None)
    prioritised = await _prioritise(tx, repo, {**conversation, **changes}, scoring.config, now,
                                    "message_scored", changes, influence=influence)
    scored = MessageScored(
        message_id=message.message_id, conversation_id=message.conversation_id,
        customer_id=message.customer_id, channel=message.channel, sent_at=message.sent_at,
        sentiment=_sentiment(analysis), score=score, breakdown=breakdown,
        conversation_priority=prioritised.priority, scorer=scoring.analyser.name,
        intent=Intent(name=analysis.intent.name, confidence=round(analysis.intent.confidence, 4),
                      cues=analysis.intent.cues, all=analysis.intent.all),
        urgency=round(analysis.urgency.value, 4),
        account=message.account, language=analysis.language,
        conversation_band=prioritised.band,
        sla_deadline=prioritised.sla.deadline if prioritised.sla else None,
    )
    await tx.outbox.add(scored, subject=str(message.conversation_id))
    log.info("priority.scored", conversation_id=str(message.conversation_id), score=score,
             priority=prioritised.priority, profile=profile, intent=analysis.intent.name)
    return scored


async def record_delivery(tx: Tx, event: MessageDeliveryUpdated, config: PriorityConfig) -> None:
    if event.status in ("sent", "delivered", "read"):
        await record_response(tx, event.conversation_id, event.at, config)


async def record_response(tx: Tx, conversation_id: uuid.UUID, at: datetime,
                          config: PriorityConfig, now: datetime | None = None) -> None:
    """A response went out at ``at``: the clock of the messages before it stops (a message that
    came after it keeps its own, whichever of the two was handled first). ``now`` (default: the
    wall clock) decides which checkpoints of a clock started for later messages are still to
    come; a replay on a simulated clock passes its own."""
    repo = ScoreRepository(tx.session)
    conversation = await repo.lock_conversation(conversation_id)
    if conversation is None or _settled(conversation, at):
        return  # unknown yet (see docs/PRIORITY.md), or a receipt of an earlier response
    changes: dict[str, Any] = {"answered": True, "settled_at": at}
    if conversation["clock_kind"] is None or conversation["clock_started_at"] > at:
        # Nothing waited for it: remembered, so a message sent before it and scored late starts
        # no clock that no response would stop.
        await repo.update_conversation(conversation_id, changes)
        return
    now = now or datetime.now(UTC)
    influence = await _influence(repo, conversation, config)
    changes.update(await _stop_clock(repo, conversation, at, config, now, influence))
    await _prioritise(tx, repo, {**conversation, **changes}, config, now, "sla_clock", changes,
                      influence=influence)


async def record_status(tx: Tx, event: ConversationStatusChanged, config: PriorityConfig,
                        now: datetime | None = None) -> None:
    """``now``: as for ``record_response``."""
    repo = ScoreRepository(tx.session)
    conversation = await repo.lock_conversation(event.conversation_id)
    if conversation is None or (conversation["status_sequence"] or 0) >= event.sequence:
        return
    changes: dict[str, Any] = {"status_sequence": event.sequence}
    now = now or datetime.now(UTC)
    influence = await _influence(repo, conversation, config)
    if event.status == "resolved":
        changes["status"] = "resolved"
        if not _settled(conversation, event.at):
            changes["settled_at"] = event.at
        # Messages sent after the resolution (a reopening) keep their clock.
        if conversation["clock_kind"] is not None and conversation["clock_started_at"] <= event.at:
            changes.update(await _stop_clock(repo, conversation, event.at, config, now, influence))
    else:
        # Snoozed counts as open here: snoozing is not an answer, so a running clock keeps running
        # (the customer is still owed a response), and the next message scores as usual.
        changes["status"] = "open"
    await _prioritise(tx, repo, {**conversation, **changes}, config, now, "sla_clock", changes,
                      influence=influence)


async def record_team(tx: Tx, event: ConversationAssigned, config: PriorityConfig) -> None:
    """The owner's team may have its own weights: then recompute at the next tick (only then: a
    recomputation per assignment would double the events of every conversation)."""
    repo = ScoreRepository(tx.session)
    conversation = await repo.lock_conversation(event.conversation_id)
    if conversation is None or conversation["team"] == event.agent.team:
        return
    await repo.update_conversation(event.conversation_id, {"team": event.agent.team})
    before = config.weights_for(conversation["team"], conversation["account"])[0]
    after = config.weights_for(event.agent.team, conversation["account"])[0]
    if before != after:
        await repo.request_recompute([event.conversation_id], datetime.now(UTC), "weights_changed")


async def record_crm_contact(tx: Tx, event: CrmContactUpdated) -> None:
    repo = ScoreRepository(tx.session)
    applied = await repo.apply_crm(event.customer_id, event.sequence, dict(
        tier=event.tier, vip=event.vip, do_not_contact=event.do_not_contact))
    if applied:
        await repo.request_recompute(await repo.open_conversations_of_customer(event.customer_id),
                                     datetime.now(UTC), "customer_updated")


async def take_checkpoints(tx: Tx, conversation_id: uuid.UUID, configs: ConfigCache,
                           now: datetime) -> ConversationPrioritised | None:
    """Checkpoints came due (an SLA stage begins; weights, team or customer changed): the
    priority moves. None when another transaction holds the conversation (it is retried) or the
    checkpoints were taken already."""
    repo = ScoreRepository(tx.session)
    conversation = await repo.lock_conversation_unless_busy(conversation_id)
    if conversation is None:
        return None
    stages = await repo.take_due(conversation_id, now)
    if not stages:
        return None
    reasons = {stage.removeprefix(RECOMPUTE) for stage in stages if stage.startswith(RECOMPUTE)}
    # A recompute request may follow a change of weights or of the press list made through another
    # replica, whose cache here may be older than the request: read what the request was queued
    # with (committed before take_due saw it, so visible to the statements after it).
    config = await (configs.fresh if reasons else configs.get)(tx.session)
    reason = "sla_checkpoint" if len(reasons) < len(stages) else min(reasons)
    event = await _prioritise(tx, repo, dict(conversation), config, now, reason, {})
    kind = event.sla.kind if event.sla is not None else "none"
    for stage in stages:
        if not stage.startswith(RECOMPUTE):
            metrics.SLA_STAGE_REACHED.labels(stage=stage, kind=kind).inc()
    return event


async def _prioritise(tx: Tx, repo: ScoreRepository, conversation: Mapping[str, Any],
                      config: PriorityConfig, now: datetime, reason: str,
                      changes: dict[str, Any], *,
                      influence: FactorValue | None = None) -> ConversationPrioritised:
    """Compute the conversation's priority as of ``now``, store it with ``changes`` and announce it
    (``influence`` when the caller has just computed it)."""
    conversation_id = conversation["id"]
    # Never before the change announced last (a ticker's batch started earlier, another replica's
    # clock): a higher sequence must not describe an earlier moment.
    now = max(now, conversation["updated_at"])
    profile, weights = config.weights_for(conversation["team"], conversation["account"])
    running = _clock_of(conversation, config)
    factors = {**_factors(conversation["text_factors"]),
               "influence": influence or await _influence(repo, conversation, config),
               "sla": running.factor(now) if running else clocks.no_clock()}
    priority, breakdown = compose(factors, weights, spam=conversation["spam"])
    sequence = conversation["sequence"] + 1
    band = band_of(intrinsic(breakdown))
    override = await _override_in_force(repo, conversation_id, now)
    if override is not None:
        priority, breakdown = overridden(breakdown, override)
        band = band_of(priority)  # a pin is a pin: time pressure does not move its band either
    points = [SentimentPoint(message_id=p["message_id"], at=p["sent_at"], label=p["label"],
                             score=p["sentiment_score"])
              for p in await repo.sentiment_points(conversation_id)]
    event = ConversationPrioritised(
        conversation_id=conversation_id, customer_id=conversation["customer_id"],
        priority=priority, band=band, breakdown=breakdown, weights_profile=profile,
        sla=running.state(now) if running else None, trajectory=trajectory_of(points),
        reason=reason, sequence=sequence, at=now,  # type: ignore[arg-type]
    )
    await repo.update_conversation(conversation_id, {
        **changes, "priority": priority, "band": band, "weights_profile": profile,
        "sequence": sequence, "updated_at": now,
        "clock_stage": event.sla.stage if event.sla else None})
    await tx.outbox.add(event, subject=str(conversation_id))
    return event


async def prioritise_now(tx: Tx, repo: ScoreRepository, conversation: Mapping[str, Any],
                         config: PriorityConfig, now: datetime,
                         reason: str) -> ConversationPrioritised:
    """Recompute and announce a conversation the caller holds locked, for a change made outside
    the model (an override set or cleared)."""
    return await _prioritise(tx, repo, conversation, config, now, reason, {})


async def _override_in_force(repo: ScoreRepository, conversation_id: uuid.UUID,
                             now: datetime) -> Override | None:
    """The conversation's override, or None; one that has expired is dropped here, by the first
    recomputation after its end (the ticker's at the latest: OVERRIDE_EXPIRY)."""
    row = await repo.override(conversation_id)
    if row is None:
        return None
    override = Override.of(row)
    if override.in_force(now):
        return override
    await repo.delete_override(conversation_id)
    await repo.replace_checkpoint(conversation_id, OVERRIDE_EXPIRY, None)  # taken now, if not yet
    metrics.OVERRIDES.labels(action="expired").inc()
    log.info("priority.override_expired", conversation_id=str(conversation_id),
             expires_at=row["expires_at"].isoformat())
    return None


async def _conversation(repo: ScoreRepository, message: MessageReceived, analysis: TextAnalysis,
                        now: datetime) -> dict[str, Any]:
    async def insert() -> RowMapping | None:
        return await repo.insert_conversation(dict(
            id=message.conversation_id, customer_id=message.customer_id, channel=message.channel,
            account=message.account, text_factors=_stored(text_factors(analysis)), priority=0.0,
            band="low", weights_profile="default", updated_at=now,
        ))

    # The message that opened the conversation usually meets no row: try the insert first.
    found = await insert() if message.conversation_opened else None
    found = found or await repo.lock_conversation(message.conversation_id) or await insert() \
        or await repo.lock_conversation(message.conversation_id)
    assert found is not None  # inserted, or inserted by a concurrent transaction just now
    return dict(found)


async def _influence(repo: ScoreRepository, conversation: Mapping[str, Any],
                     config: PriorityConfig) -> FactorValue:
    return _influence_of(await repo.customer(conversation["customer_id"], conversation["id"]),
                         config)


def _influence_of(customer: Mapping[str, Any] | None, config: PriorityConfig) -> FactorValue:
    facts = CustomerFacts(
        followers=customer["followers"] if customer else None,
        verified=bool(customer and customer["verified"]),
        on_press_list=config.on_press_list(customer["handle"] if customer else None),
        tier=customer["tier"] if customer else None, vip=bool(customer and customer["vip"]),
        earlier_conversations=customer["earlier"] if customer else 0,
    )
    value, reason = influence_of(facts, config.tier_values)
    return FactorValue(value, reason)


def _settled(conversation: Mapping[str, Any], sent_at: datetime) -> bool:
    """A response went out, or the conversation was resolved, at or after ``sent_at``."""
    settled_at = conversation["settled_at"]
    return settled_at is not None and sent_at <= settled_at


def _start_clock(config: PriorityConfig, conversation: Mapping[str, Any],
                 pending: Mapping[str, FactorValue], influence: FactorValue, *, spam: bool,
                 kind: str, started_at: datetime) -> clocks.Clock | None:
    """The clock for messages waiting with ``pending`` text factors: its band comes from the
    priority without time pressure (spam held at the base, as in the priority itself)."""
    _, weights = config.weights_for(conversation["team"], conversation["account"])
    _, breakdown = compose({**pending, "influence": influence}, weights, spam=spam)
    return clocks.start(config.policies, conversation["channel"], intrinsic(breakdown), kind,
                        started_at)


async def _stop_clock(repo: ScoreRepository, conversation: Mapping[str, Any], at: datetime,
                      config: PriorityConfig, now: datetime,
                      influence: FactorValue) -> dict[str, Any]:
    """The changes that stop the clock of the messages sent until ``at``. Messages sent after it
    may have been scored already (replies, statuses and messages are consumed apart): they start
    the next clock, with their own text factors."""
    later = await repo.inbound_after(conversation["id"], at)
    if not later:
        await repo.replace_checkpoints(conversation["id"], [])
        return _clock_columns(None)
    pending = reduce(strongest, [_text_factors_of(row["breakdown"]) for row in later])
    spam = all(row["intent"] == "spam" for row in later)
    running = _start_clock(config, conversation, pending, influence, spam=spam,
                           kind="next_response", started_at=min(later[0]["sent_at"], now))
    await repo.replace_checkpoints(conversation["id"], _coming(running, now))
    return {"text_factors": _stored(pending), "spam": spam, **_clock_columns(running)}


def _coming(running: clocks.Clock | None, now: datetime) -> list[tuple[str, datetime]]:
    """The clock's checkpoints still ahead: a stage already reached is announced by the change
    that stores them, not a second time by the ticker."""
    return [(stage, due) for stage, due in running.checkpoints() if due > now] if running else []


def _text_factors_of(breakdown: Sequence[Mapping[str, Any]]) -> dict[str, FactorValue]:
    """A scored message's text factors, read back from its stored breakdown."""
    return {f["factor"]: FactorValue(float(f["value"] or 0.0), str(f["reason"]))
            for f in breakdown if f["factor"] in TEXT_FACTORS}


def _clock_of(conversation: Mapping[str, Any], config: PriorityConfig) -> clocks.Clock | None:
    if conversation["clock_kind"] is None:
        return None
    policy = config.policy(conversation["clock_policy"]) or next(iter(config.policies))
    return clocks.Clock(kind=conversation["clock_kind"], policy=policy,
                        band=conversation["clock_band"],
                        started_at=conversation["clock_started_at"],
                        deadline=conversation["clock_deadline"])


def _clock_columns(running: clocks.Clock | None) -> dict[str, Any]:
    return {
        "clock_kind": running.kind if running else None,
        "clock_policy": running.policy.name if running else None,
        "clock_band": running.band if running else None,
        "clock_started_at": running.started_at if running else None,
        "clock_deadline": running.deadline if running else None,
    }


def _stored(factors: Mapping[str, FactorValue]) -> dict[str, dict[str, Any]]:
    return {name: {"value": f.value, "reason": f.reason} for name, f in factors.items()}


def _factors(stored: Mapping[str, Mapping[str, Any]]) -> dict[str, FactorValue]:
    return {name: FactorValue(float(f["value"]), str(f["reason"])) for name, f in stored.items()}


def _sentiment(analysis: TextAnalysis) -> Sentiment:
    probs = analysis.sentiment
    return Sentiment(label=probs.label, score=max(-1.0, min(1.0, probs.score)),
                     negative=round(probs.negative, 4), neutral=round(probs.neutral, 4),
                     positive=round(probs.positive, 4))
