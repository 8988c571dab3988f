"""Changes to what scoring reads: weights profiles, SLA calendars and policies, the press list.

A change applies to messages scored from now on, and open conversations it may affect are queued
for recomputation (the SLA ticker works through them), so the queue reorders without a rescan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from sportello.db import Tx
from sportello.http.problems import Conflict, InvalidRequest, NotFound
from sportello_priority.repository import ScoreRepository
from sportello_priority.sla import BusinessCalendar
from sportello_priority.sla_specs import ALWAYS_OPEN, PolicySpec, build_calendars, build_policy
from sportello_priority.weights import DEFAULT_PROFILE, DEFAULT_WEIGHTS, Weights, valid_profile

log = structlog.get_logger(__name__)


def _check_profile(name: str) -> None:
    if not valid_profile(name):
        raise InvalidRequest(f"{name!r} is not a profile name: use default, brand:<account> or "
                             "team:<name>.")


async def weights_profiles(tx: Tx) -> list[dict[str, Any]]:
    rows = {row["name"]: dict(row) for row in await ScoreRepository(tx.session).weight_profile_rows()}
    rows.setdefault(DEFAULT_PROFILE, dict(name=DEFAULT_PROFILE, weights=DEFAULT_WEIGHTS.model_dump(),
                                          updated_by=None, updated_at=None))
    return sorted(rows.values(), key=lambda row: (row["name"] != DEFAULT_PROFILE, row["name"]))


async def weights_profile(tx: Tx, name: str) -> dict[str, Any]:
    _check_profile(name)
    found = next((row for row in await weights_profiles(tx) if row["name"] == name), None)
    if found is None:
        raise NotFound(f"No weights profile {name!r}; conversations it would cover use the next "
                       "one (team, then brand, then default).")
    return found


async def put_weights(tx: Tx, name: str, weights: Weights, by: str) -> tuple[dict[str, Any], int]:
    _check_profile(name)
    repo = ScoreRepository(tx.session)
    await repo.put_weights(name, weights.model_dump(), by)
    queued = await repo.request_recompute_in_profile(name, datetime.now(UTC))
    log.info("priority.weights_changed", profile=name, by=by, recompute=queued)
    return await weights_profile(tx, name), queued


async def delete_weights(tx: Tx, name: str) -> int:
    _check_profile(name)
    repo = ScoreRepository(tx.session)
    if not await repo.delete_weights(name):
        raise NotFound(f"No weights profile {name!r}.")
    return await repo.request_recompute_in_profile(name, datetime.now(UTC))


# Calendars and policies


async def calendars(tx: Tx) -> list[BusinessCalendar]:
    specs = await ScoreRepository(tx.session).specs("calendars")
    return sorted(build_calendars(specs).values(), key=lambda c: c.name)


async def put_calendar(tx: Tx, name: str, calendar: BusinessCalendar) -> BusinessCalendar:
    if name == ALWAYS_OPEN:
        raise Conflict(f"{ALWAYS_OPEN!r} is built in and cannot be changed.")
    spec = calendar.model_dump(mode="json", exclude={"name"})
    calendar = BusinessCalendar.model_validate({**spec, "name": name})
    await ScoreRepository(tx.session).put_spec("calendars", name, spec)
    log.info("priority.calendar_changed", calendar=name)
    return calendar


async def delete_calendar(tx: Tx, name: str) -> None:
    repo = ScoreRepository(tx.session)
    users = [policy for policy, spec in (await repo.specs("sla_policies")).items()
             if spec.get("calendar") == name]
    if users:
        raise Conflict(f"Calendar {name!r} is used by SLA policies: {', '.join(users)}.",
                       policies=users)
    if not await repo.delete_spec("calendars", name):
        raise NotFound(f"No calendar {name!r}.")


async def policies(tx: Tx) -> dict[str, PolicySpec]:
    specs = await ScoreRepository(tx.session).specs("sla_policies")
    return {name: PolicySpec.model_validate(spec) for name, spec in specs.items()}


async def put_policy(tx: Tx, name: str, spec: PolicySpec) -> PolicySpec:
    repo = ScoreRepository(tx.session)
    try:
        build_policy(name, spec, build_calendars(await repo.specs("calendars")))
    except (LookupError, ValueError) as error:
        raise InvalidRequest(str(error)) from error
    await repo.put_spec("sla_policies", name, spec.model_dump(mode="json"))
    log.info("priority.policy_changed", policy=name)
    return spec


async def delete_policy(tx: Tx, name: str) -> None:
    if not await ScoreRepository(tx.session).delete_spec("sla_policies", name):
        raise NotFound(f"No SLA policy {name!r}.")


# The press list


async def press_entries(tx: Tx, from_settings: set[str]) -> list[dict[str, Any]]:
    stored = await ScoreRepository(tx.session).press_handles()
    entries = [dict(handle=h, note=note, source="api") for h, note in stored.items()]
    entries += [dict(handle=h, note=None, source="settings") for h in from_settings - stored.keys()]
    return sorted(entries, key=lambda e: e["handle"])


async def add_press(tx: Tx, handle: str, note: str | None) -> int:
    repo = ScoreRepository(tx.session)
    await repo.add_press(handle, note)
    return await _recompute_handle(repo, handle)


async def remove_press(tx: Tx, handle: str) -> int:
    repo = ScoreRepository(tx.session)
    if not await repo.remove_press(handle):
        raise NotFound(f"{handle!r} is not on the press list (entries from settings are changed "
                       "in SPORTELLO_PRESS_HANDLES).")
    return await _recompute_handle(repo, handle)


async def _recompute_handle(repo: ScoreRepository, handle: str) -> int:
    conversation_ids = await repo.open_conversations_of_handle(handle)
    await repo.request_recompute(conversation_ids, datetime.now(UTC), "customer_updated")
    return len(conversation_ids)
