"""``make faults`` in small: every service SIGKILLed and restarted, then Kafka and PostgreSQL, under a
steady load on a private stack; nothing accepted is lost, nothing is shown twice, every conversation
is assigned. The scenario lives in ``sportello_deploy.faults``; this only sizes it for ``make test``
(and checks, without a stack, that the comparison does catch a loss or a duplicate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sportello_deploy.faults import ALL_FAULTS, FaultsConfig, compare, format_table, run
from sportello_deploy.faults_load import Post
from sportello_deploy.faults_observe import Backlog, stalled

# ~10 msg/s while the seven faults run one after the other (each service's restart waits ~10 s for
# Kafka to expire the killed consumer's session), then a bounded wait for the pipeline to settle.
# The settle timeout is generous for a busy machine; a real loss ends the wait early (nothing left in
# any consumer group or outbox while messages are still missing).
SHORT = FaultsConfig(rate=10, seconds=40, warmup=5, pause=2, tail=3, down_seconds=2,
                     recovery_timeout=60, settle_timeout=180, concurrency=16, seed=20240611)


@pytest.mark.kafka
@pytest.mark.e2e
@pytest.mark.timeout(1200)
def test_crashes_under_load_lose_nothing_and_show_nothing_twice(tmp_path: Path) -> None:
    summary = run(SHORT, logs_to=tmp_path / "logs")  # the services' logs, for a failure's cause
    report = format_table(summary) + "\n" + json.dumps(summary, indent=1)[:6000]

    assert [f["fault"] for f in summary["faults"]] == list(ALL_FAULTS), report
    assert summary["accepted"] >= 300, report  # the load really ran through every fault
    assert summary["multi_message_conversations"] > 0, report
    assert summary["lost"] == 0, report
    assert summary["duplicated"] == 0, report
    assert summary["unassigned"] == 0, report
    assert summary["unscored"] == 0, report  # a message shown but never scored was dropped by priority
    assert summary["resend_mismatches"] == 0, report
    assert summary["settled"] == "complete", report
    # Every part came back and the pipeline delivered again without restarting anything by hand.
    assert summary["extra_restarts"] == 0, report
    assert all(r is not None for r in summary["recovery_by_fault"].values()), report


def _post(external_id: str, conversation: str, message: str) -> Post:
    return Post(external_id, "c", 1, 0.0, status=201, message_id=message, conversation_id=conversation,
                outcome="accepted")


def _shown(*messages: tuple[str, str], state: str = "assigned") -> dict[str, Any]:
    return {"assignment": {"state": state},
            "messages": [{"external_id": e, "id": m, "score": {"value": 1}} for e, m in messages]}


def test_the_comparison_catches_what_was_lost_duplicated_or_left_unassigned() -> None:
    accepted = [_post("a-1", "A", "m1"), _post("a-2", "A", "m2"), _post("b-1", "B", "m3"),
                _post("c-1", "C", "m4"), _post("d-1", "D", "m5")]
    views = {
        "A": _shown(("a-1", "m1"), ("a-2", "m2"), ("a-2", "m2")),  # a-2 shown twice
        "B": _shown(("b-1", "m3-bis")),                             # another message for b-1
        "C": _shown(state="queued"),                                # c-1 lost, C unassigned
        "D": None,                                                  # the gateway never heard of D
    }
    stored = [("a-1", "m1", "A"), ("a-2", "m2", "A"), ("b-1", "m3", "B"), ("c-1", "m4", "C")]

    result = compare(accepted, views, stored)

    assert result.lost == {"c-1", "d-1"}
    assert result.lost_ingest == ["d-1"]
    assert result.duplicated == {"a-2", "b-1"}
    assert result.unassigned == ["C", "D"]
    assert result.multi_message_conversations == 1


def test_a_service_with_work_waiting_and_no_progress_is_stuck() -> None:
    waiting = Backlog(lag={"sportello.priority.scorer": 40, "sportello.gateway.read-model": 9},
                      outbox={"crm_sync": 3, "ingest": 0})
    before = {"priority": 100.0, "gateway": 50.0, "crm-sync": 7.0, "ingest": 5.0}
    after = {"priority": 100.0, "gateway": 80.0, "crm-sync": 7.0, "ingest": 5.0}

    assert set(stalled(waiting, before, after)) == {"priority", "crm-sync"}
