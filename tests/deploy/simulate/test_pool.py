"""The agents' own behaviour: drawn from the seed per agent, never from what routing does."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sportello_deploy.simulate.calibration import Lognormal
from sportello_deploy.simulate.pool import Agent, Change, PoolConfig, Task, agent_specs, handling_s, schedule
from tests.deploy.simulate.support import T0

END = T0 + timedelta(days=3)


def team(agents: int = 9, **overrides: float) -> PoolConfig:
    settings: dict[str, float] = dict(breaks_per_shift_hour=0.6, silent_break_share=0.3, early_logoff_share=0.3)
    settings.update(overrides)
    return PoolConfig(agents=agents, handling=Lognormal(450, 0.77), break_length=Lognormal(50 * 60, 0.45),
                      **settings)  # type: ignore[arg-type]


def per_agent(changes: list[Change]) -> dict[int, list[Change]]:
    out: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        out[change.agent].append(change)
    return out


def test_each_agent_logs_in_takes_breaks_and_logs_off_in_a_sensible_order() -> None:
    for agent, changes in per_agent(schedule(team(), T0, END)).items():
        state = "offline"
        for change in changes:
            if change.why == "shift start":
                assert state == "offline", agent
                state = "working"
            elif change.why in ("break", "silent break"):
                assert state == "working", agent
                state = "break"
                assert change.working is False
                assert change.presence == ("online" if change.why == "silent break" else "away")
            elif change.why == "back from break":
                assert state == "break", agent
                state = "working"
                assert (change.presence, change.working) == ("online", True)
            else:
                assert change.why in ("shift end", "left early")
                assert state == "working", agent  # nobody logs off from a break: they come back first
                state = "offline"
                assert (change.presence, change.working) == ("offline", False)


def test_shifts_cover_the_day_in_crews_and_respect_their_length() -> None:
    config = team(agents=30, breaks_per_shift_hour=0, early_logoff_share=0)
    changes = schedule(config, T0, END)
    online_at_noon_each_day = []
    for day in range(3):
        noon = T0 + timedelta(days=day, hours=12)
        online = 0
        for changes_of_one in per_agent(changes).values():
            last = [c for c in changes_of_one if c.at <= noon]
            online += bool(last) and last[-1].presence == "online"
        online_at_noon_each_day.append(online)
    assert all(8 <= n <= 12 for n in online_at_noon_each_day)  # a third of 30, give or take the stagger
    for changes_of_one in per_agent(changes).values():
        starts = [c.at for c in changes_of_one if c.why == "shift start"]
        ends = [c.at for c in changes_of_one if c.why == "shift end"]
        for start, end in zip(starts, ends, strict=False):
            assert timedelta(hours=7, minutes=50) <= end - start <= timedelta(hours=8) or start == T0


def test_the_behaviour_is_fixed_by_the_seed_per_agent() -> None:
    base = schedule(team(seed=1), T0, END)
    assert schedule(team(seed=1), T0, END) == base
    assert schedule(team(seed=2), T0, END) != base
    # Adding agents does not change what the others do.
    bigger = per_agent(schedule(team(agents=12, seed=1), T0, END))
    assert all(bigger[i] == changes for i, changes in per_agent(base).items())


def test_breaks_early_leavers_and_silent_breaks_all_happen_at_calibrated_rates() -> None:
    changes = schedule(team(agents=60), T0, END)
    why = [c.why for c in changes]
    shifts = why.count("shift start")
    assert 0.15 < why.count("left early") / shifts < 0.45
    breaks = why.count("break") + why.count("silent break")
    assert breaks > shifts  # ~0.6 an hour over 8 h, minus the ones that do not fit
    assert 0.15 < why.count("silent break") / breaks < 0.45


def test_handling_time_is_keyed_by_the_work_not_by_when_it_is_asked() -> None:
    config = team()
    first = handling_s(config, 450, "thread-1:0")
    handling_s(config, 450, "thread-2:0")
    assert handling_s(config, 450, "thread-1:0") == first
    assert handling_s(config, 900, "thread-1:0") == 2 * first  # a slower agent takes proportionally longer
    assert handling_s(config, 450, "thread-1:1") != first
    assert handling_s(config, 10**9, "thread-1:0") == config.max_handling_s


def test_agent_time_accounting_pauses_resumes_and_loses_work_taken_away() -> None:
    agent = Agent(spec=agent_specs(team(agents=1))[0], median_s=450)
    agent.set_presence("online", T0)
    task = Task(conversation_id=agent.spec.id, kind="reply", needs_s=600, remaining_s=600)
    agent.hold(task.conversation_id)
    assert agent.start(task, T0, token=1) == T0 + timedelta(seconds=600)
    agent.pause(T0 + timedelta(seconds=200))
    assert (agent.busy_s, task.remaining_s, agent.busy) == (200, 400, False)
    agent.start(task, T0 + timedelta(seconds=500), token=2)
    agent.release(task.conversation_id, T0 + timedelta(seconds=600))
    assert agent.task is None and not agent.owned
    assert (agent.busy_s, agent.lost_work_s) == (300, 300)
    agent.close(T0 + timedelta(seconds=1000))
    assert agent.online_s == 1000
