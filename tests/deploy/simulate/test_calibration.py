"""Calibration on tiny inputs: sign-offs parsed, split replies merged, working gaps / breaks / shifts
told apart, lognormal fitted, the pool sized to the demand."""

from __future__ import annotations

import csv
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sportello_deploy.simulate import calibration
from sportello_deploy.simulate.calibration import AgentReply, Lognormal, percentile
from tests.deploy.simulate.support import conversation, traffic_of

START = datetime(2016, 7, 4, 16, 0, tzinfo=UTC)


def replies(agent: str, minutes: list[float], customer: str = "") -> list[AgentReply]:
    return [AgentReply(agent, START + timedelta(minutes=m), customer or f"c{i}") for i, m in enumerate(minutes)]


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([5], 0.9) == 5
    assert percentile([10, 0, 20], 0.9) == pytest.approx(18)


def test_lognormal_fit_recovers_median_and_spread() -> None:
    rng = random.Random(7)
    true = Lognormal(450, 0.8)
    fitted = Lognormal.fit([true.sample(rng) for _ in range(20_000)])
    assert fitted.median_s == pytest.approx(450, rel=0.05)
    assert fitted.sigma == pytest.approx(0.8, rel=0.05)
    assert fitted.mean_s > fitted.median_s  # a right-skewed distribution
    assert fitted.p90_s == pytest.approx(450 * math.exp(0.8 * 1.2816), rel=0.08)


def test_tweet_ids_give_the_posting_time() -> None:
    # A real @AmazonHelp reply whose export says 2016-07-05 16:13:31 (seconds truncated).
    posted = calibration.snowflake_time("750361980003815424")
    assert abs((posted - datetime(2016, 7, 5, 16, 13, 31, tzinfo=UTC)).total_seconds()) < 1


def test_parts_of_one_reply_count_once() -> None:
    parts = [AgentReply("AB", START, "ann"), AgentReply("AB", START + timedelta(seconds=40), "ann"),
             AgentReply("AB", START + timedelta(seconds=50), "bob"), AgentReply("CD", START, "ann")]
    merged = calibration.merge_split_replies(parts)
    assert [(r.agent, r.customer) for r in merged] == [("AB", "ann"), ("CD", "ann"), ("AB", "bob")]


def test_working_gaps_breaks_and_shifts_are_told_apart() -> None:
    # Working every 5 min, a 60-min break, working again; a new shift 5 h later.
    team = calibration.activity(replies("AB", [0, 5, 10, 15, 75, 80, 85, 385, 390, 395]))
    assert team.handling.median_s == 300
    assert team.handling.sigma == 0  # every working gap is the same
    assert team.breaks_per_shift_hour == pytest.approx(1 / (85 / 60 + 10 / 60))
    assert team.break_length.median_s == pytest.approx(15 * 60, rel=0.01)  # too few breaks to fit: default
    assert team.shift_h_median == pytest.approx((85 + 10) / 2 / 60)  # shifts of 85 and 10 minutes
    assert team.agents == 1
    assert team.replies_per_working_hour == 12


def test_replies_per_active_agent_hour_counts_agents_present_in_each_hour() -> None:
    team = calibration.activity(replies("AB", [0, 10, 20, 30]) + replies("CD", [5, 65]))
    # Hour 16: AB and CD (5 replies), hour 17: CD (1 reply): 6 replies over 3 agent-hours.
    assert team.replies_per_active_agent_hour == 2
    assert team.agents_per_hour_max == 2
    assert team.agents_per_hour_mean == 1.5


def test_amazon_export_is_read_in_windows_1252_with_signatures_in_several_styles(tmp_path: Path) -> None:
    path = tmp_path / "amzn_cs.csv"
    rows = [("@ann Sorry about that \u2019 ^AB", "750361980003815424", "ann"),
            ("@bob Let me check ^CD 1/2", "750361980003815425", "bob"),
            ("@bob the rest ^CD(2/2)", "750361980003815426", "bob"),
            ("@eve no signature here", "750361980003815427", "eve")]
    with path.open("w", newline="", encoding="cp1252") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "created", "id", "replyToSN"])
        for text, tweet_id, customer in rows:
            writer.writerow([text, "2016-07-05 16:13:31", tweet_id, customer])
    parsed = calibration.amazon_replies(path)
    assert sorted((r.agent, r.customer) for r in parsed) == [("AB", "ann"), ("CD", "bob")]


def test_delta_agents_per_day(tmp_path: Path) -> None:
    path = tmp_path / "oct_delta.csv"
    path.write_text('"weekday","month","date","year","text"\n'
                    '"Thu","Oct",1,2015,"@a sorry *AA"\n"Thu","Oct",1,2015,"@b ok *BB"\n'
                    '"Fri","Oct",2,2015,"@c hi *AA"\n"Fri","Oct",2,2015,"@d unsigned"\n', encoding="utf-8")
    assert calibration.delta_agents_per_day(path) == 1.5


def test_the_suggested_pool_grows_with_demand_and_with_round_the_clock_crews() -> None:
    team = calibration.activity(replies("AB", [0, 10, 20, 30, 40, 50]))  # 6 replies in one agent-hour
    light = traffic_of(*(conversation(f"k{i}", i * 600, [[0]]) for i in range(13)))  # 13 turns in 2 h
    heavy = traffic_of(*(conversation(f"k{i}", i * 600, [[0], [60], [60]]) for i in range(13)))
    assert calibration.suggest_agents(light, team, shift_h=24) == math.ceil(13 / 2 / 6)
    assert calibration.suggest_agents(heavy, team, shift_h=24) == math.ceil(39 / 2 / 6)
    assert calibration.suggest_agents(light, team, shift_h=8) == math.ceil(3 * 13 / 2 / 6)  # three crews
