"""`wait-and-dispatch action`: the GitHub Action's edge.

Reads the inputs from `INPUT_*` exactly as the runner passes them, runs the same job as the
command line, and writes outputs (always, also when the step then fails, so `if: failure()`
steps can use them), a job summary and annotations. If the job is cancelled while waiting
(SIGTERM or SIGINT), the runs this step dispatched are cancelled too (`cancel-on-cancel`), and
their ids are kept in `$GITHUB_STATE` for the post step, which cancels what is still running.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from wait_and_dispatch.action.runner import RunnerChannel
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.app_auth import AppCredentials, InstallationToken, installation_token
from wait_and_dispatch.engine.failures import FailureDigest
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import CallerJob
from wait_and_dispatch.github_api import DEFAULT_API_URL, GitHubApi
from wait_and_dispatch.plans.advance_guards import check_start_triggers
from wait_and_dispatch.plans.executor import PlanContext, PlanEvent, PlanRunner
from wait_and_dispatch.plans.model import NodeResult, Plan
from wait_and_dispatch.session.advance import read_event
from wait_and_dispatch.session.boundary import traceback_lines, unexpected
from wait_and_dispatch.session.connection import Connection, check_api_url, check_token, cleartext_token_risk
from wait_and_dispatch.session.edge import accepted, run_plan, run_step
from wait_and_dispatch.session.plan_step import (
    PlanSettings,
    plan_repositories,
    plan_repository,
    read_plan_settings,
)
from wait_and_dispatch.session.plan_step import load as load_plan_settings
from wait_and_dispatch.session.progress import PlanProgressPrinter, ProgressPrinter
from wait_and_dispatch.session.signals import interrupt_on_termination
from wait_and_dispatch.session.summary import (
    checks_summary,
    failure_summary,
    node_summary,
    plan_preview_summary,
    plan_summary,
    run_summary,
)
from wait_and_dispatch.step.catalogue import find_input
from wait_and_dispatch.step.credentials import read_app_credentials
from wait_and_dispatch.step.peer_names import ALIASES
from wait_and_dispatch.step.run import JobReport, peer_outputs
from wait_and_dispatch.step.settings import ACTION, JobSettings, read_settings
from wait_and_dispatch.support.errors import (
    DispatchInterrupted,
    ExitCode,
    PlanFileError,
    WaitAndDispatchError,
)
from wait_and_dispatch.support.text import escape_line

STATE_DISPATCHED = "dispatched-runs"
# github-token and the peers' names for it: masked from the raw variables, before anything is read.
_TOKEN_INPUTS = frozenset(
    {find_input("github-token").env_names[0], *(a.env_name for a in ALIASES if a.input == "github-token")}
)
_PRIVATE_KEY_INPUT = find_input("app-private-key").env_names[0]


def run_action(environ: Mapping[str, str], *, stdout: TextIO, post: bool = False) -> int:
    """The action's one boundary: every error, ours or not, ends as one annotation with a hint
    and its exit code; the runs this step dispatched are cancelled when nothing else could."""
    runner = RunnerChannel(environ, stdout)
    for variable, value in environ.items():  # before any input is reported on, even a bad one
        if variable in _TOKEN_INPUTS and value.strip():
            runner.mask(value.strip())
        elif variable == _PRIVATE_KEY_INPUT and value.strip():
            # Line by line, also as written on one line with `\n` (AppCredentials.parse undoes it).
            runner.mask(value.strip())
            runner.mask(value.strip().replace("\\n", "\n"))
    values: dict[str, str] = {}
    summary = environ.get("INPUT_SUMMARY", "true").strip().lower() != "false"
    try:
        values, token = read_inputs(runner, environ)
        summary = values.get("summary", "true") != "false"
        if not post:  # found out now, not once a run has been dispatched (the post step writes none)
            runner.check_files(summary=summary)
        # From here to the end, a SIGTERM or SIGINT unwinds (once; later ones are ignored) rather
        # than killing the process: a minted App token is then still revoked, also when the
        # runner's SIGTERM follows its SIGINT while the revoke is under way.
        with interrupt_on_termination():
            return _run(runner, values, token, environ, stdout, post=post)
    except KeyboardInterrupt:  # outside the wait, which reports its own cancellation
        runner.error("the step was cancelled", title="wait-and-dispatch cancelled")
        return int(ExitCode.INTERRUPTED)
    except PlanFileError as error:
        for problem in error.problems:  # one annotation per problem, on its line of the plan file
            span = problem.span
            runner.error(
                f"{problem.where}: {problem.message}",
                title="Invalid plan",
                file=span.file if span else None,
                line=span.line if span else None,
                col=span.column if span else None,
            )
        _fail(runner, error, summary=summary, annotate=False)
        return int(error.exit_code)
    except Exception as caught:  # noqa: BLE001 - the one boundary: every error ends here, reported
        failed = caught if isinstance(caught, WaitAndDispatchError) else unexpected(caught)
        if environ.get("RUNNER_DEBUG") == "1":  # step debug logging: the traceback, as it is
            for line in traceback_lines(in_actions=True):
                stdout.write(line + "\n")
        _fail(runner, failed, summary=summary)
        return int(failed.exit_code)


def _run(
    runner: RunnerChannel,
    values: dict[str, str],
    token: str | None,
    environ: Mapping[str, str],
    stdout: TextIO,
    *,
    post: bool,
) -> int:
    credentials = read_app_credentials(values)
    api_url = _api_url(values, environ)
    if post:
        saved = _runs_to_cancel(runner, values)
        if not saved:
            return 0
        repositories = list(dict.fromkeys(repository for repository, _ in saved))
        with _step_token(runner, credentials, token, repositories, api_url) as step_token:
            return _post(runner, saved, step_token, api_url)
    _warn_about_cleartext(runner, api_url, sends_credentials=bool(token or credentials))
    if values.get("plan"):
        plan_settings = read_plan_settings(values)
        plan = load_plan_settings(plan_settings)
        repositories = plan_repositories(plan, plan_repository(plan, plan_settings))
        own = environ.get("GITHUB_REPOSITORY", "")
        if plan_settings.advance and own:
            # Advance mode keeps its instances in git refs of the orchestrator's own repository.
            repositories = list(dict.fromkeys([*repositories, Repository.parse(own)]))
        with _step_token(runner, credentials, token, repositories, api_url) as step_token:
            return _plan_main(_Step(runner, values, step_token, environ, stdout), plan_settings, plan)
    settings = read_settings(
        values,
        default_sha=default_sha(environ, values["repository"]),
        caller=caller_job(environ, values["repository"]),
        wording=ACTION,
    )
    with _step_token(runner, credentials, token, [settings.repository], api_url) as step_token:
        return _main(_Step(runner, values, step_token, environ, stdout), settings)


def read_inputs(runner: RunnerChannel, environ: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """The step's inputs by our names (the peers' names written into ours), the token apart, and
    the repository defaulting to the caller's."""
    values = runner.inputs()
    token = values.pop("github-token", "") or None
    check_token(token, "github-token")
    values["repository"] = values.get("repository") or environ.get("GITHUB_REPOSITORY", "")
    return values, token


def default_sha(environ: Mapping[str, str], repository: str) -> str | None:
    """The caller's commit: a pull request's head SHA, else `GITHUB_SHA` (for the same repository).

    On `pull_request` events `GITHUB_SHA` is the test merge commit, which no downstream run is
    for; the event payload's `pull_request.head.sha` is the commit the PR's checks report on.
    """
    if repository.lower() != environ.get("GITHUB_REPOSITORY", "").lower():
        return None
    path = environ.get("GITHUB_EVENT_PATH")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                event = json.load(handle)
        except (OSError, ValueError):
            event = {}
        head = (
            ((event.get("pull_request") or {}).get("head") or {}).get("sha")
            if isinstance(event, dict)
            else None
        )
        if head:
            return str(head)
    return environ.get("GITHUB_SHA") or None


def caller_job(environ: Mapping[str, str], repository: str, check_run_id: str = "") -> CallerJob | None:
    """The job this step runs in, from the runner's variables (docs "Store information in
    variables": GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_JOB): a checks wait on its own commit
    never waits for its own run to complete. Only for the repository the job runs in.

    `check_run_id` is the `ignore-check-run` input (`${{ job.check_run_id }}` by default), for a
    plan, whose checks nodes take it from here."""
    if repository.lower() != environ.get("GITHUB_REPOSITORY", "").lower():
        return None
    run_id, attempt = environ.get("GITHUB_RUN_ID", ""), environ.get("GITHUB_RUN_ATTEMPT", "")
    check_run_id = check_run_id.strip()
    return CallerJob(
        run_id=int(run_id) if run_id.isdigit() else None,
        run_attempt=int(attempt) if attempt.isdigit() else None,
        job_id=environ.get("GITHUB_JOB") or None,
        check_run_id=int(check_run_id) if check_run_id.isdigit() else None,
    )


@dataclass(frozen=True)
class _Step:
    """What the step runs with: the runner's files and log, its inputs, its token, the environment."""

    runner: RunnerChannel
    values: Mapping[str, str]
    token: str | None
    environ: Mapping[str, str]
    stdout: TextIO

    def connection(self) -> Connection:
        return Connection(_api_url(self.values, self.environ), self.token)


def _main(step: _Step, settings: JobSettings) -> int:
    runner = step.runner
    # Lines of the runner's log, escaped as the runner encodes a command's data. Also keeps the
    # ids of the runs we dispatch.
    printer = ProgressPrinter(step.stdout, escape=escape_line)
    dispatched = printer.dispatched
    cancelled: list[int] = []

    def on_progress(event: ProgressEvent) -> None:
        printer(event)
        if event.kind is ProgressKind.DISPATCHED and event.run_id is not None:
            runner.save_state(STATE_DISPATCHED, ",".join(map(str, dispatched)))

    def report(job_report: JobReport, api_url: str) -> int:
        runner.save_state(STATE_DISPATCHED, "")  # finished: nothing for the post step to cancel
        return _report(runner, settings, job_report, api_url)

    try:
        # The outputs are written inside: a run dispatched with wait: false is still going then.
        return run_step(
            step.connection(),
            settings,
            printer,
            report=report,
            on_cancelled=lambda outcomes: cancelled.extend(accepted(outcomes)),
            on_progress=on_progress,
            on_notice=lambda notice: runner.debug(notice.message),  # shown with step debug logging
            around=lambda: runner.group("wait-and-dispatch"),
        )
    except KeyboardInterrupt as interrupt:
        what = _cancelled_runs(cancelled)
        if isinstance(interrupt, DispatchInterrupted):  # says how to find the run it may have started
            what += f"; {interrupt.message}"
        runner.error(f"the step was cancelled while waiting{what}", title="wait-and-dispatch cancelled")
        return int(ExitCode.INTERRUPTED)
    except WaitAndDispatchError:
        _say_cancelled(runner, cancelled)
        raise


def _cancelled_runs(cancelled: list[int]) -> str:
    return f"; cancelled the runs it dispatched: {', '.join(map(str, cancelled))}" if cancelled else ""


def _say_cancelled(runner: RunnerChannel, cancelled: list[int]) -> None:
    if cancelled:
        runner.warning(
            f"cancelled runs {', '.join(map(str, cancelled))}, which this step dispatched: the step "
            "failed before it could report them",
            title="wait-and-dispatch cancelled downstream runs",
        )


def _report(runner: RunnerChannel, settings: JobSettings, report: JobReport, api_url: str) -> int:
    if settings.dry_run:
        for line in report.preview:
            runner.notice(line, title="wait-and-dispatch dry run")
        if settings.summary:
            runner.summary(
                "## 🔍 wait-and-dispatch dry run\n\n" + "".join(f"- {line}\n" for line in report.preview)
            )
        return 0
    # Before failing: `if: failure()` steps read them. The peers' names too (migration).
    runner.set_outputs({**report.outputs, **peer_outputs(report, settings, api_url)})
    for note in report.notes:
        runner.notice(note, title="Artifacts")
    for warning in report.warnings:
        runner.warning(warning, title="Not found")
    if settings.summary:
        if report.run is not None:
            workflow = settings.request.workflow if settings.request else None
            runner.summary(
                run_summary(report.run, repository=settings.repository.full_name, workflow=workflow)
            )
        elif report.checks is not None:
            runner.summary(checks_summary(report.checks, repository=settings.repository.full_name))
    if report.error is None:
        return 0
    url = report.run.run.html_url if report.run is not None else None
    runner.error(report.error.message, title=_title(report.error), hint=report.error.hint, url=url)
    digest = report.run.failure if report.run is not None else None
    if report.checks is not None:
        digest = report.checks.failure
    raise_downstream_errors(runner, settings.repository.full_name, [digest])
    return int(report.error.exit_code)


def _plan_main(step: _Step, settings: PlanSettings, plan: Plan) -> int:
    """`plan:` given: run the plan (or, with plan-node, one node of it) instead of one workflow."""
    runner, values, environ = step.runner, step.values, step.environ
    repository = plan_repository(plan, settings)
    printer = PlanProgressPrinter(step.stdout, escape=escape_line)
    cancelled: list[int] = []

    def on_event(event: PlanEvent, plan_runner: PlanRunner | None) -> None:
        progress = event.progress
        if progress is not None and progress.kind is ProgressKind.DISPATCHED and plan_runner is not None:
            # The runner keeps the runs the plan dispatched (with their repositories: nodes may
            # dispatch elsewhere); the post step reads them.
            saved = plan_runner.dispatched_runs()
            runner.save_state(
                STATE_DISPATCHED, ",".join(f"{repo.full_name}#{run_id}" for repo, run_id in saved)
            )

    if settings.advance:  # the event and the instance say what the context is (plans/advance.py)
        # The checkout's workflows, if it has them: a start trigger that is also a node's workflow.
        check_start_triggers(plan, Path(environ.get("GITHUB_WORKSPACE") or ".") / ".github" / "workflows")
        settings = replace(settings, event=read_event(environ, plan))
    context = PlanContext(
        repository=repository,
        sha=default_sha(environ, repository.full_name),
        ref_name=environ.get("GITHUB_REF_NAME") or None,
        event_name=environ.get("GITHUB_EVENT_NAME") or "workflow_dispatch",
        caller=caller_job(environ, repository.full_name, values.get("ignore-check-run", "")),
        # The job's working directory is the workspace (the runner starts the action there); said
        # outright, so that node folders never depend on where the process happens to be.
        workdir=Path(environ.get("GITHUB_WORKSPACE") or "."),
    )
    try:
        report = run_plan(
            step.connection(),
            plan,
            settings,
            printer,
            context=lambda api: context,
            cancel_dispatched=values.get("cancel-on-cancel", "true").lower() != "false",
            on_cancelled=lambda outcomes: cancelled.extend(accepted(outcomes)),
            on_event=on_event,
            on_notice=lambda notice: runner.debug(notice.message),  # shown with step debug logging
            finished=lambda: runner.save_state(STATE_DISPATCHED, ""),
            around=lambda: runner.group(f"wait-and-dispatch plan {plan.name}"),
        )
    except KeyboardInterrupt:
        runner.error(
            f"the plan was cancelled{_cancelled_runs(cancelled)}", title="wait-and-dispatch cancelled"
        )
        return int(ExitCode.INTERRUPTED)
    except WaitAndDispatchError:
        _say_cancelled(runner, cancelled)
        raise
    if settings.dry_run:
        for name, lines in report.preview:
            for line in lines:
                runner.notice(f"{name}: {line}", title="wait-and-dispatch dry run")
        if settings.summary:
            runner.summary(plan_preview_summary(plan, report.preview))
        return 0
    for advanced in report.advanced:
        for line in advanced.lines:
            step.stdout.write(escape_line(line) + "\n")
    runner.set_outputs(report.outputs)  # before failing: `if: failure()` steps read them
    if settings.summary:
        if report.result is not None:
            runner.summary(plan_summary(report.result, repository=repository.full_name))
        elif report.node is not None:
            runner.summary(node_summary(plan, report.node, repository=repository.full_name))
    if report.error is None:
        return 0
    url = report.node.run_url if report.node is not None else None
    runner.error(report.error.message, title=_title(report.error), hint=report.error.hint, url=url or None)
    outcomes = list(report.result.outcomes.values()) if report.result is not None else []
    outcomes += [report.node] if report.node is not None else []
    raise_downstream_errors(
        runner, repository.full_name, [o.failure for o in outcomes if o.result is NodeResult.FAILURE]
    )
    return int(report.error.exit_code)


# GitHub shows at most 10 error annotations of a step and drops the rest without a word
# (docs/github-behaviour.md#the-runner-contract): the step's own error is one, so at most 9
# downstream ones are raised again.
MAX_RAISED_AGAIN = 9


def raise_downstream_errors(
    runner: RunnerChannel, repository: str, digests: Iterable[FailureDigest | None]
) -> None:
    """Each error annotation of the failed downstream jobs (`annotation_level: failure`), raised
    again as an error of this step: `title=<repo> · <job> · <step>` and the whole message.

    The runner's escaping (`RunnerChannel.error`) keeps the message on its one command line, so no line of
    it can become a command of its own. No `file`/`line` properties: the path is in the downstream
    repository, and GitHub would pin the annotation to that path in the caller's commit (and its
    pull request's diff), another file or none (docs/github-behaviour.md#the-runner-contract); the
    location goes on the message's last line instead."""
    raised = [
        (job, annotation)
        for digest in digests
        if digest is not None
        for job in digest.jobs
        for annotation in job.annotations
        if annotation.is_error
    ]
    for job, annotation in raised[:MAX_RAISED_AGAIN]:
        where = [job.name, job.failed_steps[0].name] if job.failed_steps else [job.name]
        at = f"{annotation.where()} in {repository}" if annotation.path else repository
        runner.error(f"{annotation.message}\n({at})", title=" · ".join([repository, *where]))
    if len(raised) > MAX_RAISED_AGAIN:
        runner.notice(
            f"{len(raised) - MAX_RAISED_AGAIN} more error annotations of the downstream jobs are in the "
            "job summary and the result output",
            title="More downstream errors",
        )


def _fail(
    runner: RunnerChannel, error: WaitAndDispatchError, *, summary: bool, annotate: bool = True
) -> None:
    if annotate:
        runner.error(error.message, title=_title(error), hint=error.hint)
    if summary:  # one that cannot be written is a warning (RunnerChannel.summary), never a second error
        runner.summary(failure_summary(error))


def _title(error: WaitAndDispatchError) -> str:
    return {
        ExitCode.CONCLUSION_NOT_ALLOWED: "Run or check failed",
        ExitCode.USAGE: "Invalid input",
        ExitCode.TIMEOUT: "Timed out",
        ExitCode.GITHUB_API: "GitHub API error",
        ExitCode.ARTIFACT: "Artifact error",
        ExitCode.INTERNAL: "wait-and-dispatch internal error",
    }.get(error.exit_code, "wait-and-dispatch failed")


def _runs_to_cancel(runner: RunnerChannel, values: Mapping[str, str]) -> list[tuple[Repository, int]]:
    """For the post step: the runs this step dispatched and left running, if cancel-on-cancel.

    Saved as `ID` (in the step's repository) or `owner/name#ID` (a plan node's run elsewhere)."""
    if values.get("cancel-on-cancel", "true").lower() == "false":
        return []
    saved: list[tuple[Repository, int]] = []
    for part in (runner.state(STATE_DISPATCHED) or "").split(","):
        where, _, run_id = part.strip().rpartition("#")
        if run_id.isdigit():
            saved.append((Repository.parse(where or values["repository"]), int(run_id)))
    return saved


def _post(runner: RunnerChannel, saved: list[tuple[Repository, int]], token: str | None, api_url: str) -> int:
    """The post step (runs if the job was cancelled): cancel the dispatched runs still running."""
    api = GitHubApi(base_url=api_url, token=token)
    cancelled: list[int] = []
    with api:
        for repository in dict.fromkeys(repository for repository, _ in saved):
            run_ids = [run_id for where, run_id in saved if where == repository]
            cancelled += accepted(workflow_runs.cancel_runs(api, repository, run_ids))
    if cancelled:
        runner.notice(
            f"cancelled runs {', '.join(map(str, cancelled))}, which this step dispatched",
            title="wait-and-dispatch cancelled downstream runs",
        )
    return 0


@contextmanager
def _step_token(
    runner: RunnerChannel,
    credentials: AppCredentials | None,
    token: str | None,
    repositories: list[Repository],
    api_url: str,
) -> Iterator[str | None]:
    """The token the step uses: github-token, or with app-id an installation token minted for the
    repositories the step touches, masked before anything can print it and revoked when the step
    ends (also when it fails or is cancelled: SIGTERM unwinds through here)."""
    if credentials is None:
        yield token
        return
    minted: list[InstallationToken] = []

    def mask(installation: InstallationToken) -> None:
        runner.mask(installation.token)
        minted.append(installation)

    try:
        with installation_token(credentials, repositories, base_url=api_url, on_minted=mask) as app:
            yield app.token
    finally:
        for installation in minted:
            if installation.revoke_error is not None:
                reason = installation.revoke_error.message
                runner.warning(
                    f"could not revoke the GitHub App's installation token: {reason}",
                    title="wait-and-dispatch token not revoked",
                    hint=f"it expires on its own at {installation.expires_at}",
                )


def _api_url(values: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The api-url input, else the runner's GITHUB_API_URL (GHES), else api.github.com; checked."""
    if values.get("api-url"):
        return check_api_url(values["api-url"], "api-url")
    return check_api_url(environ.get("GITHUB_API_URL") or DEFAULT_API_URL, "GITHUB_API_URL")


def _warn_about_cleartext(runner: RunnerChannel, api_url: str, *, sends_credentials: bool) -> None:
    """A token to a plain http:// host that is not this machine: warned, not refused. The action
    has no --insecure-http: the URL comes from the workflow (or the runner's GITHUB_API_URL on a
    GHES without TLS), so its author chose it; the warning makes the choice visible on the run's
    page. The command line refuses instead (docs/cli.md). With app-id the
    App's signed JWT and the installation token it mints travel the same way."""
    risk = cleartext_token_risk(api_url, sends_credentials=sends_credentials)
    if risk:
        runner.warning(
            risk,
            title="Token sent in cleartext",
            hint="use an https:// api-url; anyone on the network path can read and reuse this token",
        )
