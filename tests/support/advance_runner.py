"""A runner for an orchestrator workflow that advances on events, played against the emulator.

On GitHub, when a run of a workflow starts (by `workflow_dispatch`, by `workflow_run` when a run
it listens to completes, by `repository_dispatch`), a runner is given its job: a fresh machine
with GitHub's environment (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH` naming the event's payload,
`GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`, `GITHUB_RUN_ID`, a token ...) runs the step,
and the run completes as the step ended, which is an event in turn. `OrchestratorRunner` does
that for one `held` workflow of an emulator's scenario: it finds the workflow's runs as they
appear (`Emulator.runs_of`), runs the step for each with the environment GitHub would give
(`Emulator.job_context`), then ends the run `success` or `failure` by the step's exit code
(`Emulator.finish_run`). Nothing of the step's process carries from one run to the next.

Time is the emulator's clock: `run_until_idle` plays the runs that wait, and when none does,
moves the shared `ManualClock` straight to the next moment a run is requested, starts or
completes, until nothing is going on. Runs that wait together (two nodes that completed at the
same moment) are played at the same time, in threads released together, as GitHub runs the
jobs of two runs in parallel: what a race between two invocations needs.

    runner = OrchestratorRunner(emu, clock, "octo/app", "orchestrator.yml", step, tmp_path,
                                token="ci", env={"APP_TOKEN": emu.token("bot")})
    dispatch_the_start(...)            # the orchestrator's own workflow_dispatch, say
    played = runner.run_until_idle()   # [Invocation(run_id, event_name, exit_code, ...), ...]
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wait_and_dispatch.emulator import Emulator, JobContext
from wait_and_dispatch.support.clock import ManualClock

AdvanceStep = Callable[[Mapping[str, str]], int]
"""The step a job runs: given the job's environment, it returns its exit code."""

# Files a job's step writes through (GitHub docs, "Workflow commands": environment files).
_STEP_FILES = {
    "GITHUB_OUTPUT": "output",
    "GITHUB_STEP_SUMMARY": "summary.md",
    "GITHUB_STATE": "state",
    "GITHUB_ENV": "env",
    "GITHUB_PATH": "path",
}


@dataclass(frozen=True)
class Invocation:
    """One orchestrator run played: what it was given and how it ended."""

    run_id: int
    event_name: str
    payload: Mapping[str, Any]
    exit_code: int
    conclusion: str
    started_at: float  # the emulator clock when the step began, and when the run ended
    ended_at: float
    folder: Path  # the job's folder: event.json, output, summary.md, workspace/

    @property
    def summary(self) -> str:
        return (self.folder / "summary.md").read_text(encoding="utf-8")

    @property
    def output_file(self) -> Path:
        return self.folder / "output"


@dataclass
class OrchestratorRunner:
    """Plays the runner for every run of `workflow` (a `held` workflow) in `repository`."""

    emulator: Emulator
    clock: ManualClock
    repository: str
    workflow: str
    step: AdvanceStep
    folder: Path
    token: str | None = None  # the scenario's token given as GITHUB_TOKEN (a `github_token` kind)
    env: Mapping[str, str] = field(default_factory=dict)  # more environment: inputs, App credentials
    job: str = "advance"  # GITHUB_JOB: the job's id in the workflow file
    played: list[Invocation] = field(default_factory=list)
    _claimed: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- finding runs --------------------------------------------------------------------------

    def waiting(self) -> list[int]:
        """The workflow's runs that no one has played yet and that have not completed."""
        with self._lock:
            claimed = set(self._claimed)
        ids = [
            run_id
            for run_id in self.emulator.runs_of(self.repository, self.workflow)
            if run_id not in claimed
        ]
        return [run_id for run_id in ids if self.emulator.job_context(run_id).status != "completed"]

    # -- playing them ----------------------------------------------------------------------------

    def play(self, run_id: int) -> Invocation:
        """Run the step for run `run_id` with GitHub's environment, then end the run by its exit
        code. A step that raises ends its run `failure`, and the exception goes on."""
        with self._lock:
            if run_id in self._claimed:
                raise ValueError(f"run {run_id} was played already")
            self._claimed.add(run_id)
        context = self.emulator.job_context(run_id)
        folder = self.folder / f"run-{run_id}-{context.run_attempt}"
        environ = self.environment(context, folder)
        started = self.clock.now()
        code = 1
        try:
            code = self.step(environ)
        finally:
            conclusion = "success" if code == 0 else "failure"
            self.emulator.finish_run(run_id, conclusion)
            invocation = Invocation(
                run_id=run_id,
                event_name=context.event_name,
                payload=context.payload,
                exit_code=code,
                conclusion=conclusion,
                started_at=started,
                ended_at=self.clock.now(),
                folder=folder,
            )
            with self._lock:
                self.played.append(invocation)
        return invocation

    def play_waiting(self) -> list[Invocation]:
        """Play every run that waits now; two or more at the same time, released together."""
        waiting = self.waiting()
        if len(waiting) <= 1:
            return [self.play(run_id) for run_id in waiting]
        barrier = threading.Barrier(len(waiting))
        results: dict[int, Invocation] = {}
        errors: list[BaseException] = []

        def play_one(run_id: int) -> None:
            barrier.wait()
            try:
                results[run_id] = self.play(run_id)
            except BaseException as error:  # noqa: BLE001 - not swallowed: raised below, in the caller
                errors.append(error)

        threads = [threading.Thread(target=play_one, args=(run_id,)) for run_id in waiting]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return [results[run_id] for run_id in waiting]

    def run_until_idle(self, *, within: float = 7 * 86400) -> list[Invocation]:
        """Play runs as they appear, moving the clock to the next run activity whenever none
        waits, until nothing is going on; fails if that takes more than `within` seconds of the
        clock. Returns the invocations played, in the order they ended."""
        deadline = self.clock.now() + within
        while True:
            if self.play_waiting():
                continue
            wait = self.emulator.seconds_to_next_activity()
            if wait is None:
                with self._lock:
                    return list(self.played)
            if self.clock.now() + wait > deadline:
                raise AssertionError(f"runs were still going after {within:g} s of the clock")
            self.clock.advance(wait)

    # -- what GitHub gives the job ---------------------------------------------------------------

    def environment(self, context: JobContext, folder: Path) -> dict[str, str]:
        """The job's environment (GitHub docs, "Store information in variables", default
        environment variables), its event payload written where GITHUB_EVENT_PATH says, and
        fresh environment files. The machine is new: nothing else carries over."""
        workspace = folder / "workspace"
        workspace.mkdir(parents=True)
        (folder / "temp").mkdir()
        event_path = folder / "event.json"
        event_path.write_text(json.dumps(context.payload), encoding="utf-8")
        ref = context.ref
        ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
        web = f"{self.emulator.api_url}/_web"
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": self.emulator.api_url,
            "GITHUB_SERVER_URL": web,
            "GITHUB_REPOSITORY": context.repository,
            "GITHUB_REPOSITORY_OWNER": context.repository.split("/")[0],
            "GITHUB_EVENT_NAME": context.event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_SHA": context.sha,
            "GITHUB_REF": ref,
            "GITHUB_REF_NAME": ref.split("/", 2)[-1],
            "GITHUB_REF_TYPE": ref_type,
            "GITHUB_RUN_ID": str(context.run_id),
            "GITHUB_RUN_ATTEMPT": str(context.run_attempt),
            "GITHUB_RUN_NUMBER": str(context.run_number),
            "GITHUB_WORKFLOW": context.workflow,
            "GITHUB_WORKFLOW_REF": f"{context.repository}/{context.workflow_path}@{ref}",
            "GITHUB_JOB": self.job,
            "GITHUB_ACTOR": context.actor,
            "GITHUB_TRIGGERING_ACTOR": context.actor,
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(folder / "temp"),
            "RUNNER_OS": "Linux",
        }
        for variable, name in _STEP_FILES.items():
            (folder / name).touch()
            environ[variable] = str(folder / name)
        if self.token is not None:
            environ["GITHUB_TOKEN"] = self.emulator.token(self.token)
        environ.update(self.env)
        return environ
