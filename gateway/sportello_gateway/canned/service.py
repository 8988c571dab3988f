"""Business rules of canned responses: who sees which, unique shortcuts, rendering. Works inside
the endpoint's transaction; never commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog
from prometheus_client import Counter

from sportello.db import Tx
from sportello.http.auth import Principal, visible_teams
from sportello.http.problems import Conflict, NotFound, Problem
from sportello_gateway.canned.placeholders import SOURCES, render, unknown_placeholders
from sportello_gateway.canned.repository import CannedRepository, ShortcutTaken
from sportello_gateway.canned.schemas import (
    CannedIn,
    CannedOut,
    CannedPage,
    CannedPatch,
    RenderOut,
)
from sportello_gateway.repository import GatewayRepository
from sportello_gateway.scope import visible_conversation

log = structlog.get_logger(__name__)

RENDERS = Counter("sportello_gateway_canned_renders_total",
                  "Canned responses rendered for a conversation, by outcome",
                  ["outcome"])  # ok, unknown_placeholder


class UnknownPlaceholders(Problem):
    status, title, slug = 422, "Unknown placeholders", "unknown-placeholders"


def _visible_to(principal: Principal, team: str | None) -> bool:
    teams = visible_teams(principal)
    return team is None or teams is None or team in teams


async def _visible(repo: CannedRepository, principal: Principal,
                   canned_id: uuid.UUID) -> CannedOut:
    row = await repo.get(canned_id)
    # Another team's response reads as missing, like another team's conversation.
    if row is None or not _visible_to(principal, row["team"]):
        raise NotFound(f"No canned response {canned_id}.")
    return CannedOut.model_validate(dict(row))


def _taken(shortcut: str, team: str | None) -> Conflict:
    where = f"team {team!r}" if team is not None else "the global responses"
    return Conflict(f"The shortcut {shortcut!r} is already used in {where}.",
                    shortcut=shortcut, team=team)


async def list_canned(tx: Tx, principal: Principal, *, team: str | None, q: str | None,
                      language: str | None, limit: int) -> CannedPage:
    teams = visible_teams(principal)
    if team is not None:
        # What an agent of that team is offered; a scoped agent names only their own teams.
        teams = frozenset({team}) if teams is None else teams & {team}
    rows = await CannedRepository(tx.session).search(teams=teams, q=q, language=language,
                                                     limit=limit)
    return CannedPage(items=[CannedOut.model_validate(dict(row)) for row in rows])


async def get_canned(tx: Tx, principal: Principal, canned_id: uuid.UUID) -> CannedOut:
    return await _visible(CannedRepository(tx.session), principal, canned_id)


async def create_canned(tx: Tx, principal: Principal, body: CannedIn) -> CannedOut:
    now = datetime.now(UTC)
    values = {**body.model_dump(), "id": uuid.uuid4(), "created_by": principal.actor,
              "updated_by": principal.actor, "created_at": now, "updated_at": now}
    try:
        row = await CannedRepository(tx.session).insert(values)
    except ShortcutTaken as exc:
        raise _taken(body.shortcut, body.team) from exc
    log.info("canned.created", canned_id=str(row["id"]), shortcut=body.shortcut, team=body.team,
             actor=principal.actor)
    return CannedOut.model_validate(dict(row))


async def update_canned(tx: Tx, principal: Principal, canned_id: uuid.UUID,
                        patch: CannedPatch) -> CannedOut:
    repo = CannedRepository(tx.session)
    current = await _visible(repo, principal, canned_id)
    changes = patch.changes()
    if not changes:
        return current
    values = {**changes, "updated_by": principal.actor, "updated_at": datetime.now(UTC)}
    try:
        row = await repo.update(canned_id, values)
    except ShortcutTaken as exc:
        merged = current.model_copy(update=changes)
        raise _taken(merged.shortcut, merged.team) from exc
    if row is None:  # deleted since it was read
        raise NotFound(f"No canned response {canned_id}.")
    log.info("canned.updated", canned_id=str(canned_id), fields=sorted(changes),
             actor=principal.actor)
    return CannedOut.model_validate(dict(row))


async def delete_canned(tx: Tx, principal: Principal, canned_id: uuid.UUID) -> None:
    repo = CannedRepository(tx.session)
    await _visible(repo, principal, canned_id)
    if not await repo.delete(canned_id):
        raise NotFound(f"No canned response {canned_id}.")
    log.info("canned.deleted", canned_id=str(canned_id), actor=principal.actor)


async def render_canned(tx: Tx, principal: Principal, canned_id: uuid.UUID,
                        conversation_id: uuid.UUID) -> RenderOut:
    canned = await _visible(CannedRepository(tx.session), principal, canned_id)
    conversation = await visible_conversation(GatewayRepository(tx.session), principal,
                                              conversation_id)
    unknown = unknown_placeholders(canned.text)
    if unknown:
        RENDERS.labels("unknown_placeholder").inc()
        raise UnknownPlaceholders(
            f"The response uses placeholders that cannot be filled: {', '.join(unknown)}.",
            unknown=unknown, known=sorted(SOURCES))
    text, missing = render(canned.text, conversation)
    RENDERS.labels("ok").inc()
    log.info("canned.rendered", canned_id=str(canned_id), conversation_id=str(conversation_id),
             missing=missing)
    return RenderOut(canned_response_id=canned_id, conversation_id=conversation_id, text=text,
                     missing=missing)
