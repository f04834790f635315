"""The failure digest, shown where the failure is seen: the error line, `--json`'s `failure`, the
job summary, and the action's annotations, each with the downstream texts kept inert."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.edges.test_action import StartStep, fast_scenario, start_step  # noqa: F401 - start_step is a fixture
from tests.edges.test_summary import check, run_result, workflow_run
from tests.support.failure_digests import (
    HOSTILE_TEXT,
    JOB_URL,
    JOBS_UNREADABLE,
    LOG_TAIL,
    STEP_URL,
    annotation,
    digest,
    failed_job,
    hostile_job,
    other_app_check,
)
from tests.support.hostile import runner_commands
from tests.support.runner_contract import commands_in
from wait_and_dispatch.action.main import MAX_RAISED_AGAIN, raise_downstream_errors
from wait_and_dispatch.action.runner import RunnerChannel
from wait_and_dispatch.engine.failures import FailedStep, FailureDigest
from wait_and_dispatch.engine.results import ApiCost, ChecksResult, Outcome, RunResult
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult
from wait_and_dispatch.session.summary import checks_summary, fenced, node_summary, plan_summary, run_summary
from wait_and_dispatch.step import results
from wait_and_dispatch.support.errors import ConclusionNotAllowedError
from wait_and_dispatch.support.text import print_line

RUN_URL = "https://github.com/octo/app/actions/runs/9000000001"
SHA = "4f2c1a9e" * 5
COST = ApiCost(requests=12, not_modified=8, rate_limit_units=4, retries=0, rate_limit_remaining=4990)
VALIDATOR = jsonschema.Draft202012Validator(json.loads(results.schema_text()))


def failed_run(failure: FailureDigest | None, conclusion: str = "failure") -> RunResult:
    return run_result(
        workflow_run(conclusion=conclusion, name="Tests"),
        outcome=Outcome.CONCLUSION_NOT_ALLOWED,
        failure=failure,
    )


def failed_checks(failure: FailureDigest | None, *names: str) -> ChecksResult:
    checks = tuple(
        check(name, conclusion="failure", html_url=f"https://github.com/octo/app/runs/{i}")
        for i, name in enumerate(names or ("test (3.12)",))
    )
    return ChecksResult(
        sha=SHA,
        checks=checks,
        outcome=Outcome.CONCLUSION_NOT_ALLOWED,
        waited=30.0,
        cost=COST,
        failure=failure,
    )


def error_of(result: RunResult | ChecksResult) -> ConclusionNotAllowedError:
    error = result.error()
    assert isinstance(error, ConclusionNotAllowedError)
    return error


# -- the error line ------------------------------------------------------------------------------


def test_the_error_line_names_the_failed_job_step_and_first_error() -> None:
    error = error_of(failed_run(digest()))

    assert error.message == (
        'run 9000000001 #42 \'Tests\' failed: job "test (3.12)", step "Run pytest": '
        "tests/test_api.py:42 AssertionError: expected 200, got 500"
    )
    assert error.hint is not None and f"open the failed step: {STEP_URL} (the run: {RUN_URL})" in error.hint
    assert "widen allowed-conclusions (now: success)" in error.hint


def test_the_first_error_is_the_first_failure_level_annotation_not_the_first_warning() -> None:
    job = failed_job(
        annotations=(
            annotation("deprecated", annotation_level="warning"),
            annotation("first error", path="a.py", start_line=3, end_line=5),
            annotation("second error"),
        )
    )
    assert error_of(failed_run(digest(job))).message.endswith('step "Run pytest": a.py:3-5 first error')


def test_several_failed_jobs_are_counted_after_the_first() -> None:
    error = error_of(failed_run(digest(failed_job(), failed_job(name="test (3.13)", id=7002))))
    assert error.message.endswith("got 500 (and 1 more failed)")


def test_another_conclusion_than_failure_is_said_as_it_is() -> None:
    error = error_of(failed_run(digest(failed_job(conclusion="cancelled")), conclusion="cancelled"))
    assert error.message.startswith("run 9000000001 #42 'Tests' concluded cancelled: job \"test (3.12)\"")


def test_an_unreadable_digest_keeps_the_plain_line_and_says_why_in_the_hint() -> None:
    error = error_of(failed_run(digest(unreadable=JOBS_UNREADABLE)))
    assert error.message == (
        f"run 9000000001 #42 'Tests' concluded failure (allowed: success): {RUN_URL}"
    )  # what failed, and nothing else: no job is named that was not read
    assert error.hint is not None
    assert error.hint.startswith(f"open the run to see which job failed ({JOBS_UNREADABLE}), or widen")
    assert error.hint.count("could not be read") == 1


def test_without_a_digest_the_line_and_hint_are_as_before() -> None:
    error = error_of(failed_run(None))
    assert error.message == f"run 9000000001 #42 'Tests' concluded failure (allowed: success): {RUN_URL}"
    assert error.hint == ConclusionNotAllowedError.default_hint


def test_a_long_first_error_line_is_cut_in_the_error_line_only() -> None:
    job = failed_job(annotations=(annotation("x" * 5000 + "\nsecond line"),))
    error = error_of(failed_run(digest(job)))
    assert len(error.message) < 500 and error.message.endswith("…")
    assert "second line" not in error.message


def test_the_checks_line_names_the_failed_check_job_step_and_error() -> None:
    error = error_of(failed_checks(digest()))
    assert error.message == (
        'checks failed on 4f2c1a9: test (3.12) (failure): job "test (3.12)", step "Run pytest": '
        "tests/test_api.py:42 AssertionError: expected 200, got 500"
    )
    assert error.hint is not None and f"open the failed step: {STEP_URL};" in error.hint


def test_another_apps_failed_check_is_named_with_its_title() -> None:
    error = error_of(failed_checks(digest(other_app_check(annotations=())), "Spell Checker"))
    assert error.message == (
        'checks failed on 4f2c1a9: Spell Checker (failure): check "Spell Checker": 2 misspelled words'
    )
    assert (
        error.hint is not None
        and "open the failed check: https://github.com/octo/app/runs/8001" in error.hint
    )


def test_an_unreadable_checks_digest_keeps_the_plain_checks_line() -> None:
    error = error_of(failed_checks(digest(unreadable=JOBS_UNREADABLE), "lint"))
    assert error.message == (
        "checks failed on 4f2c1a9: lint (failure) (allowed: skipped, success): https://github.com/octo/app/runs/0"
    )
    assert error.hint is not None and f"({JOBS_UNREADABLE})" in error.hint


def test_a_hostile_error_line_prints_as_one_line_that_is_no_command() -> None:
    error = error_of(failed_run(digest(hostile_job())))
    out = io.StringIO()
    print_line(f"error: {error.message}", file=out)
    print_line(f"hint: {error.hint}", file=out)

    assert out.getvalue().count("\n") == 2
    assert runner_commands(out.getvalue()) == []


# -- --json --------------------------------------------------------------------------------------


def test_json_carries_the_failure_object_and_validates() -> None:
    document = results.run_result("run", failed_run(digest(failed_job(), other_app_check())))

    VALIDATOR.validate(document)
    assert document["schema_version"] == results.SCHEMA_VERSION == 2
    job = document["failure"]["jobs"][0]
    assert job == {
        "name": "test (3.12)",
        "id": 7001,
        "html_url": JOB_URL,
        "conclusion": "failure",
        "failed_steps": [{"number": 4, "name": "Run pytest"}],
        "annotations": [
            {
                "path": ".github",
                "start_line": 42,
                "end_line": 42,
                "annotation_level": "warning",
                "title": "test_status",
                "message": "Node.js 20 actions are deprecated",
            },
            {
                "path": "tests/test_api.py",
                "start_line": 42,
                "end_line": 42,
                "annotation_level": "failure",
                "title": "test_status",
                "message": "AssertionError: expected 200, got 500",
            },
        ],
        "annotations_omitted": 0,
        "log_tail": LOG_TAIL,
        "log_tail_truncated": False,
        "read": True,
        "unreadable": None,
    }
    assert document["failure"]["jobs"][1]["output_title"] == "2 misspelled words"
    assert document["failure"]["unreadable"] is None


def test_json_failure_is_null_when_nothing_failed_and_kept_when_unreadable() -> None:
    assert results.run_result("run", run_result())["failure"] is None
    unreadable = results.checks_result(failed_checks(digest(unreadable="403")))
    VALIDATOR.validate(unreadable)
    assert unreadable["failure"] == {"jobs": [], "unreadable": "403"}


def test_json_keeps_hostile_texts_as_they_are_and_on_one_line() -> None:
    document = results.checks_result(failed_checks(digest(hostile_job())))
    line = results.dumps(document)

    assert "\n" not in line and "\r" not in line
    assert json.loads(line)["failure"]["jobs"][0]["log_tail"] == HOSTILE_TEXT


def test_each_failed_plan_node_has_its_own_failure() -> None:
    run = failed_run(digest())
    outputs = {"result": results.dumps(results.run_result("run", run))}
    failed = results.node_fields("failure", outputs, "run 1 failed", 3.0, failure=run.failure)
    passed = results.node_fields("success", {}, "", 1.0)
    document = results.plan_result("p", "failure", 4.0, {"a": failed, "b": passed}, [1], None)

    VALIDATOR.validate(document)
    assert document["nodes"]["a"]["failure"]["jobs"][0]["failed_steps"] == [
        {"number": 4, "name": "Run pytest"}
    ]
    assert document["nodes"]["b"]["failure"] is None


# -- the job summary -----------------------------------------------------------------------------


def test_the_summary_has_a_section_per_failed_job() -> None:
    markdown = run_summary(failed_run(digest()), repository="octo/app", workflow="tests.yml")

    assert f"### ❌ Job [test (3.12)]({JOB_URL}): failure" in markdown
    assert f"Failed at step 4, [**Run pytest**]({STEP_URL})." in markdown
    assert "| Level | Where | Title | Message |" in markdown
    assert (
        "| ❌ failure | `tests/test_api.py:42` | test\\_status | AssertionError: expected 200, got 500 |"
        in markdown
    )
    assert "| ⚠️ warning | `.github:42` |" in markdown  # every annotation, warnings included
    assert (
        "<details><summary>The log's last 4 lines</summary>\n\n```text\n" + LOG_TAIL + "\n```\n\n</details>"
        in (markdown)
    )
    assert f"[Open the failed step on GitHub]({STEP_URL})" in markdown


def test_a_multi_line_annotation_stays_in_its_cell() -> None:
    job = failed_job(annotations=(annotation("line one | pipe\nline <two>"),))
    markdown = run_summary(failed_run(digest(job)), repository="octo/app", workflow=None)
    assert "| line one \\| pipe<br>line \\<two\\> |" in markdown


def test_hostile_texts_stay_inert_in_the_summary() -> None:
    markdown = run_summary(failed_run(digest(hostile_job())), repository="octo/app", workflow=None)

    # The log tail's fence is longer than any backtick run in it, so nothing in it can close it,
    # and the only closing </details> is ours, after the fence.
    fence_lines = [line for line in markdown.splitlines() if line.startswith("`````")]
    assert fence_lines == ["`````text", "`````"]
    block = markdown.split("`````text\n", 1)[1].split("\n`````\n", 1)[0]
    assert block.splitlines() == HOSTILE_TEXT.splitlines()
    after = markdown.split("\n`````\n", 1)[1]
    assert after.lstrip().startswith("</details>")
    # Outside the fence, no raw HTML, no cell split, no unescaped pipe from the texts.
    outside = markdown.replace(block, "")
    assert not re.search(
        r"(?<!\\)<(img|/details)",
        outside.replace("<details><summary>", "").replace("</summary>", "").replace("\n</details>\n", "\n"),
    )
    rows = outside.split("| Level | Where | Title | Message |\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(rows) == 2  # the separator and the one annotation: its newlines did not end the row
    assert len(re.findall(r"(?<!\\)\|", rows[1])) == 5, rows[1]  # four cells: no pipe split one


def test_fenced_picks_a_fence_longer_than_any_backtick_run() -> None:
    assert fenced("plain") == ["```", "plain", "```"]
    assert fenced("a ```` b\n```", "text") == ["`````text", "a ```` b", "```", "`````"]


def test_another_apps_check_shows_its_title_summary_and_annotations() -> None:
    result = failed_checks(
        digest(other_app_check(output_summary="## Report\n</details>\n```")), "Spell Checker"
    )
    markdown = checks_summary(result, repository="octo/app")

    assert "### ❌ Check [Spell Checker](https://github.com/octo/app/runs/8001) (spell-checker)" in markdown
    assert "**2 misspelled words**" in markdown
    assert "````markdown\n## Report\n</details>\n```\n````" in markdown
    assert "| ❌ failure | `README.md:2` |" in markdown
    assert "Open the failed step" not in markdown  # no steps, no log: the check's page is its link


def test_jobs_beyond_the_first_read_are_listed_with_links() -> None:
    listed = failed_job(name="test (3.14)", id=7009, html_url=f"{RUN_URL}/job/7009", read=False, log_tail="")
    markdown = run_summary(failed_run(digest(failed_job(), listed)), repository="octo/app", workflow=None)
    assert f"Also failed (not read, beyond the first 1): [test (3.14)]({RUN_URL}/job/7009)." in markdown
    assert markdown.count("### ❌ Job") == 1


def test_an_unreadable_digest_says_so_in_one_line() -> None:
    markdown = run_summary(failed_run(digest(unreadable=JOBS_UNREADABLE)), repository="o/a", workflow=None)
    assert "The run's jobs could not be read: the jobs answered 403." in markdown
    assert markdown.count("could not be read") == 1
    assert "### ❌ Job" not in markdown


def test_a_plan_summary_has_a_section_per_failed_node(tmp_path: Path) -> None:
    from tests.support.small_plan import write_plan
    from wait_and_dispatch.plans.loader import load_plan
    from wait_and_dispatch.plans.model import PlanResult

    plan = load_plan(str(write_plan(tmp_path)))
    names = list(plan.nodes)
    outcomes = {
        names[0]: NodeOutcome(names[0], NodeResult.SUCCESS, {}),
        names[1]: NodeOutcome(names[1], NodeResult.FAILURE, {}, reason="run 1 failed", failure=digest()),
        names[2]: NodeOutcome(names[2], NodeResult.SKIPPED, {}),
    }
    result = PlanResult(plan, outcomes, NodeResult.FAILURE, started=0.0, finished=10.0)

    markdown = plan_summary(result, repository="octo/app")
    assert f"### ❌ {plan.nodes[names[1]].title}\n\n#### ❌ Job [test (3.12)]({JOB_URL}): failure" in markdown
    assert markdown.count("#### ❌ Job") == 1

    one = node_summary(plan, outcomes[names[1]], repository="octo/app")
    assert f"### ❌ Job [test (3.12)]({JOB_URL}): failure" in one


# -- the action's annotations --------------------------------------------------------------------


def raised(*digests: FailureDigest | None, repository: str = "octo/app") -> str:
    stdout = io.StringIO()
    raise_downstream_errors(RunnerChannel({}, stdout), repository, digests)
    return stdout.getvalue()


def test_each_downstream_error_annotation_is_raised_again_on_this_step() -> None:
    job = failed_job(
        annotations=(
            annotation("deprecated", annotation_level="warning"),
            annotation("AssertionError: expected 200, got 500\n  at test_status"),
            annotation("second", annotation_level="failure", path="", start_line=None, end_line=None),
        )
    )
    out = raised(digest(job))

    assert out.splitlines()[0] == (
        "::error title=octo/app · test (3.12) · Run pytest::AssertionError: expected 200, got 500%0A"
        "  at test_status%0A(tests/test_api.py:42 in octo/app)"
    )
    commands = commands_in(out)
    assert [c.name for c in commands] == ["error", "error"]  # the warning is not raised again
    assert commands[1].message == "second\n(octo/app)"


def test_a_job_without_a_failed_step_is_titled_with_the_repository_and_job() -> None:
    out = raised(digest(failed_job(failed_steps=())))
    assert out.startswith("::error title=octo/app · test (3.12)::")


def test_hostile_annotations_cannot_become_another_command() -> None:
    out = raised(digest(hostile_job()))

    found = runner_commands(out)
    assert [name for name, _ in found] == ["error"]  # one line, one command: ours
    command = commands_in(out)[0]
    assert command.message.startswith(HOSTILE_TEXT)  # the whole message, as it was
    assert command.properties["title"].startswith("octo/app · test")
    line = found[0][1]
    title = line.split("::", 2)[1]
    assert "," not in title.removeprefix("error title=") and ":" not in title.removeprefix("error title=")


def test_at_most_nine_are_raised_again_and_the_rest_counted() -> None:
    many = failed_job(annotations=tuple(annotation(f"error {n}") for n in range(12)))
    out = raised(digest(many), None, digest(failed_job()))

    commands = commands_in(out)
    assert [c.name for c in commands] == ["error"] * MAX_RAISED_AGAIN + ["notice"]
    assert commands[-1].message.startswith("4 more error annotations")  # 12 + 1 - 9


@pytest.mark.parametrize("failure", [None, FailureDigest(unreadable="403")])
def test_nothing_is_raised_again_without_annotations(failure: Any) -> None:
    assert raised(failure) == ""
    assert raised(digest(failed_job(annotations=(), failed_steps=(FailedStep(1, "x"),)))) == ""


# -- end to end: a job that fails at its test step, through the emulator --------------------------


def pytest_fails_at_line_42() -> dict[str, Any]:
    """build.yml's one job is `test (3.12)`, failing at `Run pytest` with an annotation on
    tests/test_api.py:42 (and a warning), its log ending with pytest's failure line."""
    job = {
        "name": "test (3.12)",
        "steps": [
            "Set up job",
            "Run actions/checkout@v4",
            "Run pip install -e .",
            "Run pytest",
            "Complete job",
        ],
        "start": 0,
        "duration": 2,
        "fails_at": "Run pytest",
        "log": [
            "collected 12 items",
            "E       AssertionError: expected 200, got 500",
            "FAILED tests/test_api.py::test_get_user - AssertionError: expected 200, got 500",
        ],
        "annotations": [
            {
                "path": "tests/test_api.py",
                "start_line": 42,
                "level": "failure",
                "title": "test_get_user",
                "message": "AssertionError: expected 200, got 500",
            },
            {"path": "tests/test_api.py", "start_line": 7, "level": "warning", "message": "deprecated"},
        ],
    }
    return fast_scenario(conclusion="failure", jobs=[job])


def test_a_job_failing_at_its_test_step_is_named_on_every_channel(start_step: StartStep) -> None:  # noqa: F811
    step = start_step(pytest_fails_at_line_42())
    step.env["INPUT_WORKFLOW"] = "build.yml"
    step.run()

    assert step.returncode == 1, step.stdout
    error, *raised = step.commands("error")
    headline = (
        'job "test (3.12)", step "Run pytest": tests/test_api.py:42 AssertionError: expected 200, got 500'
    )
    assert f"failed: {headline}" in error.message
    assert "#step:4:1" in error.message  # the hint's link opens the failed step
    assert (raised[0].properties["title"], raised[0].message) == (
        "octo/app · test (3.12) · Run pytest",
        "AssertionError: expected 200, got 500\n(tests/test_api.py:42 in octo/app)",
    )
    failure = json.loads(step.outputs["result"])["failure"]
    [job] = failure["jobs"]
    assert (job["name"], job["failed_steps"]) == ("test (3.12)", [{"number": 4, "name": "Run pytest"}])
    assert [a["annotation_level"] for a in job["annotations"]][:2] == ["failure", "warning"]
    tail = job["log_tail"].splitlines()
    assert "FAILED tests/test_api.py::test_get_user - AssertionError: expected 200, got 500" in tail
    summary = step.summary
    assert "### ❌ Job [test (3.12)]" in summary and "[**Run pytest**](" in summary
    assert (
        "| ❌ failure | `tests/test_api.py:42` | test\\_get\\_user | AssertionError: expected 200, got 500 |"
        in (summary)
    )
    assert "<details><summary>The log's last" in summary
