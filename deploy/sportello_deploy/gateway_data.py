"""Fill the gateway's read model with a realistic, deterministic data set: ``--conversations N``
conversations of exactly ``--messages-per-conversation M`` messages on average (N x M in all).

    python -m sportello_deploy.gateway_data --conversations 1000000 --database-url URL [--seed 7]
    python -m sportello_deploy.gateway_data --conversations 1000000 --data-dir DIR  # own PostgreSQL

Why server-side ``INSERT ... SELECT generate_series`` rather than COPY from Python: both are bound
by computing the values. Measured here: Python building (simpler) message tuples + asyncpg
``copy_records_to_table``, ~44k rows/s for a client core plus part of a server core; this SQL,
10M messages in 91 s on two connections (~55k rows/s each). Here nothing crosses the socket, the
load scales with connections, and the values do not depend on how the work is split. Randomness is
``hashint8extended(key, salt)``, a pure function of the row's number and the seed: the result is the
same whatever the chunking and parallelism, and a conversation's own row can be computed from the
same draws as its messages (first response, last message, counts) without reading them back.

Shape of the data (over ``--days`` days ending at ``--end``): arrivals follow a daily curve (night
trough, late-morning and afternoon peaks), fewer at weekends and a slight growth; channels with
realistic shares; ~200 agents in 8 teams; most conversations resolved, the open backlog a few
percent (most of it recent); a long-tailed priority score and its band; SLA clocks and deadlines on
open conversations; per-message sentiment; messages alternating customer / agent with log-normal
gaps, the agent's replies dispatched seconds after they were requested.

Loading: the secondary indexes (and primary keys nothing references) are dropped first and rebuilt
after, then ``VACUUM (ANALYZE)`` (the visibility map makes the index-only scans index-only). Columns
of the gateway's tables are read from the database when it runs: a column this module does not know
is left to its default (and named in the log), a known column that disappeared is skipped, and a
new NOT NULL column without a default stops the run with a clear message.
"""

# The module builds SQL text, but only from its own constants, column names read from the catalog
# and numbers: no value from outside reaches a statement except as a bind parameter.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import math
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

SCHEMA = "gateway"
BENCH_DATABASE = "gateway_bench"

# (channel, share, base gap between messages in seconds, share of public conversations, account)
CHANNELS: tuple[tuple[str, float, float, float, str], ...] = (
    ("whatsapp", 0.25, 60.0, 0.0, "whatsapp:+390212345678"),
    ("x", 0.22, 120.0, 0.6, "x:2244994945"),
    ("facebook", 0.15, 120.0, 0.5, "facebook:104729518"),
    ("chat", 0.15, 30.0, 0.0, "chat:web"),
    ("instagram", 0.13, 120.0, 0.5, "instagram:1784140572"),
    ("email", 0.10, 900.0, 0.0, "email:support@example.com"),
)
TEAMS: tuple[tuple[str, int], ...] = (
    ("social-care", 40), ("messaging", 36), ("billing", 28), ("orders", 28),
    ("tech-support", 24), ("returns", 18), ("email-desk", 16), ("vip", 10),
)  # 200 agents
# Relative arrivals per UTC hour: a night trough, a late-morning peak, a second one after lunch.
HOURLY = (0.25, 0.18, 0.13, 0.11, 0.12, 0.2, 0.4, 0.75, 1.2, 1.6, 1.8, 1.75, 1.45, 1.5,
          1.7, 1.65, 1.5, 1.3, 1.15, 1.05, 0.95, 0.8, 0.6, 0.4)
WEEKEND_SHARE = 0.6  # a Saturday or Sunday gets 60% of a weekday's conversations
GROWTH = 0.25  # the last day gets 25% more than the first: a growing business
# A band's SLA target in seconds (next or first response), as the priority service's defaults.
SLA_TARGETS = {"urgent": 900, "high": 3600, "normal": 14400, "low": 86400}
FIRST_NAMES = ("Ada", "Bruno", "Chiara", "Dario", "Elena", "Fabio", "Giulia", "Hugo", "Irene",
               "Jonas", "Kira", "Luca", "Marta", "Nico", "Olga", "Paolo", "Quinn", "Rosa",
               "Sami", "Tina", "Ugo", "Vera", "Walter", "Xenia", "Yara", "Zeno", "Amir", "Beatrice",
               "Carlos", "Dana", "Emre", "Farah", "Gianni", "Hana", "Ivo", "Jade", "Karim", "Lea",
               "Mei", "Nadia")
LAST_NAMES = ("Rossi", "Bianchi", "Conti", "Moreau", "Schmidt", "Garcia", "Novak", "Kowalski",
              "Jensen", "Silva", "Costa", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Fontana",
              "Lombardi", "Esposito", "Romano", "Fischer", "Weber", "Dubois", "Laurent", "Martin",
              "Smith", "Brown", "Tanaka", "Kim", "Nguyen", "Singh", "Haddad", "Okafor", "Ivanova",
              "Horvat", "Nagy", "Popescu", "Petrov", "Berg", "Lund")
INBOUND_TEXTS = (
    "my order still hasn't arrived, it was due last week",
    "I was charged twice for the same subscription this month",
    "the app crashes every time I open my account page",
    "can you tell me where my parcel is? tracking shows nothing",
    "I want to return a pair of shoes, they are too small",
    "your website won't accept my card, is something down?",
    "hi, how do I change the delivery address on my order?",
    "still waiting for the refund you promised two weeks ago",
    "this is the third time I'm writing, nobody answers",
    "thanks, that worked perfectly!",
    "the package arrived damaged, the box was crushed",
    "is the black version back in stock anytime soon?",
    "I can't log in, the reset email never comes",
    "please cancel my subscription, I no longer need it",
    "the invoice shows the wrong VAT number",
    "ok, I'll wait for the courier tomorrow",
    "great service as always, thank you",
    "why was my account suspended without any notice?",
    "the discount code from your newsletter doesn't work",
    "I need to speak to someone about a fraudulent charge",
    "do you ship to Switzerland?",
    "the item I received is not the one I ordered",
    "any update on this?",
    "absolutely unacceptable, I want my money back now",
)
OUTBOUND_TEXTS = (
    "Hi! Sorry to hear that. Could you send me your order number in a private message?",
    "Thanks for reaching out. I've checked and your parcel is with the courier today.",
    "I'm sorry about the double charge; I've refunded the second payment just now.",
    "Could you try updating the app to the latest version and let me know?",
    "Your return label is on its way to your email address.",
    "I've escalated this to our billing team, you'll hear from us within 24 hours.",
    "Thanks for your patience! Is there anything else I can help you with?",
    "I've reset your access; the email should arrive in a few minutes.",
    "Your subscription is cancelled, and you won't be charged again.",
    "The corrected invoice is attached to your account now.",
    "We ship to Switzerland, delivery takes 3-5 working days.",
    "I'm really sorry for the wait. I'm on it personally now.",
    "A replacement is on its way at no cost to you.",
    "Glad it worked! Have a great day.",
)
_INBOUND_BREAKDOWN = {
    "negative": [{"factor": "sentiment", "contribution": 30, "reason": "angry or upset",
                  "value": 0.8, "weight": 37.5},
                 {"factor": "urgency", "contribution": 20, "reason": "asks for action now",
                  "value": 0.6, "weight": 33.3}],
    "neutral": [{"factor": "sentiment", "contribution": 10, "reason": "neutral tone",
                 "value": 0.3, "weight": 33.3},
                {"factor": "intent", "contribution": 12, "reason": "order status",
                 "value": 0.4, "weight": 30.0}],
    "positive": [{"factor": "sentiment", "contribution": 2, "reason": "satisfied",
                  "value": 0.05, "weight": 40.0}],
}


@dataclass(frozen=True)
class Spec:
    conversations: int
    messages_per_conversation: int = 10
    seed: int = 7
    days: int = 90
    # The period's exclusive end; every message and resolution happens before it.
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(
        hour=0, minute=0, second=0, microsecond=0))

    def __post_init__(self) -> None:
        if self.conversations < 1:
            raise ValueError("conversations must be at least 1")
        if not 1 <= self.messages_per_conversation <= 100:
            raise ValueError("messages per conversation must be 1..100")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.end.tzinfo is None:
            raise ValueError("end needs a time zone")

    @property
    def messages(self) -> int:
        return self.conversations * self.messages_per_conversation

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


@dataclass(frozen=True)
class Agent:
    id: uuid.UUID
    name: str
    team: str


def agents(seed: int) -> list[Agent]:
    """~200 agents, ids a function of the seed (the same md5 the SQL uses for every other id)."""
    out: list[Agent] = []
    for team, count in TEAMS:
        for _ in range(count):
            i = len(out)
            name = f"{FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]} {LAST_NAMES[(i * 11) % len(LAST_NAMES)][0]}."
            out.append(Agent(_md5_uuid(f"{seed}:agent:{i}"), name, team))
    return out


def _md5_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())  # noqa: S324 (ids, not security)


def _starts(weights: Sequence[float]) -> list[float]:
    """Bucket lower bounds for width_bucket: the inverse CDF of the weights, starting at 0."""
    total, acc, out = sum(weights), 0.0, []
    for w in weights:
        out.append(acc / total)
        acc += w
    return out


def day_weights(spec: Spec) -> list[float]:
    weights = []
    for d in range(spec.days):
        day = spec.start + timedelta(days=d)
        weekday = WEEKEND_SHARE if day.weekday() >= 5 else 1.0
        weights.append(weekday * (1 + GROWTH * d / max(1, spec.days - 1)))
    return weights


# -- SQL expressions -------------------------------------------------------------------------------
# Every draw is u(key, salt) in [0, 1): 53 bits of hashint8extended. Conversation draws use the
# conversation's number n as key; message draws n * 128 + k (k < 128 by Spec's bound on M, which
# keeps a conversation's message count below 2M).


class Draws:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def u(self, key: str, salt: int) -> str:
        return (f"(((hashint8extended({key}, {self.seed * 1000 + salt}) >> 11) "
                f"& 9007199254740991)::float8 / 9007199254740992.0)")

    def c(self, salt: int) -> str:
        return self.u("g.n", salt)

    def m(self, k: str, salt: int) -> str:
        return self.u(f"(c.n * 128 + {k})", 500 + salt)

    def id(self, kind: str, key: str) -> str:
        return f"md5('{self.seed}:{kind}:' || {key})::uuid"


def _offset(d: Draws, k: str) -> str:
    """Seconds from the conversation's arrival to message k: the first answer after the wait w,
    then one gap p per message with jitter < 1 gap, so the order always holds."""
    return (f"(CASE WHEN {k} = 0 THEN 0.0 WHEN {k} = 1 THEN c.w "
            f"ELSE c.w + c.p * ({k} - 1 + 0.7 * {d.m(k, 1)}) END)")


def _outbound(d: Draws, k: str) -> str:
    """Customer first, the agent second, then alternating, with one message in seven sent twice
    in a row by the same side (a customer's follow-up, an agent's second reply)."""
    return f"(CASE WHEN {k} < 2 THEN {k} = 1 ELSE ({k} % 2 = 1) <> ({d.m(k, 2)} < 0.14) END)"


def _agent_reply(d: Draws, k: str) -> str:
    """Outbound messages are agents' replies through Sportello, a tenth written on the platform."""
    return f"({d.m(k, 3)} < 0.9)"


def _dispatch_delay(d: Draws, k: str) -> str:
    return f"(1.0 + 4.0 * {d.m(k, 4)})"


def _receive_delay(d: Draws, k: str) -> str:
    return f"(0.2 + 1.3 * {d.m(k, 5)})"


def _text(d: Draws, k: str, outbound: str) -> str:
    return (f"(CASE WHEN {outbound} THEN ($3::text[])[1 + floor({d.m(k, 6)} * {len(OUTBOUND_TEXTS)})::int]"
            f" ELSE ($2::text[])[1 + floor({d.m(k, 6)} * {len(INBOUND_TEXTS)})::int] END)")


def _failed(d: Draws, k: str) -> str:
    """One agent reply in a hundred fails, never the first answer (it would change who answered
    first; the read model's rule for that is tested in the gateway's own tests)."""
    return f"({k} >= 3 AND {d.m(k, 7)} < 0.01)"


def conversation_params(spec: Spec, d: Draws) -> str:
    """One row per conversation number n in [$4, $5): every draw both statements need, as c.*.

    Positional parameters: $1 day starts, $2 inbound texts, $3 outbound texts, $4/$5 the range,
    $6 hour starts, $7 channel starts, $8 agents' ids, $9 names, $10 teams, $11 first names,
    $12 last names."""
    start = spec.start.timestamp()
    end = spec.end.timestamp()
    m = spec.messages_per_conversation
    customers = max(1, math.ceil(spec.conversations * 0.7))
    ch = CHANNELS
    gap = " ".join(f"WHEN '{name}' THEN {base}" for name, _, base, _, _ in ch)
    public = " ".join(f"WHEN '{name}' THEN {share}" for name, _, _, share, _ in ch)
    account = " ".join(f"WHEN '{name}' THEN '{acc}'" for name, _, _, _, acc in ch)
    channels = "ARRAY[" + ",".join(f"'{name}'" for name, *_ in ch) + "]"
    return f"""
    SELECT g.n, a.*, b.*, y.*, x.*
    FROM generate_series($4::bigint, $5::bigint - 1) AS g(n)
    -- Names every parameter's type once, whichever of them a statement's columns use.
    CROSS JOIN (SELECT $1::float8[], $2::text[], $3::text[], $6::float8[], $7::float8[],
                       $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint
                ) AS typed
    CROSS JOIN LATERAL (SELECT
        {d.id('c', 'g.n')} AS id,
        ({channels})[width_bucket({d.c(1)}, $7::float8[])] AS channel,
        {start} + (width_bucket({d.c(2)}, $1::float8[]) - 1) * 86400.0
            + (width_bucket({d.c(3)}, $6::float8[]) - 1) * 3600.0 + 3600.0 * {d.c(4)} AS drawn_at,
        -- Pairs of conversations share a deviation, one up and one down: the total is exactly N x M.
        {m} + (CASE WHEN g.n % 2 = 0 THEN 1 ELSE -1 END)
            * (CASE WHEN g.n = $13::bigint - 1 AND $13::bigint % 2 = 1 THEN 0
                    ELSE floor(({m} - 1) * power({d.u('g.n / 2', 5)}, 1.5))::int END) AS m,
        floor({customers} * power({d.c(6)}, 1.6))::bigint AS customer_no,
        60.0 * exp(4.0 * {d.c(7)}) AS w,
        1 + floor({d.c(8)} * {sum(n for _, n in TEAMS)})::int AS agent_no,
        least(100.0, round((-16.0 * ln(1.0 - {d.c(9)}))::numeric, 1)::float8) AS priority,
        {d.c(10)} AS u_status, {d.c(11)} AS u_assign, {d.c(12)} AS u_resolve,
        {d.c(13)} AS u_visibility
    ) a
    CROSS JOIN LATERAL (SELECT
        (CASE a.channel {gap} END) * exp(2.5 * {d.c(14)}) AS p,
        (CASE a.channel {account} END) AS account,
        CASE WHEN a.u_visibility < (CASE a.channel {public} END) THEN 'public' ELSE 'private' END
            AS visibility,
        {d.id('cust', 'a.customer_no')} AS customer_id,
        ($11::text[])[1 + a.customer_no % {len(FIRST_NAMES)}] || ' '
            || ($12::text[])[1 + (a.customer_no / {len(FIRST_NAMES)}) % {len(LAST_NAMES)}]
            AS customer_name,
        CASE WHEN a.priority >= 75 THEN 'urgent' WHEN a.priority >= 50 THEN 'high'
             WHEN a.priority >= 20 THEN 'normal' ELSE 'low' END AS band
    ) b
    CROSS JOIN LATERAL (SELECT
        -- From the arrival to the last message (the same expression as _offset for k = m - 1).
        CASE WHEN a.m = 1 THEN 0.0 WHEN a.m = 2 THEN a.w
             ELSE a.w + b.p * (a.m - 2 + 0.7 * {d.u('(g.n * 128 + a.m - 1)', 501)}) END AS span
    ) y
    CROSS JOIN LATERAL (SELECT
        -- Moved earlier when its last message would fall after the period's end.
        least(a.drawn_at, {end} - 300.0 - y.span) AS at
    ) x
    """


def _status_expr(spec: Spec) -> str:
    """Open with a probability falling with age: most of the backlog is recent, a tail is stale."""
    end = spec.end.timestamp()
    return (f"CASE WHEN c.u_status < (CASE WHEN {end} - c.at < 86400 THEN 0.6 "
            f"WHEN {end} - c.at < 259200 THEN 0.25 WHEN {end} - c.at < 1209600 THEN 0.04 "
            f"ELSE 0.01 END) THEN 'open' ELSE 'resolved' END")


def conversation_columns(spec: Spec, d: Draws) -> dict[str, str]:
    """Column -> SQL over c.* (conversation_params) and s.* (status, assignment, times)."""
    end = spec.end.timestamp()
    first_answer = (f"CASE WHEN c.m >= 2 THEN to_timestamp(c.at + c.w + CASE WHEN "
                    f"{_agent_reply(d, '1')} THEN {_dispatch_delay(d, '1')} ELSE 0 END) END")
    sla_target = "(CASE c.band " + " ".join(
        f"WHEN '{band}' THEN {seconds}" for band, seconds in SLA_TARGETS.items()) + " END)"
    risk = f"(({end} - (c.at + c.span)) / {sla_target})"
    stage = (f"(CASE WHEN {risk} >= 1 THEN 'breached' WHEN {risk} >= 0.9 THEN 'critical' "
             f"WHEN {risk} >= 0.75 THEN 'at_risk' WHEN {risk} >= 0.5 THEN 'halfway' "
             f"ELSE 'on_track' END)")
    deadline = f"to_timestamp(c.at + c.span + {sla_target})"
    last_at = "to_timestamp(c.at + c.span)"
    open_ = "s.status = 'open'"
    assigned = f"(NOT ({open_}) OR c.u_assign < 0.72)"
    texts = (f"(SELECT string_agg({_text(d, 'k', _outbound(d, 'k'))}, ' ' ORDER BY k) "
             f"FROM generate_series(0, c.m - 1) AS k)")
    return {
        "id": "c.id",
        "customer_id": "c.customer_id",
        "status": "s.status",
        "resolved_at": f"CASE WHEN NOT ({open_}) THEN to_timestamp(least({end} - 1.0, c.at + "
                       f"c.span + 300.0 * exp(3.0 * c.u_resolve))) END",
        "channel": "c.channel",
        "customer_display_name": "c.customer_name",
        "opened_at": f"to_timestamp(c.at + {_receive_delay(d, '0')})",
        "last_message_at": last_at,
        "message_count": "c.m",
        "first_inbound_at": "to_timestamp(c.at)",
        "first_response_at": first_answer,
        "priority": "c.priority",
        "priority_band": "c.band",
        "priority_breakdown": (
            "jsonb_build_array("
            "jsonb_build_object('factor', 'sentiment', 'contribution', round((c.priority * 0.4)::numeric, 1), "
            "'reason', 'the customer is upset', 'value', round((c.priority / 100)::numeric, 2), 'weight', 40),"
            "jsonb_build_object('factor', 'urgency', 'contribution', round((c.priority * 0.35)::numeric, 1), "
            "'reason', 'asks for action', 'value', round((c.priority / 100)::numeric, 2), 'weight', 35),"
            "jsonb_build_object('factor', 'waiting', 'contribution', round((c.priority * 0.25)::numeric, 1), "
            "'reason', 'waiting for an answer', 'value', round((c.priority / 100)::numeric, 2), 'weight', 25))"),
        "sla": (f"CASE WHEN {open_} THEN jsonb_build_object('kind', CASE WHEN c.m >= 2 THEN "
                f"'next_response' ELSE 'first_response' END, 'policy', 'default', 'band', c.band, "
                f"'started_at', {last_at}, 'deadline', {deadline}, 'stage', {stage}, "
                f"'risk', round({risk}::numeric, 3)) END"),
        "sla_deadline": f"CASE WHEN {open_} THEN {deadline} END",
        "sla_state": (f"CASE WHEN {open_} THEN (CASE WHEN {risk} >= 1 THEN 'breached' "
                      f"WHEN {risk} >= 0.75 THEN 'at_risk' ELSE 'ok' END) END"),
        "assignment_state": (f"CASE WHEN {assigned} THEN 'assigned' WHEN c.u_assign < 0.9 "
                             f"THEN 'queued' ELSE 'unassigned' END"),
        "agent_id": f"CASE WHEN {assigned} THEN ($8::uuid[])[c.agent_no] END",
        "agent_name": f"CASE WHEN {assigned} THEN ($9::text[])[c.agent_no] END",
        "agent_team": f"CASE WHEN {assigned} THEN ($10::text[])[c.agent_no] END",
        # A queued conversation waits for its team; an unassigned one was never routed.
        "team": f"CASE WHEN c.u_assign < 0.9 OR NOT ({open_}) THEN ($10::text[])[c.agent_no] END",
        "assigned_at": f"CASE WHEN {assigned} THEN to_timestamp(c.at + 2.0 + 0.3 * c.w) END",
        "sentiment_label": f"({_sentiment_label(d, 's.latest_inbound')})",
        "sentiment_score": f"({_sentiment_score(d, 's.latest_inbound')})",
        "tags": ("(CASE WHEN c.u_resolve < 0.25 THEN ARRAY[]::text[] "
                 "WHEN c.u_resolve < 0.5 THEN ARRAY[c.channel || '-' || 'order'] "
                 "WHEN c.u_resolve < 0.7 THEN ARRAY['billing'] "
                 "WHEN c.u_resolve < 0.85 THEN ARRAY['delivery', 'refund'] "
                 "WHEN c.u_resolve < 0.95 THEN ARRAY['bug'] ELSE ARRAY['complaint', 'vip'] END)"),
        "search_document": f"to_tsvector('simple', c.customer_name || ' ' || {texts})",
    }


def _sentiment_score(d: Draws, k: str) -> str:
    # Skewed towards negative: people write to support when something is wrong.
    return f"round((1.0 - 2.0 * power({d.m(k, 8)}, 0.75))::numeric, 2)::float8"


def _sentiment_label(d: Draws, k: str) -> str:
    score = _sentiment_score(d, k)
    return (f"CASE WHEN {score} < -0.3 THEN 'negative' WHEN {score} > 0.3 THEN 'positive' "
            f"ELSE 'neutral' END")


def message_columns(spec: Spec, d: Draws) -> dict[str, str]:
    """Column -> SQL over c.* (the conversation), k (its position) and o (outbound, reply)."""
    breakdown = " ".join(f"WHEN '{label}' THEN '{json.dumps(value)}'::jsonb"
                         for label, value in _INBOUND_BREAKDOWN.items())
    sent = f"(c.at + {_offset(d, 'k')})"
    platform = "(NOT o.outbound OR NOT o.reply)"
    inbound = "(NOT o.outbound)"
    return {
        "id": d.id("m", "(c.n * 128 + k)"),
        "conversation_id": "c.id",
        "channel": "c.channel",
        "sent_at": f"to_timestamp({sent})",
        "external_id": (f"CASE WHEN {platform} OR NOT {_failed(d, 'k')} THEN "
                        f"c.channel || '-' || (c.n * 128 + k) END"),
        "direction": f"CASE WHEN {inbound} THEN 'inbound' ELSE 'outbound' END",
        "author_id": (f"CASE WHEN {inbound} THEN c.channel || ':cust' || c.customer_no "
                      f"WHEN NOT o.reply THEN c.account END"),
        "author_display_name": (f"CASE WHEN {inbound} THEN c.customer_name "
                                f"WHEN NOT o.reply THEN 'Sportello Support' END"),
        "text": _text(d, "k", "o.outbound"),
        "received_at": f"to_timestamp({sent} + CASE WHEN o.reply THEN 0.0 ELSE {_receive_delay(d, 'k')} END)",
        "account": "c.account",
        "visibility": "c.visibility",
        "flags": f"CASE WHEN {inbound} AND {d.m('k', 9)} < 0.005 THEN '[\"spam\"]'::jsonb ELSE '[]'::jsonb END",
        "agent_reply": "o.reply",
        "agent_id": "CASE WHEN o.reply THEN (($8::uuid[])[c.agent_no])::text END",
        "delivery_status": (f"CASE WHEN NOT o.reply THEN NULL WHEN {_failed(d, 'k')} THEN 'failed' "
                            f"WHEN {d.m('k', 10)} < 0.55 THEN 'read' "
                            f"WHEN {d.m('k', 10)} < 0.96 THEN 'delivered' ELSE 'sent' END"),
        "delivery_error": f"CASE WHEN o.reply AND {_failed(d, 'k')} THEN 'platform rejected the message' END",
        "dispatched_at": (f"CASE WHEN o.reply AND NOT {_failed(d, 'k')} THEN "
                          f"to_timestamp({sent} + {_dispatch_delay(d, 'k')}) END"),
        "score": (f"CASE WHEN {inbound} THEN round((10 + 60 * {d.m('k', 11)} + CASE WHEN "
                  f"{_sentiment_score(d, 'k')} < -0.3 THEN 25 ELSE 0 END)::numeric, 1)::float8 END"),
        "sentiment_label": f"CASE WHEN {inbound} THEN {_sentiment_label(d, 'k')} END",
        "sentiment_score": f"CASE WHEN {inbound} THEN {_sentiment_score(d, 'k')} END",
        "breakdown": f"CASE WHEN {inbound} THEN (CASE {_sentiment_label(d, 'k')} {breakdown} END) END",
        "scorer": f"CASE WHEN {inbound} THEN 'rules-v1' END",
    }


def insert_conversations(spec: Spec, d: Draws, columns: Sequence[str]) -> str:
    exprs = conversation_columns(spec, d)
    return f"""
    INSERT INTO {SCHEMA}.conversations ({", ".join(columns)})
    SELECT {", ".join(exprs[name] for name in columns)}
    FROM ({conversation_params(spec, d)}) c
    CROSS JOIN LATERAL (SELECT {_status_expr(spec)} AS status,
        (SELECT max(k) FROM generate_series(0, c.m - 1) AS k WHERE NOT {_outbound(d, 'k')})
            AS latest_inbound) s
    """


def insert_messages(spec: Spec, d: Draws, columns: Sequence[str]) -> str:
    exprs = message_columns(spec, d)
    return f"""
    INSERT INTO {SCHEMA}.messages ({", ".join(columns)})
    SELECT {", ".join(exprs[name] for name in columns)}
    FROM ({conversation_params(spec, d)}) c
    CROSS JOIN LATERAL generate_series(0, c.m - 1) AS k
    CROSS JOIN LATERAL (SELECT {_outbound(d, 'k')} AS outbound) o0
    CROSS JOIN LATERAL (SELECT o0.outbound, o0.outbound AND {_agent_reply(d, 'k')} AS reply) o
    """


# -- loading ---------------------------------------------------------------------------------------


def asyncpg_dsn(database_url: str) -> str:
    """asyncpg's DSN from the SQLAlchemy URL the services use."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def table_columns(conn: asyncpg.Connection, table: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT column_name, is_nullable, column_default, is_identity FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", SCHEMA, table))


def plan_columns(table: str, present: Sequence[asyncpg.Record] | Sequence[Mapping[str, Any]],
                 known: Mapping[str, str]) -> list[str]:
    """The columns to fill: those this module knows that the table has. A column it does not know
    keeps its default; one it cannot leave out (NOT NULL without a default) is an error."""
    names = [row["column_name"] for row in present]
    if not names:
        raise RuntimeError(f"{SCHEMA}.{table} does not exist: migrate the gateway first")
    unknown = [row for row in present if row["column_name"] not in known]
    required = [row["column_name"] for row in unknown if row["is_nullable"] == "NO"
                and row["column_default"] is None and row["is_identity"] != "YES"]
    if required:
        raise RuntimeError(f"{SCHEMA}.{table} has new NOT NULL columns without a default that "
                           f"the generator does not fill: {', '.join(required)}")
    if unknown:
        log.warning("gateway_data.columns_left_default", table=table,
                    columns=[row["column_name"] for row in unknown])
    missing = [name for name in known if name not in names]
    if missing:
        log.warning("gateway_data.columns_gone", table=table, columns=missing)
    return [name for name in known if name in names]


@dataclass
class Dropped:
    """What the load removed to be rebuilt after: index and constraint DDL, in order."""
    statements: list[str]


async def drop_indexes(conn: asyncpg.Connection, tables: Sequence[str]) -> Dropped:
    """Drop the secondary indexes and the primary keys no foreign key needs; returns their DDL."""
    rows = await conn.fetch(
        """
        SELECT t.relname AS table, i.relname AS index, pg_get_indexdef(i.oid) AS indexdef,
               con.conname AS constraint, pg_get_constraintdef(con.oid) AS constraintdef,
               EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'
                       AND f.conindid = i.oid) AS referenced,
               pg_relation_size(t.oid) AS table_bytes
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.contype IN ('p', 'u')
        WHERE n.nspname = $1 AND t.relname = ANY($2::text[])
        ORDER BY t.relname, i.relname
        """, SCHEMA, list(tables))
    statements: list[str] = []
    for row in rows:
        if row["referenced"]:
            continue
        if row["constraint"] is not None:
            await conn.execute(f'ALTER TABLE {SCHEMA}."{row["table"]}" DROP CONSTRAINT "{row["constraint"]}"')
            statements.append(f'ALTER TABLE {SCHEMA}."{row["table"]}" ADD CONSTRAINT '
                              f'"{row["constraint"]}" {row["constraintdef"]}')
        else:
            await conn.execute(f'DROP INDEX {SCHEMA}."{row["index"]}"')
            statements.append(row["indexdef"])
    return Dropped(statements)


async def _on_connections(dsn: str, workers: int, jobs: Sequence[tuple[str, Sequence[Any]]],
                          session_sql: Sequence[str] = ()) -> None:
    """Run the statements on ``workers`` connections, each taking the next job when free."""
    queue: asyncio.Queue[tuple[str, Sequence[Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for statement in session_sql:
                await conn.execute(statement)
            while not queue.empty():
                sql, args = queue.get_nowait()
                await conn.execute(sql, *args)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))


def _parameters(spec: Spec, lo: int, hi: int) -> list[Any]:
    team_agents = agents(spec.seed)
    return [
        _starts(day_weights(spec)), list(INBOUND_TEXTS), list(OUTBOUND_TEXTS), lo, hi,
        _starts(HOURLY), _starts([share for _, share, *_ in CHANNELS]),
        [a.id for a in team_agents], [a.name for a in team_agents], [a.team for a in team_agents],
        list(FIRST_NAMES), list(LAST_NAMES), spec.conversations,
    ]


# Fast bulk loading: nothing waits for the WAL to reach the disk (a crash loses the load, which is
# rerun), and large sorts for the index builds.
_LOAD_SESSION = ("SET synchronous_commit = off", "SET maintenance_work_mem = '512MB'",
                 "SET work_mem = '64MB'", "SET jit = off")


async def _timed(timings: dict[str, float | None], name: str, work: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await work()
    timings[name] = round(time.perf_counter() - started, 2)
    log.info("gateway_data.step", step=name, seconds=timings[name])
    return result


async def fill(database_url: str, spec: Spec, *, workers: int = 2, chunk: int = 50_000,
               kpi: bool = True) -> dict[str, Any]:
    """Replace the gateway read model's conversations and messages (and timeline, if the schema
    has one) in the migrated database at ``database_url``; returns counts and timings."""
    dsn = asyncpg_dsn(database_url)
    d = Draws(spec.seed)
    timings: dict[str, float | None] = {}
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        conversation_cols = plan_columns("conversations", await table_columns(conn, "conversations"),
                                         conversation_columns(spec, d))
        message_cols = plan_columns("messages", await table_columns(conn, "messages"),
                                    message_columns(spec, d))
        has_timeline = bool(await table_columns(conn, "timeline"))
        tables = ["conversations", "messages", *(["timeline"] if has_timeline else [])]
        # The whole read model is replaced: KPI inputs and aggregates, notes, timeline included
        # (rebuilt or left empty below), so nothing from an earlier fill or event survives.
        everything = [row["tablename"] for row in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'alembic_version'",
            SCHEMA)]
        await conn.execute(f"TRUNCATE {', '.join(f'{SCHEMA}.{t}' for t in everything)}")
        dropped = await drop_indexes(conn, tables)
    finally:
        await conn.close()

    ranges = [(lo, min(lo + chunk, spec.conversations)) for lo in range(0, spec.conversations, chunk)]
    conversations_sql = insert_conversations(spec, d, conversation_cols)
    messages_sql = insert_messages(spec, d, message_cols)
    await _timed(timings, "conversations", lambda: _on_connections(
        dsn, workers, [(conversations_sql, _parameters(spec, lo, hi)) for lo, hi in ranges], _LOAD_SESSION))
    await _timed(timings, "messages", lambda: _on_connections(
        dsn, workers, [(messages_sql, _parameters(spec, lo, hi)) for lo, hi in ranges], _LOAD_SESSION))
    if has_timeline:
        # Without indexes yet, so one pass over messages (a join per chunk would scan them all).
        await _timed(timings, "timeline", lambda: _on_connections(dsn, 1, [(
            f"INSERT INTO {SCHEMA}.timeline (id, conversation_id, kind, occurred_at, message_id) "
            f"SELECT id, conversation_id, 'message', sent_at, id FROM {SCHEMA}.messages", [])],
            _LOAD_SESSION))
    await _timed(timings, "indexes", lambda: _on_connections(
        dsn, workers, [(statement, []) for statement in dropped.statements], _LOAD_SESSION))
    await _timed(timings, "vacuum_analyze", lambda: _on_connections(
        dsn, workers, [(f"VACUUM (ANALYZE) {SCHEMA}.{t}", []) for t in tables], _LOAD_SESSION))
    kpi_error = None
    try:
        timings["kpi_rebuild"] = await rebuild_kpis(database_url) if kpi else None
    except Exception as exc:
        # Another part's code changing under a long load must not throw the load away: the
        # report says the KPI tables are empty and why, and the next schema change rebuilds.
        kpi_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.error("gateway_data.kpi_rebuild_failed", error=kpi_error)
        timings["kpi_rebuild"] = None
    conn = await asyncpg.connect(dsn)
    try:
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{t}") for t in tables}
        database_bytes = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    timings["total"] = round(time.perf_counter() - started, 2)
    return {"spec": {**asdict(spec), "end": spec.end.isoformat()}, "counts": counts,
            "conversations": counts["conversations"], "messages": counts["messages"],
            "database_bytes": database_bytes, "seconds": timings,
            "indexes_rebuilt": len(dropped.statements),
            **({"kpi_rebuild_error": kpi_error} if kpi_error else {})}


async def rebuild_kpis(database_url: str) -> float | None:
    """Part C's ``kpi.service.rebuild(tx, since=None)`` recomputes the KPI aggregates from the read
    model; run it when the gateway has it. Returns its duration, or None when it does not exist."""
    try:
        from sportello_gateway.kpi import service as kpi_service  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        log.warning("gateway_data.kpi_rebuild_skipped", reason="sportello_gateway.kpi.service not found")
        return None
    rebuild = getattr(kpi_service, "rebuild", None)
    if rebuild is None:
        log.warning("gateway_data.kpi_rebuild_skipped", reason="kpi.service has no rebuild()")
        return None
    from pydantic import SecretStr

    from sportello.db import Database
    from sportello.db.database import create_engine
    from sportello.settings import ServiceSettings
    from sportello_gateway.tables import metadata

    engine = create_engine(ServiceSettings(database_url=SecretStr(database_url)))
    started = time.perf_counter()
    try:
        async with Database(engine, metadata, source="sportello/gateway-data").transaction() as tx:
            await rebuild(tx, since=None)
    finally:
        await engine.dispose()
    seconds = round(time.perf_counter() - started, 2)
    log.info("gateway_data.kpi_rebuilt", seconds=seconds)
    return seconds


def gateway_migrations() -> Path:
    """The gateway's alembic folder, found without importing its component: its routes are not
    needed here, and the tables module is all the migrations import."""
    spec = importlib.util.find_spec("sportello_gateway")
    if spec is None or spec.origin is None:
        raise RuntimeError("sportello_gateway is not installed")
    return Path(spec.origin).parent / "migrations"


async def migrate_gateway(database_url: str) -> None:
    from sportello.db.migrations import upgrade

    await asyncio.to_thread(upgrade, database_url, gateway_migrations())


def gateway_head() -> str:
    """The gateway's migration head and a digest of its migration scripts and of the statements
    this generator runs: a cached data set is valid only for the schema and the data that made it
    (editing a comment here does not throw a cached million conversations away)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(gateway_migrations()))
    head = ScriptDirectory.from_config(config).get_current_head() or "none"
    digest = hashlib.sha256()
    for script in sorted((gateway_migrations() / "versions").glob("*.py")):
        digest.update(script.name.encode())
        digest.update(script.read_bytes())
    probe = Spec(conversations=2, end=datetime(2000, 1, 1, tzinfo=UTC))
    draws = Draws(probe.seed)
    digest.update(insert_conversations(probe, draws, list(conversation_columns(probe, draws))).encode())
    digest.update(insert_messages(probe, draws, list(message_columns(probe, draws))).encode())
    digest.update(repr(_parameters(probe, 0, 2)).encode())
    digest.update(repr((_LOAD_SESSION, BENCH_SERVER_SETTINGS)).encode())
    return f"{head}-{digest.hexdigest()[:10]}"


# Settings for a private, benchmark-only server (not for a shared one): memory for the working set
# of 1M conversations, the WAL sized so the load does not checkpoint every few seconds. Applied
# with ALTER SYSTEM; shared_buffers takes effect at the next start.
BENCH_SERVER_SETTINGS = {"shared_buffers": "2GB", "effective_cache_size": "8GB",
                         "max_wal_size": "8GB", "checkpoint_timeout": "30min",
                         "maintenance_work_mem": "512MB"}


async def configure_bench_server(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        for name, value in BENCH_SERVER_SETTINGS.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def generate(spec: Spec, *, database_url: str | None = None, data_dir: Path | None = None,
             workers: int = 2, kpi: bool = True) -> dict[str, Any]:
    """Migrate and fill. With ``data_dir``, on an embedded PostgreSQL there (created if missing,
    stopped when this process exits) in database ``gateway_bench``."""
    if (database_url is None) == (data_dir is None):
        raise ValueError("give exactly one of database_url and data_dir")
    if data_dir is not None:
        from sportello_deploy.postgres import start_postgres

        server = start_postgres(data_dir)
        database_url = server.create_database(BENCH_DATABASE)
        asyncio.run(configure_bench_server(database_url))
    assert database_url is not None
    asyncio.run(migrate_gateway(database_url))
    result = asyncio.run(fill(database_url, spec, workers=workers, kpi=kpi))
    result["gateway_head"] = gateway_head()
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.gateway_data")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--end", type=datetime.fromisoformat, default=None,
                        help="the period's end, ISO 8601 with an offset; default today 00:00 UTC")
    parser.add_argument("--workers", type=int, default=2, help="parallel connections")
    parser.add_argument("--skip-kpi-rebuild", action="store_true",
                        help="leave the KPI aggregates empty (the read model only)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--database-url", help="SQLAlchemy URL of a database to fill")
    target.add_argument("--data-dir", type=Path, help="an embedded PostgreSQL data folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from sportello.observability.logging import configure_logging

    args = parse_args(argv)
    configure_logging("INFO", json=False, stream=sys.stderr)
    spec = Spec(conversations=args.conversations,
                messages_per_conversation=args.messages_per_conversation, seed=args.seed,
                days=args.days, **({"end": args.end} if args.end else {}))
    result = generate(spec, database_url=args.database_url, data_dir=args.data_dir,
                      workers=args.workers, kpi=not args.skip_kpi_rebuild)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
