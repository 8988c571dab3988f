"""A hand-built day with known answers: seven conversations on two channels, two teams, two agents.

All times are on 2026-03-02 (UTC) unless said otherwise; the report period is that whole day.

C1 chat, Ann (billing). In 09:00 (negative); assigned 09:01; first-response SLA due 09:10, reply
   requested 09:04, sent 09:05 -> first response 300 s, SLA hit. In 09:20 (positive); reply
   delivered 09:23 -> next response 180 s. Resolution SLA due 10:00; resolved 09:30 -> resolution
   1800 s, hit; handle 09:01-09:30 = 1740 s. CSAT 1, then replaced by 5.
C2 x, Bob (tech). In 09:10 (neutral); assigned 09:11; first-response SLA due 09:30; the brand
   answers on the platform at 09:40 -> first response 1800 s, SLA miss. Stays open. CSAT 3 at 12:00.
C3 chat. In 09:05 (negative); Ann 09:05, transferred to Bob (tech) 09:35; reply requested 09:45,
   sent 09:50 -> 2700 s. Resolved 10:05. In 10:15 (neutral); reopened 10:20; reply sent 10:26 ->
   next response 660 s. Resolved 10:40 -> resolution 5700 s; one reopen. Bob's hold ends at the
   first resolution (10:05) and no assignment follows the reopening, so handle Ann 1800 + Bob
   1800 = 3600 s. CSAT 2.
C4 x, Ann. In 09:00 (not scored); assigned 09:01; reply on messenger requested 09:02, delivered
   09:03 -> 180 s; two channels (not resolved in channel). Resolution SLA due 09:10; resolved
   09:15 -> 900 s, miss; handle 840 s.
C5 chat. In 09:00 (positive); queued for billing; never answered. Stays open.
C6 chat, Bob. In 11:00 (neutral); assigned 11:00; a reply requested 11:05 fails at 11:06; another
   requested 11:10, delivered 11:12 -> 720 s. Resolved 11:30 -> 1800 s; handle 1800 s. CSAT 4.
C7 chat, Ann. In 2026-03-01 22:00 (negative), assigned then; resolved 01:00 (in the period) ->
   resolution 10800 s, handle 10800 s, of which 3600 s (00:00-01:00) fall in the period.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sportello.contracts import Event
from sportello_gateway.kpi.schemas import CsatIn
from tests.gateway.builders import (
    assigned,
    delivery,
    prioritised,
    queued,
    received,
    reply,
    scored,
    status_changed,
)

DAY = datetime(2026, 3, 2, tzinfo=UTC)
ANN, BOB = uuid.UUID(int=0xA11), uuid.UUID(int=0xB0B)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def sla(conversation: uuid.UUID, customer: uuid.UUID, sequence: int, kind: str,
        deadline: datetime) -> Event:
    event = prioritised(conversation, customer, sequence, priority=40, at=deadline)
    assert event.sla is not None
    return event.model_copy(update={"sla": event.sla.model_copy(
        update={"kind": kind, "deadline": deadline})})


@dataclass
class Dataset:
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    customers: dict[str, uuid.UUID] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    # (conversation, answer, answered at), in the order given: C1's second answer replaces its
    # first.
    csat: list[tuple[uuid.UUID, CsatIn, datetime]] = field(default_factory=list)

    def conversation(self, name: str) -> tuple[uuid.UUID, uuid.UUID]:
        self.ids[name], self.customers[name] = uuid.uuid4(), uuid.uuid4()
        return self.ids[name], self.customers[name]


def build() -> Dataset:
    d = Dataset()
    e = d.events

    c, k = d.conversation("C1")
    m1 = received(c, k, at(9, 0))
    r1 = reply(c, k, at(9, 4))
    m2 = received(c, k, at(9, 20))
    r2 = reply(c, k, at(9, 22))
    e += [m1, scored(m1, score=40, conversation_priority=40, label="negative"),
          assigned(c, k, 1, agent_id=ANN, name="Ann", team="billing", at=at(9, 1)),
          sla(c, k, 1, "first_response", at(9, 10)),
          r1, delivery(r1, "sent", at(9, 5)), m2,
          scored(m2, score=10, conversation_priority=40, label="positive", sentiment=0.5),
          r2, delivery(r2, "sent", at(9, 23)), delivery(r2, "delivered", at(9, 24)),
          sla(c, k, 2, "resolution", at(10, 0)),
          status_changed(c, k, 1, "resolved", at=at(9, 30))]
    d.csat += [(c, CsatIn(score=1), at(9, 40)), (c, CsatIn(score=5, comment="great"), at(9, 45))]

    c, k = d.conversation("C2")
    m = received(c, k, at(9, 10), channel="x")
    e += [m, scored(m, score=20, conversation_priority=20, label="neutral", sentiment=0.0),
          assigned(c, k, 1, agent_id=BOB, name="Bob", team="tech", at=at(9, 11)),
          sla(c, k, 1, "first_response", at(9, 30)),
          received(c, k, at(9, 40), channel="x", direction="outbound", author="Brand")]
    d.csat += [(c, CsatIn(score=3), at(12, 0))]

    c, k = d.conversation("C3")
    m1 = received(c, k, at(9, 5))
    r1 = reply(c, k, at(9, 45))
    m2 = received(c, k, at(10, 15))
    r2 = reply(c, k, at(10, 25))
    e += [m1, scored(m1, score=50, conversation_priority=50, label="negative"),
          assigned(c, k, 1, agent_id=ANN, name="Ann", team="billing", at=at(9, 5)),
          assigned(c, k, 2, agent_id=BOB, name="Bob", team="tech", at=at(9, 35)),
          r1, delivery(r1, "sent", at(9, 50)),
          status_changed(c, k, 1, "resolved", at=at(10, 5)),
          m2, scored(m2, score=30, conversation_priority=50, label="neutral", sentiment=0.0),
          status_changed(c, k, 2, "open", at=at(10, 20)),
          r2, delivery(r2, "sent", at(10, 26)),
          status_changed(c, k, 3, "resolved", at=at(10, 40))]
    d.csat += [(c, CsatIn(score=2, comment="=HYPERLINK(\"http://evil\")"), at(10, 50))]

    c, k = d.conversation("C4")
    r = reply(c, k, at(9, 2), channel="messenger")
    e += [received(c, k, at(9, 0), channel="x"),
          assigned(c, k, 1, agent_id=ANN, name="Ann", team="billing", at=at(9, 1)),
          r, delivery(r, "delivered", at(9, 3)),
          sla(c, k, 1, "resolution", at(9, 10)),
          status_changed(c, k, 1, "resolved", at=at(9, 15))]

    c, k = d.conversation("C5")
    m = received(c, k, at(9, 0))
    e += [m, scored(m, score=5, conversation_priority=5, label="positive", sentiment=0.8),
          queued(c, k, 1, at=at(9, 0)).model_copy(update={"team": "billing"})]

    c, k = d.conversation("C6")
    m = received(c, k, at(11, 0))
    failed, ok = reply(c, k, at(11, 5)), reply(c, k, at(11, 10))
    e += [m, scored(m, score=15, conversation_priority=15, label="neutral", sentiment=0.1),
          assigned(c, k, 1, agent_id=BOB, name="Bob", team="tech", at=at(11, 0)),
          failed, delivery(failed, "failed", at(11, 6), error="rejected"),
          ok, delivery(ok, "delivered", at(11, 12)),
          status_changed(c, k, 1, "resolved", at=at(11, 30))]
    d.csat += [(c, CsatIn(score=4), at(11, 40))]

    c, k = d.conversation("C7")
    m = received(c, k, at(-2, 0))
    e += [m, scored(m, score=60, conversation_priority=60, label="negative"),
          assigned(c, k, 1, agent_id=ANN, name="Ann", team="billing", at=at(-2, 0)),
          status_changed(c, k, 1, "resolved", at=at(1, 0))]
    return d
