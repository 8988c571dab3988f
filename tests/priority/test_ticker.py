"""The SLA ticker: each stage is announced once, and recomputations a configuration change queued
use that change even when another replica made it (its configuration cache is not invalidated)."""

from __future__ import annotations

import uuid

from sportello_priority import configuration
from sportello_priority.component import COMPONENT
from sportello_priority.weights import Weights
from tests.priority.support import latest, priorities, publish, received, scores
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

STAGES = ("on_track", "halfway", "at_risk", "critical", "breached")
ONLY_SENTIMENT = {"base": 10, "sentiment": 90, "urgency": 0, "intent": 0, "influence": 0, "sla": 0}


async def test_a_follow_up_message_does_not_announce_a_stage_again(fresh_database_url: str) -> None:
    conversation = uuid.uuid4()
    channel = f"test-{uuid.uuid4().hex[:8]}"
    two_seconds = {"first_response_s": 2.0, "next_response_s": 2.0}
    async with running_app([COMPONENT], fresh_database_url, sla_tick_seconds=0.05,
                           config_cache_seconds=0) as (app, client):
        bus = app.state.runtime.bus
        response = await client.put(
            "/v1/priority/sla-policies/two-seconds", headers=auth("admin"),
            json={"channels": [channel], "targets": {band: two_seconds for band in
                                                     ("urgent", "high", "normal", "low")}})
        assert response.status_code == 200, response.text
        await publish(bus, received(conversation, "Where is my refund?", channel=channel))
        await eventually(lambda: (p := latest(bus, conversation)) and p.sla
                         and p.sla.stage == "halfway")
        await publish(bus, received(conversation, "hello?", channel=channel))
        await eventually(lambda: len(scores(bus, conversation)) == 2)
        await eventually(lambda: (p := latest(bus, conversation)) and p.sla
                         and p.sla.stage == "breached")
    taken = [STAGES.index(p.sla.stage) for p in priorities(bus, conversation)
             if p.reason == "sla_checkpoint" and p.sla]
    assert taken == sorted(set(taken)), f"a stage was announced twice: {taken}"


async def test_weights_changed_through_another_replica_apply_to_the_recomputation(
        fresh_database_url: str) -> None:
    brand = f"x:{uuid.uuid4().hex[:8]}"
    conversation = uuid.uuid4()
    # A cache far longer than the test: this replica only learns of the change from the database.
    async with running_app([COMPONENT], fresh_database_url, sla_tick_seconds=0.05,
                           config_cache_seconds=600) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, received(conversation, "Terrible, awful service", account=brand))
        await eventually(lambda: latest(bus, conversation))
        other_replica = app.state.contexts["priority"]
        async with other_replica.db.transaction() as tx:
            await configuration.put_weights(tx, f"brand:{brand}", Weights(**ONLY_SENTIMENT),
                                            "supervisor:token-test")
        reweighed = await eventually(
            lambda: (p := latest(bus, conversation)) and p.reason == "weights_changed" and p)
    assert reweighed.weights_profile == f"brand:{brand}"
