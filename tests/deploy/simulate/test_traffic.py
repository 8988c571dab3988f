"""Threads CSV -> conversations: one per customer, turns, follow-up delays anchored to the reply,
returning customers and the compression of idle gaps. A tiny inline CSV, not the real data."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sportello_deploy.simulate import traffic

# (id, author, inbound, time, text, parent, root)
ROWS = [
    ("1", "100", True, "2017-10-31T10:00:00Z", "@Brand my order &amp; refund", "", "1"),
    ("2", "Brand", False, "2017-10-31T10:10:00Z", "@100 sorry, DM us", "1", "1"),
    ("3", "100", True, "2017-10-31T10:15:00Z", "@Brand done", "2", "1"),
    ("4", "100", True, "2017-10-31T10:16:00Z", "@Brand hello??", "3", "1"),
    ("5", "Brand", False, "2017-10-31T10:30:00Z", "@100 fixed 1/2", "4", "1"),
    ("6", "Brand", False, "2017-10-31T10:30:30Z", "@100 fixed 2/2", "5", "1"),
    ("7", "100", True, "2017-10-31T10:40:00Z", "@Brand thanks!", "6", "1"),
    # A brand post two customers answer: two conversations, the post itself is nobody's.
    ("10", "Brand", False, "2017-10-31T09:00:00Z", "Costume day!", "", "10"),
    ("11", "200", True, "2017-10-31T11:00:00Z", "@Brand is it free?", "10", "10"),
    ("12", "300", True, "2017-10-31T11:05:00Z", "@Brand my bowl was cold", "10", "10"),
    ("13", "Brand", False, "2017-10-31T11:20:00Z", "@300 so sorry", "12", "10"),
    # Customer 100 again, weeks later.
    ("20", "100", True, "2017-11-25T12:00:00Z", "@Brand again!", "", "20"),
    ("21", "Brand", False, "2017-11-25T12:05:00Z", "@100 on it", "20", "20"),
]
COLUMNS = ["tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id",
           "created_at_iso", "conversation_root_id", "turn_index", "brand", "parent_created_at_iso",
           "seconds_since_parent"]


def write_threads(path: Path, rows: list[tuple[str, str, bool, str, str, str, str]] = ROWS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    turn: dict[str, int] = {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(COLUMNS)
        for tweet_id, author, inbound, at, text, parent, root in rows:
            index = turn.get(root, 0)
            turn[root] = index + 1
            writer.writerow([tweet_id, author, str(inbound), "", text, "", f"{parent}.0" if parent else "", at, root,
                             index, "Brand", "", ""])
    return path


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    return write_threads(tmp_path / "twcs" / "twcs_head5000_threads.csv")


def by_key(load: traffic.Traffic) -> dict[str, traffic.Conversation]:
    return {c.key: c for c in load.conversations}


def test_one_conversation_per_customer_and_brand_posts_nobody_wrote_to_are_dropped(csv_path: Path) -> None:
    load = traffic.from_csv(csv_path)
    assert set(by_key(load)) == {"1:100", "10:200", "10:300", "20:100"}
    assert load.threads == 3
    assert by_key(load)["10:300"].brand_replies == (datetime(2017, 10, 31, 11, 20, tzinfo=UTC),)
    assert by_key(load)["10:200"].brand_replies == ()


def test_turns_alternate_with_brand_runs_and_follow_ups_are_timed_from_the_brand_reply(csv_path: Path) -> None:
    conv = by_key(traffic.from_csv(csv_path))["1:100"]
    assert [len(t.messages) for t in conv.turns] == [1, 2, 1]
    assert [t.follow_up for t in conv.turns] == [False, True, True]
    assert [m.delay_s for m in conv.turns[1].messages] == [300, 360]  # after the 10:10 reply
    assert conv.turns[2].messages[0].delay_s == 570  # after the last part of the split reply, 10:30:30
    assert conv.turns[0].messages[0].text == "@Brand my order & refund"  # twcs keeps X's HTML escaping


def test_a_closing_turn_the_brand_never_answered_is_marked(csv_path: Path) -> None:
    convs = by_key(traffic.from_csv(csv_path))
    assert [t.answered for t in convs["1:100"].turns] == [True, True, False]
    assert [t.answered for t in convs["10:200"].turns] == [False]


def test_a_returning_customer_keeps_one_customer_id_across_conversations(csv_path: Path) -> None:
    load = traffic.from_csv(csv_path)
    first, again = by_key(load)["1:100"], by_key(load)["20:100"]
    assert first.customer_id == again.customer_id
    assert first.conversation_id() != again.conversation_id()
    assert first.conversation_id(1) != first.conversation_id(0)
    assert load.stats()["returning_customers"] == 1
    assert load.stats()["customers"] == 3


def test_long_idle_gaps_shrink_to_the_cap_and_short_ones_stay_real(csv_path: Path) -> None:
    load = traffic.from_csv(csv_path, max_gap_s=600)
    convs = by_key(load)
    assert load.start == datetime(2017, 10, 31, 10, 0, tzinfo=UTC)
    # 10:00 -> 11:00 is longer than the cap: 10 minutes; 11:00 -> 11:05 is kept.
    assert convs["10:200"].arrival == load.start + timedelta(minutes=10)
    assert convs["10:300"].arrival == convs["10:200"].arrival + timedelta(minutes=5)
    assert convs["20:100"].arrival == convs["10:300"].arrival + timedelta(minutes=10)
    assert convs["20:100"].real_arrival == datetime(2017, 11, 25, 12, 0, tzinfo=UTC)
    arrivals = [c.arrival for c in load.conversations]
    assert arrivals == sorted(arrivals)


def test_customer_delays_are_capped(csv_path: Path) -> None:
    conv = by_key(traffic.from_csv(csv_path, max_customer_delay_s=320))["1:100"]
    assert [m.delay_s for m in conv.turns[1].messages] == [300, 320]


def test_stats_count_messages_and_follow_ups(csv_path: Path) -> None:
    stats = traffic.from_csv(csv_path).stats()
    assert stats["customer_messages"] == 7
    assert stats["follow_up_messages"] == 3
    assert stats["conversations_with_follow_ups"] == 1
    assert stats["real_busiest_hour_arrivals"] == 2  # 11:00 and 11:05


def test_limit_keeps_the_earliest_conversations(csv_path: Path) -> None:
    assert [c.key for c in traffic.from_csv(csv_path, limit=2).conversations] == ["1:100", "10:200"]


def test_a_missing_data_directory_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--data-dir"):
        traffic.load(tmp_path / "nowhere")
