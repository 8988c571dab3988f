"""The timers of routing, swept every second or so: agents turning away after inactivity or going
off shift, conversations of agents gone offline past the grace period and conversations whose owner
has not answered returning to the queue, and reservations and team restrictions running out.

Each sweep reads only what is due (indexed ranges), so its cost follows what happens, not the size
of the queue. Each conversation moves in its own transaction: one failure holds nothing else back,
and replicas sweeping at once skip each other's rows or find them already moved.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from sportello.db import Database, Tx
from sportello.runtime import Context
from sportello_assignment.agents import announce_presence, on_shift
from sportello_assignment.policy import Rules
from sportello_assignment.repository import Agent, AssignmentRepository
from sportello_assignment.routing import assign, need_of, reassign, requeue
from sportello_assignment.settings import AssignmentSettings
from sportello_assignment.tables import agents

log = structlog.get_logger(__name__)


async def sweep(db: Database, rules: Rules, now: datetime, batch: int = 200) -> int:
    """One pass of every timer; how many agents and conversations moved."""
    moved = await _presence(db, rules, now)
    if rules.policy.reassign:
        moved += await _agents_gone(db, rules, now, batch)
        moved += await _each(db, lambda repo: repo.reply_overdue(now, batch),
                             lambda tx, cid: _no_reply(tx, cid, rules, now))
    moved += await _each(db, lambda repo: repo.queue_timers_due(now, batch),
                         lambda tx, cid: _timer_passed(tx, cid, rules, now))
    return moved


async def _presence(db: Database, rules: Rules, now: datetime) -> int:
    async with db.transaction() as tx:
        repo = AssignmentRepository(tx.session)
        await repo.lock_queue()  # agent rows are written under it (see repository)
        turned: list[Agent] = []
        if rules.auto_away_s > 0:
            turned = await repo.set_presence_where(
                "away", now, agents.c.presence == "online",
                agents.c.last_seen_at < now - timedelta(seconds=rules.auto_away_s))
        off_shift = [agent_id for agent_id, shifts in await repo.on_duty_with_shifts()
                     if not on_shift(shifts, now)]
        ended: list[Agent] = []
        if off_shift:
            ended = await repo.set_presence_where("offline", now, agents.c.id.in_(off_shift))
        # An agent turned away and then off shift in this pass is announced twice, in order.
        for agent in (*turned, *ended):
            await announce_presence(tx, agent, now)
    if turned or ended:
        log.info("assignment.presence_swept", away=len(turned), off_shift=len(ended))
    return len(turned) + len(ended)


async def _agents_gone(db: Database, rules: Rules, now: datetime, batch: int) -> int:
    since = now - timedelta(seconds=rules.offline_grace_s)
    async with db.transaction() as tx:
        gone = await AssignmentRepository(tx.session).gone_with_conversations(since, batch)
    moved = 0
    for agent_id in gone:
        moved += await _each(
            db, lambda repo, agent_id=agent_id: repo.owned_by(agent_id, batch),  # type: ignore[misc]
            lambda tx, cid: _owner_gone(tx, cid, rules, now, since))
    return moved


async def _each(db: Database,
                due: Callable[[AssignmentRepository], Awaitable[list[uuid.UUID]]],
                move: Callable[[Tx, uuid.UUID], Awaitable[bool]]) -> int:
    async with db.transaction() as tx:
        ids = await due(AssignmentRepository(tx.session))
    moved = 0
    for conversation_id in ids:
        try:
            async with db.transaction() as tx:
                await AssignmentRepository(tx.session).lock_queue()
                moved += await move(tx, conversation_id)
        except Exception:
            log.exception("assignment.sweep_failed", conversation_id=str(conversation_id))
    return moved


async def _owner_gone(tx: Tx, conversation_id: uuid.UUID, rules: Rules, now: datetime,
                      since: datetime) -> bool:
    repo = AssignmentRepository(tx.session)
    conversation = await repo.get_conversation(conversation_id, lock=True)
    if conversation is None or conversation.status != "assigned" or conversation.agent_id is None:
        return False
    owner = await repo.get_agent(conversation.agent_id)
    if owner is None or owner.presence != "offline" or owner.presence_changed_at > since:
        return False  # back in time, or someone else moved it first
    await requeue(tx, conversation, rules, now, "owner_offline")
    return True


async def _no_reply(tx: Tx, conversation_id: uuid.UUID, rules: Rules, now: datetime) -> bool:
    repo = AssignmentRepository(tx.session)
    conversation = await repo.get_conversation(conversation_id, lock=True)
    if (conversation is None or conversation.status != "assigned"
            or conversation.reply_due_at is None or conversation.reply_due_at > now):
        return False
    moved = await reassign(tx, conversation, rules, now)
    log.warning("assignment.no_reply", conversation_id=str(conversation_id),
                agent_id=str(conversation.agent_id), moved_to=str(moved) if moved else None)
    return moved is not None


async def _timer_passed(tx: Tx, conversation_id: uuid.UUID, rules: Rules, now: datetime) -> bool:
    """A reservation for the last owner ran out, or the team had its chance: anyone may take it."""
    repo = AssignmentRepository(tx.session)
    conversation = await repo.get_conversation(conversation_id, lock=True)
    if conversation is None or conversation.status != "queued":
        return False
    changes: dict[str, object] = {}
    if conversation.reserved_until is not None and conversation.reserved_until <= now:
        changes.update(reserved_for=None, reserved_until=None)
    if conversation.widen_at is not None and conversation.widen_at <= now:
        changes.update(widened=True, widen_at=None)
    if not changes:
        return False
    opened = await repo.update_conversation(conversation_id, changes)
    # Still nobody free: it keeps waiting, now for more agents; nothing new to announce.
    agent = await repo.claim_best(need_of(opened), rules.policy, now, wait=True)
    if agent is None:
        return False
    await assign(tx, repo, opened, agent, "capacity_freed", rules, now)
    return True


async def run(ctx: Context) -> None:
    settings = ctx.settings
    assert isinstance(settings, AssignmentSettings)
    rules = settings.rules()
    while True:
        try:
            await sweep(ctx.db, rules, datetime.now(UTC), settings.assignment_sweep_batch)
        except Exception:
            log.exception("assignment.sweep_failed")
        await asyncio.sleep(settings.assignment_sweep_seconds)
