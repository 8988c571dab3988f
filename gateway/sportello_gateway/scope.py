"""Who sees which conversations: supervisors, admins and API keys see all; an agent whose token
names teams sees those teams' conversations and the ones assigned to them (sportello.http.auth's
visible_teams). Out of scope reads as not found, so a conversation's existence does not leak."""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping

from sportello.http.auth import Principal, visible_teams
from sportello.http.problems import NotFound
from sportello_gateway.inbox import Scope
from sportello_gateway.repository import GatewayRepository


def scope_of(principal: Principal) -> Scope | None:
    teams = visible_teams(principal)
    if teams is None:
        return None
    return Scope(teams=frozenset(teams), agent_id=agent_uuid(principal))


def agent_uuid(principal: Principal) -> uuid.UUID | None:
    """The caller's agent id as the read model stores it; None when it is not an agent's UUID."""
    try:
        return uuid.UUID(principal.agent_id) if principal.agent_id else None
    except ValueError:
        return None


def can_see(scope: Scope | None, conversation: RowMapping) -> bool:
    if scope is None:
        return True
    return conversation["team"] in scope.teams or (
        scope.agent_id is not None and conversation["agent_id"] == scope.agent_id)


async def visible_conversation(repo: GatewayRepository, principal: Principal,
                               conversation_id: uuid.UUID, *, lock: bool = False) -> RowMapping:
    """The conversation if it is shown (its first message is known) and the caller may see it."""
    if lock:
        row = await repo.lock_conversation(conversation_id)
    else:
        row = await repo.get_conversation(conversation_id)
    if row is None or not can_see(scope_of(principal), row):
        raise NotFound(f"No conversation {conversation_id}.")
    return row
