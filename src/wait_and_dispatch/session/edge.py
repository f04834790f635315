"""The one skeleton both edges run a step or a plan in: the API connection, SIGTERM as SIGINT,
progress, and the cancellation of what was dispatched when the step cannot report it.

What differs between the edges stays at the edge: where the token and the API URL come from,
where progress and the result go (the runner's log, outputs and summary; stderr, stdout and
`--json`), how a cancelled run is reported. The edge hands those in as callbacks; this module
prints nothing and reads no environment variable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from wait_and_dispatch.session.boundary import cancel_on_failure
from wait_and_dispatch.session.progress import retry_progress
from wait_and_dispatch.session.signals import interrupt_on_termination

if TYPE_CHECKING:
    from wait_and_dispatch.engine.progress import ProgressCallback
    from wait_and_dispatch.github_api import ApiNotice, GitHubApi, RetryEvent
    from wait_and_dispatch.plans.executor import PlanContext, PlanEvent, PlanRunner
    from wait_and_dispatch.plans.model import Plan
    from wait_and_dispatch.session.connection import Connection
    from wait_and_dispatch.session.plan_step import PlanReport, PlanSettings
    from wait_and_dispatch.session.progress import PlanProgressPrinter, ProgressPrinter
    from wait_and_dispatch.step.run import JobReport
    from wait_and_dispatch.step.settings import JobSettings

T = TypeVar("T")

# What GitHub answered to each cancel request, by run id (`engine.workflow_runs.cancel_runs`).
CancelOutcomes = Mapping[int, str]


def accepted(outcomes: CancelOutcomes) -> list[int]:
    """The runs GitHub accepted to cancel, of `cancel_runs`' outcomes."""
    return [run_id for run_id, outcome in outcomes.items() if outcome == "cancelled"]


def _open_api(
    connection: Connection,
    *,
    read_only: bool,
    on_retry: Callable[[RetryEvent], None],
    on_notice: Callable[[ApiNotice], None] | None,
) -> GitHubApi:
    from wait_and_dispatch.github_api import GitHubApi  # after the arguments: not at start-up

    return GitHubApi(
        base_url=connection.api_url,
        token=connection.token,
        read_only=read_only,
        on_retry=on_retry,
        on_notice=on_notice,
    )


def run_step(
    connection: Connection,
    settings: JobSettings,
    printer: ProgressPrinter,
    *,
    report: Callable[[JobReport, str], T],
    on_cancelled: Callable[[CancelOutcomes], None],
    on_progress: ProgressCallback | None = None,
    on_notice: Callable[[ApiNotice], None] | None = None,
    around: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> T:
    """Run one step's settings through the engine, and hand its report to the edge's `report`
    (with the API's base URL) while the runs it dispatched can still be cancelled: a run
    dispatched without waiting is still going when the result is written.

    `printer` keeps the ids of the runs dispatched; on an interrupt, or an error after which they
    could not be reported, they are cancelled (with `cancel-on-cancel`), and `on_cancelled` gets
    GitHub's answers. `around` wraps the engine's work (the action's log group)."""
    from wait_and_dispatch.engine import workflow_runs
    from wait_and_dispatch.engine.facade import Engine
    from wait_and_dispatch.step.run import run_job

    if printer.draws_job_steps:
        # A live view draws each job's current step: the engine reads the jobs' steps for it.
        settings = replace(settings, wait_options=replace(settings.wait_options, job_steps=True))
    api = _open_api(
        connection,
        read_only=settings.dry_run,
        on_retry=lambda event: printer(retry_progress(event)),
        on_notice=on_notice,
    )
    with api, interrupt_on_termination():
        engine = Engine(api, on_progress or printer)

        def cancel() -> None:
            printer.finish()
            if printer.dispatched and settings.cancel_on_cancel:
                on_cancelled(workflow_runs.cancel_runs(api, settings.repository, printer.dispatched))

        with cancel_on_failure(cancel):
            try:
                with around():
                    job_report = run_job(engine, settings)
            finally:  # however the step ends, a live view stops drawing and shows the cursor
                printer.finish()
            return report(job_report, api.base_url)


def run_plan(
    connection: Connection,
    plan: Plan,
    settings: PlanSettings,
    printer: PlanProgressPrinter,
    *,
    context: Callable[[GitHubApi], PlanContext],
    cancel_dispatched: bool,
    on_cancelled: Callable[[CancelOutcomes], None],
    on_event: Callable[[PlanEvent, PlanRunner | None], None] | None = None,
    on_notice: Callable[[ApiNotice], None] | None = None,
    finished: Callable[[], None] = lambda: None,
    around: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> PlanReport:
    """Run a plan (or one node of it) and return its report.

    `context` makes the plan's context once the API is open (the command line asks GitHub for the
    branch and SHA). On an interrupt, or an error after which the runs could not be reported, the
    printer is closed (node threads left behind print nothing more) and, with `cancel_dispatched`,
    the runs the plan dispatched are cancelled; `on_cancelled` gets GitHub's answers. `on_event`
    sees each event after the printer, with the plan's runner once it exists (the action saves
    the runs dispatched). `finished` runs once the plan has ended, still inside."""
    from wait_and_dispatch.session.plan_step import run_plan_job

    started: list[PlanRunner] = []
    api = _open_api(
        connection,
        read_only=settings.dry_run,
        on_retry=lambda event: printer.line("api", retry_progress(event).message),
        on_notice=on_notice,
    )

    def event(plan_event: PlanEvent) -> None:
        printer(plan_event)
        if on_event is not None and not printer.closed:  # closed: cancelled, nothing more is kept
            on_event(plan_event, started[0] if started else None)

    with api, interrupt_on_termination():
        plan_context = context(api)

        def cancel() -> None:
            printer.close()
            if started and cancel_dispatched:
                on_cancelled(started[0].cancel())

        with cancel_on_failure(cancel):
            try:
                with around():
                    plan_report = run_plan_job(
                        api, plan, settings, plan_context, on_event=event, on_runner=started.append
                    )
            finally:  # however the plan ends, a live view stops drawing and shows the cursor
                printer.finish()
            finished()
    return plan_report
