"""SIGTERM to the command line is handled as SIGINT is: the runs the command
dispatched are cancelled (cancel-on-cancel) and it exits 130. A real signal to a real subprocess
running against the emulator on loopback, as `kill`, `timeout` or a container runtime sends it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.edges.test_action import fast_scenario
from tests.support.small_plan import dispatched_workflows, small_scenario, write_plan
from wait_and_dispatch.emulator import Emulator, Fault, Scenario
from wait_and_dispatch.session.signals import interrupt_on_termination
from wait_and_dispatch.step.results import schema_text
from wait_and_dispatch.support.clock import SystemClock
from wait_and_dispatch.support.interrupts import on_the_wire, write_in_flight

COMMAND = [sys.executable, "-m", "wait_and_dispatch"]
LONG_RUN = {"queued": 0, "duration": 600}
CORRELATION_ID = re.compile(r"wad-[0-9a-f]{10}-[0-9a-f]{8}")


def environment(emulator: Emulator) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "GITHUB_API_URL": emulator.api_url,
        "GITHUB_TOKEN": emulator.token("dev"),
    }


def start(argv: list[str], emulator: Emulator) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, *argv],
        env=environment(emulator),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_a_dispatch(emulator: Emulator, process: subprocess.Popen[str], *, settle: float = 1.0) -> None:
    deadline = time.monotonic() + 30
    while not [w for w in emulator.writes() if w.path.endswith("/dispatches") and w.status < 300]:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never dispatched"
        time.sleep(0.05)
    time.sleep(settle)  # into the wait


def cancels(emulator: Emulator) -> list[str]:
    return [w.path for w in emulator.writes() if w.path.endswith("/cancel")]


@pytest.fixture
def long_run() -> Iterator[Emulator]:
    with Emulator(Scenario.from_dict(fast_scenario(timeline=LONG_RUN)), clock=SystemClock()) as emulator:
        yield emulator


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_run_cancels_the_run_it_dispatched_and_exits_130(
    long_run: Emulator, signal_number: signal.Signals
) -> None:
    process = start(
        ["run", "--repo", "octo/app", "--workflow", "build.yml", "--poll-interval", "1s"], long_run
    )
    wait_for_a_dispatch(long_run, process)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert len(cancels(long_run)) == 1
    assert "cancelled run " in stderr and "which this command dispatched" in stderr
    assert stderr.rstrip().endswith("interrupted") and "Traceback" not in stderr


def test_with_json_an_interrupted_run_still_prints_one_object(long_run: Emulator) -> None:
    process = start(["run", "--repo", "octo/app", "--workflow", "build.yml", "--json"], long_run)
    wait_for_a_dispatch(long_run, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    failure = json.loads(stdout)
    jsonschema.validate(failure, json.loads(schema_text()))
    assert failure["error"] == {"exit_code": 130, "message": "interrupted", "hint": None}


def test_sigterm_to_run_with_no_cancel_on_cancel_leaves_the_run_alone(long_run: Emulator) -> None:
    process = start(
        ["run", "--repo", "octo/app", "--workflow", "build.yml", "--no-cancel-on-cancel"], long_run
    )
    wait_for_a_dispatch(long_run, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert cancels(long_run) == []


def test_sigterm_to_plan_cancels_the_runs_it_dispatched_and_exits_130(tmp_path: Path) -> None:
    scenario = small_scenario()
    scenario["repos"]["octo/app"]["workflows"][0]["timeline"] = LONG_RUN
    with Emulator(Scenario.from_dict(scenario), clock=SystemClock()) as emulator:
        process = start(["plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path)], emulator)
        wait_for_a_dispatch(emulator, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert dispatched_workflows(emulator) == ["build.yml"]  # nothing started after the signal
        assert len(cancels(emulator)) == 1
    assert "which this plan dispatched: cancelled" in stderr


def test_the_first_signal_interrupts_and_the_next_ones_let_the_cancel_finish() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    steps: list[str] = []
    with interrupt_on_termination():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted long before
            steps.append("not interrupted")
        except KeyboardInterrupt:
            steps.append("interrupted")
            os.kill(os.getpid(), signal.SIGTERM)  # the runner's SIGTERM after its SIGINT
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("cancelled the runs")
    assert steps == ["interrupted", "cancelled the runs"]
    assert signal.getsignal(signal.SIGTERM) is previous


def test_sigterm_to_plan_during_a_download_leaves_no_staging_and_no_partial_file(tmp_path: Path) -> None:
    """The nodes of a plan download in threads of their own, which died with the process and
    left `.wait-and-dispatch-*/` with a partial file in the destination (the `download` command,
    downloading in its main thread, always cleaned up)."""
    scenario = small_scenario()
    scenario["repos"]["octo/app"]["workflows"][0]["artifacts"] = [
        {"name": "package", "size": 4 * 1024 * 1024}
    ]
    work = tmp_path / "work"
    (tmp_path / "plan").mkdir()
    with Emulator(Scenario.from_dict(scenario), clock=SystemClock()) as emulator:
        # 4 KiB every 0.1 s: the download would take minutes; the signal comes in its first second.
        emulator.inject(Fault(host="blob", path="*", kind="trickle", after_bytes=4096, delay=0.1, times=None))
        process = start(["plan", str(write_plan(tmp_path / "plan")), "--workdir", str(work)], emulator)
        deadline = time.monotonic() + 30
        while not [r for r in emulator.requests if r.host == "blob"]:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the plan never started downloading"
            time.sleep(0.1)
        time.sleep(0.5)  # bytes are arriving into the staging folder
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    left = [p.relative_to(work).as_posix() for p in work.rglob("*")] if work.exists() else []
    assert left == []


@contextlib.contextmanager
def ghes(visibility_delay: float) -> Iterator[Emulator]:
    """GHES 3.20 (no run details): a dispatched run is known only once it is listed, after
    `visibility_delay` seconds, by the correlation id its run-name shows."""
    scenario = fast_scenario(timeline=LONG_RUN, run_name="Build [${{ inputs.distinct_id }}]")
    scenario["repos"]["octo/app"]["workflows"][0]["inputs"]["distinct_id"] = {"type": "string"}
    scenario["options"].update(
        return_run_details=False, enterprise_version="3.20.0", dispatch_visibility_delay=visibility_delay
    )
    with Emulator(Scenario.from_dict(scenario), clock=SystemClock()) as emulator:
        yield emulator


def the_dispatched_run(emulator: Emulator) -> int:
    """The one run the command dispatched (a slow dispatch applies after its client has gone)."""
    deadline = time.monotonic() + 10
    while True:
        with emulator.state.lock:
            runs = [run.id for run in emulator.state.runs.values() if run.event == "workflow_dispatch"]
        if runs or time.monotonic() > deadline:
            (run_id,) = runs
            return run_id
        time.sleep(0.1)


def test_sigterm_while_the_dispatch_is_in_flight_finds_the_run_and_cancels_it() -> None:
    with ghes(visibility_delay=1) as emulator:
        in_flight = emulator.inject(Fault(method="POST", path="*/dispatches", kind="slow", delay=1.5))
        process = start(["run", "--repo", "octo/app", "--workflow", "build.yml"], emulator)
        deadline = time.monotonic() + 30
        while not in_flight.fired:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        run_id = the_dispatched_run(emulator)
        assert cancels(emulator) == [f"/repos/octo/app/actions/runs/{run_id}/cancel"], stderr
    assert f"cancelled run {run_id}, which this command dispatched" in stderr


def test_sigterm_during_correlation_finds_the_run_and_cancels_it() -> None:
    with ghes(visibility_delay=2) as emulator:
        process = start(["run", "--repo", "octo/app", "--workflow", "build.yml"], emulator)
        wait_for_a_dispatch(emulator, process, settle=0.0)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        run_id = the_dispatched_run(emulator)
        assert cancels(emulator) == [f"/repos/octo/app/actions/runs/{run_id}/cancel"], stderr


def test_sigterm_before_the_run_can_be_found_prints_its_correlation_id_in_the_error_and_json() -> None:
    with ghes(visibility_delay=20) as emulator:
        process = start(["run", "--repo", "octo/app", "--workflow", "build.yml", "--json"], emulator)
        wait_for_a_dispatch(emulator, process, settle=0.0)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert time.monotonic() - started < 10, "it looked for the run a few seconds only"
        (sent,) = [w for w in emulator.writes() if w.path.endswith("/dispatches")]
    correlation_id = sent.body["inputs"]["distinct_id"]
    error_line = next(line for line in stderr.splitlines() if line.startswith("interrupted"))
    assert CORRELATION_ID.search(error_line) and correlation_id in error_line, stderr
    failure = json.loads(stdout)
    jsonschema.validate(failure, json.loads(schema_text()))
    assert failure["error"]["exit_code"] == 130
    assert correlation_id in failure["error"]["message"]


def test_sigterm_while_a_dispatch_whose_answer_names_no_run_is_in_flight_names_its_ref_and_time() -> None:
    # The server answers the dispatch 204 and the workflow declares no correlation input, so the
    # run cannot be told from another one started at the same moment: it is not guessed at, and a
    # person is told where to look.
    scenario = fast_scenario(timeline=LONG_RUN)
    scenario["options"].update(return_run_details=False)
    with Emulator(Scenario.from_dict(scenario), clock=SystemClock()) as emulator:
        in_flight = emulator.inject(Fault(method="POST", path="*/dispatches", kind="slow", delay=1.5))
        process = start(["run", "--repo", "octo/app", "--workflow", "build.yml", "--json"], emulator)
        wait_until_fired(in_flight, process)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert cancels(emulator) == []
    message = json.loads(stdout)["error"]["message"]
    assert re.search(r"look for a workflow_dispatch run of it on main created at \S+Z or just after", message)
    assert message in stderr


def wait_until_fired(fault: Fault, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not fault.fired:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)


def test_sigterm_while_a_dispatch_is_in_flight_on_github_com_waits_for_its_run_id_and_cancels_the_run(
    long_run: Emulator,
) -> None:
    # API version 2026-03-10: the dispatch's 200 names the run, and nothing else would (no
    # correlation input). The signal waits for that answer, so the run is cancelled, not orphaned.
    in_flight = long_run.inject(Fault(method="POST", path="*/dispatches", kind="slow", delay=3))
    process = start(["run", "--repo", "octo/app", "--workflow", "build.yml", "--json"], long_run)
    wait_until_fired(in_flight, process)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    run_id = the_dispatched_run(long_run)
    assert cancels(long_run) == [f"/repos/octo/app/actions/runs/{run_id}/cancel"], stderr
    assert [w.status for w in long_run.writes() if w.path.endswith("/cancel")] == [202]
    error_line = next(line for line in stderr.splitlines() if line.startswith("interrupted"))
    assert f"run {run_id}" in error_line, stderr
    assert f"cancelled run {run_id}, which this command dispatched" in stderr
    failure = json.loads(stdout)
    jsonschema.validate(failure, json.loads(schema_text()))
    assert failure["error"]["exit_code"] == 130
    assert f"run {run_id}" in failure["error"]["message"]


def test_a_second_signal_while_the_dispatch_is_awaited_stops_at_once(long_run: Emulator) -> None:
    in_flight = long_run.inject(Fault(method="POST", path="*/dispatches", kind="slow", delay=15))
    process = start(["run", "--repo", "octo/app", "--workflow", "build.yml"], long_run)
    wait_until_fired(in_flight, process)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert process.poll() is None, "the first signal waits for the dispatch's answer"
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - started < 5, "the second signal did not wait for the answer"
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert re.search(r"look for a workflow_dispatch run of it on main created at \S+Z or just after", stderr)


def test_a_signal_during_a_write_in_flight_is_raised_when_the_write_returns() -> None:
    steps: list[str] = []
    with interrupt_on_termination():
        try:
            with write_in_flight():
                with on_the_wire():
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(0.2)  # the answer arriving
                steps.append("answer recorded")
            steps.append("not interrupted")
        except KeyboardInterrupt:
            steps.append("interrupted")
            os.kill(os.getpid(), signal.SIGTERM)  # ignored while the runs are cancelled
            steps.append("cancelled the runs")
    assert steps == ["answer recorded", "interrupted", "cancelled the runs"]


def test_a_signal_while_a_write_waits_for_its_turn_interrupts_at_once() -> None:
    # Not yet sent (a pause between writes, a rate limit): nothing to wait for.
    steps: list[str] = []
    with interrupt_on_termination():
        try:
            with write_in_flight():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # interrupted long before
                steps.append("sent")
        except KeyboardInterrupt:
            steps.append("interrupted")
    assert steps == ["interrupted"]
