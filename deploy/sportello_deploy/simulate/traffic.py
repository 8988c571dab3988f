"""Real customer-care traffic for the routing simulation, from ``twcs/twcs_head5000_threads.csv``.

**Conversations.** A twcs thread (``conversation_root_id``) can hold several customers: people chime
in under a brand's post or someone else's complaint. A helpdesk opens one conversation per customer,
so a *conversation* here is (thread, customer): the customer's tweets in the thread plus the brand
tweets that answer them (a brand tweet belongs to the customer of the tweet it answers). Brand tweets
before the customer's first tweet (a promo the customer replies to) are context, not work: dropped.
A customer who opens several threads is a *returning customer*: one customer id across them.

**Turns.** A conversation alternates customer turns (one or more tweets) and brand runs (one or more
tweets, e.g. a reply split in 1/2, 2/2). The simulated agent answers a turn with one reply.
``Turn.answered`` records whether the brand replied after it in reality (a closing "thanks!" was not).

**Arrival times of follow-ups: anchored to the simulated reply.** A customer's message after a brand
reply is a reaction to that reply. In the simulation the agent replies at a different time than the
brand did, so replaying the follow-up at its real time would have customers answer replies not yet
sent (or hours after a fast one). Each message therefore carries ``delay_s``: for the first turn, its
offset from the conversation's first message (fixed); for a later turn, its offset from the brand's
last reply before it, replayed from the *simulated* reply that answered the previous turn. Customers
react exactly as fast as they did; only the agents' side of the clock is simulated.

**Acceleration.** The simulation runs on a simulated clock (discrete events, no sleeping), so a run
takes the same wall time whatever span it covers; what needs compressing is the span itself. The head
of twcs spans 2011-08 .. 2017-12, but 87% of its conversations start on four days (2017-10-30..11-01,
11-25..26), two thirds in two three-hour bursts (10-31 21:00-24:00 UTC, with 417 new conversations in
the busiest hour, and 11-25 22:00 .. 11-26 01:00); the rest are a sparse tail over six years. Real
gaps between new conversations are kept up to ``max_gap_s`` (default 5 min, their 80th percentile)
and longer gaps shrink to it: inside the bursts (median gap 19 s, p75 2.5 min) the arrival process is
untouched, while the months between the corpus's samples become a steady trickle of about 12
conversations an hour, an ordinary quiet period for a team. With the default the 6.3 years become
about 36 simulated hours. Customers' own delays (hours, sometimes weeks,
before they follow up) are capped separately at ``max_customer_delay_s`` (default 12 h) so the run
ends within a day or so of the last arrival. The simulated clock starts at the real time of the first
arrival.
"""

from __future__ import annotations

import csv
import html
import statistics
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

THREADS_CSV = Path("twcs") / "twcs_head5000_threads.csv"
_NS = uuid.UUID("6f1c2a53-3f0e-4d8a-9a57-5c6d1a0b7e11")  # stable ids across runs and policies

DEFAULT_MAX_GAP_S = 5 * 60.0
DEFAULT_MAX_CUSTOMER_DELAY_S = 12 * 3600.0


@dataclass(frozen=True)
class Message:
    text: str
    real_at: datetime
    delay_s: float  # after the turn's anchor (see the module docstring), capped


@dataclass(frozen=True)
class Turn:
    messages: tuple[Message, ...]
    answered: bool  # the brand replied after this turn in reality
    follow_up: bool  # it came after a brand reply (its anchor is a reply, not the first message)


@dataclass(frozen=True)
class Conversation:
    key: str  # "<root tweet id>:<customer author id>"
    brand: str
    customer: str  # twcs author_id (anonymised in the corpus)
    arrival: datetime  # simulated time of the first message, after gap compression
    real_arrival: datetime
    turns: tuple[Turn, ...]
    brand_replies: tuple[datetime, ...]  # real times of the brand's tweets in this conversation

    @property
    def customer_id(self) -> uuid.UUID:
        return uuid.uuid5(_NS, f"twcs-customer:{self.customer}")

    def conversation_id(self, segment: int = 0) -> uuid.UUID:
        """Segment > 0: the customer came back after the conversation was closed (a new ticket)."""
        return uuid.uuid5(_NS, f"twcs-conversation:{self.key}:{segment}")

    @property
    def messages(self) -> int:
        return sum(len(turn.messages) for turn in self.turns)


@dataclass(frozen=True)
class Traffic:
    conversations: tuple[Conversation, ...]  # by simulated arrival
    threads: int
    max_gap_s: float
    max_customer_delay_s: float
    brand_reply_delays_s: tuple[float, ...] = field(repr=False)  # real: brand tweet - the tweet it answers

    @property
    def start(self) -> datetime:
        return self.conversations[0].arrival

    def stats(self) -> dict[str, float | int | str]:
        """The numbers that justify the acceleration, for the run's report."""
        convs = self.conversations
        real = sorted(c.real_arrival for c in convs)
        sim = [c.arrival for c in convs]
        per_customer = Counter(c.customer for c in convs)
        real_hours = Counter(t.replace(minute=0, second=0, microsecond=0) for t in real)
        sim_span_h = max((sim[-1] - sim[0]).total_seconds() / 3600, 1e-9)
        return {
            "threads": self.threads,
            "conversations": len(convs),
            "customer_messages": sum(c.messages for c in convs),
            "follow_up_messages": sum(len(t.messages) for c in convs for t in c.turns if t.follow_up),
            "conversations_with_follow_ups": sum(any(t.follow_up for t in c.turns) for c in convs),
            "customers": len(per_customer),
            "returning_customers": sum(n > 1 for n in per_customer.values()),
            "real_first_arrival": real[0].isoformat(),
            "real_last_arrival": real[-1].isoformat(),
            "real_span_days": round((real[-1] - real[0]).total_seconds() / 86400, 1),
            "real_active_hours": len(real_hours),
            "real_busiest_hour_arrivals": max(real_hours.values()),
            "real_median_arrivals_per_active_hour": statistics.median(real_hours.values()),
            "sim_span_h": round(sim_span_h, 1),
            "sim_arrivals_per_h": round(len(convs) / sim_span_h, 1),
            "gaps_compressed": sum((b.real_arrival - a.real_arrival).total_seconds() > self.max_gap_s
                                   for a, b in pairwise(convs)),
        }


def threads_csv(data_dir: Path) -> Path:
    path = data_dir / THREADS_CSV
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: pass --data-dir pointing at the shared data directory "
            "(the one with twcs/ and brand_agent_replies_kwartler/, by default ../shared/data)")
    return path


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class _Tweet:
    id: str
    author: str
    inbound: bool
    at: datetime
    text: str
    parent: str | None
    root: str
    turn: int
    brand: str


def _read(path: Path) -> list[_Tweet]:
    tweets = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            parent = row["in_response_to_tweet_id"] or ""
            tweets.append(_Tweet(
                id=row["tweet_id"], author=row["author_id"], inbound=row["inbound"] == "True",
                at=_parse_time(row["created_at_iso"]), text=html.unescape(row["text"] or ""),
                parent=str(int(float(parent))) if parent else None, root=row["conversation_root_id"],
                turn=int(row["turn_index"] or 0), brand=row["brand"]))
    return tweets


def _turns(tweets: list[_Tweet], max_delay_s: float) -> tuple[Turn, ...]:
    """Customer turns of one conversation (time-ordered tweets, starting with the customer's)."""
    turns: list[Turn] = []
    current: list[_Tweet] = []
    anchor = tweets[0].at  # the first message, then the brand's last reply before each turn
    follow_up = False

    def close(answered: bool) -> None:
        delays = [min(max(0.0, (t.at - anchor).total_seconds()), max_delay_s) for t in current]
        turns.append(Turn(tuple(Message(t.text, t.at, d) for t, d in zip(current, delays, strict=True)),
                          answered=answered, follow_up=follow_up))

    for tweet in tweets:
        if tweet.inbound:
            current.append(tweet)
            continue
        if current:
            close(answered=True)
            current, follow_up = [], True
        anchor = tweet.at
    if current:
        close(answered=False)
    return tuple(turns)


def load(data_dir: Path, *, max_gap_s: float = DEFAULT_MAX_GAP_S,
         max_customer_delay_s: float = DEFAULT_MAX_CUSTOMER_DELAY_S, limit: int | None = None) -> Traffic:
    """The threads CSV as conversations in simulated-arrival order (``limit``: the first N by arrival)."""
    return from_csv(threads_csv(data_dir), max_gap_s=max_gap_s, max_customer_delay_s=max_customer_delay_s,
                    limit=limit)


def from_csv(path: Path, *, max_gap_s: float = DEFAULT_MAX_GAP_S,
             max_customer_delay_s: float = DEFAULT_MAX_CUSTOMER_DELAY_S, limit: int | None = None) -> Traffic:
    tweets = _read(path)
    by_id = {t.id: t for t in tweets}
    by_root: dict[str, list[_Tweet]] = defaultdict(list)
    for tweet in tweets:
        by_root[tweet.root].append(tweet)

    customer_of: dict[str, str | None] = {}

    def customer(tweet: _Tweet, depth: int = 0) -> str | None:
        """Whose conversation a tweet belongs to: its author's, or for a brand tweet the answered one's."""
        if tweet.id in customer_of:
            return customer_of[tweet.id]
        found: str | None
        if tweet.inbound:
            found = tweet.author
        elif tweet.parent in by_id and depth < 200:
            found = customer(by_id[tweet.parent], depth + 1)
        else:
            found = None  # a brand post nobody had written to: context, not work
        customer_of[tweet.id] = found
        return found

    raw: list[tuple[datetime, str, str, str, tuple[Turn, ...], tuple[datetime, ...]]] = []
    delays: list[float] = []
    for root, members in by_root.items():
        members.sort(key=lambda t: (t.turn, t.at))
        for tweet in members:
            parent = by_id.get(tweet.parent or "")
            if not tweet.inbound and parent is not None:
                delays.append((tweet.at - parent.at).total_seconds())
        per_customer: dict[str, list[_Tweet]] = defaultdict(list)
        for tweet in members:
            who = customer(tweet)
            if who is not None:
                per_customer[who].append(tweet)
        for who, own in per_customer.items():
            own.sort(key=lambda t: (t.at, t.turn))
            while own and not own[0].inbound:
                own.pop(0)
            if not own:
                continue
            brand = next((t.author for t in own if not t.inbound), members[0].brand)
            raw.append((own[0].at, f"{root}:{who}", brand, who, _turns(own, max_customer_delay_s),
                        tuple(t.at for t in own if not t.inbound)))

    raw.sort(key=lambda r: (r[0], r[1]))
    if limit is not None:
        raw = raw[:limit]
    conversations: list[Conversation] = []
    for real_at, key, brand, who, turns, replies in raw:
        if conversations:
            previous = conversations[-1]
            gap = min((real_at - previous.real_arrival).total_seconds(), max_gap_s)
            arrival = previous.arrival + timedelta(seconds=gap)
        else:
            arrival = real_at
        conversations.append(Conversation(key=key, brand=brand, customer=who, arrival=arrival,
                                          real_arrival=real_at, turns=turns, brand_replies=replies))
    if not conversations:
        raise ValueError(f"{path}: no customer messages")
    return Traffic(conversations=tuple(conversations), threads=len({c.key.split(":")[0] for c in conversations}),
                   max_gap_s=max_gap_s, max_customer_delay_s=max_customer_delay_s,
                   brand_reply_delays_s=tuple(delays))
