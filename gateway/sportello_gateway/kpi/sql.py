"""The set-based statements everything else rests on, as SQL text: facts from a conversation's
inputs, the conversations' contributions to the buckets, and the agents' (presence intervals).

Each takes a *scope*: one conversation or agent (the handlers), a set of them, or all
(``rebuild``), so the incremental path and the rebuild run the very same SQL and cannot drift
apart.
"""

from __future__ import annotations

from sportello_gateway.kpi.histogram import BIN_SQL

# A scope is a boolean SQL condition on a conversation-id column named {column}.
ALL = "TRUE"
SOME = "{column} = ANY(CAST(:ids AS uuid[]))"


def scoped(scope: str, column: str) -> str:
    return scope.replace("{column}", column)


def _bin(seconds: str) -> str:
    return BIN_SQL.replace("{seconds}", seconds)


# A hold: an agent's assignment, from its moment until the next assignment change or the next
# resolution or snooze at or after its start, whichever comes first (a snooze frees the agent's
# slot; waking the conversation is a new assignment, so a new hold). Statuses are matched by time,
# not sequence: a conversation's assignment and status sequences are counted apart. ended_at is
# NULL while the hold runs: it is not counted until it ends. Shared by handle time (facts) and
# concurrency (buckets), so the two cannot disagree on what a hold is.
_HELD = """
    SELECT a.conversation_id, a.agent_id, a.team, a.at, LEAST(a.next_at, stop.at) AS ended_at
    FROM (
        SELECT a.*, lead(a.at) OVER (PARTITION BY a.conversation_id ORDER BY a.sequence)
            AS next_at
        FROM gateway.kpi_assignments a WHERE {a_scope}
    ) a
    CROSS JOIN LATERAL (
        SELECT min(s.at) AS at FROM gateway.kpi_status_changes s
        WHERE s.conversation_id = a.conversation_id AND s.status IN ('resolved', 'snoozed')
          AND s.at >= a.at
    ) AS stop
    WHERE a.kind = 'assigned'
"""

# Facts from inputs. Responses: the messages of a conversation on one time line (an agent's reply
# at the moment it went out, a failed message not at all); each outbound message closes the "wait"
# of the inbound messages since the previous outbound one, and the wait's length is from its first
# inbound message to that answer. The first answered wait is the first response, later ones are
# next responses. Ties put the outbound message first: an answer must come after the question.
_RECOMPUTE = """
WITH msgs AS (
    SELECT m.* FROM gateway.kpi_messages m WHERE m.known AND {m_scope}
), message_facts AS (
    SELECT conversation_id,
        min(sent_at) FILTER (WHERE NOT agent_reply) AS opened_at,
        (array_agg(channel ORDER BY sent_at, id) FILTER (WHERE NOT agent_reply))[1] AS channel,
        count(DISTINCT channel) AS channel_count,
        min(sent_at) FILTER (WHERE direction = 'inbound') AS first_inbound_at,
        count(*) FILTER (WHERE direction = 'inbound') AS inbound_count,
        count(*) FILTER (WHERE direction = 'outbound') AS outbound_count,
        (array_agg(sentiment_label ORDER BY sent_at, id)
            FILTER (WHERE direction = 'inbound' AND sentiment_label IS NOT NULL))[1]
            AS first_sentiment,
        (array_agg(sentiment_label ORDER BY sent_at DESC, id DESC)
            FILTER (WHERE direction = 'inbound' AND sentiment_label IS NOT NULL))[1]
            AS last_sentiment
    FROM msgs GROUP BY conversation_id
), timeline AS (
    SELECT conversation_id, direction,
        CASE WHEN agent_reply THEN dispatched_at ELSE sent_at END AS at
    FROM msgs WHERE direction = 'inbound' OR (direction = 'outbound' AND NOT failed)
), waits AS (
    SELECT conversation_id, direction, at,
        count(*) FILTER (WHERE direction = 'outbound') OVER (
            PARTITION BY conversation_id ORDER BY at, direction DESC ROWS UNBOUNDED PRECEDING)
        - CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END AS wait
    FROM timeline WHERE at IS NOT NULL
), answered AS (
    SELECT conversation_id, wait, min(at) FILTER (WHERE direction = 'outbound') AS answered_at,
        min(at) FILTER (WHERE direction = 'inbound') AS since
    FROM waits GROUP BY conversation_id, wait
), responses AS (
    SELECT conversation_id, answered_at,
        EXTRACT(EPOCH FROM answered_at - since)::float8 AS seconds,
        row_number() OVER (PARTITION BY conversation_id ORDER BY wait) AS nth
    FROM answered WHERE since IS NOT NULL AND answered_at IS NOT NULL
), response_facts AS (
    SELECT conversation_id,
        min(answered_at) FILTER (WHERE nth = 1) AS first_response_at,
        min(seconds) FILTER (WHERE nth = 1) AS first_response_seconds,
        array_agg(answered_at ORDER BY nth) FILTER (WHERE nth > 1) AS next_response_at,
        array_agg(seconds ORDER BY nth) FILTER (WHERE nth > 1) AS next_response_seconds
    FROM responses GROUP BY conversation_id
), statuses AS (
    SELECT s.conversation_id, s.sequence, s.status, s.at,
        lag(s.status, 1, 'open') OVER (PARTITION BY s.conversation_id ORDER BY s.sequence)
            AS before
    FROM gateway.kpi_status_changes s WHERE {s_scope}
), status_facts AS (
    SELECT conversation_id,
        (array_agg(status ORDER BY sequence DESC))[1] AS status,
        (array_agg(at ORDER BY sequence DESC))[1] AS changed_at,
        count(*) FILTER (WHERE status = 'open' AND before = 'resolved') AS reopen_count
    FROM statuses GROUP BY conversation_id
), assignment_facts AS (
    SELECT a.conversation_id,
        (array_agg(a.agent_id ORDER BY a.sequence DESC))[1] AS agent_id,
        (array_agg(a.team ORDER BY a.sequence DESC))[1] AS team,
        count(*) FILTER (WHERE a.kind = 'assigned') AS assignment_count
    FROM gateway.kpi_assignments a WHERE {a_scope} GROUP BY a.conversation_id
), held AS ({held}
), handle_facts AS (
    -- Handle time: the seconds agents held the conversation (every ended hold that began before
    -- its last resolution, so the work before a reopening counts too, snoozed time does not),
    -- counted once, at the last resolution, like the resolution time.
    SELECT h.conversation_id,
        sum(EXTRACT(EPOCH FROM LEAST(h.ended_at, sf.changed_at) - h.at))::float8
            AS handle_seconds
    FROM held h JOIN status_facts sf USING (conversation_id)
    WHERE sf.status = 'resolved' AND h.at < sf.changed_at AND h.ended_at > h.at
    GROUP BY h.conversation_id
), facts AS (
    SELECT f.id, mf.channel, COALESCE(mf.channel_count, 0) AS channel_count, af.team,
        af.agent_id, mf.opened_at, mf.first_inbound_at, rf.first_response_at,
        rf.first_response_seconds,
        COALESCE(rf.next_response_at, '{{}}') AS next_response_at,
        COALESCE(rf.next_response_seconds, '{{}}') AS next_response_seconds,
        COALESCE(mf.inbound_count, 0) AS inbound_count,
        COALESCE(mf.outbound_count, 0) AS outbound_count,
        COALESCE(sf.status, 'open') AS status,
        CASE WHEN sf.status = 'resolved' THEN sf.changed_at END AS resolved_at,
        CASE WHEN sf.status = 'resolved' AND mf.opened_at IS NOT NULL
             THEN GREATEST(0, EXTRACT(EPOCH FROM sf.changed_at - mf.opened_at))::float8
        END AS resolution_seconds,
        COALESCE(sf.reopen_count, 0) AS reopen_count,
        COALESCE(af.assignment_count, 0) AS assignment_count,
        hf.handle_seconds,
        CASE WHEN rf.first_response_at IS NOT NULL AND f.sla_first_response_deadline IS NOT NULL
             THEN rf.first_response_at <= f.sla_first_response_deadline
        END AS sla_first_response_met,
        CASE WHEN sf.status = 'resolved' AND f.sla_resolution_deadline IS NOT NULL
             THEN sf.changed_at <= f.sla_resolution_deadline
        END AS sla_resolution_met,
        mf.first_sentiment, mf.last_sentiment
    FROM gateway.kpi_conversations f
    LEFT JOIN message_facts mf ON mf.conversation_id = f.id
    LEFT JOIN response_facts rf ON rf.conversation_id = f.id
    LEFT JOIN status_facts sf ON sf.conversation_id = f.id
    LEFT JOIN assignment_facts af ON af.conversation_id = f.id
    LEFT JOIN handle_facts hf ON hf.conversation_id = f.id
    WHERE {f_scope}
)
UPDATE gateway.kpi_conversations AS t SET
    channel = facts.channel, channel_count = facts.channel_count, team = facts.team,
    agent_id = facts.agent_id, opened_at = facts.opened_at,
    first_inbound_at = facts.first_inbound_at, first_response_at = facts.first_response_at,
    first_response_seconds = facts.first_response_seconds,
    next_response_at = facts.next_response_at,
    next_response_seconds = facts.next_response_seconds,
    inbound_count = facts.inbound_count, outbound_count = facts.outbound_count,
    status = facts.status, resolved_at = facts.resolved_at,
    resolution_seconds = facts.resolution_seconds, reopen_count = facts.reopen_count,
    assignment_count = facts.assignment_count, handle_seconds = facts.handle_seconds,
    sla_first_response_met = facts.sla_first_response_met,
    sla_resolution_met = facts.sla_resolution_met,
    first_sentiment = facts.first_sentiment, last_sentiment = facts.last_sentiment
FROM facts WHERE t.id = facts.id
"""

# Buckets from facts: every (hour, dimensions, measure, bin) a conversation adds to, times :sign,
# into the hourly buckets and their daily rollup.
# A conversation counts only once its first message is known (opened_at), as in the read model.
# Dimensions are the conversation's channel (its first message's) and its latest team and agent,
# except agent concurrency, which belongs to the agent who held the conversation at the time.
_CONTRIBUTIONS = """
WITH held AS ({held}
), f AS (
    SELECT c.*, COALESCE(c.channel, '') AS ch, COALESCE(c.team, '') AS tm,
        COALESCE(c.agent_id::text, '') AS ag
    FROM gateway.kpi_conversations c WHERE c.opened_at IS NOT NULL AND {f_scope}
), parts AS (
    SELECT date_trunc('hour', opened_at, 'UTC') AS hour, ch, tm, ag,
        'opened'::text AS measure, 0 AS bin, 1::float8 AS value
    FROM f
    UNION ALL
    SELECT date_trunc('hour', opened_at, 'UTC'), ch, tm, ag, 'backlog_delta', 0, 1 FROM f
    UNION ALL
    SELECT date_trunc('hour', m.sent_at, 'UTC'), f.ch, f.tm, f.ag, m.direction, 0, 1
    FROM f JOIN gateway.kpi_messages m ON m.conversation_id = f.id
    WHERE m.known AND m.direction IN ('inbound', 'outbound')
    UNION ALL
    SELECT date_trunc('hour', m.sent_at, 'UTC'), f.ch, f.tm, f.ag, 'sentiment',
        CASE m.sentiment_label WHEN 'negative' THEN 0 WHEN 'neutral' THEN 1 ELSE 2 END, 1
    FROM f JOIN gateway.kpi_messages m ON m.conversation_id = f.id
    WHERE m.known AND m.direction = 'inbound' AND m.sentiment_label IS NOT NULL
    UNION ALL
    SELECT date_trunc('hour', f.first_response_at, 'UTC'), ch, tm, ag, r.measure, r.bin, r.value
    FROM f CROSS JOIN LATERAL (VALUES
        ('first_response', {first_bin}, 1::float8),
        ('first_response_sum', 0, f.first_response_seconds),
        (CASE WHEN f.sla_first_response_met THEN 'sla_first_response_hit'
              WHEN NOT f.sla_first_response_met THEN 'sla_first_response_miss' END, 0, 1)
    ) AS r(measure, bin, value)
    WHERE f.first_response_at IS NOT NULL AND r.measure IS NOT NULL
    UNION ALL
    SELECT date_trunc('hour', n.at, 'UTC'), ch, tm, ag, r.measure, r.bin, r.value
    FROM f CROSS JOIN LATERAL unnest(f.next_response_at, f.next_response_seconds) AS n(at, seconds)
    CROSS JOIN LATERAL (VALUES
        ('next_response', {next_bin}, 1::float8),
        ('next_response_sum', 0, n.seconds)
    ) AS r(measure, bin, value)
    UNION ALL
    SELECT date_trunc('hour', f.resolved_at, 'UTC'), ch, tm, ag, r.measure, r.bin, r.value
    FROM f CROSS JOIN LATERAL (VALUES
        ('resolved', 0, 1::float8),
        ('resolution', {resolution_bin}, 1),
        ('resolution_sum', 0, f.resolution_seconds),
        ('resolved_in_channel', 0, CASE WHEN f.channel_count <= 1 THEN 1 ELSE 0 END),
        ('resolved_reopened', 0, CASE WHEN f.reopen_count > 0 THEN 1 ELSE 0 END),
        ('reopens', 0, f.reopen_count),
        (CASE WHEN f.sla_resolution_met THEN 'sla_resolution_hit'
              WHEN NOT f.sla_resolution_met THEN 'sla_resolution_miss' END, 0, 1),
        (CASE WHEN f.first_sentiment IS NOT NULL AND f.last_sentiment IS NOT NULL
              THEN 'sentiment_transition' END,
         {transition_bin}, 1),
        (CASE WHEN f.handle_seconds IS NOT NULL THEN 'handle' END, {handle_bin}, 1),
        (CASE WHEN f.handle_seconds IS NOT NULL THEN 'handle_sum' END, 0, f.handle_seconds)
    ) AS r(measure, bin, value)
    WHERE f.resolved_at IS NOT NULL AND r.measure IS NOT NULL
    UNION ALL
    -- CSAT counts where the conversation was resolved; while it is open, when it was answered.
    SELECT date_trunc('hour', COALESCE(f.resolved_at, f.csat_at), 'UTC'), ch, tm, ag, 'csat',
        f.csat_score - 1, 1
    FROM f WHERE f.csat_score IS NOT NULL
    UNION ALL
    -- Backlog, the unresolved conversations: +1 when opened (above), -1 when resolved, +1 when
    -- it leaves 'resolved' (reopened); open <-> snoozed leaves it as it is (snoozed is unresolved
    -- work). Snoozed, a second running figure: +1 on entering 'snoozed', -1 on leaving it.
    SELECT date_trunc('hour', s.at, 'UTC'), f.ch, f.tm, f.ag, r.measure, 0, r.value
    FROM f JOIN (
        SELECT s.*, lag(s.status, 1, 'open') OVER (
            PARTITION BY s.conversation_id ORDER BY s.sequence) AS before
        FROM gateway.kpi_status_changes s WHERE {s_scope}
    ) s ON s.conversation_id = f.id
    CROSS JOIN LATERAL (VALUES
        ('backlog_delta', CASE WHEN s.status = 'resolved' THEN -1
                               WHEN s.before = 'resolved' THEN 1 ELSE 0 END::float8),
        ('snoozed_delta', CASE WHEN s.status = 'snoozed' THEN 1
                               WHEN s.before = 'snoozed' THEN -1 ELSE 0 END)
    ) AS r(measure, value)
    WHERE s.status <> s.before AND r.value <> 0
    UNION ALL
    -- Concurrency: seconds each agent held the conversation (see _HELD), hour by hour.
    SELECT g.hour, f.ch, COALESCE(h.team, ''), h.agent_id::text, 'concurrency_seconds', 0,
        o.seconds
    FROM f JOIN held h ON h.conversation_id = f.id
    {held_hours}
    WHERE h.ended_at > h.at AND g.hour < h.ended_at
), {write}
"""

# Every (hour, dimensions, measure, bin) the rows of ``parts`` add to, times :sign, into the hourly
# buckets and their daily rollup: the tail both bucket statements share.
_WRITE_BUCKETS = """summed AS (
    SELECT hour, ch, tm, ag, measure, bin, sum(value) * :sign AS value
    FROM parts GROUP BY hour, ch, tm, ag, measure, bin
    HAVING sum(value) <> 0
), hourly AS (
    -- In key order, so concurrent handlers lock shared bucket rows in the same order.
    INSERT INTO gateway.kpi_hourly AS k (hour, channel, team, agent_id, measure, bin, value)
    SELECT * FROM summed {hourly_order}
    ON CONFLICT (hour, channel, team, agent_id, measure, bin)
    DO UPDATE SET value = k.value + EXCLUDED.value
), by_day AS (
    -- The daily rollups (see tables.kpi_daily), all grains in one pass (GROUPING SETS); '*' is
    -- "all" in a rolled-up dimension. Volume counts keep their UTC hour of the day as their bin.
    SELECT date_trunc('day', hour, 'UTC') AS day, ch, tm, ag, measure,
        CASE WHEN measure IN ('opened', 'inbound', 'outbound')
             THEN EXTRACT(HOUR FROM hour AT TIME ZONE 'UTC')::int ELSE bin END AS bin,
        value
    FROM summed
)
INSERT INTO gateway.kpi_daily AS d (grain, day, channel, team, agent_id, measure, bin, value)
SELECT
    -- GROUPING() has a bit set for each dimension rolled up: ch 4, tm 2, ag 1.
    CASE GROUPING(ch, tm, ag) WHEN 1 THEN 'channel_team' WHEN 3 THEN 'channel'
        WHEN 5 THEN 'team' WHEN 6 THEN 'agent' ELSE 'all' END,
    day,
    CASE WHEN GROUPING(ch) = 1 THEN '*' ELSE ch END,
    CASE WHEN GROUPING(tm) = 1 THEN '*' ELSE tm END,
    CASE WHEN GROUPING(ag) = 1 THEN '*' ELSE ag END,
    measure, bin, sum(value)
FROM by_day
GROUP BY day, measure, bin, GROUPING SETS ((ch, tm), (ch), (tm), (), (ag))
HAVING sum(value) <> 0
{daily_order}
ON CONFLICT (grain, day, channel, team, agent_id, measure, bin)
DO UPDATE SET value = d.value + EXCLUDED.value
"""

# Agents' online time, from their presence changes: each change opens an interval that the agent's
# next change (by sequence) closes; an online interval adds its seconds, hour by hour, to
# online_seconds and its seconds times the capacity of that change to capacity_seconds, under the
# team it names and the agent (no channel: capacity spans every channel). An agent's last interval
# is still running and is added at report time instead (RUNNING_PRESENCE). Scope: {rows} chooses
# the changes read (an interval needs its successor among them), {intervals} the intervals counted.
_PRESENCE = """
WITH intervals AS (
    SELECT p.agent_id, p.sequence, p.presence, p.capacity, p.team, p.at,
        lead(p.at) OVER (PARTITION BY p.agent_id ORDER BY p.sequence) AS ended_at
    FROM gateway.kpi_agent_presence p WHERE {rows}
), parts AS (
    SELECT g.hour, ''::text AS ch, i.team AS tm, i.agent_id::text AS ag, r.measure, 0 AS bin,
        r.value
    FROM intervals i
    {hours}
    {online}
    WHERE i.presence = 'online' AND i.ended_at > i.at AND g.hour < i.ended_at AND {intervals}
), {write}
"""
# One agent's intervals from the change :low to the change :high (the handler: the predecessor of
# a new change, and the new change).
AGENT_RANGE = ("p.agent_id = :agent AND p.sequence >= :low", "i.sequence <= :high")

# The agents' running intervals (their latest change is online), as they would stand in the
# buckets if they ended :now: per hour starting in [:start, :end) and before :now, summed per
# report group ({key}). Reads kpi_agents, one row per agent.
_RUNNING_PRESENCE = """
SELECT {key} AS key, r.measure, 0 AS bin, sum(r.value) AS value
FROM gateway.kpi_agents a
{hours}
{online}
WHERE a.presence = 'online' AND a.at < CAST(:now AS timestamptz)
  AND g.hour >= CAST(:start AS timestamptz) AND g.hour < CAST(:end AS timestamptz)
  AND g.hour < CAST(:now AS timestamptz) AND o.seconds > 0
  AND (CAST(:team AS text) IS NULL OR a.team = CAST(:team AS text))
  AND (CAST(:agent AS text) IS NULL OR a.agent_id::text = CAST(:agent AS text))
  -- Presence has no channel: a report on one channel has no online time.
  AND (CAST(:channel AS text) IS NULL OR CAST(:channel AS text) = '')
GROUP BY 1, 2
"""
# The report group of a running interval's hour, as repository._group_key names it.
_RUNNING_KEYS = {
    None: "''", "channel": "''", "team": "a.team", "agent": "a.agent_id::text",
    "hour": """to_char(g.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"Z"')""",
    "day": "to_char(g.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}

# Rebuild: every agent's latest change, from the stored changes.
LATEST_PRESENCE = """
INSERT INTO gateway.kpi_agents AS k (agent_id, sequence, presence, capacity, team, at)
SELECT DISTINCT ON (p.agent_id) p.agent_id, p.sequence, p.presence, p.capacity, p.team, p.at
FROM gateway.kpi_agent_presence p ORDER BY p.agent_id, p.sequence DESC
ON CONFLICT (agent_id) DO UPDATE SET sequence = EXCLUDED.sequence,
    presence = EXCLUDED.presence, capacity = EXCLUDED.capacity, team = EXCLUDED.team,
    at = EXCLUDED.at
"""

LABELS = ("negative", "neutral", "positive")
# Figures kept as changes (deltas), summed from the beginning: the unresolved and the snoozed
# conversations.
RUNNING_MEASURES = ("backlog_delta", "snoozed_delta")
# Plain counts that the daily rollup keeps per UTC hour of the day (as their bin).
VOLUME_MEASURES = ("opened", "inbound", "outbound")
# The daily rollups: which dimensions each keeps (the others are '*').
GRAINS = ("all", "channel", "team", "channel_team", "agent")


def _label_index(column: str) -> str:
    return f"(CASE {column} WHEN 'negative' THEN 0 WHEN 'neutral' THEN 1 ELSE 2 END)"


def _held(scope: str) -> str:
    return _HELD.format(a_scope=scoped(scope, "a.conversation_id"))


def _write_buckets(ordered: bool) -> str:
    """``ordered``: write bucket rows in key order, so concurrent handlers lock shared rows in the
    same order (no deadlock); the rebuild, alone on emptied tables, skips the sorts."""
    return _WRITE_BUCKETS.format(
        hourly_order="ORDER BY hour, ch, tm, ag, measure, bin" if ordered else "",
        daily_order="ORDER BY 1, 2, 3, 4, 5, 6, 7" if ordered else "",
    )


def recompute(scope: str) -> str:
    return _RECOMPUTE.format(
        m_scope=scoped(scope, "m.conversation_id"), s_scope=scoped(scope, "s.conversation_id"),
        a_scope=scoped(scope, "a.conversation_id"), f_scope=scoped(scope, "f.id"),
        held=_held(scope),
    )


_HOURS = """CROSS JOIN LATERAL generate_series(date_trunc('hour', {first}, 'UTC'), {last},
                                       interval '1 hour') AS g(hour)
    CROSS JOIN LATERAL (SELECT EXTRACT(EPOCH FROM LEAST({ended}, g.hour + interval '1 hour')
                                              - GREATEST({began}, g.hour))::float8) AS o(seconds)"""


def _hours(began: str, ended: str, first: str | None = None, last: str | None = None) -> str:
    """Joins g(hour), every UTC hour from the one of ``first`` (default ``began``) to ``last``
    (default ``ended``), and o(seconds), the part of [began, ended) in that hour: how an interval
    (a hold, an online spell) is split into the hourly buckets. The caller keeps the hours that
    start before ``ended``."""
    return _HOURS.format(began=began, ended=ended, first=first or began, last=last or ended)


def _online(capacity: str) -> str:
    """The two measures an online spell's o.seconds adds to, as r(measure, value)."""
    return f"""CROSS JOIN LATERAL (VALUES
        ('online_seconds'::text, o.seconds),
        ('capacity_seconds', o.seconds * {capacity})
    ) AS r(measure, value)"""


def presence_contributions(rows: str = ALL, intervals: str = ALL, *,
                           ordered: bool = True) -> str:
    """Agents' online and capacity seconds into the buckets (times :sign); see _PRESENCE."""
    return _PRESENCE.format(rows=rows, intervals=intervals, write=_write_buckets(ordered),
                            hours=_hours("i.at", "i.ended_at"), online=_online("i.capacity"))


def running_presence(group_by: str | None) -> str:
    # From the period's start at the earliest: an agent online for weeks adds no hours to skip.
    now = "CAST(:now AS timestamptz)"
    hours = _hours("a.at", now, first="GREATEST(a.at, CAST(:start AS timestamptz))",
                   last=f"LEAST({now}, CAST(:end AS timestamptz))")
    return _RUNNING_PRESENCE.format(key=_RUNNING_KEYS[group_by], hours=hours,
                                    online=_online("a.capacity"))


def contributions(scope: str, *, ordered: bool = True) -> str:
    """The conversations' contributions to the buckets (times :sign)."""
    return _CONTRIBUTIONS.format(
        held=_held(scope), write=_write_buckets(ordered), held_hours=_hours("h.at", "h.ended_at"),
        f_scope=scoped(scope, "c.id"), s_scope=scoped(scope, "s.conversation_id"),
        first_bin=_bin("f.first_response_seconds"), next_bin=_bin("n.seconds"),
        resolution_bin=_bin("f.resolution_seconds"), handle_bin=_bin("f.handle_seconds"),
        transition_bin=f"{_label_index('f.first_sentiment')} * 3 + "
                       f"{_label_index('f.last_sentiment')}",
    )


# Rebuild: the read model's rows copied into the inputs (see KpiRepository.merge_read_model), for
# the conversations with activity since :since (NULL: all). A state stored without its sequence
# (rows loaded in bulk rather than from events) counts as sequence 0, older than any event's.
_RECENT = ("(CAST(:since AS timestamptz) IS NULL OR c.last_message_at >= :since "
           "OR c.resolved_at >= :since OR c.assigned_at >= :since)")
_MERGE_CONVERSATIONS = """
INSERT INTO gateway.kpi_conversations AS k (id, customer_id)
SELECT c.id, c.customer_id FROM gateway.conversations c WHERE {recent}
ON CONFLICT (id) DO UPDATE SET customer_id = COALESCE(k.customer_id, EXCLUDED.customer_id)
"""
_MERGE_MESSAGES = """
INSERT INTO gateway.kpi_messages AS k (id, conversation_id, known, channel, direction, sent_at,
    agent_reply, dispatched_at, failed, sentiment_label)
SELECT m.id, m.conversation_id, m.received_at IS NOT NULL, m.channel, m.direction, m.sent_at,
    m.agent_reply, m.dispatched_at, m.delivery_status IS NOT DISTINCT FROM 'failed',
    m.sentiment_label
FROM gateway.messages m JOIN gateway.conversations c ON c.id = m.conversation_id
WHERE {recent}
ON CONFLICT (id) DO UPDATE SET
    known = k.known OR EXCLUDED.known,
    channel = CASE WHEN EXCLUDED.known THEN EXCLUDED.channel ELSE k.channel END,
    direction = CASE WHEN EXCLUDED.known THEN EXCLUDED.direction ELSE k.direction END,
    sent_at = CASE WHEN EXCLUDED.known THEN EXCLUDED.sent_at ELSE k.sent_at END,
    agent_reply = CASE WHEN EXCLUDED.known THEN EXCLUDED.agent_reply ELSE k.agent_reply END,
    dispatched_at = LEAST(k.dispatched_at, EXCLUDED.dispatched_at),
    failed = k.failed OR EXCLUDED.failed,
    sentiment_label = COALESCE(EXCLUDED.sentiment_label, k.sentiment_label)
"""
_MERGE_ASSIGNMENTS = """
INSERT INTO gateway.kpi_assignments (conversation_id, sequence, kind, agent_id, team, at)
SELECT c.id, COALESCE(c.assignment_sequence, 0), 'assigned', c.agent_id, c.agent_team,
    c.assigned_at
FROM gateway.conversations c
WHERE c.assignment_state = 'assigned' AND c.agent_id IS NOT NULL AND c.assigned_at IS NOT NULL
  AND {recent}
ON CONFLICT DO NOTHING
"""
# A reopening's moment is not kept by the read model; it only matters after a resolution the KPI
# inputs already hold, so the latest message stands in for it.
_MERGE_STATUS = """
INSERT INTO gateway.kpi_status_changes (conversation_id, sequence, status, at)
SELECT c.id, COALESCE(c.status_sequence, 0), c.status,
    COALESCE(c.resolved_at, c.last_message_at, c.opened_at)
FROM gateway.conversations c
WHERE (c.status_sequence IS NOT NULL OR c.status = 'resolved')
  AND COALESCE(c.resolved_at, c.last_message_at, c.opened_at) IS NOT NULL AND {recent}
ON CONFLICT DO NOTHING
"""
_MERGE_SLA = """
UPDATE gateway.kpi_conversations k
SET sla_{kind}_deadline = (c.sla ->> 'deadline')::timestamptz,
    sla_{kind}_sequence = COALESCE(c.priority_sequence, 0)
FROM gateway.conversations c
WHERE k.id = c.id AND c.sla ->> 'kind' = '{kind}' AND {recent}
  AND (k.sla_{kind}_sequence IS NULL OR k.sla_{kind}_sequence < COALESCE(c.priority_sequence, 0))
"""
MERGE_READ_MODEL: tuple[str, ...] = (
    *(statement.format(recent=_RECENT) for statement in
      (_MERGE_CONVERSATIONS, _MERGE_MESSAGES, _MERGE_ASSIGNMENTS, _MERGE_STATUS)),
    *(_MERGE_SLA.format(recent=_RECENT, kind=kind) for kind in ("first_response", "resolution")),
)
