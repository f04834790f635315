"""Job summaries: the lines a person reads on the run's page, with user text kept inert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wait_and_dispatch.engine.github_objects import CheckRun, WorkflowRun
from wait_and_dispatch.engine.progress import JobProgress
from wait_and_dispatch.engine.results import (
    ApiCost,
    ArtifactKind,
    ChecksResult,
    DownloadedArtifact,
    Outcome,
    RunResult,
)
from wait_and_dispatch.session.summary import (
    checks_summary,
    escape,
    failure_summary,
    format_size,
    prose,
    run_summary,
)
from wait_and_dispatch.support.errors import (
    ConclusionNotAllowedError,
    PermissionDeniedError,
    WaitAndDispatchError,
    WaitTimeoutError,
)

SHA = "4f2c1a9e" * 5
RUN_URL = "https://github.com/octo/app/actions/runs/9000000001"
COST = ApiCost(requests=12, not_modified=8, rate_limit_units=4, retries=0, rate_limit_remaining=4990)


def workflow_run(**overrides: Any) -> WorkflowRun:
    data: dict[str, Any] = {
        "id": 9000000001,
        "name": "Deploy",
        "run_number": 42,
        "run_attempt": 1,
        "status": "completed",
        "conclusion": "success",
        "head_sha": SHA,
        "head_branch": "main",
        "html_url": RUN_URL,
        "run_started_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:01:35Z",
        **overrides,
    }
    return WorkflowRun.from_api(data)


def run_result(run: WorkflowRun | None = None, **overrides: Any) -> RunResult:
    fields: dict[str, Any] = {
        "run": run or workflow_run(),
        "dispatched": True,
        "outcome": Outcome.SUCCESS,
        "waited": 120.0,
        "cost": COST,
        **overrides,
    }
    return RunResult(**fields)


def check(name: str, status: str = "completed", conclusion: str | None = "success", **extra: Any) -> CheckRun:
    return CheckRun.from_api(
        {"id": sum(map(ord, name)), "name": name, "status": status, "conclusion": conclusion, **extra}
    )


def line_starting(markdown: str, prefix: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(prefix))


# -- runs ----------------------------------------------------------------------------------------


def test_a_dispatched_run_that_succeeded() -> None:
    markdown = run_summary(run_result(), repository="octo/app", workflow="deploy.yml")

    assert markdown.startswith("## ✅ Deploy (deploy.yml) concluded success\n")
    assert f"Dispatched run [#42]({RUN_URL}) (attempt 1) in octo/app on main." in markdown
    assert line_starting(markdown, "| Workflow") == (
        "| Workflow | Run | Status | Conclusion | Head SHA | Duration | Waited |"
    )
    assert line_starting(markdown, "| Deploy") == (
        f"| Deploy (deploy.yml) | [#42]({RUN_URL}) | completed | ✅ success | `4f2c1a9` | 1m35s | 2m0s |"
    )
    assert markdown.rstrip().endswith(
        "<sub>Waited 2m0s. GitHub API: 12 requests, 8 answered 304 (free), 4 rate-limit units; "
        "4990 left.</sub>"
    )
    assert "### Artifacts" not in markdown


def test_a_found_run_says_found_with_its_attempt() -> None:
    result = run_result(workflow_run(run_attempt=3), dispatched=False)

    markdown = run_summary(result, repository="octo/app", workflow=None)

    assert markdown.startswith("## ✅ Deploy concluded success\n")
    assert f"Found run [#42]({RUN_URL}) (attempt 3) in octo/app on main." in markdown


def test_a_conclusion_that_is_not_allowed() -> None:
    result = run_result(
        workflow_run(conclusion="failure"),
        outcome=Outcome.CONCLUSION_NOT_ALLOWED,
        allowed_conclusions=frozenset({"success", "skipped"}),
    )

    markdown = run_summary(result, repository="octo/app", workflow="deploy.yml")

    assert markdown.startswith("## ❌ Deploy (deploy.yml) concluded failure (allowed: skipped, success)\n")
    assert "| ❌ failure |" in markdown


def test_a_wait_that_timed_out_and_cancelled_the_run() -> None:
    result = run_result(
        workflow_run(status="in_progress", conclusion=None),
        outcome=Outcome.TIMED_OUT,
        waited=1800.0,
        cancelled=True,
    )

    markdown = run_summary(result, repository="octo/app", workflow="deploy.yml")

    assert markdown.startswith("## ⏱️ Deploy (deploy.yml) still in\\_progress after 30m0s\n")
    assert "Cancelled the run because the wait timed out (cancel-on-timeout)." in markdown
    row = line_starting(markdown, "| Deploy")
    assert "| ⏳ — |" in row  # no conclusion yet
    assert "| — | 30m0s |" in row  # no duration yet; waited


def test_a_wait_that_ended_at_a_failed_job_names_it_and_the_cancel() -> None:
    job = JobProgress("test *(3.12)*", "completed", "failure", None, RUN_URL + "/job/1")
    result = run_result(
        workflow_run(status="in_progress", conclusion=None),
        outcome=Outcome.JOB_FAILED,
        cancelled=True,
        failed_job=job,
    )

    markdown = run_summary(result, repository="octo/app", workflow="deploy.yml")

    assert markdown.startswith("## ❌ Deploy (deploy.yml) failed: job test \\*(3.12)\\* concluded failure\n")
    assert "Cancelled the rest of the run because a job failed (cancel-on-failure)." in markdown
    assert "cancel-on-timeout" not in markdown


def test_a_run_not_waited_for_says_so() -> None:
    result = run_result(workflow_run(status="queued", conclusion=None))

    markdown = run_summary(result, repository="octo/app", workflow="deploy.yml")

    assert markdown.startswith("## ✅ Deploy (deploy.yml) is queued (not waited for)\n")


def test_a_dry_run_note_is_shown_under_the_heading() -> None:
    markdown = run_summary(
        run_result(), repository="octo/app", workflow="deploy.yml", dry_run_note="would dispatch on main"
    )

    assert markdown.splitlines()[2] == "> **Dry run:** would dispatch on main"


def test_downloaded_artifacts_are_listed_with_size_digest_kind_path_and_verification() -> None:
    artifacts = (
        DownloadedArtifact("dist", 7, 1536, "sha256:" + "ab" * 32, Path("out/dist"), verified=True),
        DownloadedArtifact("logs", 8, 532, None, Path("out/logs"), verified=False),
        DownloadedArtifact(
            "report.html",
            9,
            2048,
            None,
            Path("out/report.html"),
            verified=False,
            kind=ArtifactKind.FILE,
            file=Path("out/report.html/report.html"),
        ),
    )
    result = run_result(artifacts=artifacts, download_path=Path("out"))

    markdown = run_summary(result, repository="octo/app", workflow="deploy.yml")

    assert "### Artifacts" in markdown
    assert "Downloaded to out." in markdown
    assert "| Artifact | Size | Digest | Kept | Path | Verified |" in markdown
    assert "| dist | 1.5 KiB | `sha256:abababababab` | unpacked | out/dist | ✓ |" in markdown
    assert "| logs | 532 B | — | unpacked | out/logs | — |" in markdown
    assert "| report.html | 2.0 KiB | — | file | out/report.html/report.html | — |" in markdown


def test_names_from_workflows_cannot_break_the_table_or_inject_markup() -> None:
    run = workflow_run(name="Deploy | <img src=x> *prod*", head_branch="feat/`x`")
    artifacts = (DownloadedArtifact("a|b\nc", 1, 1, None, Path("out/a|b"), verified=True),)

    markdown = run_summary(run_result(run, artifacts=artifacts), repository="octo/app", workflow=None)

    row = line_starting(markdown, "| Deploy")
    assert row.startswith("| Deploy \\| \\<img src=x\\> \\*prod\\* | [#42]")
    assert row.count(" | ") == 6  # seven cells, whatever the name holds
    assert "| a\\|b c | 1 B | — | unpacked | out/a\\|b | ✓ |" in markdown
    assert "on feat/\\`x\\`." in markdown


# -- checks --------------------------------------------------------------------------------------


def test_checks_that_passed() -> None:
    result = ChecksResult(
        sha=SHA,
        checks=(
            check("build", html_url="https://github.com/octo/app/runs/1"),
            check("docs", conclusion="skipped"),
        ),
        outcome=Outcome.SUCCESS,
        waited=65.0,
        cost=COST,
    )

    markdown = checks_summary(result, repository="octo/app")

    assert markdown.startswith("## ✅ Checks passed on `4f2c1a9`\n")
    assert "2 check runs on `4f2c1a9` in octo/app; allowed conclusions: skipped, success." in markdown
    assert "| Check | Status | Conclusion | Details |" in markdown
    assert "| build | completed | ✅ success | [details](https://github.com/octo/app/runs/1) |" in markdown
    assert "| docs | completed | ⏭️ skipped | — |" in markdown
    assert "<sub>Waited 1m5s. GitHub API: 12 requests" in markdown


def test_failed_checks_are_named_in_the_heading_with_a_pipe_escaped() -> None:
    result = ChecksResult(
        sha=SHA,
        checks=(check("lint | py3.12", conclusion="failure"), check("build")),
        outcome=Outcome.CONCLUSION_NOT_ALLOWED,
        waited=30.0,
        cost=COST,
    )

    markdown = checks_summary(result, repository="octo/app")

    assert markdown.startswith("## ❌ Checks failed on `4f2c1a9`: lint \\| py3.12\n")
    assert "| lint \\| py3.12 | completed | ❌ failure | — |" in markdown


def test_checks_that_timed_out_show_pending_and_missing_checks() -> None:
    result = ChecksResult(
        sha=SHA,
        checks=(check("e2e", status="in_progress", conclusion=None),),
        outcome=Outcome.TIMED_OUT,
        waited=600.0,
        cost=COST,
        missing=("deploy_preview",),
    )

    markdown = checks_summary(result, repository="octo/app")

    assert markdown.startswith("## ⏱️ Checks on `4f2c1a9` timed out after 10m0s\n")
    assert "1 check run on `4f2c1a9`" in markdown
    assert "| e2e | in\\_progress | ⏳ — | — |" in markdown
    assert "**Never appeared:**\n\n- deploy\\_preview\n" in markdown


def test_no_checks_at_all_leaves_out_the_table() -> None:
    result = ChecksResult(
        sha=SHA, checks=(), outcome=Outcome.TIMED_OUT, waited=60.0, cost=COST, missing=("ci",)
    )

    markdown = checks_summary(result, repository="octo/app")

    assert "| Check |" not in markdown
    assert "- ci" in markdown


# -- failures ------------------------------------------------------------------------------------


def test_a_failure_says_what_went_wrong_how_to_fix_it_and_the_exit_code() -> None:
    error = PermissionDeniedError("dispatching deploy.yml in octo/app was refused (403)")

    markdown = failure_summary(error)

    assert markdown.startswith("## ❌ wait-and-dispatch failed\n\ndispatching deploy.yml in octo/app")
    assert "**How to fix:** give the token the permission this call needs: `actions: write` to" in markdown
    assert markdown.rstrip().endswith("<sub>Exit code 4 (github api).</sub>")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (WaitTimeoutError("still queued"), "Exit code 3 (timeout)"),
        (ConclusionNotAllowedError("concluded failure"), "Exit code 1 (conclusion not allowed)"),
    ],
)
def test_a_failure_names_its_exit_code(error: WaitAndDispatchError, code: str) -> None:
    assert code in failure_summary(error)


def test_a_failure_without_a_hint_has_no_how_to_fix_line() -> None:
    assert "How to fix" not in failure_summary(WaitTimeoutError("still queued", hint=""))


def test_links_in_a_failure_message_stay_clickable_while_names_are_escaped() -> None:
    error = ConclusionNotAllowedError(
        "run 9 'deploy_<prod>' concluded failure: https://github.com/o/a_b/actions/runs/9"
    )

    assert prose(error.message) == (
        "run 9 'deploy\\_\\<prod\\>' concluded failure: https://github.com/o/a_b/actions/runs/9"
    )
    assert prose(error.message) in failure_summary(error)


# -- helpers -------------------------------------------------------------------------------------


def test_escape_keeps_text_on_one_line_and_markdown_inert() -> None:
    assert escape("a|b\nc*d_e`f[g]h~i&j$k\\") == "a\\|b c\\*d\\_e\\`f\\[g\\]h\\~i\\&j\\$k\\\\"


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (3 * 2**20, "3.0 MiB"), (5 * 2**40, "5120.0 GiB")],
)
def test_sizes_are_in_binary_units(size: int, text: str) -> None:
    assert format_size(size) == text
