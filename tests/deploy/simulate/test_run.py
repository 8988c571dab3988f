"""The CLI: one JSON line per policy as the last lines of stdout, a clear message without data; and the
real shared data (skipped when absent) still says what the calibration relies on."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sportello_deploy.simulate import calibration, run, traffic
from sportello_deploy.simulate.calibration import Lognormal
from sportello_deploy.simulate.engine import Engine, EngineConfig
from sportello_deploy.simulate.metrics import RunRecords, summarise
from tests.deploy.simulate.fake_router import FakeRouter
from tests.deploy.simulate.support import steady_team
from tests.deploy.simulate.test_traffic import write_threads

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = REPO_ROOT.parent / "shared" / "data"
REQUIRED = {"policy", "frt_p50_s", "frt_p90_s", "sla_hit", "top_decile_sla_hit", "utilisation"}


def tweet_id(at: datetime) -> str:
    return str((int(at.timestamp() * 1000) - 1288834974657) << 22)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_threads(tmp_path / traffic.THREADS_CSV)
    amazon = tmp_path / calibration.AMAZON_CSV
    amazon.parent.mkdir()
    start = datetime(2016, 7, 4, 16, 0, tzinfo=UTC)
    with amazon.open("w", newline="", encoding="cp1252") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "created", "id", "replyToSN"])
        for agent, minutes in (("AB", [0, 6, 13, 21, 90, 97]), ("CD", [3, 10, 18, 24, 31])):
            for i, m in enumerate(minutes):
                at = start + timedelta(minutes=m)
                writer.writerow([f"@c{i} on it ^{agent}", at.strftime("%Y-%m-%d %H:%M:%S"), tweet_id(at), f"c{i}"])
    return tmp_path


@pytest.fixture
def fake_routers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    scratches: list[Path] = []

    async def make_router(policy: str, *, work_dir: Path) -> FakeRouter:
        assert work_dir.is_dir() and not any(work_dir.iterdir()), "each run gets an empty scratch directory"
        # Each run's PostgreSQL server lives in its scratch directory: no two runs may share one.
        assert work_dir not in scratches, f"{work_dir} reused"
        scratches.append(work_dir)
        made.append(policy)
        return FakeRouter()

    module = types.ModuleType("sportello_deploy.simulate.router")
    module.make_router = make_router  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sportello_deploy.simulate.router", module)
    return made


def test_the_last_lines_are_one_json_object_per_policy(data_dir: Path, tmp_path: Path, fake_routers: list[str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run.main(["--data-dir", str(data_dir), "--work-dir", str(tmp_path / "work"), "--policies", "round_robin,ours",
              "--agents", "4", "--seed", "3", "--jobs", "1"])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    results = [json.loads(line) for line in lines[-2:]]
    assert [r["policy"] for r in results] == ["round_robin", "ours"] == fake_routers
    assert all(set(r) >= REQUIRED for r in results)
    assert all(r["agents"] == 4 and r["seed"] == 3 for r in results)
    assert results[0]["frt_p50_s"] == results[1]["frt_p50_s"]  # the same router: the same run
    assert "Calibration" in err and "round_robin" in err


def test_by_default_every_policy_runs_once_per_default_seed_and_is_pooled(
        data_dir: Path, tmp_path: Path, fake_routers: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    run.main(["--data-dir", str(data_dir), "--work-dir", str(tmp_path / "work"), "--policies", "round_robin,ours",
              "--agents", "4", "--jobs", "1"])
    out, _ = capsys.readouterr()
    results = [json.loads(line) for line in out.strip().splitlines()[-2:]]
    assert len(run.DEFAULT_SEEDS) > 1
    assert fake_routers == ["round_robin"] * len(run.DEFAULT_SEEDS) + ["ours"] * len(run.DEFAULT_SEEDS)
    assert all(r["seeds"] == list(run.DEFAULT_SEEDS) and set(r) >= REQUIRED for r in results)


def test_analyse_runs_no_router(data_dir: Path, fake_routers: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    run.main(["--data-dir", str(data_dir), "--analyse"])
    out, err = capsys.readouterr()
    assert out == "" and fake_routers == []
    assert '"returning_customers": 1' in err


def test_a_missing_data_directory_stops_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--data-dir"):
        run.main(["--data-dir", str(tmp_path / "nowhere")])


def test_a_data_directory_without_agent_replies_says_which_file_is_missing(data_dir: Path) -> None:
    (data_dir / calibration.AMAZON_CSV).unlink()
    with pytest.raises(SystemExit, match=r"amzn_cs\.csv"):
        run.main(["--data-dir", str(data_dir), "--analyse"])


@pytest.mark.skipif(not (SHARED / traffic.THREADS_CSV).is_file(), reason="shared data absent")
def test_the_real_data_matches_the_figures_the_calibration_quotes() -> None:
    load = traffic.load(SHARED)
    p50, p90 = calibration.reply_delays(load)
    assert 700 <= p50 <= 750  # README: median 724 s
    assert 6 * 3600 <= p90 <= 7 * 3600  # README: p90 about 6.4 h
    stats = load.stats()
    assert stats["returning_customers"] > 0 and stats["follow_up_messages"] > 0
    assert stats["sim_span_h"] < 24 * 7  # years of real span compressed to days
    team = calibration.calibrate(SHARED, load).activity
    assert team.agents == 53  # README: 53 agents in 24 h
    assert 0 < team.handling.median_s < 1800


@pytest.mark.skipif(not (SHARED / traffic.THREADS_CSV).is_file(), reason="shared data absent")
async def test_real_traffic_runs_through_the_engine() -> None:
    load = traffic.load(SHARED, limit=300)
    records = await Engine(load, steady_team(30), FakeRouter()).run()
    summary = summarise("fifo", records)
    assert summary["conversations"] >= 300
    assert summary["unanswered"] == 0


def test_several_seeds_give_one_pooled_line_per_policy(data_dir: Path, tmp_path: Path,
                                                       fake_routers: list[str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run.main(["--data-dir", str(data_dir), "--work-dir", str(tmp_path / "work"), "--policies",
              "round_robin,ours", "--agents", "4", "--seeds", "1,2", "--jobs", "1"])
    out, err = capsys.readouterr()
    results = [json.loads(line) for line in out.strip().splitlines()[-2:]]
    assert [r["policy"] for r in results] == ["round_robin", "ours"]
    assert fake_routers == ["round_robin", "round_robin", "ours", "ours"]  # one run per seed
    assert all(set(r) >= REQUIRED and r["seeds"] == [1, 2] for r in results)
    assert all([x["seed"] for x in r["runs"]] == [1, 2] for r in results)
    assert "pooled over the seeds" in err and "seeds 1, 2" in err


def test_runs_side_by_side_in_worker_processes_give_the_same_results(data_dir: Path, tmp_path: Path) -> None:
    load = traffic.load(data_dir)
    pool = steady_team(2, handling=Lognormal(600, 0.8), speed_sigma=0.4)  # seeds draw different times
    specs = [run.RunSpec(policy, seed, tmp_path / f"{jobs}-{policy}-{seed}") for jobs in (1, 2)
             for policy in ("round_robin", "ours") for seed in (1, 2)]
    factory = "tests.deploy.simulate.fake_router:make_fake_router"
    alone = run.run_all(specs[:4], load, pool, EngineConfig(), jobs=1, router=factory)
    side_by_side = run.run_all(specs[4:], load, pool, EngineConfig(), jobs=2, router=factory)

    def figures(done: list[tuple[RunRecords, float]]) -> list[dict[str, object]]:
        return [{k: v for k, v in summarise("fifo", records).items() if k != "policy"} for records, _ in done]

    assert figures(side_by_side) == figures(alone)
    assert figures(alone)[0] != figures(alone)[1]  # the seed matters, so the comparison can fail


def test_a_failed_run_stops_the_runs_still_waiting_for_a_worker(data_dir: Path, tmp_path: Path) -> None:
    specs = [run.RunSpec("boom", 1, tmp_path / "boom"),
             *(run.RunSpec("fifo", seed, tmp_path / f"fifo-{seed}") for seed in range(1, 13))]
    with pytest.raises(RuntimeError, match="this run fails"):
        run.run_all(specs, traffic.load(data_dir), steady_team(2), EngineConfig(), jobs=2,
                    router="tests.deploy.simulate.fake_router:make_slow_router_or_fail")
    started = [d for d in tmp_path.iterdir() if d.name.startswith("fifo-")]
    # Only the runs already handed to the workers when the failure came back (one under way in
    # each, one more taken meanwhile, and the executor's call queue of jobs + 1), not all twelve;
    # and they have ended: no worker process is left behind.
    assert len(started) <= 6
    assert not multiprocessing.active_children()


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie lingers where nothing reaps it, as in containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_workers_end_with_a_parent_killed_outright(data_dir: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "runs"
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from sportello_deploy.simulate import run, traffic
        from sportello_deploy.simulate.engine import EngineConfig
        from tests.deploy.simulate.support import steady_team
        specs = [run.RunSpec("fifo", seed, Path({str(scratch)!r}) / str(seed)) for seed in (1, 2)]
        run.run_all(specs, traffic.load(Path({str(data_dir)!r})), steady_team(2), EngineConfig(), jobs=2,
                    router="tests.deploy.simulate.fake_router:make_stuck_router")
        """)], cwd=REPO_ROOT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(started := sorted(scratch.glob("*/started"))) < 2:
            assert parent.poll() is None and time.monotonic() < deadline, "the two runs did not start"
            time.sleep(0.2)
        workers = [int(marker.read_text()) for marker in started]
        parent.kill()  # SIGKILL: the parent can do nothing for its workers
        parent.wait()
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if _running(pid)], "a worker outlived its parent"
        # and ended through its exit handlers, the ones that stop a run's PostgreSQL server
        assert sorted(p.name for p in scratch.glob("*/exit-handlers-ran")) == ["exit-handlers-ran"] * 2
    finally:
        parent.kill()
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
