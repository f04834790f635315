"""`wait-and-dispatch demo`: the main job, end to end, against the embedded emulator.

Everything it shows is real: the emulator is a GitHub API server on 127.0.0.1 spoken to over
HTTP, the dispatch is a real POST whose answer names the run it started, the waiting is
conditional polling whose 304s cost no rate limit, and the artifact comes through the 302
redirect from a separate storage host that never sees the token. Only time is faster: the
emulator and the client share a `ScaledClock`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from wait_and_dispatch.github_api import GitHubApi, RetryEvent
from wait_and_dispatch.support.clock import ScaledClock
from wait_and_dispatch.support.errors import ExitCode
from wait_and_dispatch.support.text import print_line

if TYPE_CHECKING:
    from wait_and_dispatch.emulator import Emulator, JobContext
    from wait_and_dispatch.engine.failures import FailureDigest
    from wait_and_dispatch.session.plan_step import PlanReport

DEMO_REPO = "octo/app"
DEMO_WORKFLOW = "build.yml"
FAILURE_WORKFLOW = "tests.yml"  # its `test (3.12)` job fails at "Run pytest"
DEMO_TOKEN = "ci"  # nosec B105 # noqa: S105 - the name of a scenario token, not a secret
POLL_SECONDS = 5.0


class _Printer:
    """Timestamped lines relative to the start, in the emulated time."""

    def __init__(self, out: TextIO, clock: ScaledClock) -> None:
        self.out = out
        self.clock = clock
        self.start = clock.now()

    def __call__(self, message: str) -> None:
        elapsed = int(self.clock.now() - self.start)
        print_line(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=self.out, flush=True)


def run_demo(*, speed: float = 30.0, path: str | None = None, failure: bool = False, out: TextIO) -> int:
    """The main job against the demo scenario; `failure`: dispatch the workflow that fails, and
    show what the failure digest found inside it."""
    from wait_and_dispatch.emulator import Emulator, Scenario

    scenario = Scenario.demo()
    clock = ScaledClock(speed)
    with Emulator(scenario, clock=clock) as emulator:
        say = _Printer(out, clock)
        print(
            f"Emulated GitHub API at {emulator.api_url} (artifact storage at {emulator.blob_url}); "
            f"time runs {speed:g}x faster. No token or network needed.",
            file=out,
        )
        api = GitHubApi(
            base_url=emulator.api_url,
            token=emulator.token(DEMO_TOKEN),
            clock=clock,
            on_retry=lambda event: say(_describe_retry(event)),
        )
        with api:
            if path is None:
                with tempfile.TemporaryDirectory(prefix="wait-and-dispatch-demo-") as folder:
                    return _main_job(api, say, Path(folder), out, failure=failure)
            target = Path(path)
            target.mkdir(parents=True, exist_ok=True)
            return _main_job(api, say, target, out, failure=failure)


def _main_job(api: GitHubApi, say: _Printer, folder: Path, out: TextIO, *, failure: bool) -> int:
    """The same engine call the action and `wait-and-dispatch run` make."""
    from wait_and_dispatch.engine.facade import Engine
    from wait_and_dispatch.engine.github_objects import Repository
    from wait_and_dispatch.engine.requests import ArtifactSelection, DispatchPolicy, RunRequest, WaitOptions
    from wait_and_dispatch.session.progress import is_line
    from wait_and_dispatch.step.run import run_outputs

    engine = Engine(
        api, lambda event: say(event.message) if is_line(event) and event.kind != "poll" else None
    )
    request = RunRequest(
        Repository.parse(DEMO_REPO),
        DEMO_WORKFLOW,
        ref="main",
        dispatch=DispatchPolicy.ALWAYS,
        inputs={"target": "linux"},
        correlation_input="correlation_id",  # the demo workflow shows it in its run-name
    )
    if failure:
        request = RunRequest(
            Repository.parse(DEMO_REPO), FAILURE_WORKFLOW, ref="main", dispatch=DispatchPolicy.ALWAYS
        )
    result = engine.run(
        request,
        WaitOptions(timeout=1800, poll_interval=POLL_SECONDS, max_poll_interval=30),
        artifacts=None if failure else ArtifactSelection(path=folder),
    )
    outputs = run_outputs(result)
    print("\noutputs:", file=out)
    for key in ("run-id", "run-url", "run-number", "conclusion", "head-sha", "dispatched", "duration"):
        print_line(f"  {key}: {outputs[key]}", file=out)
    for artifact in result.artifacts:
        verdict = "sha256 verified" if artifact.verified else "no digest to check"
        said = f"{artifact.size:,} bytes, {verdict} -> {artifact.path}"
        print_line(f"  artifact {artifact.name}: {said}", file=out)
    print(f"\nAPI cost: {result.cost.describe()}", file=out)
    error = result.error()
    if error is not None:
        print_line(f"error: {error.message}", file=out)
        if error.hint:
            print_line(f"hint: {error.hint}", file=out)
        if result.failure is not None:
            _show_digest(result.failure, out)
        return int(error.exit_code)
    return int(ExitCode.SUCCESS)


def _show_digest(digest: FailureDigest, out: TextIO) -> None:
    """What the digest found inside the failed jobs, as `--json`'s `failure` and the job summary
    carry it: each job's failed step, its annotations and the end of its log."""
    for job in digest.jobs:
        step = f', step {job.failed_steps[0].number} "{job.failed_steps[0].name}"' if job.failed_steps else ""
        print(file=out)
        print_line(f'failed job "{job.name}"{step}: {job.step_url}', file=out)
        for annotation in job.annotations:
            print_line(f"  {annotation.annotation_level}: {annotation.said()}".rstrip(), file=out)
        if job.unreadable:
            print_line(f"  not read: {job.unreadable}", file=out)
        if job.log_tail:
            print_line(f"  the log's last {len(job.log_tail.splitlines())} lines:", file=out)
            for line in job.log_tail.splitlines():
                print_line(f"    {line}", file=out)


def _describe_retry(event: RetryEvent) -> str:
    return f"{event.method} {event.path}: {event.reason}, retrying in {event.wait:.0f}s"


# --- advance mode ------------------------------------------------------------------------------

ADVANCE_REPO = "octo/pipeline"
ADVANCE_ORCHESTRATOR = "orchestrator-advance.yml"
ADVANCE_TOKEN = "app"  # nosec B105 # noqa: S105 - the name of a scenario token, not a secret
ADVANCE_PLAN = """\
name: Pipeline
repository: octo/pipeline
ref: main
nodes:
  build:
    workflow: build.yml
  test:
    workflow: test.yml
    needs: [build]
    inputs:
      build_run: ${{ needs.build.outputs.run-id }}
  lint:
    workflow: lint.yml
    needs: [build]
  deploy:
    workflow: deploy.yml
    needs: [build, test, lint]
    inputs:
      build_run: ${{ needs.build.outputs.run-id }}
"""


def run_advance_demo(*, speed: float = 30.0, out: TextIO) -> int:
    """A plan in advance mode: no job waits. The emulator starts a run of the orchestrator when the
    plan is dispatched and each time a node's run completes (`workflow_run`); the demo plays the
    runner for each (a fresh API client, GitHub's job environment, the advance step) and ends the
    run by the step's exit code, as GitHub would."""
    import math
    from importlib import resources

    from wait_and_dispatch.emulator import Emulator, Scenario

    text = (
        resources.files("wait_and_dispatch.emulator")
        .joinpath("scenarios/advance-demo.yml")
        .read_text("utf-8")
    )
    clock = ScaledClock(speed)
    with Emulator(Scenario.from_text(text, "advance-demo.yml"), clock=clock) as emulator:
        say = _Printer(out, clock)
        print(
            f"Emulated GitHub API at {emulator.api_url}; time runs {speed:g}x faster. A plan of four "
            "nodes (build, then test and lint, then deploy) in advance mode: each orchestrator run "
            "below is one short job.",
            file=out,
        )
        with tempfile.TemporaryDirectory(prefix="wait-and-dispatch-demo-") as folder:
            plan_path = Path(folder) / "pipeline.yml"
            plan_path.write_text(ADVANCE_PLAN, encoding="utf-8")
            with _advance_api(emulator, clock) as api:
                api.post(
                    f"/repos/{ADVANCE_REPO}/actions/workflows/{ADVANCE_ORCHESTRATOR}/dispatches",
                    {"ref": "main"},
                )
            started = clock.now()
            played: set[int] = set()
            billed = 0
            while True:
                for run_id in emulator.runs_of(ADVANCE_REPO, ADVANCE_ORCHESTRATOR):
                    context = emulator.job_context(run_id)
                    if run_id in played or context.status == "completed":
                        continue
                    played.add(run_id)
                    began = clock.now()
                    code, report = _advance_job(emulator, clock, context, plan_path, Path(folder))
                    emulator.finish_run(run_id, "success" if code == 0 else "failure")
                    took = clock.now() - began
                    billed += max(1, math.ceil(took / 60))
                    what = f"{context.event_name}" + (
                        f" ({context.payload['workflow']['name']} completed)"
                        if context.event_name == "workflow_run"
                        else ""
                    )
                    say(f"orchestrator run {run_id}, {what}, {took:.0f}s:")
                    for item in report.advanced:
                        for line in item.lines:
                            say(f"    {line}")
                    if report.result is not None:
                        waited = clock.now() - started
                        print(
                            f"\nplan {report.result.plan.name}: {report.result.conclusion.value}. "
                            f"{len(played)} orchestrator runs billed {billed} job-minutes (each rounded "
                            f"up to a minute); one job waiting for the whole plan would have billed "
                            f"{max(1, math.ceil(waited / 60))}.",
                            file=out,
                        )
                        return code
                clock.sleep(1.0)


def _advance_api(emulator: Emulator, clock: ScaledClock) -> GitHubApi:
    return GitHubApi(base_url=emulator.api_url, token=emulator.token(ADVANCE_TOKEN), clock=clock)


def _advance_job(
    emulator: Emulator, clock: ScaledClock, context: JobContext, plan_path: Path, folder: Path
) -> tuple[int, PlanReport]:
    """One orchestrator run's step, on a fresh machine: the plan advanced for its event."""
    import json

    from wait_and_dispatch.engine.github_objects import Repository
    from wait_and_dispatch.plans.executor import PlanContext
    from wait_and_dispatch.plans.loader import load_plan
    from wait_and_dispatch.session.advance import read_event
    from wait_and_dispatch.session.plan_step import PlanSettings, run_plan_job

    event_path = folder / f"event-{context.run_id}.json"
    event_path.write_text(json.dumps(context.payload), encoding="utf-8")
    environ = {
        "GITHUB_EVENT_NAME": context.event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": context.repository,
        "GITHUB_SHA": context.sha,
        "GITHUB_REF": context.ref,
        "GITHUB_RUN_ID": str(context.run_id),
    }
    plan = load_plan(plan_path)
    settings = PlanSettings(
        path=plan_path,
        environment=None,
        variables={},
        node=None,
        needs=None,
        repository=ADVANCE_REPO,
        dry_run=False,
        summary=False,
        advance=True,
        event=read_event(environ, plan),
    )
    plan_context = PlanContext(
        repository=Repository.parse(ADVANCE_REPO),
        sha=None,
        ref_name=None,
        workdir=folder / f"job-{context.run_id}",
    )
    with _advance_api(emulator, clock) as api:
        report = run_plan_job(api, plan, settings, plan_context, on_event=lambda event: None)
    return (int(report.error.exit_code) if report.error is not None else 0), report
