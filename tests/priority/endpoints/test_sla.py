"""Calendars and SLA policies through the API, and a deadline computed across a holiday and a
time zone by the running service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sportello_priority.component import COMPONENT
from tests.priority.support import latest, publish, received
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

ROME_OFFICE = {
    "timezone": "Europe/Rome",
    "weekly": {str(day): [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]
               for day in range(5)},
    "holidays": ["2026-04-06"],  # Easter Monday
}
ONE_HOUR = {"first_response_s": 3600, "next_response_s": 3600}


async def test_a_deadline_skips_the_weekend_and_easter_monday_in_rome_time(database_url: str) -> None:
    conversation = uuid.uuid4()
    # Friday 3 April 2026, 15:30 UTC = 17:30 in Rome (CEST): half an hour left that day.
    message = received(conversation, "Is my contract renewed?", channel="email",
                       sent_at=datetime(2026, 4, 3, 15, 30, tzinfo=UTC))
    async with running_app([COMPONENT], database_url, sla_tick_seconds=0.05,
                           config_cache_seconds=0) as (app, client):
        created = await client.put("/v1/priority/calendars/rome-office", json=ROME_OFFICE,
                                   headers=auth("admin"))
        policy = await client.put(
            "/v1/priority/sla-policies/email-office", headers=auth("admin"),
            json={"channels": ["email"], "calendar": "rome-office",
                  "targets": {band: ONE_HOUR for band in ("urgent", "high", "normal", "low")}})
        in_use = await client.delete("/v1/priority/calendars/rome-office", headers=auth("admin"))
        bus = app.state.runtime.bus
        await publish(bus, message)
        first = await eventually(lambda: latest(bus, conversation))
        listed = (await client.get("/v1/priority/sla-policies", headers=auth("agent"))).json()
    assert created.status_code == 200, created.text
    assert policy.status_code == 200, policy.text
    assert in_use.status_code == 409 and "email-office" in in_use.text
    assert first.sla is not None and first.sla.policy == "email-office"
    # 30 minutes on Friday, then Tuesday 7 April 09:30 Rome = 07:30 UTC.
    assert first.sla.deadline == datetime(2026, 4, 7, 7, 30, tzinfo=UTC)
    assert listed["email-office"]["calendar"] == "rome-office"


async def test_bad_calendars_and_policies_are_refused(database_url: str) -> None:
    async with running_app([COMPONENT], database_url) as (_, client):
        zone = await client.put("/v1/priority/calendars/mars", headers=auth("admin"),
                                json={**ROME_OFFICE, "timezone": "Mars/Olympus"})
        overlap = await client.put("/v1/priority/calendars/double", headers=auth("admin"), json={
            "timezone": "UTC", "weekly": {"0": [{"start": "09:00", "end": "13:00"},
                                                {"start": "12:00", "end": "15:00"}]}})
        missing = await client.put("/v1/priority/sla-policies/p", headers=auth("admin"),
                                   json={"calendar": "nowhere", "targets": {"low": ONE_HOUR}})
        builtin = await client.put("/v1/priority/calendars/24x7", json=ROME_OFFICE,
                                   headers=auth("admin"))
        supervisor = await client.put("/v1/priority/calendars/x", json=ROME_OFFICE,
                                      headers=auth("supervisor"))
    assert zone.status_code == 422 and "Mars/Olympus" in zone.text
    assert overlap.status_code == 422
    assert missing.status_code == 400 and "nowhere" in missing.text
    assert builtin.status_code == 409
    assert supervisor.status_code == 403
