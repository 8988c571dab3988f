"""``make replay DATA=<csv>``: replay real customer-care traffic through the X webhook path.

Reads a twcs-format CSV (tweet_id, author_id, inbound, created_at, text, response_tweet_id,
in_response_to_tweet_id), starts a private real stack (Kafka, PostgreSQL, the five services) whose X
channel points at a local stand-in for the X API, and plays the tweets in time order:

- a customer's tweet is POSTed to ingest's X Account Activity webhook, signed like X signs, for the brand
  account it involves (the brand it answers, the brand that answers it, or the brand it @mentions);
- a brand's reply goes through the **outbound path**: an agent reply (``POST /v1/conversations/{id}/
  replies``) in the conversation of the tweet it answers; the sender calls the X API stand-in, which gives
  the post the dataset's own id, so later customer replies can point at it as they did in reality.

A tweet is played only after the tweet it answers has been (the dataset's reply links are the ground
truth). Pacing: ``--speed 1`` is the original pace, ``--speed 3600`` an hour per second, ``--speed 0`` as
fast as possible. At the end, every reply link whose both ends were played is checked: do both messages
sit in the same conversation? The last line printed is JSON with ``messages``, ``threads_expected``,
``threads_reconstructed_ratio`` and ``msgs_per_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import json
import re
import secrets
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx

from sportello_deploy.fakes.x import FakeX, webhook_headers
from sportello_deploy.private_stack import PrivateStack, private_stack

_MENTION = re.compile(r"@(\w+)")


@dataclass(frozen=True)
class Tweet:
    id: str
    author: str
    inbound: bool
    created_at: datetime
    text: str
    parent: str | None
    responses: tuple[str, ...]


def load(path: Path) -> list[Tweet]:
    """The CSV's tweets; rows the CSV writer mangled (missing columns, no date) are skipped."""
    tweets = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                created_at = datetime.strptime(row["created_at"] or "", "%a %b %d %H:%M:%S %z %Y")
            except ValueError:
                continue
            parent = row["in_response_to_tweet_id"] or ""
            tweets.append(Tweet(
                id=row["tweet_id"], author=row["author_id"], inbound=row["inbound"] == "True",
                created_at=created_at,
                # twcs keeps X's HTML escaping (&amp;): the webhook would deliver the same.
                text=html.unescape(row["text"] or ""), parent=str(int(float(parent))) if parent else None,
                responses=tuple(r for r in (row["response_tweet_id"] or "").split(",") if r),
            ))
    return tweets


def in_play_order(tweets: list[Tweet]) -> list[Tweet]:
    """Time order, except that a tweet never comes before the tweet it answers (clock skew exists)."""
    by_id = {t.id: t for t in tweets}
    ordered: list[Tweet] = []
    placed: set[str] = set()

    def place(tweet: Tweet, trail: frozenset[str] = frozenset()) -> None:
        if tweet.id in placed:
            return
        if tweet.parent in by_id and tweet.parent not in trail:
            place(by_id[tweet.parent], trail | {tweet.id})
        placed.add(tweet.id)
        ordered.append(tweet)

    for tweet in sorted(tweets, key=lambda t: (t.created_at, t.id)):
        place(tweet)
    return ordered


def brand_of(tweet: Tweet, by_id: dict[str, Tweet], brands: set[str]) -> str:
    """The brand account a customer's tweet reaches: the one it answers, that answers it, or it mentions."""
    if tweet.parent in by_id and by_id[tweet.parent].author in brands:
        return by_id[tweet.parent].author
    for response in tweet.responses:
        if response in by_id and by_id[response].author in brands:
            return by_id[response].author
    lowered = {brand.lower(): brand for brand in brands}
    for handle in _MENTION.findall(tweet.text):
        if handle.lower() in lowered:
            return lowered[handle.lower()]
    if tweet.parent in by_id:
        return brand_of(by_id[tweet.parent], by_id, brands) if by_id[tweet.parent].inbound else "unknown"
    return "unknown"


@dataclass
class Replay:
    stack: PrivateStack
    tweets: list[Tweet]
    secret: str
    speed: float
    concurrency: int
    by_id: dict[str, Tweet] = field(init=False)
    brands: set[str] = field(init=False)
    played: dict[str, asyncio.Event] = field(init=False)
    failures: dict[str, str] = field(default_factory=dict)
    # (answered tweet, text) -> dataset ids of brand replies, given out by the X stand-in in order.
    pending_ids: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.by_id = {t.id: t for t in self.tweets}
        self.brands = {t.author for t in self.tweets if not t.inbound}
        self.played = {t.id: asyncio.Event() for t in self.tweets}

    def id_for(self, payload: dict[str, Any]) -> str | None:
        answered = str((payload.get("reply") or {}).get("in_reply_to_tweet_id"))
        queue = self.pending_ids.get((answered, str(payload["text"])))
        return queue.pop(0) if queue else None

    async def run(self, client: httpx.AsyncClient, progress: Progress) -> None:
        order = in_play_order(self.tweets)
        started, first = time.monotonic(), order[0].created_at
        slots = asyncio.Semaphore(self.concurrency)

        async def play(tweet: Tweet) -> None:
            try:
                if tweet.parent in self.played:
                    await self.played[tweet.parent].wait()
                if self.speed > 0:
                    due = (tweet.created_at - first).total_seconds() / self.speed
                    await asyncio.sleep(max(0.0, due - (time.monotonic() - started)))
                async with slots:
                    if tweet.inbound:
                        await self._customer_tweet(client, tweet)
                    else:
                        await self._brand_reply(client, tweet)
            except Exception as exc:  # one bad tweet must not stop the replay; it is reported
                self.failures[tweet.id] = f"{type(exc).__name__}: {exc}"
            finally:
                self.played[tweet.id].set()
                progress.advance()

        await asyncio.gather(*(play(tweet) for tweet in order))

    async def _customer_tweet(self, client: httpx.AsyncClient, tweet: Tweet) -> None:
        brand = brand_of(tweet, self.by_id, self.brands)
        parent = self.by_id.get(tweet.parent or "")
        event = {
            "id_str": tweet.id, "text": tweet.text, "created_at": format_datetime(tweet.created_at),
            "timestamp_ms": str(int(tweet.created_at.timestamp() * 1000)),
            "in_reply_to_status_id_str": tweet.parent,
            "in_reply_to_user_id_str": parent.author if parent else None,
            "user": {"id_str": tweet.author, "name": tweet.author, "screen_name": tweet.author},
        }
        body = json.dumps({"for_user_id": brand, "tweet_create_events": [event]}).encode()
        response = await client.post(f"{self.stack.url('ingest')}/v1/channels/x/webhook", content=body,
                                     headers=webhook_headers(self.secret, body))
        response.raise_for_status()

    async def _brand_reply(self, client: httpx.AsyncClient, tweet: Tweet) -> None:
        if tweet.parent not in self.by_id:
            raise LookupError("answers a tweet outside the dataset: no conversation to reply in")
        answered = await self.message(client, tweet.parent)
        if answered is None:
            raise LookupError(f"the tweet it answers ({tweet.parent}) was not stored")
        # The API strips surrounding blanks; the X stand-in sees the stripped text.
        self.pending_ids[(tweet.parent, tweet.text.strip())].append(tweet.id)
        response = await client.post(
            f"{self.stack.url('ingest')}/v1/conversations/{answered['conversation_id']}/replies",
            headers=self.stack.auth("agent"),
            json={"text": tweet.text, "visibility": "public", "agent_id": tweet.author,
                  "in_reply_to_message_id": answered["id"]})
        response.raise_for_status()
        reply_id = response.json()["id"]
        # Played means sent: the customer's answer to this post must find it by its X id.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = (await client.get(f"{self.stack.url('ingest')}/v1/messages/{reply_id}",
                                     headers=self.stack.auth("agent"))).json()
            if sent["delivery_status"] != "pending":
                if sent["delivery_status"] == "failed":
                    raise RuntimeError(f"the reply failed: {sent['delivery_error']}")
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("the reply was not sent within 60 s")

    async def message(self, client: httpx.AsyncClient, tweet_id: str) -> dict[str, Any] | None:
        response = await client.get(f"{self.stack.url('ingest')}/v1/channels/x/messages/{tweet_id}",
                                    headers=self.stack.auth("agent"))
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


class Progress:
    """A one-line progress bar on stderr (stdout is for results)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def advance(self) -> None:
        self.done += 1
        if self.done % 25 == 0 or self.done == self.total:
            width = 30
            filled = int(width * self.done / self.total)
            rate = self.done / max(1e-9, time.monotonic() - self.started)
            sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                             f"{rate:.0f} tweets/s")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


async def _replay(replay: Replay, x: FakeX) -> dict[str, Any]:
    tweets = replay.tweets
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=replay.concurrency * 2)) as client:
        started = time.monotonic()
        await replay.run(client, Progress(len(tweets)))
        elapsed = time.monotonic() - started
        conversations: dict[str, str] = {}
        for tweet in tweets:
            found = await replay.message(client, tweet.id)
            if found is not None:
                conversations[tweet.id] = found["conversation_id"]
    links = [(t.id, t.parent) for t in tweets if t.parent in replay.by_id]
    played = [(child, parent) for child, parent in links if child in conversations and parent in conversations]
    kept = sum(conversations[child] == conversations[parent] for child, parent in played)
    reasons: dict[str, int] = defaultdict(int)
    for reason in replay.failures.values():
        reasons[reason[:100]] += 1
    return {
        "messages": len(conversations), "tweets": len(tweets), "not_played": len(replay.failures),
        "not_played_reasons": dict(reasons), "threads_expected": len(played),
        "reply_links_in_data": len(links), "threads_kept": kept,
        "threads_reconstructed_ratio": round(kept / len(played), 4) if played else None,
        "conversations": len(set(conversations.values())), "elapsed_s": round(elapsed, 1),
        "msgs_per_s": round(len(conversations) / elapsed, 1), "x_api_calls": len(x.requests),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sportello_deploy.replay", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="twcs-format CSV")
    parser.add_argument("--speed", type=float, default=0,
                        help="1 = original pace, N = N times faster, 0 = as fast as possible (default)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="replay only the first N rows")
    args = parser.parse_args()
    tweets = load(args.data)[: args.limit]
    secret, token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)

    async def go() -> dict[str, Any]:
        x = FakeX(token)
        await x.start()
        try:
            with private_stack("replay", SPORTELLO_X_CONSUMER_SECRET=secret, SPORTELLO_X_ACCESS_TOKEN=token,
                               SPORTELLO_X_API_BASE_URL=x.url, SPORTELLO_LOG_LEVEL="WARNING",
                               SPORTELLO_SEND_POLL_SECONDS="0.05") as stack:
                replay = Replay(stack, tweets, secret, args.speed, args.concurrency)
                x.id_for = replay.id_for  # the stand-in gives brand posts their dataset ids
                return await _replay(replay, x)
        finally:
            await x.stop()

    print(f"Replaying {len(tweets)} tweets from {args.data} through the X webhook path on the real stack",
          file=sys.stderr)
    result = asyncio.run(go())
    print(f"\n  played {result['messages']} of {result['tweets']} tweets in {result['elapsed_s']} s "
          f"({result['msgs_per_s']} msg/s) into {result['conversations']} conversations")
    print(f"  reply links kept in one conversation: {result['threads_kept']}/{result['threads_expected']} "
          f"({result['threads_reconstructed_ratio']})")
    for reason, count in result["not_played_reasons"].items():
        print(f"  not played ({count}): {reason}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
