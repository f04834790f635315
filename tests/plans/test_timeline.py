"""Where a plan's time went (docs/plans.md, "Where the time went"): each node's queue, run and
download, the critical path, and their Mermaid timeline in the summary.

The plan runs against the emulator over HTTP on the shared VirtualClock (nodes overlap in
simulated time), so the phases below are GitHub's timelines as the emulator plays them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from tests.plans.conftest import QUEUED, Recorder, make_plan, node, workflow
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.github_objects import CheckRun
from wait_and_dispatch.engine.results import ApiCost, ChecksResult, Outcome
from wait_and_dispatch.plans.executor import PlanRunner
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan, PlanResult
from wait_and_dispatch.plans.node_job import _github_times
from wait_and_dispatch.plans.timeline import NodeTimes, clock_skew, critical_path, on_our_clock, plan_times
from wait_and_dispatch.session.summary import plan_summary
from wait_and_dispatch.session.timeline_chart import gantt, mermaid_text
from wait_and_dispatch.step.run import JobReport

MakeRunner = Callable[..., tuple[PlanRunner, Emulator, Recorder]]

POLL = 10  # the nodes' max-poll-interval: a run's start and end are seen within it

# base 15 min, then ci 5 min and (beside it) deploy 4 min; test 2 min and lint 1 min after ci.
# The chain that sets the end is base -> ci -> test (22 min), not base -> deploy (19 min).
DURATIONS = {"base": 900, "ci": 300, "deploy": 240, "test": 120, "lint": 60}
WORKFLOWS = {
    name: workflow(f"{name}.yml", seconds, artifacts=(("report", {"ok": 1}),) if name == "test" else ())
    for name, seconds in DURATIONS.items()
}


def chain_with_a_branch() -> Plan:
    return make_plan(
        node("base"),
        node("ci", needs=("base",)),
        node("deploy", needs=("base",)),
        node("test", needs=("ci",), artifacts=["report"]),
        node("lint", needs=("ci",)),
        node("docs", needs=("base",), condition="false"),  # skipped: no bars
    )


def test_each_node_has_its_queue_run_and_download(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(chain_with_a_branch(), WORKFLOWS)
    result = runner.run()
    assert result.conclusion is NodeResult.SUCCESS
    times = plan_times(result)
    assert list(times) == ["base", "ci", "deploy", "test", "lint"]  # the skipped node has none
    for name, seconds in DURATIONS.items():
        node_times = times[name]
        assert node_times.started is not None and node_times.completed is not None
        queue = node_times.started - node_times.queued
        run = node_times.completed - node_times.started
        download = node_times.downloaded - node_times.completed
        # The emulator queues every run QUEUED seconds; a poll sees it in progress within POLL.
        assert QUEUED <= queue <= QUEUED + POLL + 1, (name, queue)
        assert seconds - POLL - 1 <= run <= seconds, (name, run)
        assert 0 <= download <= POLL + 1, (name, download)
        assert [phase.name for phase in node_times.phases()] == ["queue", "run", "download"]
    # A node starts when its need has ended: its queue begins at its need's last moment.
    assert abs(times["ci"].queued - times["base"].downloaded) < 1
    assert abs(times["test"].queued - times["ci"].downloaded) < 1
    assert times["base"].queued < 1  # from the plan's start


def test_the_critical_path_is_the_chain_of_needs_that_ended_last(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(chain_with_a_branch(), WORKFLOWS)
    result = runner.run()
    path = critical_path(result)
    assert path is not None
    assert path.nodes == ("base", "ci", "test")
    ran = sum(result.outcomes[name].duration or 0 for name in path.nodes)
    assert abs(path.busy - ran) < 1e-6
    assert path.elapsed == result.elapsed
    assert path.busy <= path.elapsed
    summary = plan_summary(result, repository="octo/bot")
    assert re.search(r"Critical path: base -> ci -> test \(2\dm\d+s of 2\dm\d+s\)\.", summary), summary


def test_the_summary_draws_each_phase_and_marks_the_critical_path(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(chain_with_a_branch(), WORKFLOWS)
    result = runner.run()
    summary = plan_summary(result, repository="octo/bot")
    chart = summary.split("### Timeline", 1)[1].split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    lines = chart.splitlines()
    assert lines[:4] == [
        "gantt",
        "  dateFormat YYYY-MM-DD HH:mm:ss",
        "  axisFormat %M:%S",
        "  todayMarker off",
    ]
    sections = [line.removeprefix("  section ") for line in lines if line.startswith("  section ")]
    assert sections == ["base", "ci", "deploy", "test", "lint"]
    by_section: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("  section "):
            current = line.removeprefix("  section ")
        elif line.startswith("    "):
            by_section.setdefault(current, []).append(line.strip())
    for name, bars in by_section.items():
        # A queue and a run each; a download unless a poll saw the completion in the same second.
        assert [bar.split(" :")[0] for bar in bars][:2] == ["queue", "run"], (name, bars)
    assert [bar.split(" :")[0] for bar in by_section["test"]] == ["queue", "run", "download"]
    for name in ("base", "ci", "test"):
        assert all("crit" in bar for bar in by_section[name]), by_section[name]
    for name in ("deploy", "lint"):
        assert not any("crit" in bar for bar in by_section[name]), by_section[name]
    base_run = next(bar for bar in by_section["base"] if bar.startswith("run :"))
    start, end = base_run.split(", ")[-2:]
    # On the stopwatch axis from the plan's start: base's run starts once a poll sees it in
    # progress (QUEUED s, then within POLL) and ends about 15 minutes later.
    assert start.startswith("2000-01-01 00:00:") and QUEUED <= int(start[-2:]) <= QUEUED + POLL + 1, start
    assert end.startswith("2000-01-01 00:15:"), end


def _outcome(name: str, started: float | None, finished: float | None, result: NodeResult) -> NodeOutcome:
    return NodeOutcome(name, result, {}, started=started, finished=finished)


def test_the_critical_path_walks_through_a_node_that_did_not_run() -> None:
    # base -> gate (skipped) -> deploy: deploy waited for base, through the skipped gate.
    plan = make_plan(node("base"), node("gate", needs=("base",)), node("deploy", needs=("gate",)))
    outcomes = {
        "base": _outcome("base", 0.0, 100.0, NodeResult.SUCCESS),
        "gate": _outcome("gate", None, None, NodeResult.SKIPPED),
        "deploy": _outcome("deploy", 100.5, 160.0, NodeResult.SUCCESS),
    }
    result = PlanResult(plan, outcomes, NodeResult.SUCCESS, started=0.0, finished=161.0)
    path = critical_path(result)
    assert path is not None and path.nodes == ("base", "deploy")
    assert path.busy == 159.5 and path.elapsed == 161.0
    assert path.as_json() == {"nodes": ["base", "deploy"], "duration": 159.5}
    nothing_ran = PlanResult(plan, {"gate": outcomes["gate"]}, NodeResult.SUCCESS, started=0.0, finished=0.0)
    assert critical_path(nothing_ran) is None and gantt(nothing_ran) == []


def test_github_times_are_kept_within_the_node_and_in_order() -> None:
    # A run found already running started before the node; GitHub's whole seconds can also put
    # its completion a fraction after the node's end. Neither gives a phase a negative length.
    outcome = NodeOutcome(
        "found", NodeResult.SUCCESS, {}, started=100.0, finished=150.0, run_started=40.0, run_completed=150.4
    )
    plan = make_plan(node("found"))
    result = PlanResult(plan, {"found": outcome}, NodeResult.SUCCESS, started=90.0, finished=151.0)
    times = plan_times(result)["found"]
    assert times == NodeTimes(queued=10.0, started=10.0, completed=60.0, downloaded=60.0)
    assert [phase.name for phase in times.phases()] == ["run"]
    assert times.as_json() == {"queued": 10.0, "started": 10.0, "completed": 60.0, "downloaded": 60.0}


def test_a_node_without_a_run_is_all_queue_and_a_collect_node_all_download() -> None:
    failed = NodeTimes(queued=0.0, started=None, completed=None, downloaded=12.0)
    assert [(p.name, p.length) for p in failed.phases()] == [("queue", 12.0)]
    collect = NodeTimes(queued=5.0, started=None, completed=None, downloaded=9.0, collect=True)
    assert [(p.name, p.length) for p in collect.phases()] == [("download", 4.0)]


def test_githubs_clock_is_moved_onto_ours_only_beyond_the_dates_precision() -> None:
    assert clock_skew(None, 1000.0) == 0.0
    assert clock_skew(999.2, 1000.0) == 0.0  # `Date` is whole seconds, read after the answer came
    assert clock_skew(1030.0, 1000.0) == 30.0
    ahead = NodeOutcome("n", NodeResult.SUCCESS, {}, run_started=1130.0, run_completed=1190.0)
    moved = on_our_clock(ahead, clock_skew(1030.0, 1000.0))
    assert (moved.run_started, moved.run_completed) == (1100.0, 1160.0)
    assert on_our_clock(ahead, 0.0) is ahead


def test_names_cannot_break_a_gantt_line() -> None:
    assert mermaid_text("train: lr=0.1; #3 %%x\nnext") == (
        "train\N{RATIO} lr=0.1\N{FULLWIDTH SEMICOLON} \N{FULLWIDTH NUMBER SIGN}3 "
        "\N{FULLWIDTH PERCENT SIGN}\N{FULLWIDTH PERCENT SIGN}x next"
    )
    assert mermaid_text(" \n ") == "-"
    hostile = "matrix: {os: linux}; #comment\n  section evil\n    run :crit, 2000-01-01 00:00:00, 1d"
    plan = make_plan(replace(node("m"), title=hostile))  # a title carrying matrix values
    outcome = NodeOutcome(
        "m", NodeResult.SUCCESS, {}, started=0.0, finished=30.0, run_started=5, run_completed=25
    )
    lines = gantt(PlanResult(plan, {"m": outcome}, NodeResult.SUCCESS, started=0.0, finished=30.0))
    sections = [line for line in lines if "section" in line]
    assert len(sections) == 1  # the newline did not start a section of its own
    title = sections[0].removeprefix("  section ")
    assert not set(title) & set(":;#%\n")
    assert [line.strip().split(" :")[0] for line in lines if line.startswith("    ")] == [
        "queue",
        "run",
        "download",
    ]


def test_githubs_times_are_read_on_our_clock_when_githubs_clock_is_ahead(make_runner: MakeRunner) -> None:
    # GitHub's clock 5 minutes ahead of the runner's: its `updated_at` is moved back by what the
    # `Date` of its answers says, so the run's completion is not pushed to the node's end.
    runner, emulator, _ = make_runner(make_plan(node("ci")), {"ci": WORKFLOWS["ci"]})
    emulator.state.options = replace(emulator.state.options, clock_offset=300.0)
    result = runner.run()
    times = plan_times(result)["ci"]
    assert times.started is not None and times.completed is not None
    assert DURATIONS["ci"] - POLL - 2 <= times.completed - times.started <= DURATIONS["ci"] + 1
    assert 0 <= times.downloaded - times.completed <= POLL + 2


def test_a_checks_node_runs_from_its_first_check_to_its_last() -> None:
    def check(name: str, started: float, completed: float | None) -> CheckRun:
        status = "completed" if completed is not None else "in_progress"
        conclusion = "success" if completed is not None else None
        return CheckRun(1, name, status, conclusion, "c" * 40, "", "github-actions", None, started, completed)

    cost = ApiCost(requests=1, not_modified=0, rate_limit_units=1, retries=0, rate_limit_remaining=None)

    def times(*checks: CheckRun) -> tuple[float | None, float | None]:
        result = ChecksResult("c" * 40, checks, Outcome.SUCCESS, waited=60.0, cost=cost)
        return _github_times(JobReport(checks=result))

    assert times(check("lint", 110.0, 150.0), check("test", 100.0, 190.0)) == (100.0, 190.0)
    # A check still running: the run has not completed.
    assert times(check("lint", 110.0, 150.0), check("test", 100.0, None)) == (100.0, None)
    assert _github_times(JobReport()) == (None, None)  # nothing ran (an error before the wait)
