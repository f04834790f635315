"""Run one step's settings through the engine (`run_job`), and the engine's results as the
action's outputs (`run_outputs`, `checks_outputs`, `peer_outputs`).

No I/O of its own: it returns what to output and what went wrong (`JobReport`); the edges print
it, write it to GITHUB_OUTPUT, or a plan records it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wait_and_dispatch.engine.dispatch import DispatchPreview
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import WorkflowRun
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.engine.results import ChecksResult, Outcome, RunResult
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.step.peer_names import OUTPUT_ALIASES
from wait_and_dispatch.step.settings import JobSettings
from wait_and_dispatch.support.errors import ArtifactNotFoundError, WaitAndDispatchError


@dataclass
class JobReport:
    """What a job produced: outputs (the action's output names), the result objects, the error."""

    outputs: dict[str, str] = field(default_factory=dict)
    run: RunResult | None = None
    checks: ChecksResult | None = None
    preview: list[str] = field(default_factory=list)  # dry run: what would happen, one line each
    error: WaitAndDispatchError | None = None
    warnings: list[str] = field(default_factory=list)  # what went wrong but does not fail the step
    notes: list[str] = field(default_factory=list)  # what the step took its inputs to mean


def run_job(engine: Engine, settings: JobSettings) -> JobReport:
    """Run the job the settings describe; expected failures come back in `report.error`."""
    if settings.dry_run:
        return _preview(engine, settings)
    report = JobReport(notes=list(settings.notes))
    if settings.mode == "checks":
        assert settings.checks is not None  # nosec B101 # an invariant for mypy, not a check of input
        sha = checks_sha(engine, settings)
        report.checks = engine.wait_for_checks(
            settings.repository, sha, settings.checks, settings.wait_options
        )
        report.outputs = checks_outputs(report.checks)
        report.error = report.checks.error()
        if report.checks.missing and report.error is None and settings.if_checks_missing == "warn":
            report.warnings.append(
                f"never appeared on {report.checks.sha[:7]}: {', '.join(report.checks.missing)} "
                f"({settings.wording.setting('if-checks-missing', 'warn')})"
            )
        return report
    if settings.mode == "download":
        assert settings.run_id is not None  # nosec B101 # an invariant for mypy, not a check of input
        result = engine.download_run(
            settings.repository,
            settings.run_id,
            settings.wait_options,
            settings.artifacts,
            wait=settings.wait,
        )
    else:
        assert settings.request is not None  # nosec B101 # an invariant for mypy, not a check of input
        result = engine.run(
            settings.request, settings.wait_options, wait=settings.wait, artifacts=settings.artifacts
        )
    if isinstance(result.artifact_error, ArtifactNotFoundError) and settings.if_artifacts_missing != "fail":
        # dawidd6's if_no_artifact_found: the run is fine, nothing was downloaded.
        if settings.if_artifacts_missing == "warn":
            said = settings.wording.setting("if-artifacts-missing", "warn")
            report.warnings.append(f"{result.artifact_error.message} ({said})")
        result = dataclasses.replace(result, artifact_error=None)
    report.run = result
    report.outputs = run_outputs(result, settings.mode)
    report.error = result.error()
    return report


def run_outputs(result: RunResult, command: str = "run") -> dict[str, str]:
    """The action's outputs of a run; `result` is the command line's `--json` object of `command`."""
    from wait_and_dispatch.step import results  # the one shape of a result, both edges'

    run = result.run
    values: dict[str, Any] = {
        "run-id": run.id,
        "run-url": run.html_url,
        "run-number": run.run_number,
        "run-attempt": run.run_attempt,
        "status": run.status,
        "conclusion": run.conclusion or "",
        "dispatched": "true" if result.dispatched else "false",
        "head-sha": run.head_sha,
        "duration": "" if result.duration is None else round(result.duration),
        "artifacts": json.dumps([a.as_output() for a in result.artifacts]),
        "download-path": str(result.download_path) if result.download_path else "",
        "checks": "{}",
        "result": results.dumps(results.run_result(command, result)),
    }
    return _strings(values)


def checks_outputs(result: ChecksResult) -> dict[str, str]:
    """The action's outputs of a wait for checks; `result` is the `checks` command's `--json`."""
    from wait_and_dispatch.step import results  # the one shape of a result, both edges'

    values: dict[str, Any] = {name: "" for name in OUTPUT_NAMES}
    values.update(
        {
            "status": "completed" if result.outcome is not Outcome.TIMED_OUT else "in_progress",
            "conclusion": "success" if result.outcome is Outcome.SUCCESS else "failure",
            "head-sha": result.sha,
            "dispatched": "false",
            "artifacts": "[]",
            "checks": json.dumps(result.conclusions, sort_keys=True),
            "result": results.dumps(results.checks_result(result)),
        }
    )
    return _strings(values)


def peer_outputs(report: JobReport, settings: JobSettings, api_url: str) -> dict[str, str]:
    """The peer actions' output names (`options.OUTPUT_ALIASES`), so the steps after a step that
    was moved to this action keep reading them. `api_url` is the REST API's base URL."""
    run = report.run.run if report.run is not None else None
    downloaded = report.run.artifacts if report.run is not None else ()
    runs_url = f"{api_url.rstrip('/')}{settings.repository.api_path}/actions/runs"
    values = {
        **report.outputs,
        "run-api-url": f"{runs_url}/{run.id}" if run else "",
        "workflow-id": str(run.workflow_id) if run else "",
        "found-artifact": "true" if downloaded else "false",
        "error-message": report.error.message if report.error is not None else "",
    }
    return {alias.name: values.get(alias.value, "") for alias in OUTPUT_ALIASES}


def _preview(engine: Engine, settings: JobSettings) -> JobReport:
    lines: list[str] = []
    report = JobReport(preview=lines)
    if settings.mode == "checks":
        assert settings.checks is not None  # nosec B101 # an invariant for mypy, not a check of input
        sha = checks_sha(engine, settings)
        named = list(settings.checks.names) + (
            [f"/{settings.checks.regex}/"] if settings.checks.regex else []
        )
        described = ", ".join(named)
        allowed = ", ".join(sorted(settings.checks.allowed_conclusions))
        lines.append(
            f"would wait up to {format_seconds(settings.wait_options.timeout)} for checks on {sha[:7]}: "
            f"{described or 'every check'} (allowed: {allowed})"
        )
        return report
    if settings.mode == "download":
        assert settings.run_id is not None  # nosec B101 # an invariant for mypy, not a check of input
        lines.append(f"would download from run {settings.run_id}")
        preview_run: WorkflowRun | None = engine.get_run(settings.repository, settings.run_id)
    else:
        assert settings.request is not None  # nosec B101 # an invariant for mypy, not a check of input
        dispatch: DispatchPreview = engine.dispatcher.preview(settings.request)
        lines.append(dispatch.describe())
        preview_run = dispatch.existing
    if settings.wait:
        allowed = ", ".join(sorted(settings.wait_options.allowed_conclusions))
        timeout = format_seconds(settings.wait_options.timeout)
        lines.append(f"would wait up to {timeout} for it to complete (allowed: {allowed})")
    if settings.artifacts is not None:
        lines.extend(engine.preview_artifacts(settings.repository, preview_run, settings.artifacts))
    return report


def checks_sha(engine: Engine, settings: JobSettings) -> str:
    """The commit whose checks a checks job reads: its `sha` resolved, else the default branch's head."""
    from wait_and_dispatch.engine import workflow_runs

    if settings.check_sha:
        return workflow_runs.resolve_sha(engine.api, settings.repository, settings.check_sha)
    branch = workflow_runs.default_branch(engine.api, settings.repository)
    return workflow_runs.resolve_sha(engine.api, settings.repository, branch)


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(values.get(name, "")) for name in OUTPUT_NAMES}
